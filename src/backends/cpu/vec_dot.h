// Per-weight-type dot-product kernels. A matmul converts each activation row once
// to the kernel's activation type (q8_0, q8_1, q8_K, f16, bf16 or f32), then
// calls vec_dot for every (weight row, activation row) pair.
#pragma once

#include <cstdint>

#include "core/cpu_features.h"
#include "core/dtype.h"

namespace hearth::cpu {

// Converts n floats to the activation type (n a multiple of its block size).
using FromFloatFn = void (*)(const float* x, void* y, int64_t n);
// Dot product of one weight row and one converted activation row of n elements.
using VecDotFn = float (*)(int64_t n, const void* weight_row, const void* act_row);

struct WeightKernels {
  DType act_type = DType::kF32;
  FromFloatFn act_from_float = nullptr;
  VecDotFn vec_dot = nullptr;
  Isa isa = Isa::kScalar;  // the level the chosen kernels were written for
};

// The fastest kernels for a weight type usable at ISA level `isa` or below.
// Throws Error(kUnsupported) for a weight type without kernels.
WeightKernels weight_kernels(DType weight_type, Isa isa = best_isa());
bool has_weight_kernels(DType weight_type);

// Families fill *out and return true when they know the type at exactly this
// ISA level (weight_kernels falls back level by level to kScalar).
bool legacy_weight_kernels(DType weight_type, Isa isa, WeightKernels* out);  // dot_legacy.cpp
bool kquant_weight_kernels(DType weight_type, Isa isa, WeightKernels* out);  // dot_kquants.cpp

}  // namespace hearth::cpu
