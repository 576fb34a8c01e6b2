// The AVX2 kernel of the grouped q4_K layout (q4k_x8.h): every token count on
// CPUs without AVX-512 VNNI, and one token (generation) on every x86 CPU, since
// it streams weights from memory fastest (q4k_x8_avx512vnni.cpp has the
// figures). Eight rows per 256-bit vector, one 32-bit lane per row. Each
// 4-byte group of activations is broadcast and vpmaddubsw multiplies it by four
// values of every row, giving two int16 pair sums per lane. The eight products
// of a sub-block stay in int16 (at most 8 x 2 x 15 x 128 = 30720 in magnitude,
// so never saturated), and vpmaddwd multiplies them by the rows' sub-block
// scales as it widens them to int32: the same integers as the reference, so the
// same floats. Up to four tokens share each unpacked weight vector.
#include "backends/cpu/q4k_x8.h"

#if defined(__x86_64__)
#include "backends/cpu/q4k_x8_x86-inl.h"

namespace hearth::cpu {
namespace {

using q4kx8::broadcast4;

// mins[t] (one int32 lane per row) = sum over sub-blocks j of the row's min j
// times the activation's sum over sub-block j, for the superblock x and
// activation superblocks a[t]. Sub-blocks go in pairs: each lane holds a row's
// two mins as int16 and vpmaddwd multiplies them by the two activation sums.
template <int RN>
HEARTH_Q4KX8_AVX2 inline void superblock_mins(const BlockQ4Kx8& x, const quant::BlockQ8K* const* a,
                                             __m256i* mins) {
  for (int t = 0; t < RN; ++t) mins[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    // mins[2i][0..7] and mins[2i+1][0..7] interleaved row by row, widened to int16.
    const __m128i two = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.mins[2 * i]));
    const __m256i m16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(two, _mm_srli_si128(two, 8)));
#pragma GCC unroll 4
    for (int t = 0; t < RN; ++t) {
      const int16_t* bs = a[t]->bsums + 4 * i;  // q8_K sums of 16: two per sub-block
      const int32_t s0 = bs[0] + bs[1], s1 = bs[2] + bs[3];
      const int32_t pair = static_cast<int32_t>(static_cast<uint32_t>(s0 & 0xffff) | (static_cast<uint32_t>(s1) << 16));
      mins[t] = _mm256_add_epi32(mins[t], _mm256_madd_epi16(m16, _mm256_set1_epi32(pair)));
    }
  }
}

template <int RN>
HEARTH_Q4KX8_AVX2 void group_dot(int64_t nb, const BlockQ4Kx8* w, const quant::BlockQ8K* const* a, float* const* y) {
  __m256 acc[RN];
  for (int t = 0; t < RN; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockQ4Kx8& x = w[b];
    const quant::BlockQ8K* ab[RN];
    for (int t = 0; t < RN; ++t) ab[t] = a[t] + b;
    // The mins first: they lie before the values, and reading the superblock
    // in address order streams from memory faster (one thread, k = 11008:
    // 26.1 -> 28.4 GB/s in a test that alternated the two orders).
    __m256i total[RN], mins[RN];
    superblock_mins<RN>(x, ab, mins);
    for (int t = 0; t < RN; ++t) total[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      __m256i lo[4], hi[4];
#pragma GCC unroll 4
      for (int p = 0; p < 4; ++p) q4kx8::unpack_nibbles(x.qs[j][p], lo[p], hi[p]);
      // Row r's scale in both int16 halves of lane r.
      const __m256i sc32 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x.scales[j])));
      const __m256i sc = _mm256_or_si256(sc32, _mm256_slli_epi32(sc32, 16));
#pragma GCC unroll 4
      for (int t = 0; t < RN; ++t) {
        const int8_t* q8 = ab[t]->qs + 32 * j;
        __m256i s_lo = _mm256_maddubs_epi16(lo[0], broadcast4(q8));
        __m256i s_hi = _mm256_maddubs_epi16(hi[0], broadcast4(q8 + 4));
#pragma GCC unroll 3
        for (int p = 1; p < 4; ++p) {
          s_lo = _mm256_add_epi16(s_lo, _mm256_maddubs_epi16(lo[p], broadcast4(q8 + 8 * p)));
          s_hi = _mm256_add_epi16(s_hi, _mm256_maddubs_epi16(hi[p], broadcast4(q8 + 8 * p + 4)));
        }
        total[t] = _mm256_add_epi32(total[t], _mm256_madd_epi16(_mm256_add_epi16(s_lo, s_hi), sc));
      }
    }
    q4kx8::superblock_scale<RN>(x, ab, total, mins, acc);
  }
  for (int t = 0; t < RN; ++t) _mm256_storeu_ps(y[t], acc[t]);
}

}  // namespace

void q4k_x8_group_dot_avx2(int64_t nb, const BlockQ4Kx8* w, const quant::BlockQ8K* const* a, float* const* y,
                           int rn) {
  switch (rn) {
    case 1: group_dot<1>(nb, w, a, y); break;
    case 2: group_dot<2>(nb, w, a, y); break;
    case 3: group_dot<3>(nb, w, a, y); break;
    default: group_dot<4>(nb, w, a, y); break;
  }
}

}  // namespace hearth::cpu

#endif
