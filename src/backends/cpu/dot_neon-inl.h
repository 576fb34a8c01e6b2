// The aarch64 row kernels of the integer block formats (q4_0 q4_1 q5_0 q5_1 q8_0
// against q8_0/q8_1 activations, q4_K q5_K q6_K against q8_K), written once for
// both Advanced SIMD levels. dot_neon.cpp and dot_neondot.cpp each include it
// after their own includes (and dot_neondot.cpp after its +dotprod target
// pragma), having defined
//   int32x4_t dot_i8x16(int32x4_t acc, int8x16_t a, int8x16_t b)
// which adds the 16 products a[i] * b[i] into the four lanes of acc, exactly
// (every lane sum here stays far inside int32). Everything is in an anonymous
// namespace: the two copies are compiled for different targets and must not
// be merged by the linker. The integer sums are exact, so a kernel differs
// from the scalar reference only in the order it adds floats.
//
// Include guard: none; <arm_neon.h>, quant/blocks_legacy.h,
// quant/blocks_kquants.h and core/half.h come first.

namespace hearth::cpu {
namespace {

// Sixteen levels of a 4-bit block: the low nibbles (elements 0..15) or the
// high ones (16..31) of qs[0..15], as int8.
inline int8x16_t low_nibbles(uint8x16_t q) { return vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0f))); }
inline int8x16_t high_nibbles(uint8x16_t q) { return vreinterpretq_s8_u8(vshrq_n_u8(q, 4)); }

// 0x10 in each byte of `bytes` that has the bit of `mask` set (a fifth bit of
// q5_0/q5_1/q5_K moved to where it joins the low four).
inline uint8x16_t bit_as_0x10(uint8x16_t bytes, uint8x16_t mask) {
  return vandq_u8(vtstq_u8(bytes, mask), vdupq_n_u8(0x10));
}

// The fifth bits of q5_0/q5_1 for elements 16 * part + i: bit 16 * part + i of qh.
inline uint8x16_t fifth_bits16(uint32_t qh, int part) {
  const uint32_t bits = qh >> (16 * part);
  const uint8x16_t bytes =
      vcombine_u8(vdup_n_u8(static_cast<uint8_t>(bits & 0xff)), vdup_n_u8(static_cast<uint8_t>((bits >> 8) & 0xff)));
  const uint8x16_t lane_bit = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  return bit_as_0x10(bytes, lane_bit);
}

// The 32 levels of one weight block as two int8 vectors (elements 0..15 and
// 16..31), for each legacy format; kAffine formats add m_w * s_a per block.
// The nibble formats: q4_0/q4_1, and q5_0/q5_1 whose blocks add fifth bits
// (qh); offset 0 marks the affine ones (q4_1, q5_1), whose blocks keep a min m_w.
template <class B, int kOffset>
struct LevelsNibbles {
  using Block = B;
  static constexpr bool kAffine = kOffset == 0;
  static void levels(const Block& b, int8x16_t* lo, int8x16_t* hi) {
    const uint8x16_t q = vld1q_u8(b.qs);
    int8x16_t l = low_nibbles(q), h = high_nibbles(q);
    if constexpr (requires { b.qh; }) {
      const uint32_t qh = quant::load_qh(b.qh);
      l = vorrq_s8(l, vreinterpretq_s8_u8(fifth_bits16(qh, 0)));
      h = vorrq_s8(h, vreinterpretq_s8_u8(fifth_bits16(qh, 1)));
    }
    *lo = vsubq_s8(l, vdupq_n_s8(kOffset));
    *hi = vsubq_s8(h, vdupq_n_s8(kOffset));
  }
};
using LevelsQ4_0 = LevelsNibbles<quant::BlockQ4_0, 8>;
using LevelsQ4_1 = LevelsNibbles<quant::BlockQ4_1, 0>;
using LevelsQ5_0 = LevelsNibbles<quant::BlockQ5_0, 16>;
using LevelsQ5_1 = LevelsNibbles<quant::BlockQ5_1, 0>;

struct LevelsQ8_0 {
  using Block = quant::BlockQ8_0;
  static constexpr bool kAffine = false;
  static void levels(const Block& b, int8x16_t* lo, int8x16_t* hi) {
    *lo = vld1q_s8(b.qs);
    *hi = vld1q_s8(b.qs + 16);
  }
};

// One 32-element block's integer dot, in four lanes.
template <class L, class Act>
inline int32x4_t block_dot(const typename L::Block& w, const Act& a) {
  int8x16_t lo, hi;
  L::levels(w, &lo, &hi);
  return dot_i8x16(dot_i8x16(vdupq_n_s32(0), lo, vld1q_s8(a.qs)), hi, vld1q_s8(a.qs + 16));
}

// Σ_blocks (Σ w_q a_q) * d_w * d_a  (+ m_w * s_a for the affine formats), two
// blocks at a time into two float accumulators.
template <class L>
float vec_dot_legacy(int64_t n, const void* vw, const void* va) {
  using Act = std::conditional_t<L::kAffine, quant::BlockQ8_1, quant::BlockQ8_0>;
  const auto* w = static_cast<const typename L::Block*>(vw);
  const auto* a = static_cast<const Act*>(va);
  const int64_t nb = n / quant::kLegacyBlock;
  float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
  float affine = 0.0f;
  int64_t i = 0;
  for (; i + 1 < nb; i += 2) {
    const int32x4_t s0 = block_dot<L>(w[i], a[i]);
    const int32x4_t s1 = block_dot<L>(w[i + 1], a[i + 1]);
    acc0 = vmlaq_n_f32(acc0, vcvtq_f32_s32(s0), f16_to_f32(w[i].d) * f16_to_f32(a[i].d));
    acc1 = vmlaq_n_f32(acc1, vcvtq_f32_s32(s1), f16_to_f32(w[i + 1].d) * f16_to_f32(a[i + 1].d));
    if constexpr (L::kAffine)
      affine += f16_to_f32(w[i].m) * f16_to_f32(a[i].s) + f16_to_f32(w[i + 1].m) * f16_to_f32(a[i + 1].s);
  }
  if (i < nb) {
    acc0 = vmlaq_n_f32(acc0, vcvtq_f32_s32(block_dot<L>(w[i], a[i])), f16_to_f32(w[i].d) * f16_to_f32(a[i].d));
    if constexpr (L::kAffine) affine += f16_to_f32(w[i].m) * f16_to_f32(a[i].s);
  }
  return vaddvq_f32(vaddq_f32(acc0, acc1)) + affine;
}

// ---- k-quants against q8_K: integer sums weighted by the integer scales in
// vector lanes, then one horizontal add and the scalar reference's float step
// per super-block ----

// Σ_j m[j] * (bsums[2j] + bsums[2j+1]): the mins' correction of q4_K/q5_K.
inline int32_t mins_dot(const uint8_t* m, const int16_t* bsums) {
  const int16x8_t pair_sums = vpaddq_s16(vld1q_s16(bsums), vld1q_s16(bsums + 8));
  const int16x8_t mins = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(m)));
  const int32x4_t prod = vmlal_s16(vmull_s16(vget_low_s16(pair_sums), vget_low_s16(mins)),
                                   vget_high_s16(pair_sums), vget_high_s16(mins));
  return vaddvq_s32(prod);
}

template <class Block>
float vec_dot_q45_k(int64_t n, const void* vw, const void* va) {
  constexpr bool kFive = std::is_same_v<Block, quant::BlockQ5K>;
  const auto* w = static_cast<const Block*>(vw);
  const auto* a = static_cast<const quant::BlockQ8K*>(va);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / quant::kQK; ++b) {
    uint8_t sc[8], m[8];
    quant::unpack_k4_scales(w[b].scales, sc, m);
    uint8x16_t qh0 = vdupq_n_u8(0), qh1 = vdupq_n_u8(0);
    if constexpr (kFive) {
      qh0 = vld1q_u8(w[b].qh);
      qh1 = vld1q_u8(w[b].qh + 16);
    }
    int32x4_t acc = vdupq_n_s32(0);
    for (int c = 0; c < 4; ++c) {
      const uint8x16_t q0 = vld1q_u8(w[b].qs + 32 * c), q1 = vld1q_u8(w[b].qs + 32 * c + 16);
      int8x16_t l0 = low_nibbles(q0), l1 = low_nibbles(q1), h0 = high_nibbles(q0), h1 = high_nibbles(q1);
      if constexpr (kFive) {
        // Bit 4 of element 64c + l is bit 2c of qh[l]; of element 64c + 32 + l, bit 2c + 1.
        const uint8x16_t lo_bit = vdupq_n_u8(static_cast<uint8_t>(1u << (2 * c)));
        const uint8x16_t hi_bit = vdupq_n_u8(static_cast<uint8_t>(2u << (2 * c)));
        l0 = vorrq_s8(l0, vreinterpretq_s8_u8(bit_as_0x10(qh0, lo_bit)));
        l1 = vorrq_s8(l1, vreinterpretq_s8_u8(bit_as_0x10(qh1, lo_bit)));
        h0 = vorrq_s8(h0, vreinterpretq_s8_u8(bit_as_0x10(qh0, hi_bit)));
        h1 = vorrq_s8(h1, vreinterpretq_s8_u8(bit_as_0x10(qh1, hi_bit)));
      }
      const int8_t* y = a[b].qs + 64 * c;
      const int32x4_t lo = dot_i8x16(dot_i8x16(vdupq_n_s32(0), l0, vld1q_s8(y)), l1, vld1q_s8(y + 16));
      const int32x4_t hi = dot_i8x16(dot_i8x16(vdupq_n_s32(0), h0, vld1q_s8(y + 32)), h1, vld1q_s8(y + 48));
      acc = vmlaq_n_s32(acc, lo, sc[2 * c]);
      acc = vmlaq_n_s32(acc, hi, sc[2 * c + 1]);
    }
    const int32_t sumi = vaddvq_s32(acc);
    const int32_t summ = mins_dot(m, a[b].bsums);
    sum += a[b].d * f16_to_f32(w[b].d) * sumi - a[b].d * f16_to_f32(w[b].dmin) * summ;
  }
  return sum;
}

float vec_dot_q6_k(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const quant::BlockQ6K*>(vw);
  const auto* a = static_cast<const quant::BlockQ8K*>(va);
  const uint8x16_t low4 = vdupq_n_u8(0x0f), two = vdupq_n_u8(0x03);
  const int8x16_t offset = vdupq_n_s8(32);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / quant::kQK; ++b) {
    int32x4_t acc = vdupq_n_s32(0);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = w[b].ql + 64 * h;
      const uint8_t* qhp = w[b].qh + 32 * h;
      const int8_t* sc = w[b].scales + 8 * h;
      const int8_t* y = a[b].qs + 128 * h;
      const uint8x16_t ql0 = vld1q_u8(ql), ql1 = vld1q_u8(ql + 16), ql2 = vld1q_u8(ql + 32), ql3 = vld1q_u8(ql + 48);
      const uint8x16_t qh0 = vld1q_u8(qhp), qh1 = vld1q_u8(qhp + 16);
      // Group g (elements 32g..32g+31 of this half): low 4 bits from ql[32(g & 1) + l]
      // (low nibble for g < 2), bits 4-5 from bits 2g..2g+1 of qh[l]; minus 32.
      const uint8x16_t lows[4][2] = {{vandq_u8(ql0, low4), vandq_u8(ql1, low4)},
                                     {vandq_u8(ql2, low4), vandq_u8(ql3, low4)},
                                     {vshrq_n_u8(ql0, 4), vshrq_n_u8(ql1, 4)},
                                     {vshrq_n_u8(ql2, 4), vshrq_n_u8(ql3, 4)}};
      const uint8x16_t highs[4][2] = {
          {vshlq_n_u8(vandq_u8(qh0, two), 4), vshlq_n_u8(vandq_u8(qh1, two), 4)},
          {vshlq_n_u8(vandq_u8(vshrq_n_u8(qh0, 2), two), 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh1, 2), two), 4)},
          {vshlq_n_u8(vandq_u8(vshrq_n_u8(qh0, 4), two), 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh1, 4), two), 4)},
          {vshlq_n_u8(vshrq_n_u8(qh0, 6), 4), vshlq_n_u8(vshrq_n_u8(qh1, 6), 4)}};
      for (int g = 0; g < 4; ++g)
        for (int part = 0; part < 2; ++part) {
          const int8x16_t level = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(lows[g][part], highs[g][part])), offset);
          const int32x4_t s = dot_i8x16(vdupq_n_s32(0), level, vld1q_s8(y + 32 * g + 16 * part));
          acc = vmlaq_n_s32(acc, s, sc[2 * g + part]);  // the 16-element group 2g + part
        }
    }
    sum += a[b].d * f16_to_f32(w[b].d) * vaddvq_s32(acc);
  }
  return sum;
}

// The kernel of this file for a weight type, or null.
VecDotFn block_vec_dot(DType weight_type) {
  switch (weight_type) {
    case DType::kQ4_0: return vec_dot_legacy<LevelsQ4_0>;
    case DType::kQ4_1: return vec_dot_legacy<LevelsQ4_1>;
    case DType::kQ5_0: return vec_dot_legacy<LevelsQ5_0>;
    case DType::kQ5_1: return vec_dot_legacy<LevelsQ5_1>;
    case DType::kQ8_0: return vec_dot_legacy<LevelsQ8_0>;
    case DType::kQ4_K: return vec_dot_q45_k<quant::BlockQ4K>;
    case DType::kQ5_K: return vec_dot_q45_k<quant::BlockQ5K>;
    case DType::kQ6_K: return vec_dot_q6_k;
    default: return nullptr;
  }
}

}  // namespace
}  // namespace hearth::cpu
