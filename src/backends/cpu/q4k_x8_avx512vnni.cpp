// The AVX-512 VNNI kernel of the grouped q4_K layout (q4k_x8.h): eight rows
// per 256-bit vector, one int32 lane per row. Each 4-byte group of activations
// is broadcast and vpdpbusd multiplies it by four values of every row at once;
// the eight rows' scales, mins and f16 factors are applied as vectors. Up to
// four tokens share each unpacked weight vector. Compiled per function with
// target attributes; x86 only.
#include "backends/cpu/q4k_x8.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "quant/blocks_kquants.h"

#define HEARTH_AVX512VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

namespace hearth::cpu {

using quant::BlockQ8K;
using quant::kQK;

namespace {

HEARTH_AVX512VNNI inline __m256i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// One row group (8 rows) against RN activation rows.
template <int RN>
HEARTH_AVX512VNNI void group_dot(int64_t nb, const BlockQ4Kx8* w, const BlockQ8K* const* a, float* const* y) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256 acc[RN];
  for (int t = 0; t < RN; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockQ4Kx8& x = w[b];
    // No software prefetch: a group's superblocks are one sequential stream,
    // which the hardware prefetcher follows; prefetching 2-16 superblocks
    // ahead cost 10-20% of generation speed on a Zen 4 (synth 1B, 2 threads).
    __m256i total[RN], mins[RN];
    for (int t = 0; t < RN; ++t) total[t] = mins[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      __m256i lo[4], hi[4];
#pragma GCC unroll 4
      for (int p = 0; p < 4; ++p) {
        const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs[j][p]));
        lo[p] = _mm256_and_si256(q, low4);
        hi[p] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
      }
      const __m256i sc = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x.scales[j])));
      const __m256i mn = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x.mins[j])));
#pragma GCC unroll 4
      for (int t = 0; t < RN; ++t) {
        const int8_t* q8 = a[t][b].qs + 32 * j;
        __m256i s = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int p = 0; p < 4; ++p) {
          s = _mm256_dpbusd_epi32(s, lo[p], broadcast4(q8 + 8 * p));
          s = _mm256_dpbusd_epi32(s, hi[p], broadcast4(q8 + 8 * p + 4));
        }
        total[t] = _mm256_add_epi32(total[t], _mm256_mullo_epi32(s, sc));
        const int32_t pair = a[t][b].bsums[2 * j] + a[t][b].bsums[2 * j + 1];
        mins[t] = _mm256_add_epi32(mins[t], _mm256_mullo_epi32(mn, _mm256_set1_epi32(pair)));
      }
    }
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.d)));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.dmin)));
#pragma GCC unroll 4
    for (int t = 0; t < RN; ++t) {
      const __m256 ad = _mm256_set1_ps(a[t][b].d);
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(d, ad), _mm256_cvtepi32_ps(total[t]), acc[t]);
      acc[t] = _mm256_fnmadd_ps(_mm256_mul_ps(dmin, ad), _mm256_cvtepi32_ps(mins[t]), acc[t]);
    }
  }
  for (int t = 0; t < RN; ++t) _mm256_storeu_ps(y[t], acc[t]);
}

}  // namespace

HEARTH_AVX512VNNI void q4k_x8_matmul(int64_t k, const void* packed, int64_t g0, int64_t g1, const void* act,
                                     int64_t act_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  const auto* w = static_cast<const BlockQ4Kx8*>(packed);
  const int64_t nb = k / kQK;
  const auto* act_bytes = static_cast<const uint8_t*>(act);
  for (int64_t t0 = 0; t0 < n_tokens; t0 += 4) {
    const int rn = static_cast<int>(std::min<int64_t>(4, n_tokens - t0));
    const BlockQ8K* a[4];
    for (int t = 0; t < rn; ++t) a[t] = reinterpret_cast<const BlockQ8K*>(act_bytes + (t0 + t) * act_stride);
    for (int64_t g = g0; g < g1; ++g) {
      float* out[4];
      for (int t = 0; t < rn; ++t) out[t] = y + (t0 + t) * y_stride + g * kQ4KGroupRows;
      const BlockQ4Kx8* wg = w + g * nb;
      switch (rn) {
        case 1: group_dot<1>(nb, wg, a, out); break;
        case 2: group_dot<2>(nb, wg, a, out); break;
        case 3: group_dot<3>(nb, wg, a, out); break;
        default: group_dot<4>(nb, wg, a, out); break;
      }
    }
  }
}

}  // namespace hearth::cpu

#else  // not x86: the grouped layout is never chosen (q4k_x8_available() is false)

#include "core/error.h"

namespace hearth::cpu {

void q4k_x8_matmul(int64_t, const void*, int64_t, int64_t, const void*, int64_t, int64_t, float*, int64_t) {
  throw Error(ErrorCode::kInternal, "q4k_x8_matmul: no grouped q4_K kernel on this architecture");
}

}  // namespace hearth::cpu

#endif
