// AVX-512 (F/BW/VL/DQ) kernels for q4_K/q5_K/q6_K x q8_K dot products: each 512-bit
// step covers 64 elements. Compiled per function with target attributes.
#if defined(__x86_64__)  // x86 only: other targets get their k-quant kernels elsewhere
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backends/cpu/prefetch.h"
#include "quant/blocks_kquants.h"

// GCC 12 flags the deliberately undefined pass-through operands inside its own AVX-512
// intrinsics (_mm512_undefined_*) as uninitialised; the warnings say nothing about this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#ifndef HEARTH_AVX512
#define HEARTH_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))
#endif

namespace hearth::cpu {

using quant::BlockQ4K;
using quant::BlockQ5K;
using quant::BlockQ6K;
using quant::BlockQ8K;
using quant::kQK;

namespace {

HEARTH_AVX512 inline float hsum_ps(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

HEARTH_AVX512 inline float hsum_ps(__m512 v) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  return hsum_ps(_mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}

// The 6-bit scales and mins of q4_K/q5_K as 8 int16 each (see unpack_k4_scales).
HEARTH_AVX512 inline void unpack_scales_mins(const uint8_t* packed, __m128i* sc, __m128i* m) {
  uint32_t w[3];
  std::memcpy(w, packed, sizeof(w));
  const uint64_t sc8 = (w[0] & 0x3f3f3f3fu) |
                       static_cast<uint64_t>((w[2] & 0x0f0f0f0fu) | ((w[0] >> 2) & 0x30303030u)) << 32;
  const uint64_t m8 = (w[1] & 0x3f3f3f3fu) |
                      static_cast<uint64_t>(((w[2] >> 4) & 0x0f0f0f0fu) | ((w[1] >> 2) & 0x30303030u)) << 32;
  *sc = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(sc8)));
  *m = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(m8)));
}

HEARTH_AVX512 inline __m128i mins_dot(__m128i m16, const int16_t* bsums) {
  const __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums));
  const __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums + 8));
  return _mm_madd_epi16(_mm_hadd_epi16(b0, b1), m16);
}

// permutexvar index: the low 256 bits take int16 element `lo`, the high 256 bits `hi`.
HEARTH_AVX512 inline __m512i halves_index(int lo, int hi) {
  return _mm512_inserti64x4(_mm512_set1_epi16(static_cast<int16_t>(lo)), _mm256_set1_epi16(static_cast<int16_t>(hi)),
                            1);
}

// 64 unsigned weights (lo: sub-block 2c, hi: 2c + 1) against 64 activations, weighted
// by the two sub-block scales held as int16 in `scales`.
HEARTH_AVX512 inline __m512i chunk_dot(__m256i lo, __m256i hi, const int8_t* act, __m512i scales, int c) {
  const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
  const __m512i p = _mm512_maddubs_epi16(q, _mm512_loadu_si512(act));
  return _mm512_madd_epi16(p, _mm512_permutexvar_epi16(halves_index(2 * c, 2 * c + 1), scales));
}

HEARTH_AVX512 inline __m256i low_nibbles(__m256i q) { return _mm256_and_si256(q, _mm256_set1_epi8(0x0f)); }
HEARTH_AVX512 inline __m256i high_nibbles(__m256i q) {
  return _mm256_and_si256(_mm256_srli_epi16(q, 4), _mm256_set1_epi8(0x0f));
}

template <int S>
HEARTH_AVX512 inline __m256i bit_to_4(__m256i v) {
  if constexpr (S < 4) return _mm256_slli_epi16(v, 4 - S);
  else if constexpr (S > 4) return _mm256_srli_epi16(v, S - 4);
  else return v;
}

// One 64-element chunk C of a q5_K block, the fifth bits taken from bits 2C and 2C + 1 of qh.
template <int C>
HEARTH_AVX512 inline __m512i q5_chunk(const BlockQ5K& w, const int8_t* act, __m256i hbits, __m512i scales) {
  const __m256i bit4 = _mm256_set1_epi8(0x10);
  const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs + 32 * C));
  const __m256i lo = _mm256_or_si256(low_nibbles(q), _mm256_and_si256(bit_to_4<2 * C>(hbits), bit4));
  const __m256i hi = _mm256_or_si256(high_nibbles(q), _mm256_and_si256(bit_to_4<2 * C + 1>(hbits), bit4));
  return chunk_dot(lo, hi, act + 64 * C, scales, C);
}

// permutexvar index for q6_K: 128-bit lane k takes int16 element base + k.
HEARTH_AVX512 inline __m512i quarters_index(int base) {
  return _mm512_inserti64x4(
      _mm512_castsi256_si512(_mm256_setr_epi16(base, base, base, base, base, base, base, base, base + 1, base + 1,
                                               base + 1, base + 1, base + 1, base + 1, base + 1, base + 1)),
      _mm256_setr_epi16(base + 2, base + 2, base + 2, base + 2, base + 2, base + 2, base + 2, base + 2, base + 3,
                        base + 3, base + 3, base + 3, base + 3, base + 3, base + 3, base + 3),
      1);
}

}  // namespace

HEARTH_AVX512 float vec_dot_q4_k_q8_k_avx512(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4K*>(vw);
  const auto* a = static_cast<const BlockQ8K*>(va);
  __m512 acc = _mm512_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    prefetch_ahead(w + b, sizeof(*w));
    const float d = a[b].d * _cvtsh_ss(w[b].d);
    const float dmin = a[b].d * _cvtsh_ss(w[b].dmin);
    __m128i sc16, m16;
    unpack_scales_mins(w[b].scales, &sc16, &m16);
    acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(mins_dot(m16, a[b].bsums)), acc_m);

    const __m512i scales = _mm512_castsi128_si512(sc16);
    __m512i sumi = _mm512_setzero_si512();
#pragma GCC unroll 4  // unrolled, the scale permutation indices become constants
    for (int c = 0; c < 4; ++c) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs + 32 * c));
      sumi = _mm512_add_epi32(sumi, chunk_dot(low_nibbles(q), high_nibbles(q), a[b].qs + 64 * c, scales, c));
    }
    acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc);
  }
  return hsum_ps(acc) - hsum_ps(acc_m);
}

HEARTH_AVX512 float vec_dot_q5_k_q8_k_avx512(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ5K*>(vw);
  const auto* a = static_cast<const BlockQ8K*>(va);
  __m512 acc = _mm512_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    prefetch_ahead(w + b, sizeof(*w));
    const float d = a[b].d * _cvtsh_ss(w[b].d);
    const float dmin = a[b].d * _cvtsh_ss(w[b].dmin);
    __m128i sc16, m16;
    unpack_scales_mins(w[b].scales, &sc16, &m16);
    acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(mins_dot(m16, a[b].bsums)), acc_m);

    const __m512i scales = _mm512_castsi128_si512(sc16);
    const __m256i hbits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qh));
    const __m512i s01 =
        _mm512_add_epi32(q5_chunk<0>(w[b], a[b].qs, hbits, scales), q5_chunk<1>(w[b], a[b].qs, hbits, scales));
    const __m512i s23 =
        _mm512_add_epi32(q5_chunk<2>(w[b], a[b].qs, hbits, scales), q5_chunk<3>(w[b], a[b].qs, hbits, scales));
    const __m512i sumi = _mm512_add_epi32(s01, s23);
    acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc);
  }
  return hsum_ps(acc) - hsum_ps(acc_m);
}

// As the AVX2 kernel: unsigned 0..63 weights, the -32 offset removed once per block
// through bsums. Each 512-bit step is 64 consecutive elements, four 16-element groups.
HEARTH_AVX512 float vec_dot_q6_k_q8_k_avx512(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6K*>(vw);
  const auto* a = static_cast<const BlockQ8K*>(va);
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m256i hi2 = _mm256_set1_epi8(0x30);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    prefetch_ahead(w + b, sizeof(*w));
    const float d = a[b].d * _cvtsh_ss(w[b].d);
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].scales)));
    const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].bsums));
    const __m256i offset = _mm256_madd_epi16(sc16, bsums);
    const __m512i scales = _mm512_castsi256_si512(sc16);

    __m512i sumi = _mm512_setzero_si512();
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].ql + 64 * h));
      const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].ql + 64 * h + 32));
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qh + 32 * h));
      const __m256i q0 = _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), hi2));
      const __m256i q1 = _mm256_or_si256(_mm256_and_si256(ql1, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), hi2));
      const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), _mm256_and_si256(qh, hi2));
      const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                                         _mm256_and_si256(_mm256_srli_epi16(qh, 2), hi2));
      const int8_t* act = a[b].qs + 128 * h;
      const __m512i p01 = _mm512_maddubs_epi16(_mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1),
                                               _mm512_loadu_si512(act));
      const __m512i p23 = _mm512_maddubs_epi16(_mm512_inserti64x4(_mm512_castsi256_si512(q2), q3, 1),
                                               _mm512_loadu_si512(act + 64));
      sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(p01, _mm512_permutexvar_epi16(quarters_index(8 * h), scales)));
      sumi = _mm512_add_epi32(sumi,
                              _mm512_madd_epi16(p23, _mm512_permutexvar_epi16(quarters_index(8 * h + 4), scales)));
    }
    const __m256i folded = _mm256_add_epi32(_mm512_castsi512_si256(sumi), _mm512_extracti64x4_epi64(sumi, 1));
    const __m256i total = _mm256_sub_epi32(folded, _mm256_slli_epi32(offset, 5));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(total), acc);
  }
  return hsum_ps(_mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1)));
}

}  // namespace hearth::cpu

#endif  // __x86_64__
