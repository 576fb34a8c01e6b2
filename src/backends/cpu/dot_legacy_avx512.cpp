// AVX-512 (F, BW, VL, DQ) dot kernels for f32, f16 and bf16 weights. The 32-element
// block formats have none at this level: their AVX2 row kernels serve it, because
// the AVX-512 ones we had (two blocks per register) measured slower on the only
// AVX-512 CPU we could run (AMD Zen 4: one token of the default q4_1 model 13%
// slower, a q4_1 row 9.3 against 11.5 GB/s). Activation converters are the AVX2 ones.
#include "backends/cpu/prefetch.h"
#include "backends/cpu/vec_dot.h"
#include "core/half.h"

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
      prefetch_ahead(x + i, 64 * sizeof(T));                                                    \
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

}  // namespace

bool legacy_kernels_avx512(DType weight_type, WeightKernels* out) {
  WeightKernels k;
  if (!legacy_kernels_avx2(weight_type, &k)) return false;  // for act_type and act_from_float
  switch (weight_type) {
    case DType::kF32: k.vec_dot = dot_f32; break;
    case DType::kF16: k.vec_dot = dot_f16; break;
    case DType::kBF16: k.vec_dot = dot_bf16; break;
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
