// The float summation orders of a dot product between a row of 32-element
// quantized weight blocks (q4_0, q4_1, q5_0, q5_1, q8_0) and a row of quantized
// activation blocks (q8_0, q8_1). A backend that computes in one of these orders
// gives the very float another backend gives in the same order, so a graph split
// across devices can reproduce the CPU's results bit for bit.
//
// Every order starts from exact integers. For block b, with w_j the block's
// integer weights (q - 8 for q4_0, q - 16 for q5_0, q for the others) and a_j
// the activation's int8 values:
//   idot_b     = sum of w_j * a_j over the 32 elements (exact);
//   lane_b[m]  = sum of w_j * a_j over j = 4m .. 4m+3, m = 0..7 (exact);
//   dd_b       = d_w * d_a, one rounded f32 product of the two f16 scales;
//   affine formats (q4_1, q5_1) also use m_w (the block minimum) and s_a (the
//   activation's f16 d * sum(a)).
// hsum8(v) = ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)), each + rounded.
// fma is fused (one rounding); every other * and + rounds on its own.
#pragma once

#include <cstdint>

namespace hearth {

enum class SumOrder : uint8_t {
  // None of the orders below (float weights, k-quants, the NEON kernels): no
  // other backend reproduces it bit for bit.
  kOther = 0,
  // One running sum: sum += float(idot_b) * dd_b, and for affine formats the
  // block's term is (float(idot_b) * dd_b + m_w * s_a) before it is added.
  kBlocks = 1,
  // One running sum of fused steps: acc = fma(float(idot_b), dd_b, acc), then for
  // affine formats acc = fma(m_w, s_a, acc), block by block.
  kBlocksFma = 2,
  // Eight lanes in two accumulators: blocks b = 4g, 4g+2 go to A and 4g+1, 4g+3
  // to B (A[m] = fma(dd_b, float(lane_b[m]), A[m])), the last nb % 4 blocks to A;
  // result hsum8(A + B). Affine formats add offsets: o[j] = fma(m_w, s_a, o[j])
  // for b = 4g + j over the whole groups of 4, t = fma(m_w, s_a, t) over the
  // last nb % 4 blocks in order, and the result is
  // (hsum8(A + B) + ((o0 + o2) + (o1 + o3))) + t.
  kLanes8Pairs = 3,
  // Eight lanes in one accumulator, acc[m] = fma(dd_b, float(lane_b[m]), acc[m])
  // for every block in order; affine formats keep o = fma(m_w, s_a, o) block by
  // block; result hsum8(acc) (+ o).
  kLanes8Single = 4,
};

inline const char* sum_order_name(SumOrder order) {
  switch (order) {
    case SumOrder::kBlocks: return "blocks";
    case SumOrder::kBlocksFma: return "blocks-fma";
    case SumOrder::kLanes8Pairs: return "lanes8-pairs";
    case SumOrder::kLanes8Single: return "lanes8-single";
    case SumOrder::kOther: break;
  }
  return "other";
}

}  // namespace hearth
