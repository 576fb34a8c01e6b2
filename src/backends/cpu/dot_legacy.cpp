// Dot-product kernels for f32, f16, bf16 and the 32-element block formats: the
// scalar references live here, the AVX2 and AVX-512 versions in
// dot_legacy_avx2.cpp and dot_legacy_avx512.cpp, the aarch64 ones in
// dot_neon.cpp and dot_neondot.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/cpu/dot_neon.h"
#include "backends/cpu/vec_dot.h"
#include "core/half.h"
#include "quant/blocks_legacy.h"
#include "quant/families.h"

namespace hearth::cpu {

// Defined in dot_legacy_avx2.cpp / dot_legacy_avx512.cpp (false off x86).
bool legacy_kernels_avx2(DType weight_type, WeightKernels* out);
bool legacy_kernels_avx512(DType weight_type, WeightKernels* out);

namespace {

using quant::BlockQ4_0;
using quant::BlockQ4_1;
using quant::BlockQ5_0;
using quant::BlockQ5_1;
using quant::BlockQ8_0;
using quant::BlockQ8_1;
using quant::kLegacyBlock;
constexpr int kHalf = kLegacyBlock / 2;

void f32_copy(const float* x, void* y, int64_t n) { std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float)); }

void f32_to_f16_row(const float* x, void* y, int64_t n) {
  auto* out = static_cast<uint16_t*>(y);
  for (int64_t i = 0; i < n; ++i) out[i] = f32_to_f16(x[i]);
}

void f32_to_bf16_row(const float* x, void* y, int64_t n) {
  auto* out = static_cast<uint16_t*>(y);
  for (int64_t i = 0; i < n; ++i) out[i] = f32_to_bf16(x[i]);
}

// The float references accumulate in double: they define the exact answer the
// vector kernels are measured against.
float dot_f32(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const float*>(w);
  const auto* y = static_cast<const float*>(a);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * y[i];
  return static_cast<float>(sum);
}

float dot_f16(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(f16_to_f32(x[i])) * f16_to_f32(y[i]);
  return static_cast<float>(sum);
}

float dot_bf16(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(bf16_to_f32(x[i])) * bf16_to_f32(y[i]);
  return static_cast<float>(sum);
}

// The quantised references follow the reference runtime: an exact integer dot per
// block, scaled by d_w * d_a in float, blocks summed in float.
float dot_q4_0_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kLegacyBlock; ++i) {
    int sumi = 0;
    for (int j = 0; j < kHalf; ++j) {
      sumi += ((x[i].qs[j] & 0x0f) - 8) * y[i].qs[j];
      sumi += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + kHalf];
    }
    sum += static_cast<float>(sumi) * (f16_to_f32(x[i].d) * f16_to_f32(y[i].d));
  }
  return sum;
}

float dot_q4_1_q8_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kLegacyBlock; ++i) {
    int sumi = 0;
    for (int j = 0; j < kHalf; ++j) {
      sumi += (x[i].qs[j] & 0x0f) * y[i].qs[j];
      sumi += (x[i].qs[j] >> 4) * y[i].qs[j + kHalf];
    }
    sum += static_cast<float>(sumi) * (f16_to_f32(x[i].d) * f16_to_f32(y[i].d)) +
           f16_to_f32(x[i].m) * f16_to_f32(y[i].s);
  }
  return sum;
}

float dot_q5_0_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kLegacyBlock; ++i) {
    const uint32_t qh = quant::load_qh(x[i].qh);
    int sumi = 0;
    for (int j = 0; j < kHalf; ++j) {
      const int q0 = ((x[i].qs[j] & 0x0f) | static_cast<int>((qh >> j) & 1) << 4) - 16;
      const int q1 = ((x[i].qs[j] >> 4) | static_cast<int>((qh >> (j + kHalf)) & 1) << 4) - 16;
      sumi += q0 * y[i].qs[j] + q1 * y[i].qs[j + kHalf];
    }
    sum += static_cast<float>(sumi) * (f16_to_f32(x[i].d) * f16_to_f32(y[i].d));
  }
  return sum;
}

float dot_q5_1_q8_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kLegacyBlock; ++i) {
    const uint32_t qh = quant::load_qh(x[i].qh);
    int sumi = 0;
    for (int j = 0; j < kHalf; ++j) {
      const int q0 = (x[i].qs[j] & 0x0f) | static_cast<int>((qh >> j) & 1) << 4;
      const int q1 = (x[i].qs[j] >> 4) | static_cast<int>((qh >> (j + kHalf)) & 1) << 4;
      sumi += q0 * y[i].qs[j] + q1 * y[i].qs[j + kHalf];
    }
    sum += static_cast<float>(sumi) * (f16_to_f32(x[i].d) * f16_to_f32(y[i].d)) +
           f16_to_f32(x[i].m) * f16_to_f32(y[i].s);
  }
  return sum;
}

float dot_q8_0_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kLegacyBlock; ++i) {
    int sumi = 0;
    for (int j = 0; j < kLegacyBlock; ++j) sumi += x[i].qs[j] * y[i].qs[j];
    sum += static_cast<float>(sumi) * (f16_to_f32(x[i].d) * f16_to_f32(y[i].d));
  }
  return sum;
}

// Activation quantisation. Weights are quantised by the reference converters
// (quant/legacy.cpp: q = roundf(x * (1/d))); activations use the formula of the
// reference runtime's SIMD paths, q = nearest-even(x * (127/amax)), because
// greedy-token parity with it on real models is decided by these rare
// one-step rounding differences.
int act_quantize_block(const float* x, uint16_t* d_half, int8_t* qs, float* d_out) {
  float amax = 0.0f;
  for (int j = 0; j < kLegacyBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  *d_half = f32_to_f16(d);
  *d_out = d;
  int sum = 0;
  for (int j = 0; j < kLegacyBlock; ++j) {
    const int q = static_cast<int>(std::nearbyint(x[j] * id));
    qs[j] = static_cast<int8_t>(q);
    sum += q;
  }
  return sum;
}

void act_quantize_q8_0(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(y);
  float d;
  for (int64_t i = 0; i < n / kLegacyBlock; ++i) act_quantize_block(x + i * kLegacyBlock, &b[i].d, b[i].qs, &d);
}

void act_quantize_q8_1(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(y);
  for (int64_t i = 0; i < n / kLegacyBlock; ++i) {
    float d;
    const int sum = act_quantize_block(x + i * kLegacyBlock, &b[i].d, b[i].qs, &d);
    b[i].s = f32_to_f16(static_cast<float>(sum) * d);
  }
}

bool scalar_kernels(DType weight_type, WeightKernels* out) {
  WeightKernels k;
  switch (weight_type) {
    case DType::kF32: k = {DType::kF32, f32_copy, dot_f32}; break;
    case DType::kF16: k = {DType::kF16, f32_to_f16_row, dot_f16}; break;
    case DType::kBF16: k = {DType::kBF16, f32_to_bf16_row, dot_bf16}; break;
    case DType::kQ4_0: k = {DType::kQ8_0, act_quantize_q8_0, dot_q4_0_q8_0}; break;
    case DType::kQ4_1: k = {DType::kQ8_1, act_quantize_q8_1, dot_q4_1_q8_1}; break;
    case DType::kQ5_0: k = {DType::kQ8_0, act_quantize_q8_0, dot_q5_0_q8_0}; break;
    case DType::kQ5_1: k = {DType::kQ8_1, act_quantize_q8_1, dot_q5_1_q8_1}; break;
    case DType::kQ8_0: k = {DType::kQ8_0, act_quantize_q8_0, dot_q8_0_q8_0}; break;
    default: return false;
  }
  k.isa = Isa::kScalar;
  // The float references sum in double; the block formats' follow kBlocks.
  if (k.act_type == DType::kQ8_0 || k.act_type == DType::kQ8_1) k.vec_order = SumOrder::kBlocks;
  *out = k;
  return true;
}

}  // namespace

bool legacy_weight_kernels(DType weight_type, Isa isa, WeightKernels* out) {
  switch (isa) {
    case Isa::kScalar: return scalar_kernels(weight_type, out);
    case Isa::kAvx2: return legacy_kernels_avx2(weight_type, out);
    case Isa::kAvx512: return legacy_kernels_avx512(weight_type, out);
    case Isa::kAvx512Vnni: return false;  // nothing VNNI-specific yet: the AVX-512 kernels serve
    case Isa::kNeon:
    case Isa::kNeonDot: {
      // The scalar level's activation converters, with the level's row kernel.
      WeightKernels k;
      const VecDotFn dot = arm_vec_dot(weight_type, isa);
      if (!dot || !scalar_kernels(weight_type, &k)) return false;
      k.vec_dot = dot;
      k.vec_order = SumOrder::kOther;
      k.isa = isa;
      *out = k;
      return true;
    }
  }
  return false;
}

}  // namespace hearth::cpu
