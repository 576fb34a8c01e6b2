// Panel kernels (panel.h) of the 32-element block formats q4_0 q4_1 q5_0 q5_1 q8_0
// and of the k-quants q4_K q5_K q6_K, and the packers that build the panels: one
// source, compiled once per x86 target by the file that includes it
// (dot_panel_avx2.cpp, dot_panel_avx512vnni.cpp) after it has set the GCC target
// and defined HEARTH_PANEL_NS (the namespace) and HEARTH_PANEL_VNNI (0 or 1).
// No include guard: each including file takes it once.
//
// Why this shape: with the weights' 4 bytes broadcast and 8 tokens in the lanes,
// the integer sums of a block land per token in vertical int32 lanes, so a block
// costs one scale multiply and one FMA per 8 (row, token) pairs instead of one
// per pair, no horizontal sums are needed, and the activations of every token stay
// in L1 while the weights stream past once.

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "backends/cpu/panel.h"
#include "backends/cpu/vec_dot.h"
#include "quant/blocks_kquants.h"
#include "quant/blocks_legacy.h"

#define HEARTH_PANEL_INLINE __attribute__((always_inline)) inline
#define HEARTH_PANEL_INLINE_LAMBDA __attribute__((always_inline))

namespace hearth::cpu::HEARTH_PANEL_NS {

bool legacy_panels(DType weight_type, WeightKernels* k);
bool kquant_panels(DType weight_type, WeightKernels* k);

namespace {

using quant::BlockQ4_0;
using quant::BlockQ4_1;
using quant::BlockQ5_0;
using quant::BlockQ5_1;
using quant::BlockQ8_0;
using quant::kLegacyBlock;

HEARTH_PANEL_INLINE __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// An f16 in every lane as floats: one broadcast load and one conversion.
HEARTH_PANEL_INLINE __m256 broadcast_half(const uint16_t* h) {
  int16_t v;
  std::memcpy(&v, h, 2);
  return _mm256_cvtph_ps(_mm_set1_epi16(v));
}

HEARTH_PANEL_INLINE __m256i broadcast_u32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// Byte j of entry i is 0x10 when bit j of i is set: the fifth bits of a 4-element
// group of q5_0/q5_1 from four bits of qh, by one broadcast load.
constexpr uint32_t fifth_bits_entry(int i) {
  uint32_t v = 0;
  for (int j = 0; j < 4; ++j) v |= ((i >> j) & 1) ? 0x10u << (8 * j) : 0u;
  return v;
}
alignas(64) constexpr uint32_t kFifthBits[16] = {
    fifth_bits_entry(0),  fifth_bits_entry(1),  fifth_bits_entry(2),  fifth_bits_entry(3),
    fifth_bits_entry(4),  fifth_bits_entry(5),  fifth_bits_entry(6),  fifth_bits_entry(7),
    fifth_bits_entry(8),  fifth_bits_entry(9),  fifth_bits_entry(10), fifth_bits_entry(11),
    fifth_bits_entry(12), fifth_bits_entry(13), fifth_bits_entry(14), fifth_bits_entry(15)};

// 4-element group kg (elements 4kg..4kg+3) of 4-bit values, in every lane: byte j
// of qs holds element j low and element j + 16 high.
HEARTH_PANEL_INLINE __m256i nibble_group(const uint8_t* qs, int kg) {
  const __m256i b = broadcast_u32(qs + 4 * (kg & 3));
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  return kg < 4 ? _mm256_and_si256(b, low4) : _mm256_and_si256(_mm256_srli_epi16(b, 4), low4);
}

HEARTH_PANEL_INLINE __m256i fifth_bit_group(const uint8_t* qh, int kg) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  return _mm256_set1_epi32(static_cast<int>(kFifthBits[(bits >> (4 * kg)) & 15]));
}

// A format: group(x, kg) gives the weights of 4-element group kg as unsigned bytes u
// broadcast to every lane, the weight being u - kOffset (symmetric formats) or
// d * u + m (kAffine). Broadcasting straight from the weight block keeps this to
// one load and a mask or two; unpacking a whole block into a register first costs
// two shuffles per group, and through a stack buffer the loads wait on the stores.
// kRun is how many groups maddubs may sum in int16 before it could saturate: a pair
// of products is at most 2 * max(u) * 127 (activations stay within +-127). q8_0's
// weights are signed: VNNI shifts them to u = w + 128 (dpbusd sums in int32, no
// saturation); AVX2 moves their signs onto the activations (kSigned, signed_group).
struct Q4_0F {
  using Block = BlockQ4_0;
  static constexpr int kOffset = 8;
  static constexpr bool kAffine = false;
  static constexpr bool kSigned = false;
  static constexpr int kRun = 8;  // 8 * 2 * 15 * 127 = 30480
  HEARTH_PANEL_INLINE static __m256i group(const Block& x, int kg) { return nibble_group(x.qs, kg); }
};
struct Q4_1F {
  using Block = BlockQ4_1;
  static constexpr int kOffset = 0;
  static constexpr bool kAffine = true;
  static constexpr bool kSigned = false;
  static constexpr int kRun = 8;
  HEARTH_PANEL_INLINE static __m256i group(const Block& x, int kg) { return nibble_group(x.qs, kg); }
};
struct Q5_0F {
  using Block = BlockQ5_0;
  static constexpr int kOffset = 16;
  static constexpr bool kAffine = false;
  static constexpr bool kSigned = false;
  static constexpr int kRun = 4;  // 4 * 2 * 31 * 127 = 31496
  HEARTH_PANEL_INLINE static __m256i group(const Block& x, int kg) {
    return _mm256_or_si256(nibble_group(x.qs, kg), fifth_bit_group(x.qh, kg));
  }
};
struct Q5_1F {
  using Block = BlockQ5_1;
  static constexpr int kOffset = 0;
  static constexpr bool kAffine = true;
  static constexpr bool kSigned = false;
  static constexpr int kRun = 4;
  HEARTH_PANEL_INLINE static __m256i group(const Block& x, int kg) {
    return _mm256_or_si256(nibble_group(x.qs, kg), fifth_bit_group(x.qh, kg));
  }
};
struct Q8_0F {
  using Block = BlockQ8_0;
  static constexpr int kOffset = HEARTH_PANEL_VNNI ? 128 : 0;
  static constexpr bool kAffine = false;
  static constexpr bool kSigned = !HEARTH_PANEL_VNNI;
  static constexpr int kRun = 1;
  HEARTH_PANEL_INLINE static __m256i signed_group(const Block& x, int kg) {
    return broadcast_u32(reinterpret_cast<const uint8_t*>(x.qs) + 4 * kg);
  }
  HEARTH_PANEL_INLINE static __m256i group(const Block& x, int kg) {
    const __m256i w = signed_group(x, kg);
    if constexpr (HEARTH_PANEL_VNNI) return _mm256_xor_si256(w, _mm256_set1_epi8(static_cast<char>(0x80)));
    else return _mm256_abs_epi8(w);
  }
};

constexpr int log2_of(int v) { return v <= 1 ? 0 : 1 + log2_of(v / 2); }

// The exact integer dots of one block: isum[r][g] lane t = sum over the block of
// (u - kOffset) * a for row r (block x[r]), token t of group g (block pb[g]).
template <typename F, int R, int G>
HEARTH_PANEL_INLINE void block_dots(const typename F::Block* const* x, const PanelBlock* const* pb,
                                    __m256i (&isum)[R][G]) {
  auto group = [&](int r, int kg) HEARTH_PANEL_INLINE_LAMBDA { return F::group(*x[r], kg); };
  // The offset's share, -kOffset * sum(a), seeds the sums.
  __m256i seed[G];
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g) {
    if constexpr (F::kOffset != 0) {
      seed[g] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                 _mm256_slli_epi32(load256(pb[g]->sum), log2_of(F::kOffset)));
    } else {
      seed[g] = _mm256_setzero_si256();
    }
  }
#if HEARTH_PANEL_VNNI
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) isum[r][g] = seed[g];
#pragma GCC unroll 8
  for (int kg = 0; kg < 8; ++kg) {
    __m256i a[G];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) a[g] = load256(pb[g]->qs[kg]);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256i w = group(r, kg);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) isum[r][g] = _mm256_dpbusd_epi32(isum[r][g], w, a[g]);
    }
  }
#else
  const __m256i ones = _mm256_set1_epi16(1);
  if constexpr (F::kSigned) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) isum[r][g] = seed[g];
#pragma GCC unroll 8
    for (int kg = 0; kg < 8; ++kg) {
      __m256i a[G];
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) a[g] = load256(pb[g]->qs[kg]);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m256i w = F::signed_group(*x[r], kg);
        const __m256i w_abs = _mm256_abs_epi8(w);
#pragma GCC unroll 8
        for (int g = 0; g < G; ++g) {
          const __m256i p = _mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(a[g], w));
          isum[r][g] = _mm256_add_epi32(isum[r][g], _mm256_madd_epi16(p, ones));
        }
      }
    }
  } else {
    constexpr int kRun = F::kRun;
    __m256i p[R][G];
#pragma GCC unroll 8
    for (int kg = 0; kg < 8; ++kg) {
      __m256i a[G];
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) a[g] = load256(pb[g]->qs[kg]);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m256i w = group(r, kg);
#pragma GCC unroll 8
        for (int g = 0; g < G; ++g) {
          const __m256i q = _mm256_maddubs_epi16(w, a[g]);
          p[r][g] = kg % kRun == 0 ? q : _mm256_add_epi16(p[r][g], q);
          if (kg % kRun == kRun - 1) {
            const __m256i s = _mm256_madd_epi16(p[r][g], ones);
            isum[r][g] = _mm256_add_epi32(kg < kRun ? seed[g] : isum[r][g], s);
          }
        }
      }
    }
  }
#endif
}

// Lane t of acc[r][g] to y[(8g + t) * y_stride + r], for the tokens there are.
template <int R, int G>
HEARTH_PANEL_INLINE void store_tile(const __m256 (&acc)[R][G], float* y, int64_t y_stride, int tokens) {
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g) {
    const int lanes = tokens - g * kPanelTokens < kPanelTokens ? tokens - g * kPanelTokens : kPanelTokens;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      alignas(32) float out[kPanelTokens];
      _mm256_store_ps(out, acc[r][g]);
      float* dst = y + g * kPanelTokens * y_stride + r;
      if (lanes == kPanelTokens) {
#pragma GCC unroll 8
        for (int t = 0; t < kPanelTokens; ++t) dst[t * y_stride] = out[t];
      } else {
        for (int t = 0; t < lanes; ++t) dst[t * y_stride] = out[t];
      }
    }
  }
}

template <typename F, int R, int G>
void panel_tile(int64_t n, const void* w, int64_t w_stride, const void* panel, int64_t group_stride, float* y,
                int64_t y_stride, int tokens) {
  using Block = typename F::Block;
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* pg = static_cast<const uint8_t*>(panel);
  const int64_t nb = n / kLegacyBlock;
  __m256 acc[R][G];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) acc[r][g] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const Block* x[R];
    const PanelBlock* pb[G];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      x[r] = reinterpret_cast<const Block*>(wb + r * w_stride) + b;
      // The same place in the rows of the next call: weights that do not fit the
      // caches (the output matrix) then arrive before they are needed.
      _mm_prefetch(reinterpret_cast<const char*>(x[r]) + R * w_stride, _MM_HINT_T0);
    }
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g)
      pb[g] = reinterpret_cast<const PanelBlock*>(pg + g * group_stride) + b;
    __m256i isum[R][G];
    block_dots<F, R, G>(x, pb, isum);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 dw = broadcast_half(&x[r]->d);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const __m256 scale = _mm256_mul_ps(dw, _mm256_loadu_ps(pb[g]->d));
        acc[r][g] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r][g]), scale, acc[r][g]);
      }
      if constexpr (F::kAffine) {
        const __m256 mw = broadcast_half(&x[r]->m);
#pragma GCC unroll 8
        for (int g = 0; g < G; ++g) acc[r][g] = _mm256_fmadd_ps(mw, _mm256_loadu_ps(pb[g]->s), acc[r][g]);
      }
    }
  }
  store_tile<R, G>(acc, y, y_stride, tokens);
}

// The largest call, rows x groups of 8 tokens: AVX-512's 32 vector registers hold
// 4 x 2 int and float accumulators besides the activations and weights, AVX2's 16
// hold 2 x 2 (bench_kernels gemm16 with 2, 3, 4 and 6 rows: 4 best for VNNI, 2 to
// 4 alike for AVX2).
constexpr int kMaxRows = HEARTH_PANEL_VNNI ? 4 : 2;
constexpr int kMaxGroups = 2;

using PanelFixedFn = void (*)(int64_t, const void*, int64_t, const void*, int64_t, float*, int64_t, int);

// Kernel::run<R, G> for every R <= kRows, G <= kMaxGroups, each fully unrolled.
template <typename Kernel, int kRows, int... I>
void panel_dispatch_impl(std::integer_sequence<int, I...>, int64_t n, const void* w, int64_t w_stride,
                         const void* panel, int64_t group_stride, float* y, int64_t y_stride, int rows, int tokens) {
  static constexpr PanelFixedFn table[] = {&Kernel::template run<I / kMaxGroups + 1, I % kMaxGroups + 1>...};
  const int groups = (tokens + kPanelTokens - 1) / kPanelTokens;
  table[(rows - 1) * kMaxGroups + (groups - 1)](n, w, w_stride, panel, group_stride, y, y_stride, tokens);
}

template <typename Kernel, int kRows>
void panel_dispatch(int64_t n, const void* w, int64_t w_stride, const void* panel, int64_t group_stride, float* y,
                    int64_t y_stride, int rows, int tokens) {
  panel_dispatch_impl<Kernel, kRows>(std::make_integer_sequence<int, kRows * kMaxGroups>{}, n, w, w_stride, panel,
                                     group_stride, y, y_stride, rows, tokens);
}

template <typename F>
struct LegacyKernel {
  template <int R, int G>
  static void run(int64_t n, const void* w, int64_t ws, const void* p, int64_t gs, float* y, int64_t ys, int t) {
    panel_tile<F, R, G>(n, w, ws, p, gs, y, ys, t);
  }
};

// ---- k-quants: 256-element super-blocks of 32- (q4_K, q5_K) or 16-element
// (q6_K) sub-blocks, each with an integer scale ----
// Per sub-block the exact dots of its 4-element groups are summed in int32 (VNNI)
// or int16 runs (AVX2), then weighted by the sub-block's scale into one int32 sum
// per (row, token) for the super-block, as the scalar reference does; the float
// work is once per super-block.

using quant::BlockQ4K;
using quant::BlockQ5K;
using quant::BlockQ6K;
using quant::kQK;

// Moves bit S of every byte to bit 4 (16-bit shifts by at most 4 never carry a
// bit of one byte into bit 4 of the next); other bits are masked off after.
template <int S>
HEARTH_PANEL_INLINE __m256i bit_to_4(__m256i v) {
  if constexpr (S < 4) return _mm256_slli_epi16(v, 4 - S);
  else if constexpr (S > 4) return _mm256_srli_epi16(v, S - 4);
  else return v;
}

// q4_K / q5_K: group i (0..7) of sub-block J, unsigned 0..15 / 0..31.
template <typename Block, int J>
HEARTH_PANEL_INLINE __m256i k4_group(const Block& x, int i) {
  const __m256i b = broadcast_u32(x.qs + 32 * (J / 2) + 4 * i);
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256i v = J % 2 ? _mm256_and_si256(_mm256_srli_epi16(b, 4), low4) : _mm256_and_si256(b, low4);
  if constexpr (std::is_same_v<Block, BlockQ5K>) {
    const __m256i h = bit_to_4<J>(broadcast_u32(x.qh + 4 * i));
    v = _mm256_or_si256(v, _mm256_and_si256(h, _mm256_set1_epi8(0x10)));
  }
  return v;
}

// q6_K: group i (0..3) of 16-element sub-block K, unsigned 0..63 (the weight is u - 32).
template <int K>
HEARTH_PANEL_INLINE __m256i q6_group(const BlockQ6K& x, int i) {
  constexpr int kHalf = K / 8, kQuarter = (K % 8) / 2;
  const int l = 16 * (K % 2) + 4 * i;
  const __m256i ql = broadcast_u32(x.ql + 64 * kHalf + 32 * (kQuarter & 1) + l);
  const __m256i qh = broadcast_u32(x.qh + 32 * kHalf + l);
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m256i lo = kQuarter < 2 ? _mm256_and_si256(ql, low4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), low4);
  __m256i hi;  // bits 2*quarter and 2*quarter + 1 of qh moved to bits 4 and 5
  if constexpr (kQuarter == 0) hi = _mm256_slli_epi16(qh, 4);
  else if constexpr (kQuarter == 1) hi = _mm256_slli_epi16(qh, 2);
  else if constexpr (kQuarter == 2) hi = qh;
  else hi = _mm256_srli_epi16(qh, 2);
  return _mm256_or_si256(lo, _mm256_and_si256(hi, _mm256_set1_epi8(0x30)));
}

// A k-quant's per-row, per-super-block state: its scales ready for the integer
// weighting (VNNI: int32 for mullo; AVX2: int16 for madd) and its mins in pairs.
struct KRowScales {
  __m256i sc[16];
  __m256i m_pairs[4];
};

// tot[r][g] += scale(r) * (seed[g] + sum over the sub-block's kKgs groups of u * a),
// the groups starting at panel k-group kg0; Group(r, i) gives row r's group i.
// kRun (AVX2): groups maddubs may sum in int16 without saturating.
template <int R, int G, int kKgs, int kRun, bool kSeeded, typename Group>
HEARTH_PANEL_INLINE void scaled_subblock(const Group& group, const PanelBlockK* const* pb, int kg0,
                                         const __m256i* seed, const KRowScales* rs, int sub, __m256i (&tot)[R][G]) {
#if HEARTH_PANEL_VNNI
  __m256i s[R][G];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) s[r][g] = kSeeded ? seed[g] : _mm256_setzero_si256();
#pragma GCC unroll 8
  for (int i = 0; i < kKgs; ++i) {
    __m256i a[G];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) a[g] = load256(pb[g]->qs[kg0 + i]);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256i w = group(r, i);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) s[r][g] = _mm256_dpbusd_epi32(s[r][g], w, a[g]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) tot[r][g] = _mm256_add_epi32(tot[r][g], _mm256_mullo_epi32(s[r][g], rs[r].sc[sub]));
#else
  static_assert(!kSeeded, "AVX2 adds the offsets once per super-block (Q6Format::sums)");
  (void)seed;
  __m256i p[R][G];
#pragma GCC unroll 8
  for (int i = 0; i < kKgs; ++i) {
    __m256i a[G];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) a[g] = load256(pb[g]->qs[kg0 + i]);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256i w = group(r, i);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const __m256i q = _mm256_maddubs_epi16(w, a[g]);
        p[r][g] = i % kRun == 0 ? q : _mm256_add_epi16(p[r][g], q);
        if (i % kRun == kRun - 1) tot[r][g] = _mm256_add_epi32(tot[r][g], _mm256_madd_epi16(p[r][g], rs[r].sc[sub]));
      }
    }
  }
#endif
}

HEARTH_PANEL_INLINE __m256i scale_vector(int v) {
#if HEARTH_PANEL_VNNI
  return _mm256_set1_epi32(v);
#else
  return _mm256_set1_epi16(static_cast<int16_t>(v));
#endif
}

HEARTH_PANEL_INLINE void k4_row_scales(const uint8_t* packed, KRowScales* rs) {
  uint32_t w[3];
  std::memcpy(w, packed, sizeof(w));
  const uint64_t sc8 = (w[0] & 0x3f3f3f3fu) |
                       static_cast<uint64_t>((w[2] & 0x0f0f0f0fu) | ((w[0] >> 2) & 0x30303030u)) << 32;
  const uint64_t m8 = (w[1] & 0x3f3f3f3fu) |
                      static_cast<uint64_t>(((w[2] >> 4) & 0x0f0f0f0fu) | ((w[1] >> 2) & 0x30303030u)) << 32;
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) rs->sc[j] = scale_vector(static_cast<int>((sc8 >> (8 * j)) & 0xff));
#pragma GCC unroll 4
  for (int p = 0; p < 4; ++p) {
    const auto lo = static_cast<uint32_t>((m8 >> (16 * p)) & 0xff);
    const auto hi = static_cast<uint32_t>((m8 >> (16 * p + 8)) & 0xff);
    rs->m_pairs[p] = _mm256_set1_epi32(static_cast<int>(lo | hi << 16));
  }
}

template <typename Block, int R, int G, int J>
HEARTH_PANEL_INLINE void k4_subblocks(const Block* const* x, const PanelBlockK* const* pb, const KRowScales* rs,
                                      __m256i (&tot)[R][G]) {
  if constexpr (J < 8) {
    constexpr int kRun = std::is_same_v<Block, BlockQ5K> ? 4 : 8;  // 8 * 2 * 15 * 127, 4 * 2 * 31 * 127
    auto group = [&](int r, int i) HEARTH_PANEL_INLINE_LAMBDA { return k4_group<Block, J>(*x[r], i); };
    scaled_subblock<R, G, 8, kRun, false>(group, pb, 8 * J, nullptr, rs, J, tot);
    k4_subblocks<Block, R, G, J + 1>(x, pb, rs, tot);
  }
}

template <int R, int G, int K>
HEARTH_PANEL_INLINE void q6_subblocks(const BlockQ6K* const* x, const PanelBlockK* const* pb, const KRowScales* rs,
                                      __m256i (&tot)[R][G]) {
  if constexpr (K < 16) {
    auto group = [&](int r, int i) HEARTH_PANEL_INLINE_LAMBDA { return q6_group<K>(*x[r], i); };
#if HEARTH_PANEL_VNNI
    // The -32 offset of every weight, -32 * sum(a), seeds the sub-block's sums.
    __m256i seed[G];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g)
      seed[g] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(load256(pb[g]->sum16[K]), 5));
    scaled_subblock<R, G, 4, 4, true>(group, pb, 4 * K, seed, rs, K, tot);
#else
    scaled_subblock<R, G, 4, 2, false>(group, pb, 4 * K, nullptr, rs, K, tot);  // 2 * 2 * 63 * 127 = 32004
#endif
    q6_subblocks<R, G, K + 1>(x, pb, rs, tot);
  }
}

// The super-block loop every k-quant panel tile shares: per row its scales,
// per (row, token group) the integer sum of the sub-block dots, then
// acc += float(sum) * d_w * d_a and whatever F adds (the mins of q4_K/q5_K).
template <class F, int R, int G>
void kquant_tile(int64_t n, const void* w, int64_t w_stride, const void* panel, int64_t group_stride, float* y,
                 int64_t y_stride, int tokens) {
  using Block = typename F::Block;
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* pg = static_cast<const uint8_t*>(panel);
  __m256 acc[R][G];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) acc[r][g] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    const Block* x[R];
    const PanelBlockK* pb[G];
    KRowScales rs[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      x[r] = reinterpret_cast<const Block*>(wb + r * w_stride) + b;
#pragma GCC unroll 4
      for (int line = 0; line < F::kPrefetchLines; ++line)
        _mm_prefetch(reinterpret_cast<const char*>(x[r]) + R * w_stride + 64 * line, _MM_HINT_T0);
      F::row_scales(*x[r], &rs[r]);
    }
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) pb[g] = reinterpret_cast<const PanelBlockK*>(pg + g * group_stride) + b;
    __m256i tot[R][G];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) tot[r][g] = _mm256_setzero_si256();
    F::template sums<R, G>(x, pb, rs, tot);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 dw = broadcast_half(&x[r]->d);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const __m256 da = _mm256_loadu_ps(pb[g]->d);
        acc[r][g] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(tot[r][g]), _mm256_mul_ps(dw, da), acc[r][g]);
        F::finish(*x[r], *pb[g], rs[r], da, acc[r][g]);
      }
    }
  }
  store_tile<R, G>(acc, y, y_stride, tokens);
}

// q4_K and q5_K: 6-bit scales and mins; acc -= float(mins . sub-block sums) * dmin_w * d_a.
template <typename B>
struct K4Format {
  using Block = B;
  static constexpr int kPrefetchLines = 1;
  static HEARTH_PANEL_INLINE void row_scales(const Block& x, KRowScales* rs) { k4_row_scales(x.scales, rs); }
  template <int R, int G>
  static HEARTH_PANEL_INLINE void sums(const Block* const* x, const PanelBlockK* const* pb, const KRowScales* rs,
                                       __m256i (&tot)[R][G]) {
    k4_subblocks<Block, R, G, 0>(x, pb, rs, tot);
  }
  static HEARTH_PANEL_INLINE void finish(const Block& x, const PanelBlockK& pb, const KRowScales& rs, __m256 da,
                                         __m256& acc) {
    __m256i msum = _mm256_madd_epi16(load256(pb.sum32[0]), rs.m_pairs[0]);
#pragma GCC unroll 4
    for (int p = 1; p < 4; ++p) msum = _mm256_add_epi32(msum, _mm256_madd_epi16(load256(pb.sum32[p]), rs.m_pairs[p]));
    acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_mul_ps(broadcast_half(&x.dmin), da), acc);
  }
};

// q6_K: 8-bit scales of 16 groups, weights offset by -32 (AVX2 adds the offsets'
// share once per super-block; VNNI seeds each sub-block with it).
struct Q6Format {
  using Block = BlockQ6K;
  static constexpr int kPrefetchLines = 3;  // a 210-byte block
  static HEARTH_PANEL_INLINE void row_scales(const Block& x, KRowScales* rs) {
#pragma GCC unroll 16
    for (int k = 0; k < 16; ++k) rs->sc[k] = scale_vector(x.scales[k]);
  }
  template <int R, int G>
  static HEARTH_PANEL_INLINE void sums(const Block* const* x, const PanelBlockK* const* pb, const KRowScales* rs,
                                       __m256i (&tot)[R][G]) {
#if !HEARTH_PANEL_VNNI
    // The -32 offset of every weight, -32 * sum_k scale_k * sum_k(a), by pairs of groups.
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
      for (int p = 0; p < 8; ++p) {
        const int lo = -32 * x[r]->scales[2 * p], hi = -32 * x[r]->scales[2 * p + 1];
        const __m256i pair = _mm256_set1_epi32(static_cast<int>((static_cast<uint32_t>(lo) & 0xffffu) |
                                                                static_cast<uint32_t>(hi) << 16));
#pragma GCC unroll 8
        for (int g = 0; g < G; ++g)
          tot[r][g] = _mm256_add_epi32(tot[r][g], _mm256_madd_epi16(load256(pb[g]->sum16p[p]), pair));
      }
    }
#endif
    q6_subblocks<R, G, 0>(x, pb, rs, tot);
  }
  static HEARTH_PANEL_INLINE void finish(const Block&, const PanelBlockK&, const KRowScales&, __m256, __m256&) {}
};

// Two rows: the k-quants' per-sub-block sums and scales take the registers that more
// rows would need (bench_kernels gemm16, VNNI: 2 rows at least as fast as 3 or 4).
constexpr int kMaxKRows = 2;

template <typename Block>
struct K4Kernel {
  template <int R, int G>
  static void run(int64_t n, const void* w, int64_t ws, const void* p, int64_t gs, float* y, int64_t ys, int t) {
    kquant_tile<K4Format<Block>, R, G>(n, w, ws, p, gs, y, ys, t);
  }
};
struct Q6Kernel {
  template <int R, int G>
  static void run(int64_t n, const void* w, int64_t ws, const void* p, int64_t gs, float* y, int64_t ys, int t) {
    kquant_tile<Q6Format, R, G>(n, w, ws, p, gs, y, ys, t);
  }
};

// ---- packing: 8 tokens' rows of 32 bytes → 8 k-group rows of 8 tokens x 4 bytes ----

// src[t]: token t's 32 quantized values (t < tokens; the rest read as zero). Writes
// the 8 k-group rows to dst (32 bytes apart) and returns each token's sum of values.
HEARTH_PANEL_INLINE __m256i transpose_block(const int8_t* const* src, int tokens, int8_t* dst) {
  __m256i r[8];
#pragma GCC unroll 8
  for (int t = 0; t < 8; ++t) r[t] = t < tokens ? load256(src[t]) : _mm256_setzero_si256();
  // An 8 x 8 transpose of 32-bit elements: pairs, then quads, then 128-bit halves.
  __m256i p[8], q[8];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    p[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    p[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 2
  for (int i = 0; i < 2; ++i) {
    q[4 * i] = _mm256_unpacklo_epi64(p[4 * i], p[4 * i + 2]);
    q[4 * i + 1] = _mm256_unpackhi_epi64(p[4 * i], p[4 * i + 2]);
    q[4 * i + 2] = _mm256_unpacklo_epi64(p[4 * i + 1], p[4 * i + 3]);
    q[4 * i + 3] = _mm256_unpackhi_epi64(p[4 * i + 1], p[4 * i + 3]);
  }
  const __m256i ones8 = _mm256_set1_epi8(1);
  __m256i sum16 = _mm256_setzero_si256();
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    // q[j]: k-groups j (low 128 bits) and j + 4 (high) of tokens 0-3; q[j + 4]: of tokens 4-7.
    const __m256i lo = _mm256_permute2x128_si256(q[j], q[j + 4], 0x20);
    const __m256i hi = _mm256_permute2x128_si256(q[j], q[j + 4], 0x31);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32 * j), lo);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32 * (j + 4)), hi);
    // maddubs(1, v) sums byte pairs: 8 rows of pairs of at most 128 stay within int16.
    sum16 = _mm256_add_epi16(sum16, _mm256_maddubs_epi16(ones8, lo));
    sum16 = _mm256_add_epi16(sum16, _mm256_maddubs_epi16(ones8, hi));
  }
  return _mm256_madd_epi16(sum16, _mm256_set1_epi16(1));
}

// The q8_0 / q8_1 packers of panel_packer (dot_panel.cpp), byte for byte.
template <typename A, bool kHasS>
void pack_legacy(const void* act, int64_t act_stride, int tokens, int64_t n, void* group) {
  auto* out = static_cast<PanelBlock*>(group);
  const auto* rows = static_cast<const uint8_t*>(act);
  for (int64_t b = 0; b < n / kLegacyBlock; ++b) {
    PanelBlock& p = out[b];
    const int8_t* src[8];
    alignas(32) float d[8] = {}, sv[8] = {};
    for (int t = 0; t < tokens; ++t) {
      const A& a = reinterpret_cast<const A*>(rows + t * act_stride)[b];
      src[t] = a.qs;
      d[t] = _cvtsh_ss(a.d);
      if constexpr (kHasS) sv[t] = _cvtsh_ss(a.s);
    }
    const __m256i sums = transpose_block(src, tokens, &p.qs[0][0][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p.sum), sums);
    _mm256_storeu_ps(p.d, _mm256_load_ps(d));
    _mm256_storeu_ps(p.s, _mm256_load_ps(sv));
  }
}

// The q8_K packer of panel_packer, byte for byte.
void pack_q8_k(const void* act, int64_t act_stride, int tokens, int64_t n, void* group) {
  auto* out = static_cast<PanelBlockK*>(group);
  const auto* rows = static_cast<const uint8_t*>(act);
  for (int64_t b = 0; b < n / quant::kQK; ++b) {
    PanelBlockK& p = out[b];
    std::memset(&p.d, 0, sizeof(PanelBlockK) - sizeof(p.qs));
    const quant::BlockQ8K* a[8];
    for (int t = 0; t < tokens; ++t) {
      a[t] = reinterpret_cast<const quant::BlockQ8K*>(rows + t * act_stride) + b;
      p.d[t] = a[t]->d;
      for (int k = 0; k < 16; ++k) {
        p.sum16[k][t] = a[t]->bsums[k];
        p.sum16p[k / 2][t][k % 2] = a[t]->bsums[k];
      }
      for (int j = 0; j < 4; ++j) {
        p.sum32[j][t][0] = static_cast<int16_t>(a[t]->bsums[4 * j] + a[t]->bsums[4 * j + 1]);
        p.sum32[j][t][1] = static_cast<int16_t>(a[t]->bsums[4 * j + 2] + a[t]->bsums[4 * j + 3]);
      }
    }
    for (int c = 0; c < 8; ++c) {
      const int8_t* src[8];
      for (int t = 0; t < tokens; ++t) src[t] = a[t]->qs + 32 * c;
      transpose_block(src, tokens, &p.qs[8 * c][0][0]);
    }
  }
}

}  // namespace

// Fewest tokens for which panels beat the tiles (gemm4/8/16 of bench_kernels): a
// weight group unpacked per 4 elements needs enough tokens to pay for itself, and
// q5_K's fifth bits and q6_K's split bits cost more to unpack than q4_K's.
bool kquant_panels(DType weight_type, WeightKernels* k) {
  PanelDotFn dot = nullptr;
  int min_tokens = 0;
  switch (weight_type) {
    case DType::kQ4_K:
      dot = panel_dispatch<K4Kernel<BlockQ4K>, kMaxKRows>;
      min_tokens = 8;
      break;
    case DType::kQ5_K:
      dot = panel_dispatch<K4Kernel<BlockQ5K>, kMaxKRows>;
      min_tokens = HEARTH_PANEL_VNNI ? 12 : 16;
      break;
    case DType::kQ6_K:
      dot = panel_dispatch<Q6Kernel, kMaxKRows>;
      min_tokens = HEARTH_PANEL_VNNI ? 12 : 16;
      break;
    default: return false;
  }
  k->panel_dot = dot;
  k->panel_pack = pack_q8_k;
  k->panel_min_tokens = min_tokens;
  k->panel_rows = kMaxKRows;
  k->panel_tokens = kMaxGroups * kPanelTokens;
  return true;
}

bool legacy_panels(DType weight_type, WeightKernels* k) {
  PanelDotFn dot = nullptr;
  switch (weight_type) {
    case DType::kQ4_0: dot = panel_dispatch<LegacyKernel<Q4_0F>, kMaxRows>; break;
    case DType::kQ4_1: dot = panel_dispatch<LegacyKernel<Q4_1F>, kMaxRows>; break;
    case DType::kQ5_0: dot = panel_dispatch<LegacyKernel<Q5_0F>, kMaxRows>; break;
    case DType::kQ5_1: dot = panel_dispatch<LegacyKernel<Q5_1F>, kMaxRows>; break;
    case DType::kQ8_0: dot = panel_dispatch<LegacyKernel<Q8_0F>, kMaxRows>; break;
    default: return false;
  }
  k->panel_dot = dot;
  k->panel_pack = k->act_type == DType::kQ8_1 ? pack_legacy<quant::BlockQ8_1, true> : pack_legacy<BlockQ8_0, false>;
  // Fewest tokens for which panels beat the tiles (gemm4/8 of bench_kernels); AVX2's
  // q8_0 pays a sign per activation vector, so it needs a full group.
  k->panel_min_tokens = !HEARTH_PANEL_VNNI && weight_type == DType::kQ8_0 ? 8 : 4;
  k->panel_order = SumOrder::kBlocksFma;  // panel_reference's arithmetic
  k->panel_rows = kMaxRows;
  k->panel_tokens = kMaxGroups * kPanelTokens;
  return true;
}

}  // namespace hearth::cpu::HEARTH_PANEL_NS

#undef HEARTH_PANEL_INLINE
#undef HEARTH_PANEL_INLINE_LAMBDA
