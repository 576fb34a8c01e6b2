// The AVX-512 VNNI kernel of the grouped q4_K layout (q4k_x8.h) for two to
// four tokens (prompts): eight rows per 256 bits, one int32 lane per row,
// vpdpbusd multiplying a broadcast 4-byte activation group by four values of
// every row, every unpacked weight vector serving all the tokens. The rows'
// sub-block scales are applied in int32 and the superblock's floats as the
// reference does, so the results are the reference's bit for bit.
//
// One token (generation) goes to the AVX2 kernel instead: from memory it
// streams weights fastest. Measured on a Zen 4, 2 threads, 300 MB of weights,
// the forms alternated, GB/s when a plain read did 63.8-66.5: AVX2 vpmaddubsw
// 59.9-62.4; 256-bit vpdpbusd 59.4-61.2; two sub-blocks per 512-bit vpdpbusd
// 55.9-58.4 (although in L2 the 512-bit form is the fastest, 44.8 against
// 41.6 for 256 bits). When memory is slow all of them read at its rate.
#include "backends/cpu/q4k_x8.h"

#if defined(__x86_64__)
#include "backends/cpu/q4k_x8_x86-inl.h"

#define HEARTH_AVX512VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

namespace hearth::cpu {
namespace {

template <int RN>
HEARTH_AVX512VNNI void group_dot_tokens(int64_t nb, const BlockQ4Kx8* w, const quant::BlockQ8K* const* a,
                                        float* const* y) {
  __m256 acc[RN];
  for (int t = 0; t < RN; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockQ4Kx8& x = w[b];
    const quant::BlockQ8K* ab[RN];
    for (int t = 0; t < RN; ++t) ab[t] = a[t] + b;
    __m256i total[RN], mins[RN];
    for (int t = 0; t < RN; ++t) total[t] = mins[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      __m256i lo[4], hi[4];
#pragma GCC unroll 4
      for (int p = 0; p < 4; ++p) q4kx8::unpack_nibbles(x.qs[j][p], lo[p], hi[p]);
      const __m256i sc = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x.scales[j])));
      const __m256i mn = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x.mins[j])));
#pragma GCC unroll 4
      for (int t = 0; t < RN; ++t) {
        const int8_t* q8 = ab[t]->qs + 32 * j;
        __m256i s = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int p = 0; p < 4; ++p) {
          s = _mm256_dpbusd_epi32(s, lo[p], q4kx8::broadcast4(q8 + 8 * p));
          s = _mm256_dpbusd_epi32(s, hi[p], q4kx8::broadcast4(q8 + 8 * p + 4));
        }
        total[t] = _mm256_add_epi32(total[t], _mm256_mullo_epi32(s, sc));
        const int32_t pair = ab[t]->bsums[2 * j] + ab[t]->bsums[2 * j + 1];
        mins[t] = _mm256_add_epi32(mins[t], _mm256_mullo_epi32(mn, _mm256_set1_epi32(pair)));
      }
    }
    q4kx8::superblock_scale<RN>(x, ab, total, mins, acc);
  }
  for (int t = 0; t < RN; ++t) _mm256_storeu_ps(y[t], acc[t]);
}

}  // namespace

void q4k_x8_group_dot_avx512vnni(int64_t nb, const BlockQ4Kx8* w, const quant::BlockQ8K* const* a, float* const* y,
                                 int rn) {
  switch (rn) {
    case 1: q4k_x8_group_dot_avx2(nb, w, a, y, 1); break;
    case 2: group_dot_tokens<2>(nb, w, a, y); break;
    case 3: group_dot_tokens<3>(nb, w, a, y); break;
    default: group_dot_tokens<4>(nb, w, a, y); break;
  }
}

}  // namespace hearth::cpu

#endif
