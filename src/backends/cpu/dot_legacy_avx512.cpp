// AVX-512 (F, BW, VL, DQ) dot kernels for f32, f16, bf16 and the 32-element block
// formats: two blocks per 512-bit register. Activation converters are the AVX2
// ones (every AVX-512 CPU we accept also has AVX2, and they are not the hot loop).
#include <cstring>

#include "backends/cpu/vec_dot.h"
#include "core/half.h"
#include "quant/blocks_legacy.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define HEARTH_HAVE_X86 1
// GCC 12's AVX-512 headers seed results with a self-initialised _mm512_undefined_*,
// which -W(maybe-)uninitialized reports once inlined; the value is never read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace hearth::cpu {

bool legacy_kernels_avx2(DType weight_type, WeightKernels* out);  // dot_legacy_avx2.cpp

#if HEARTH_HAVE_X86

#define HEARTH_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))

namespace {

using quant::BlockQ4_0;
using quant::BlockQ4_1;
using quant::BlockQ5_0;
using quant::BlockQ5_1;
using quant::BlockQ8_0;
using quant::BlockQ8_1;
using quant::kLegacyBlock;

HEARTH_AVX512 inline float half(uint16_t h) { return _cvtsh_ss(h); }

HEARTH_AVX512 inline __mmask16 tail_mask(int64_t rem) { return static_cast<__mmask16>((1u << rem) - 1u); }

// ---- float kernels: 64 elements per iteration, masked loads for the tail ----

HEARTH_AVX512 inline __m512 load_f32(const float* p) { return _mm512_loadu_ps(p); }
HEARTH_AVX512 inline __m512 load_f32(const float* p, __mmask16 k) { return _mm512_maskz_loadu_ps(k, p); }

HEARTH_AVX512 inline __m512 load_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
HEARTH_AVX512 inline __m512 load_f16(const uint16_t* p, __mmask16 k) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, p));
}

HEARTH_AVX512 inline __m512 widen_bf16(__m256i v) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
}
HEARTH_AVX512 inline __m512 load_bf16(const uint16_t* p) {
  return widen_bf16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
HEARTH_AVX512 inline __m512 load_bf16(const uint16_t* p, __mmask16 k) {
  return widen_bf16(_mm256_maskz_loadu_epi16(k, p));
}

#define HEARTH_FLOAT_DOT(name, T, load)                                                         \
  HEARTH_AVX512 float name(int64_t n, const void* w, const void* a) {                           \
    const auto* x = static_cast<const T*>(w);                                                   \
    const auto* y = static_cast<const T*>(a);                                                   \
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), acc2 = _mm512_setzero_ps(),  \
           acc3 = _mm512_setzero_ps();                                                          \
    int64_t i = 0;                                                                              \
    for (; i + 64 <= n; i += 64) {                                                              \
      acc0 = _mm512_fmadd_ps(load(x + i), load(y + i), acc0);                                   \
      acc1 = _mm512_fmadd_ps(load(x + i + 16), load(y + i + 16), acc1);                         \
      acc2 = _mm512_fmadd_ps(load(x + i + 32), load(y + i + 32), acc2);                         \
      acc3 = _mm512_fmadd_ps(load(x + i + 48), load(y + i + 48), acc3);                         \
    }                                                                                           \
    for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(load(x + i), load(y + i), acc0);        \
    if (i < n) {                                                                                \
      const __mmask16 k = tail_mask(n - i);                                                     \
      acc1 = _mm512_fmadd_ps(load(x + i, k), load(y + i, k), acc1);                             \
    }                                                                                           \
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3))); \
  }

HEARTH_FLOAT_DOT(dot_f32, float, load_f32)
HEARTH_FLOAT_DOT(dot_f16, uint16_t, load_f16)
HEARTH_FLOAT_DOT(dot_bf16, uint16_t, load_bf16)
#undef HEARTH_FLOAT_DOT

// ---- block kernels: blocks i and i+1 share one register ----
// Byte layout of every 512-bit operand: [block i elements 0..31 | block i+1
// elements 0..31], so int32 lanes 0..7 belong to block i and 8..15 to block i+1.

HEARTH_AVX512 inline __m512i load_pair(const int8_t* a0, const int8_t* a1) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a0))),
                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a1)), 1);
}

HEARTH_AVX512 inline __m512i nibbles_pair(const uint8_t* qs0, const uint8_t* qs1) {
  const __m256i t = _mm256_inserti128_si256(
      _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs0))),
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs1)), 1);
  // 128-bit lanes: [lo0, lo1, hi0, hi1] → reorder to [lo0, hi0, lo1, hi1].
  const __m512i v = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(t), _mm256_srli_epi16(t, 4), 1),
                                     _mm512_set1_epi8(0x0f));
  return _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(3, 1, 2, 0));
}

// The fifth bits of both blocks as a 64-bit byte mask, in the same byte order.
HEARTH_AVX512 inline __m512i high_bits_pair(const uint8_t* qh0, const uint8_t* qh1) {
  uint32_t b0, b1;
  std::memcpy(&b0, qh0, 4);
  std::memcpy(&b1, qh1, 4);
  const __mmask64 k = static_cast<__mmask64>(b0) | static_cast<__mmask64>(b1) << 32;
  return _mm512_maskz_mov_epi8(k, _mm512_set1_epi8(0x10));
}

HEARTH_AVX512 inline __m512i dot_u8s8(__m512i u, __m512i s) {
  return _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1));
}
HEARTH_AVX512 inline __m512i dot_u8s8_offset(__m512i u, __m512i s, __m512i offset) {
  const __m512i p = _mm512_sub_epi16(_mm512_maddubs_epi16(u, s), _mm512_maddubs_epi16(offset, s));
  return _mm512_madd_epi16(p, _mm512_set1_epi16(1));
}
// No vpsignb at 512 bits: take |x| and negate y under x's sign mask (y ≠ -128).
HEARTH_AVX512 inline __m512i dot_s8s8(__m512i x, __m512i y) {
  const __mmask64 neg = _mm512_movepi8_mask(x);
  return dot_u8s8(_mm512_abs_epi8(x), _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y));
}

HEARTH_AVX512 inline __m512i idot_q4_0(const BlockQ4_0* x, const BlockQ8_0* y) {
  return dot_u8s8_offset(nibbles_pair(x[0].qs, x[1].qs), load_pair(y[0].qs, y[1].qs), _mm512_set1_epi8(8));
}
HEARTH_AVX512 inline __m512i idot_q4_1(const BlockQ4_1* x, const BlockQ8_1* y) {
  return dot_u8s8(nibbles_pair(x[0].qs, x[1].qs), load_pair(y[0].qs, y[1].qs));
}
HEARTH_AVX512 inline __m512i idot_q5_0(const BlockQ5_0* x, const BlockQ8_0* y) {
  const __m512i q = _mm512_or_si512(nibbles_pair(x[0].qs, x[1].qs), high_bits_pair(x[0].qh, x[1].qh));
  return dot_u8s8_offset(q, load_pair(y[0].qs, y[1].qs), _mm512_set1_epi8(16));
}
HEARTH_AVX512 inline __m512i idot_q5_1(const BlockQ5_1* x, const BlockQ8_1* y) {
  const __m512i q = _mm512_or_si512(nibbles_pair(x[0].qs, x[1].qs), high_bits_pair(x[0].qh, x[1].qh));
  return dot_u8s8(q, load_pair(y[0].qs, y[1].qs));
}
HEARTH_AVX512 inline __m512i idot_q8_0(const BlockQ8_0* x, const BlockQ8_0* y) {
  return dot_s8s8(load_pair(x[0].qs, x[1].qs), load_pair(y[0].qs, y[1].qs));
}

template <typename W, typename A>
HEARTH_AVX512 inline __m512 pair_scales(const W* x, const A* y) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(half(x[0].d) * half(y[0].d))),
                            _mm256_set1_ps(half(x[1].d) * half(y[1].d)), 1);
}

// Four blocks per iteration on two accumulators; an odd last block is handled
// as a pair whose second half has zero scale (it reads the same block twice,
// so nothing past the row is touched).
template <typename W, typename A, __m512i (*kIdot)(const W*, const A*)>
HEARTH_AVX512 inline __m512 dot_blocks(const W* x, const A* y, int64_t nb) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    acc0 = _mm512_fmadd_ps(pair_scales(x + i, y + i), _mm512_cvtepi32_ps(kIdot(x + i, y + i)), acc0);
    acc1 = _mm512_fmadd_ps(pair_scales(x + i + 2, y + i + 2), _mm512_cvtepi32_ps(kIdot(x + i + 2, y + i + 2)), acc1);
  }
  for (; i + 2 <= nb; i += 2)
    acc0 = _mm512_fmadd_ps(pair_scales(x + i, y + i), _mm512_cvtepi32_ps(kIdot(x + i, y + i)), acc0);
  if (i < nb) {
    const W xs[2] = {x[i], x[i]};
    const A ys[2] = {y[i], y[i]};
    const __m512 s = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(half(x[i].d) * half(y[i].d))),
                                        _mm256_setzero_ps(), 1);
    acc1 = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(kIdot(xs, ys)), acc1);
  }
  return _mm512_add_ps(acc0, acc1);
}

template <typename W, typename A, __m512i (*kIdot)(const W*, const A*)>
HEARTH_AVX512 float dot_symmetric(int64_t n, const void* w, const void* a) {
  return _mm512_reduce_add_ps(
      dot_blocks<W, A, kIdot>(static_cast<const W*>(w), static_cast<const A*>(a), n / kLegacyBlock));
}

template <typename W, __m512i (*kIdot)(const W*, const BlockQ8_1*)>
HEARTH_AVX512 float dot_affine(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const W*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  const int64_t nb = n / kLegacyBlock;
  float offsets = 0.0f;
  for (int64_t i = 0; i < nb; ++i) offsets += half(x[i].m) * half(y[i].s);
  return _mm512_reduce_add_ps(dot_blocks<W, BlockQ8_1, kIdot>(x, y, nb)) + offsets;
}

}  // namespace

bool legacy_kernels_avx512(DType weight_type, WeightKernels* out) {
  WeightKernels k;
  if (!legacy_kernels_avx2(weight_type, &k)) return false;  // for act_type and act_from_float
  switch (weight_type) {
    case DType::kF32: k.vec_dot = dot_f32; break;
    case DType::kF16: k.vec_dot = dot_f16; break;
    case DType::kBF16: k.vec_dot = dot_bf16; break;
    case DType::kQ4_0: k.vec_dot = dot_symmetric<BlockQ4_0, BlockQ8_0, idot_q4_0>; break;
    case DType::kQ4_1: k.vec_dot = dot_affine<BlockQ4_1, idot_q4_1>; break;
    case DType::kQ5_0: k.vec_dot = dot_symmetric<BlockQ5_0, BlockQ8_0, idot_q5_0>; break;
    case DType::kQ5_1: k.vec_dot = dot_affine<BlockQ5_1, idot_q5_1>; break;
    case DType::kQ8_0: k.vec_dot = dot_symmetric<BlockQ8_0, BlockQ8_0, idot_q8_0>; break;
    default: return false;
  }
  k.isa = Isa::kAvx512;
  *out = k;
  return true;
}

#else  // not x86

bool legacy_kernels_avx512(DType, WeightKernels*) { return false; }

#endif

}  // namespace hearth::cpu
