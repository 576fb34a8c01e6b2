// Multi-token matmul on activation panels: the quantized activations of up to 8
// tokens interleaved 4 bytes at a time, so one 256-bit register holds the same 4
// elements of 8 tokens and a weight dword broadcast against it gives 8 tokens'
// partial dots in one integer multiply-add (batched decoding, prompt processing).
#pragma once

#include <cstdint>

#include "core/cpu_features.h"
#include "core/dtype.h"

namespace hearth::cpu {

struct WeightKernels;

inline constexpr int kPanelTokens = 8;  // tokens (int32 lanes of a 256-bit register) per panel group

// 32 elements (one q8_0/q8_1 block) of one group of 8 tokens. Lanes past the
// group's last token are zero everywhere, so they add nothing and are never stored.
struct PanelBlock {
  int8_t qs[8][kPanelTokens][4];  // [k-group][token][4]: block elements 4*kg .. 4*kg+3
  float d[kPanelTokens];          // the token block's f16 scale, widened
  float s[kPanelTokens];          // q8_1: its f16 s (d * sum), widened; q8_0: 0
  int32_t sum[kPanelTokens];      // sum of the token block's 32 quantized values
};
static_assert(sizeof(PanelBlock) % 32 == 0, "k-group rows stay 32-byte aligned from block to block");

// 256 elements (one q8_K super-block) of one group of 8 tokens, for the k-quants.
struct PanelBlockK {
  int8_t qs[64][kPanelTokens][4];      // [k-group][token][4]: elements 4*kg .. 4*kg+3
  float d[kPanelTokens];               // the token's q8_K scale
  int32_t sum16[16][kPanelTokens];     // q8_K's bsums: sums of the 16-element groups
  int16_t sum16p[8][kPanelTokens][2];  // the same, groups 2p and 2p+1 paired for madd
  int16_t sum32[4][kPanelTokens][2];   // sums of the 32-element sub-blocks 2p and 2p+1, paired
};
static_assert(sizeof(PanelBlockK) % 32 == 0, "k-group rows stay 32-byte aligned from block to block");

// Builds one panel group (panel_group_bytes) from `tokens` (1..8) converted
// activation rows of n elements, act_stride bytes apart, in the activation type
// the weight kernels chose (q8_0 or q8_1: PanelBlocks; q8_K: PanelBlockKs).
using PanelPackFn = void (*)(const void* act, int64_t act_stride, int tokens, int64_t n, void* group);

// y[t * y_stride + r] = dot(weight row r, token t) for r < rows, t < tokens. Token t
// is lane t % 8 of the panel group t / 8; groups are group_stride bytes apart.
// Each (row, token) pair gets the very float the scalar model (panel_reference)
// gives, whatever rows and tokens the call covers and wherever the token sits.
using PanelDotFn = void (*)(int64_t n, const void* w, int64_t w_stride, const void* panel, int64_t group_stride,
                            float* y, int64_t y_stride, int rows, int tokens);

// Bytes of one panel group of n elements converted to act_type.
inline int64_t panel_group_bytes(DType act_type, int64_t n) {
  return act_type == DType::kQ8_K ? n / 256 * static_cast<int64_t>(sizeof(PanelBlockK))
                                  : n / 32 * static_cast<int64_t>(sizeof(PanelBlock));
}

// The scalar model of the panel kernels' arithmetic, one pair at a time: per block an
// exact integer dot, acc = fma(float(idot), d_w * d_a, acc), then (q4_1, q5_1)
// acc = fma(m_w, s_a, acc); per k-quant super-block the integer sum of the
// sub-block dots times their scales, acc = fma(float(isum), d_w * d_a, acc), then
// (q4_K, q5_K) acc = fma(float(msum), -(dmin_w * d_a), acc) with msum the mins
// times the sub-block sums of the activations. Null for types without panels.
PanelDotFn panel_reference(DType weight_type);
// The packer for an activation type (q8_0, q8_1 or q8_K); null for others.
PanelPackFn panel_packer(DType act_type);

// Fill the panel fields of *k (weight kernels of this type at exactly this ISA
// level) when the level has panel kernels for it; dot_panel.cpp.
bool legacy_panel_kernels(DType weight_type, Isa isa, WeightKernels* k);
bool kquant_panel_kernels(DType weight_type, Isa isa, WeightKernels* k);

}  // namespace hearth::cpu
