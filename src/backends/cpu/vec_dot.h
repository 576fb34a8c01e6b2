// Per-weight-type dot-product kernels. A matmul converts each activation row once
// to the kernel's activation type (q8_0, q8_1, q8_K, f16, bf16 or f32), then
// calls vec_dot for every (weight row, activation row) pair.
#pragma once

#include <cstdint>

#include "backends/cpu/panel.h"
#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/sum_order.h"

namespace hearth::cpu {

// Converts n floats to the activation type (n a multiple of its block size).
using FromFloatFn = void (*)(const float* x, void* y, int64_t n);
// Dot product of one weight row and one converted activation row of n elements.
using VecDotFn = float (*)(int64_t n, const void* weight_row, const void* act_row);

// Dot products of a tile of weight rows (w, w_stride bytes apart) against
// activation rows (a, a_stride bytes apart): y[c * y_stride + r] = dot(row r,
// activation c) for r < rows <= tile_rows, c < cols <= tile_cols. Loading a
// block once for several dot products is what makes prompt processing fast.
// Each pair's result is the same in any tile shape (it may differ from
// vec_dot's in the last bits: the two sum in different orders).
using TileDotFn = void (*)(int64_t n, const void* w, int64_t w_stride, const void* a, int64_t a_stride, float* y,
                           int64_t y_stride, int rows, int cols);

struct WeightKernels {
  DType act_type = DType::kF32;
  FromFloatFn act_from_float = nullptr;
  VecDotFn vec_dot = nullptr;
  Isa isa = Isa::kScalar;  // the level the chosen kernels were written for
  TileDotFn tile_dot = nullptr;  // null: the matmul calls vec_dot per pair
  int tile_rows = 1;
  int tile_cols = 1;
  // Panels (panel.h) take over from the tiles from panel_min_tokens tokens on.
  PanelPackFn panel_pack = nullptr;
  PanelDotFn panel_dot = nullptr;  // null: no panels at this level
  int panel_rows = 0;              // most weight rows per panel_dot call
  int panel_tokens = 0;            // most tokens per call, a multiple of kPanelTokens
  int panel_min_tokens = 0;
  Isa panel_isa = Isa::kScalar;  // the level the panel kernels were written for
  // How each kernel sums the blocks of a row (core/sum_order.h), so that another
  // backend can give the same floats.
  SumOrder vec_order = SumOrder::kOther;
  SumOrder tile_order = SumOrder::kOther;
  SumOrder panel_order = SumOrder::kOther;
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
