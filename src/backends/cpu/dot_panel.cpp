// Panels (panel.h) of the 32-element block formats and the k-quants: the packers
// that interleave converted activation rows, the scalar model of the kernels'
// arithmetic, and the choice among ISA levels. The vector kernels (and the
// vector packers) are dot_panel-inl.h.
#include <cmath>
#include <cstring>
#include <type_traits>

#include "backends/cpu/panel.h"
#include "backends/cpu/vec_dot.h"
#include "core/half.h"
#include "quant/blocks_kquants.h"
#include "quant/blocks_legacy.h"

namespace hearth::cpu {

namespace avx2 {  // dot_panel_avx2.cpp
bool legacy_panels(DType weight_type, WeightKernels* k);
bool kquant_panels(DType weight_type, WeightKernels* k);
}  // namespace avx2
namespace avx512vnni {  // dot_panel_avx512vnni.cpp
bool legacy_panels(DType weight_type, WeightKernels* k);
bool kquant_panels(DType weight_type, WeightKernels* k);
}  // namespace avx512vnni

namespace {

using quant::BlockQ4_0;
using quant::BlockQ4_1;
using quant::BlockQ5_0;
using quant::BlockQ5_1;
using quant::BlockQ8_0;
using quant::BlockQ8_1;
using quant::kLegacyBlock;

template <typename A, bool kHasS>
void pack(const void* act, int64_t act_stride, int tokens, int64_t n, void* group) {
  auto* out = static_cast<PanelBlock*>(group);
  const auto* rows = static_cast<const uint8_t*>(act);
  for (int64_t b = 0; b < n / kLegacyBlock; ++b) {
    PanelBlock& p = out[b];
    std::memset(&p, 0, sizeof(p));
    for (int t = 0; t < tokens; ++t) {
      const A& a = reinterpret_cast<const A*>(rows + t * act_stride)[b];
      p.d[t] = f16_to_f32(a.d);
      if constexpr (kHasS) p.s[t] = f16_to_f32(a.s);
      int32_t sum = 0;
      for (int e = 0; e < kLegacyBlock; ++e) sum += a.qs[e];
      p.sum[t] = sum;
      for (int kg = 0; kg < 8; ++kg) std::memcpy(p.qs[kg][t], a.qs + 4 * kg, 4);
    }
  }
}

// Weight element e of a block as the integer the block's scale multiplies.
int nibble(const uint8_t* qs, int e) { return e < 16 ? qs[e] & 0x0f : qs[e - 16] >> 4; }
int fifth(const uint8_t* qh, int e) { return static_cast<int>((quant::load_qh(qh) >> e) & 1) << 4; }
int value(const BlockQ4_0& x, int e) { return nibble(x.qs, e) - 8; }
int value(const BlockQ4_1& x, int e) { return nibble(x.qs, e); }
int value(const BlockQ5_0& x, int e) { return (nibble(x.qs, e) | fifth(x.qh, e)) - 16; }
int value(const BlockQ5_1& x, int e) { return nibble(x.qs, e) | fifth(x.qh, e); }
int value(const BlockQ8_0& x, int e) { return x.qs[e]; }

template <typename W>
constexpr bool kAffine = std::is_same_v<W, BlockQ4_1> || std::is_same_v<W, BlockQ5_1>;

// Runs the scalar model pair by pair: y[t][r] = the float block_dot folds over
// weight row r's blocks and token t's panel blocks (its lane of its group).
template <typename W, typename P, typename BlockDot>
void for_each_pair(int64_t n_blocks, const void* w, int64_t w_stride, const void* panel, int64_t group_stride,
                   float* y, int64_t y_stride, int rows, int tokens, BlockDot block_dot) {
  for (int r = 0; r < rows; ++r) {
    const W* x = reinterpret_cast<const W*>(static_cast<const uint8_t*>(w) + r * w_stride);
    for (int t = 0; t < tokens; ++t) {
      const auto* p = reinterpret_cast<const P*>(static_cast<const uint8_t*>(panel) + t / kPanelTokens * group_stride);
      const int lane = t % kPanelTokens;
      float acc = 0.0f;
      for (int64_t b = 0; b < n_blocks; ++b) acc = block_dot(x[b], p[b], lane, acc);
      y[t * y_stride + r] = acc;
    }
  }
}

template <typename W>
void reference(int64_t n, const void* w, int64_t w_stride, const void* panel, int64_t group_stride, float* y,
               int64_t y_stride, int rows, int tokens) {
  for_each_pair<W, PanelBlock>(n / kLegacyBlock, w, w_stride, panel, group_stride, y, y_stride, rows, tokens,
                               [](const W& x, const PanelBlock& p, int lane, float acc) {
                                 int32_t isum = 0;
                                 for (int e = 0; e < kLegacyBlock; ++e) isum += value(x, e) * p.qs[e / 4][lane][e % 4];
                                 acc = std::fma(static_cast<float>(isum), f16_to_f32(x.d) * p.d[lane], acc);
                                 if constexpr (kAffine<W>) acc = std::fma(f16_to_f32(x.m), p.s[lane], acc);
                                 return acc;
                               });
}

void pack_q8_k(const void* act, int64_t act_stride, int tokens, int64_t n, void* group) {
  auto* out = static_cast<PanelBlockK*>(group);
  const auto* rows = static_cast<const uint8_t*>(act);
  for (int64_t b = 0; b < n / quant::kQK; ++b) {
    PanelBlockK& p = out[b];
    std::memset(&p, 0, sizeof(p));
    for (int t = 0; t < tokens; ++t) {
      const quant::BlockQ8K& a = reinterpret_cast<const quant::BlockQ8K*>(rows + t * act_stride)[b];
      p.d[t] = a.d;
      for (int k = 0; k < 16; ++k) {
        p.sum16[k][t] = a.bsums[k];
        p.sum16p[k / 2][t][k % 2] = a.bsums[k];
      }
      for (int j = 0; j < 4; ++j) {
        p.sum32[j][t][0] = static_cast<int16_t>(a.bsums[4 * j] + a.bsums[4 * j + 1]);
        p.sum32[j][t][1] = static_cast<int16_t>(a.bsums[4 * j + 2] + a.bsums[4 * j + 3]);
      }
      for (int kg = 0; kg < 64; ++kg) std::memcpy(p.qs[kg][t], a.qs + 4 * kg, 4);
    }
  }
}

// q4_K / q5_K element l of sub-block j (0..7) of a super-block.
template <typename W>
int k4_value(const W& x, int j, int l) {
  return quant::k4_level(x.qs, quant::fifth_bits(x), j / 2, j % 2, l);
}

template <typename W>
void reference_k4(int64_t n, const void* w, int64_t w_stride, const void* panel, int64_t group_stride, float* y,
                  int64_t y_stride, int rows, int tokens) {
  for_each_pair<W, PanelBlockK>(n / quant::kQK, w, w_stride, panel, group_stride, y, y_stride, rows, tokens,
                                [](const W& x, const PanelBlockK& p, int lane, float acc) {
                                  uint8_t sc[8], m[8];
                                  quant::unpack_k4_scales(x.scales, sc, m);
                                  int32_t isum = 0, msum = 0;
                                  for (int j = 0; j < 8; ++j) {
                                    int32_t s = 0;
                                    for (int l = 0; l < 32; ++l) {
                                      const int e = 32 * j + l;
                                      s += k4_value(x, j, l) * p.qs[e / 4][lane][e % 4];
                                    }
                                    isum += sc[j] * s;
                                    msum += m[j] * p.sum32[j / 2][lane][j % 2];
                                  }
                                  const float da = p.d[lane];
                                  acc = std::fma(static_cast<float>(isum), f16_to_f32(x.d) * da, acc);
                                  return std::fma(static_cast<float>(msum), -(f16_to_f32(x.dmin) * da), acc);
                                });
}

void reference_q6_k(int64_t n, const void* w, int64_t w_stride, const void* panel, int64_t group_stride, float* y,
                    int64_t y_stride, int rows, int tokens) {
  for_each_pair<quant::BlockQ6K, PanelBlockK>(
      n / quant::kQK, w, w_stride, panel, group_stride, y, y_stride, rows, tokens,
      [](const quant::BlockQ6K& x, const PanelBlockK& p, int lane, float acc) {
        int32_t isum = 0;
        for (int k = 0; k < 16; ++k) {
          int32_t s = 0;
          for (int e = 16 * k; e < 16 * k + 16; ++e) s += quant::q6_level(x, e) * p.qs[e / 4][lane][e % 4];
          isum += x.scales[k] * s;
        }
        return std::fma(static_cast<float>(isum), f16_to_f32(x.d) * p.d[lane], acc);
      });
}

}  // namespace

PanelDotFn panel_reference(DType weight_type) {
  switch (weight_type) {
    case DType::kQ4_0: return reference<BlockQ4_0>;
    case DType::kQ4_1: return reference<BlockQ4_1>;
    case DType::kQ5_0: return reference<BlockQ5_0>;
    case DType::kQ5_1: return reference<BlockQ5_1>;
    case DType::kQ8_0: return reference<BlockQ8_0>;
    case DType::kQ4_K: return reference_k4<quant::BlockQ4K>;
    case DType::kQ5_K: return reference_k4<quant::BlockQ5K>;
    case DType::kQ6_K: return reference_q6_k;
    default: return nullptr;
  }
}

PanelPackFn panel_packer(DType act_type) {
  switch (act_type) {
    case DType::kQ8_0: return pack<BlockQ8_0, false>;
    case DType::kQ8_1: return pack<BlockQ8_1, true>;
    case DType::kQ8_K: return pack_q8_k;
    default: return nullptr;
  }
}

// Scalar has no panels; AVX-512 without VNNI borrows the AVX2 ones (vec_dot.cpp).
bool legacy_panel_kernels(DType weight_type, Isa isa, WeightKernels* k) {
  if (isa == Isa::kAvx2) return avx2::legacy_panels(weight_type, k);
  if (isa == Isa::kAvx512Vnni) return avx512vnni::legacy_panels(weight_type, k);
  return false;
}

bool kquant_panel_kernels(DType weight_type, Isa isa, WeightKernels* k) {
  if (isa == Isa::kAvx2) return avx2::kquant_panels(weight_type, k);
  if (isa == Isa::kAvx512Vnni) return avx512vnni::kquant_panels(weight_type, k);
  return false;
}

}  // namespace hearth::cpu
