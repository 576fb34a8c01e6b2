// Dot-product kernels for the 256-element super-block formats (q4_k q5_k q6_k) against
// q8_K activations: the scalar references and the choice among ISA levels.
#include "backends/cpu/dot_kquants_tiles.h"
#include "backends/cpu/dot_neon.h"
#include "backends/cpu/vec_dot.h"
#include "core/half.h"
#include "quant/blocks_kquants.h"

namespace hearth::cpu {

// Defined in dot_kquants_avx2.cpp and dot_kquants_avx512.cpp; call only where the CPU has them.
float vec_dot_q4_k_q8_k_avx2(int64_t n, const void* w, const void* a);
float vec_dot_q5_k_q8_k_avx2(int64_t n, const void* w, const void* a);
float vec_dot_q6_k_q8_k_avx2(int64_t n, const void* w, const void* a);
void quantize_row_q8_k_avx2(const float* x, void* y, int64_t n);
float vec_dot_q4_k_q8_k_avx512(int64_t n, const void* w, const void* a);
float vec_dot_q5_k_q8_k_avx512(int64_t n, const void* w, const void* a);
float vec_dot_q6_k_q8_k_avx512(int64_t n, const void* w, const void* a);

namespace {

using quant::BlockQ4K;
using quant::BlockQ5K;
using quant::BlockQ6K;
using quant::BlockQ8K;
using quant::kQK;

// Integer sums per sub-block, weighted by the integer scales, then one float step per
// super-block: the reference runtime's order of operations, which keeps our logits
// within rounding of its own.
// q4_K and q5_K: Block is BlockQ4K or BlockQ5K.
template <class Block>
float vec_dot_q45_k_q8_k_scalar(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const Block*>(vw);
  const auto* a = static_cast<const BlockQ8K*>(va);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQK; ++b) {
    uint8_t sc[8], m[8];
    quant::unpack_k4_scales(w[b].scales, sc, m);
    const uint8_t* qh = quant::fifth_bits(w[b]);
    int32_t sumi = 0;
    for (int c = 0; c < 4; ++c) {
      const int8_t* y = a[b].qs + 64 * c;
      int32_t lo = 0, hi = 0;
      for (int l = 0; l < 32; ++l) {
        lo += quant::k4_level(w[b].qs, qh, c, 0, l) * y[l];
        hi += quant::k4_level(w[b].qs, qh, c, 1, l) * y[l + 32];
      }
      sumi += sc[2 * c] * lo + sc[2 * c + 1] * hi;
    }
    int32_t summ = 0;
    for (int j = 0; j < 8; ++j) summ += m[j] * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
    sum += a[b].d * f16_to_f32(w[b].d) * sumi - a[b].d * f16_to_f32(w[b].dmin) * summ;
  }
  return sum;
}

float vec_dot_q6_k_q8_k_scalar(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6K*>(vw);
  const auto* a = static_cast<const BlockQ8K*>(va);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int32_t sumi = 0;
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = w[b].ql + 64 * h;
      const uint8_t* qh = w[b].qh + 32 * h;
      const int8_t* sc = w[b].scales + 8 * h;
      const int8_t* y = a[b].qs + 128 * h;
      // s[k]: the 16-element group k of this half, whose scale is sc[k].
      int32_t s[8] = {};
      for (int l = 0; l < 32; ++l) {
        const int g = l / 16;
        s[g] += (((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32) * y[l];
        s[g + 2] += (((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32) * y[l + 32];
        s[g + 4] += (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32) * y[l + 64];
        s[g + 6] += (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32) * y[l + 96];
      }
      for (int k = 0; k < 8; ++k) sumi += sc[k] * s[k];
    }
    sum += a[b].d * f16_to_f32(w[b].d) * sumi;
  }
  return sum;
}

}  // namespace

bool kquant_weight_kernels(DType weight_type, Isa isa, WeightKernels* out) {
  VecDotFn dot = nullptr;
  FromFloatFn from_float = nullptr;
  switch (isa) {
    case Isa::kScalar:
      from_float = quant::quantize_row_q8_k;
      if (weight_type == DType::kQ4_K) dot = vec_dot_q45_k_q8_k_scalar<BlockQ4K>;
      if (weight_type == DType::kQ5_K) dot = vec_dot_q45_k_q8_k_scalar<BlockQ5K>;
      if (weight_type == DType::kQ6_K) dot = vec_dot_q6_k_q8_k_scalar;
      break;
#if defined(__x86_64__)
    case Isa::kAvx2:
      from_float = quantize_row_q8_k_avx2;
      if (weight_type == DType::kQ4_K) dot = vec_dot_q4_k_q8_k_avx2;
      if (weight_type == DType::kQ5_K) dot = vec_dot_q5_k_q8_k_avx2;
      if (weight_type == DType::kQ6_K) dot = vec_dot_q6_k_q8_k_avx2;
      break;
    case Isa::kAvx512:
      // Converting one activation row is cheap next to the dot products over every
      // weight row, so the AVX2 quantizer serves this level too.
      from_float = quantize_row_q8_k_avx2;
      if (weight_type == DType::kQ4_K) dot = vec_dot_q4_k_q8_k_avx512;
      if (weight_type == DType::kQ5_K) dot = vec_dot_q5_k_q8_k_avx512;
      if (weight_type == DType::kQ6_K) dot = vec_dot_q6_k_q8_k_avx512;
      break;
    case Isa::kAvx512Vnni:  // no VNNI-specific kernels: the AVX-512 ones serve
      break;
#else
    case Isa::kAvx2:
    case Isa::kAvx512:
    case Isa::kAvx512Vnni:  // x86 levels off x86: none
      break;
#endif
    case Isa::kNeon:
    case Isa::kNeonDot:
      from_float = quant::quantize_row_q8_k;
      if (weight_type == DType::kQ4_K || weight_type == DType::kQ5_K || weight_type == DType::kQ6_K)
        dot = arm_vec_dot(weight_type, isa);
      break;
  }
  if (!dot) return false;
  *out = WeightKernels{};
  out->act_type = DType::kQ8_K;
  out->act_from_float = from_float;
  out->vec_dot = dot;
  out->isa = isa;
#if defined(__x86_64__)
  if (isa == Isa::kAvx2) {
    out->tile_dot = weight_type == DType::kQ4_K   ? tile_dot_q4_k_q8_k_avx2
                    : weight_type == DType::kQ5_K ? tile_dot_q5_k_q8_k_avx2
                                                  : tile_dot_q6_k_q8_k_avx2;
    out->tile_rows = kKTileRows;
    out->tile_cols = kKTileCols;
  }
#endif
  return true;
}

}  // namespace hearth::cpu
