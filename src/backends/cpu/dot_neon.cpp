// Advanced SIMD row kernels (every AArch64 CPU): f32, f16 and bf16 weights, and
// the integer block formats (dot_neon-inl.h) with a widening multiply and
// pairwise add as their 16-byte integer dot.
#include "backends/cpu/dot_neon.h"

namespace hearth::cpu {

VecDotFn arm_vec_dot(DType weight_type, Isa isa) {
  if ((isa != Isa::kNeon && isa != Isa::kNeonDot) || !isa_supported(isa)) return nullptr;
  return isa == Isa::kNeon ? vec_dot_neon(weight_type) : vec_dot_neondot(weight_type);
}

}  // namespace hearth::cpu

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstdint>
#include <type_traits>

#include "core/half.h"
#include "quant/blocks_kquants.h"
#include "quant/blocks_legacy.h"

namespace hearth::cpu {
namespace {

inline int32x4_t dot_i8x16(int32x4_t acc, int8x16_t a, int8x16_t b) {
  acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
  return vpadalq_s16(acc, vmull_high_s8(a, b));
}

}  // namespace
}  // namespace hearth::cpu

#include "backends/cpu/dot_neon-inl.h"

namespace hearth::cpu {
namespace {

// Float rows: four accumulators of four lanes, then the tail one by one. Load
// turns a pointer to 4 weights or activations into float32x4 (plain, f16, bf16).
template <class T, float32x4_t (*Load4)(const T*), float (*One)(T)>
float dot_float_rows(int64_t n, const void* vw, const void* va) {
  const auto* x = static_cast<const T*>(vw);
  const auto* y = static_cast<const T*>(va);
  float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = vfmaq_f32(s0, Load4(x + i), Load4(y + i));
    s1 = vfmaq_f32(s1, Load4(x + i + 4), Load4(y + i + 4));
    s2 = vfmaq_f32(s2, Load4(x + i + 8), Load4(y + i + 8));
    s3 = vfmaq_f32(s3, Load4(x + i + 12), Load4(y + i + 12));
  }
  for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, Load4(x + i), Load4(y + i));
  float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
  for (; i < n; ++i) sum += One(x[i]) * One(y[i]);
  return sum;
}

float32x4_t load_f32(const float* p) { return vld1q_f32(p); }
float32x4_t load_f16(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
float32x4_t load_bf16(const uint16_t* p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
float same(float v) { return v; }

}  // namespace

VecDotFn vec_dot_neon(DType weight_type) {
  switch (weight_type) {
    case DType::kF32: return dot_float_rows<float, load_f32, same>;
    case DType::kF16: return dot_float_rows<uint16_t, load_f16, f16_to_f32>;
    case DType::kBF16: return dot_float_rows<uint16_t, load_bf16, bf16_to_f32>;
    default: return block_vec_dot(weight_type);
  }
}

}  // namespace hearth::cpu

#else

namespace hearth::cpu {
VecDotFn vec_dot_neon(DType) { return nullptr; }
}  // namespace hearth::cpu

#endif
