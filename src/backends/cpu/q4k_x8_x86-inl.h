// The parts the x86 kernels of the grouped q4_K layout (q4k_x8.h) share: the
// activation broadcasts, the nibble unpacking and the float scaling that ends
// a superblock. Everything here uses AVX2 (with FMA and F16C) instructions, so
// it inlines into the AVX2 kernel and into the AVX-512 VNNI one alike. Include
// only from those kernel files (x86, functions compiled with target attributes).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backends/cpu/q4k_x8.h"
#include "quant/blocks_kquants.h"

#define HEARTH_Q4KX8_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace hearth::cpu::q4kx8 {

using quant::BlockQ8K;

// Four activation bytes in every 32-bit lane: the four values that vpdpbusd or
// vpmaddubsw multiply by one row's four values of the lane.
HEARTH_Q4KX8_AVX2 inline __m256i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// The low and high nibbles of 32 bytes of grouped values.
HEARTH_Q4KX8_AVX2 inline void unpack_nibbles(const uint8_t* q32, __m256i& lo, __m256i& hi) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q32));
  lo = _mm256_and_si256(q, low4);
  hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
}

// acc[t] += d * a.d * total - dmin * a.d * mins, in the reference's order
// (q4k_x8_matmul_ref): two fused steps per superblock.
template <int RN>
HEARTH_Q4KX8_AVX2 inline void superblock_scale(const BlockQ4Kx8& x, const BlockQ8K* const* a, const __m256i* total,
                                               const __m256i* mins, __m256* acc) {
  const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.d)));
  const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.dmin)));
#pragma GCC unroll 4
  for (int t = 0; t < RN; ++t) {
    const __m256 ad = _mm256_set1_ps(a[t]->d);
    acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(d, ad), _mm256_cvtepi32_ps(total[t]), acc[t]);
    acc[t] = _mm256_fnmadd_ps(_mm256_mul_ps(dmin, ad), _mm256_cvtepi32_ps(mins[t]), acc[t]);
  }
}

}  // namespace hearth::cpu::q4kx8
