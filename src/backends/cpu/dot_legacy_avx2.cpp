// AVX2 (+FMA, F16C) dot kernels and activation converters for f32, f16, bf16 and
// the 32-element block formats. Compiled per function with target attributes;
// dot_legacy.cpp hands them out only where cpu_features() reports AVX2.
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "backends/cpu/prefetch.h"
#include "backends/cpu/tile_dispatch.h"
#include "backends/cpu/vec_dot.h"
#include "core/half.h"
#include "quant/blocks_legacy.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define HEARTH_HAVE_X86 1
#endif

namespace hearth::cpu {

#if HEARTH_HAVE_X86

#define HEARTH_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace {

using quant::BlockQ4_0;
using quant::BlockQ4_1;
using quant::BlockQ5_0;
using quant::BlockQ5_1;
using quant::BlockQ8_0;
using quant::BlockQ8_1;
using quant::kLegacyBlock;

// ---- helpers ----

HEARTH_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

HEARTH_AVX2 inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

HEARTH_AVX2 inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

HEARTH_AVX2 inline float half(uint16_t h) { return _cvtsh_ss(h); }

// 16 bytes of packed nibbles → 32 bytes in element order (low nibbles are
// elements 0..15, high nibbles 16..31, exactly the activation's order). A
// broadcast load and a per-lane shift keep this off the shuffle port, which the
// f16 scale conversions already keep busy.
HEARTH_AVX2 inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  const __m256i shifted = _mm256_srlv_epi32(v, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
  return _mm256_and_si256(shifted, _mm256_set1_epi8(0x0f));
}

// Four f16 fields `stride` bytes apart → four floats in one conversion.
HEARTH_AVX2 inline __m128 load_halves4(const void* first, size_t stride) {
  const auto* p = static_cast<const uint8_t*>(first);
  uint16_t h[4];
  for (int k = 0; k < 4; ++k) std::memcpy(&h[k], p + k * stride, 2);
  const uint64_t packed = static_cast<uint64_t>(h[0]) | static_cast<uint64_t>(h[1]) << 16 |
                          static_cast<uint64_t>(h[2]) << 32 | static_cast<uint64_t>(h[3]) << 48;
  return _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(packed)));
}

// Bit j of the 32-bit qh → byte j = 0xff when set, 0 when clear.
HEARTH_AVX2 inline __m256i unpack_bits(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  // pshufb works within 128-bit lanes; each lane holds all four qh bytes, so
  // byte j simply picks byte j / 8.
  const __m256i pick = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                        2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), pick);
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

HEARTH_AVX2 inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Sum of u[k] * s[k] in 8 int32 lanes (u unsigned ≤ 31 here, s signed: pairs
// stay far below int16 saturation).
HEARTH_AVX2 inline __m256i dot_u8s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// (u - offset) · s without leaving 8-bit inputs: u·s - offset·s, still in int16.
HEARTH_AVX2 inline __m256i dot_u8s8_offset(__m256i u, __m256i s, __m256i offset) {
  const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(u, s), _mm256_maddubs_epi16(offset, s));
  return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

// Signed · signed: move x's sign onto y so maddubs sees |x| unsigned (x = -128
// works). Needs y ≠ -128, which the activation quantisers (|q| ≤ 127) guarantee.
HEARTH_AVX2 inline __m256i dot_s8s8(__m256i x, __m256i y) {
  return dot_u8s8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

// ---- float kernels ----

HEARTH_AVX2 float dot_f32(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const float*>(w);
  const auto* y = static_cast<const float*>(a);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(),
         acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    prefetch_ahead(x + i, 32 * sizeof(float));
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc0);
  float sum = hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

HEARTH_AVX2 inline __m256 load_f16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// bf16 is the top half of an f32: widen to 32 bits and shift into place.
HEARTH_AVX2 inline __m256 load_bf16x8(const uint16_t* p) {
  const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

// f16 and bf16 rows: widen 8 at a time (Load), four accumulators, scalar tail (Widen).
template <__m256 (*Load)(const uint16_t*), float (*Widen)(uint16_t)>
HEARTH_AVX2 float dot_16bit(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(),
         acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    prefetch_ahead(x + i, 32 * sizeof(uint16_t));
    acc0 = _mm256_fmadd_ps(Load(x + i), Load(y + i), acc0);
    acc1 = _mm256_fmadd_ps(Load(x + i + 8), Load(y + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(Load(x + i + 16), Load(y + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(Load(x + i + 24), Load(y + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(Load(x + i), Load(y + i), acc0);
  float sum = hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) sum += Widen(x[i]) * Widen(y[i]);
  return sum;
}

HEARTH_AVX2 float dot_f16(int64_t n, const void* w, const void* a) { return dot_16bit<load_f16x8, f16_to_f32>(n, w, a); }
HEARTH_AVX2 float dot_bf16(int64_t n, const void* w, const void* a) {
  return dot_16bit<load_bf16x8, bf16_to_f32>(n, w, a);
}

// ---- tile kernels (prompt processing) ----
// RM weight rows against RN activation rows, one float accumulator per (row,
// activation) pair: a weight block is unpacked once for RN activation rows and
// an activation block loaded once for RM weight rows. Each pair's arithmetic is
// the same whatever the tile's shape, so a matmul's result does not depend on
// how its edges are cut.
//
// A format supplies: Weight/Act block types; Unpacked = what one weight block
// becomes (unpack), ActQ8 = what one activation block becomes (load_act), and
// idot(Unpacked, ActQ8) = the block's integer dot in 8 int32 lanes. Affine
// formats (kAffine) also add m_w * s_a per block.

struct ActQ8 {
  __m256i q;       // the 32 int8 values
  __m256i offset;  // kOffset * sum(q) in 8 int32 lanes (offset formats only)
};

// Q4_0 and Q5_0 store q + offset unsigned: sum((q_w - k) q_a) = sum(q_w q_a) - k sum(q_a).
template <typename W, typename Unpack, int kOffset>
struct OffsetFormat {
  using Weight = W;
  using Act = BlockQ8_0;
  using Unpacked = __m256i;
  static constexpr bool kAffine = false;
  HEARTH_AVX2 static __m256i unpack(const W& x) { return Unpack::values(x); }
  HEARTH_AVX2 static ActQ8 load_act(const Act& y) {
    const __m256i q = load256(y.qs);
    return {q, dot_u8s8(_mm256_set1_epi8(kOffset), q)};
  }
  HEARTH_AVX2 static __m256i idot(__m256i w, const ActQ8& a) { return _mm256_sub_epi32(dot_u8s8(w, a.q), a.offset); }
};

// Q4_1 and Q5_1: unsigned q_w with a per-block minimum m_w.
template <typename W, typename Unpack>
struct AffineFormat {
  using Weight = W;
  using Act = BlockQ8_1;
  using Unpacked = __m256i;
  static constexpr bool kAffine = true;
  HEARTH_AVX2 static __m256i unpack(const W& x) { return Unpack::values(x); }
  HEARTH_AVX2 static ActQ8 load_act(const Act& y) { return {load256(y.qs), _mm256_setzero_si256()}; }
  HEARTH_AVX2 static __m256i idot(__m256i w, const ActQ8& a) { return dot_u8s8(w, a.q); }
};

// Q8_0: signed by signed; |w| is taken once per block, w's sign moves onto a per pair.
struct Q8Format {
  struct Unpacked {
    __m256i w;
    __m256i abs_w;
  };
  using Weight = BlockQ8_0;
  using Act = BlockQ8_0;
  static constexpr bool kAffine = false;
  HEARTH_AVX2 static Unpacked unpack(const BlockQ8_0& x) {
    const __m256i w = load256(x.qs);
    return {w, _mm256_sign_epi8(w, w)};
  }
  HEARTH_AVX2 static ActQ8 load_act(const Act& y) { return {load256(y.qs), _mm256_setzero_si256()}; }
  HEARTH_AVX2 static __m256i idot(const Unpacked& w, const ActQ8& a) {
    return dot_u8s8(w.abs_w, _mm256_sign_epi8(a.q, w.w));
  }
};

// The 4-bit values of a block (Q4_0, Q4_1), and the 5-bit ones (Q5_0, Q5_1).
struct Nibbles {
  template <typename W>
  HEARTH_AVX2 static __m256i values(const W& x) { return unpack_nibbles(x.qs); }
};
struct NibblesAndHighBits {
  template <typename W>
  HEARTH_AVX2 static __m256i values(const W& x) {
    return _mm256_or_si256(unpack_nibbles(x.qs), _mm256_and_si256(unpack_bits(x.qh), _mm256_set1_epi8(0x10)));
  }
};

using Q4_0Format = OffsetFormat<BlockQ4_0, Nibbles, 8>;
using Q5_0Format = OffsetFormat<BlockQ5_0, NibblesAndHighBits, 16>;
using Q4_1Format = AffineFormat<BlockQ4_1, Nibbles>;
using Q5_1Format = AffineFormat<BlockQ5_1, NibblesAndHighBits>;

HEARTH_AVX2 inline int load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// The f16 at p, p + stride, ... (kRows of them) as floats in lanes 0..kRows-1.
template <int kRows>
HEARTH_AVX2 inline __m128 gather_halves(const uint8_t* p, int64_t stride) {
  __m128i v = _mm_cvtsi32_si128(load_u16(p));
  if constexpr (kRows > 1) v = _mm_insert_epi16(v, load_u16(p + stride), 1);
  if constexpr (kRows > 2) v = _mm_insert_epi16(v, load_u16(p + 2 * stride), 2);
  if constexpr (kRows > 3) v = _mm_insert_epi16(v, load_u16(p + 3 * stride), 3);
  return _mm_cvtph_ps(v);
}

template <typename F, int RM, int RN>
HEARTH_AVX2 void tile(int64_t n, const void* w, int64_t w_stride, const void* a, int64_t a_stride, float* y,
                      int64_t y_stride) {
  using W = typename F::Weight;
  using A = typename F::Act;
  static_assert(RM <= 4, "row scales travel in one 128-bit register");
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  const int64_t nb = n / kLegacyBlock;
  __m256 acc[RM][RN];
  __m128 offsets[RN];  // lanes: rows
#pragma GCC unroll 16
  for (int c = 0; c < RN; ++c) {
    offsets[c] = _mm_setzero_ps();
#pragma GCC unroll 16
    for (int r = 0; r < RM; ++r) acc[r][c] = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* wi = wb + i * static_cast<int64_t>(sizeof(W));
    const uint8_t* ai = ab + i * static_cast<int64_t>(sizeof(A));
    // d_w * d_a for every pair, in memory so each pair broadcasts its own with a load.
    const __m128 d_rows = gather_halves<RM>(wi + offsetof(W, d), w_stride);
    __m128 m_rows = _mm_setzero_ps();
    if constexpr (F::kAffine) m_rows = gather_halves<RM>(wi + offsetof(W, m), w_stride);
    alignas(16) float scales[RN][4];
#pragma GCC unroll 16
    for (int c = 0; c < RN; ++c) {
      const A& yb = *reinterpret_cast<const A*>(ai + c * a_stride);
      _mm_store_ps(scales[c], _mm_mul_ps(d_rows, _mm_set1_ps(half(yb.d))));
      if constexpr (F::kAffine) offsets[c] = _mm_fmadd_ps(m_rows, _mm_set1_ps(half(yb.s)), offsets[c]);
    }
#pragma GCC unroll 16
    for (int r = 0; r < RM; ++r) {
      const typename F::Unpacked wq = F::unpack(*reinterpret_cast<const W*>(wi + r * w_stride));
#pragma GCC unroll 16
      for (int c = 0; c < RN; ++c) {
        const __m256i isum = F::idot(wq, F::load_act(*reinterpret_cast<const A*>(ai + c * a_stride)));
        acc[r][c] = _mm256_fmadd_ps(_mm256_broadcast_ss(&scales[c][r]), _mm256_cvtepi32_ps(isum), acc[r][c]);
      }
    }
  }
#pragma GCC unroll 16
  for (int c = 0; c < RN; ++c) {
    alignas(16) float off[4];
    _mm_store_ps(off, offsets[c]);
#pragma GCC unroll 16
    for (int r = 0; r < RM; ++r) y[c * y_stride + r] = hsum(acc[r][c]) + off[r];
  }
}

// The largest tile: 8 accumulators, 4 unpacked weight blocks and the
// temporaries fit the 16 vector registers.
constexpr int kMaxRows = 4;
constexpr int kMaxCols = 2;

template <typename F>
struct LegacyTile {
  template <int RM, int RN>
  static void run(int64_t n, const void* w, int64_t w_stride, const void* a, int64_t a_stride, float* y,
                  int64_t y_stride) {
    tile<F, RM, RN>(n, w, w_stride, a, a_stride, y, y_stride);
  }
};

// ---- single-row kernels (vec_dot) ----
// Token generation multiplies one activation row: there a row at a time with
// four blocks per iteration runs faster than any tile (measured: the 4x1 tile
// lost 5-35% of the weight bandwidth), so vec_dot keeps its own loop.
// Each block's integer dot lands in 8 int32 lanes that are scaled by d_w * d_a
// and accumulated in float; two blocks per iteration on separate accumulators
// keep the FMA latency chain off the critical path.

HEARTH_AVX2 inline __m256i idot_q4_0(const BlockQ4_0& x, const BlockQ8_0& y) {
  return dot_u8s8_offset(unpack_nibbles(x.qs), load256(y.qs), _mm256_set1_epi8(8));
}
HEARTH_AVX2 inline __m256i idot_q4_1(const BlockQ4_1& x, const BlockQ8_1& y) {
  return dot_u8s8(unpack_nibbles(x.qs), load256(y.qs));
}
HEARTH_AVX2 inline __m256i idot_q5_0(const BlockQ5_0& x, const BlockQ8_0& y) {
  return dot_u8s8_offset(NibblesAndHighBits::values(x), load256(y.qs), _mm256_set1_epi8(16));
}
HEARTH_AVX2 inline __m256i idot_q5_1(const BlockQ5_1& x, const BlockQ8_1& y) {
  return dot_u8s8(NibblesAndHighBits::values(x), load256(y.qs));
}
HEARTH_AVX2 inline __m256i idot_q8_0(const BlockQ8_0& x, const BlockQ8_0& y) {
  return dot_s8s8(load256(x.qs), load256(y.qs));
}

template <typename W, typename A>
HEARTH_AVX2 inline __m256 scaled(const W& x, const A& y, __m256i isum, __m256 acc) {
  return _mm256_fmadd_ps(_mm256_set1_ps(half(x.d) * half(y.d)), _mm256_cvtepi32_ps(isum), acc);
}

// d_w * d_a of blocks i..i+3, converted four at a time.
template <typename W, typename A>
HEARTH_AVX2 inline __m128 scales4(const W* x, const A* y) {
  return _mm_mul_ps(load_halves4(&x->d, sizeof(W)), load_halves4(&y->d, sizeof(A)));
}

// Four blocks per iteration on two accumulators (the FMA latency chain stays off
// the critical path); a remainder of up to three blocks goes one at a time.
template <typename W, typename A, __m256i (*kIdot)(const W&, const A&)>
HEARTH_AVX2 inline __m256 dot_blocks(const W* x, const A* y, int64_t nb) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    prefetch_ahead(x + i, 4 * sizeof(W));
    alignas(16) float d[4];
    _mm_store_ps(d, scales4(x + i, y + i));
    acc0 = _mm256_fmadd_ps(_mm256_broadcast_ss(d + 0), _mm256_cvtepi32_ps(kIdot(x[i], y[i])), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_broadcast_ss(d + 1), _mm256_cvtepi32_ps(kIdot(x[i + 1], y[i + 1])), acc1);
    acc0 = _mm256_fmadd_ps(_mm256_broadcast_ss(d + 2), _mm256_cvtepi32_ps(kIdot(x[i + 2], y[i + 2])), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_broadcast_ss(d + 3), _mm256_cvtepi32_ps(kIdot(x[i + 3], y[i + 3])), acc1);
  }
  for (; i < nb; ++i) acc0 = scaled(x[i], y[i], kIdot(x[i], y[i]), acc0);
  return _mm256_add_ps(acc0, acc1);
}

// Symmetric formats: sum of d_w * d_a * idot over blocks.
template <typename W, typename A, __m256i (*kIdot)(const W&, const A&)>
HEARTH_AVX2 float dot_symmetric(int64_t n, const void* w, const void* a) {
  return hsum(dot_blocks<W, A, kIdot>(static_cast<const W*>(w), static_cast<const A*>(a), n / kLegacyBlock));
}

// Affine formats add m_w * s_a per block (s_a = d_a * sum(q_a)).
template <typename W, __m256i (*kIdot)(const W&, const BlockQ8_1&)>
HEARTH_AVX2 float dot_affine(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const W*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  const int64_t nb = n / kLegacyBlock;
  __m128 offsets4 = _mm_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4)
    offsets4 = _mm_fmadd_ps(load_halves4(&x[i].m, sizeof(W)), load_halves4(&y[i].s, sizeof(BlockQ8_1)), offsets4);
  // The last nb % 4 blocks' offsets in one fused running sum (SumOrder::kLanes8Pairs).
  __m128 tail = _mm_setzero_ps();
  for (; i < nb; ++i) tail = _mm_fmadd_ss(_mm_set_ss(half(x[i].m)), _mm_set_ss(half(y[i].s)), tail);
  __m128 o = _mm_add_ps(offsets4, _mm_movehl_ps(offsets4, offsets4));
  o = _mm_add_ss(o, _mm_movehdup_ps(o));
  return hsum(dot_blocks<W, BlockQ8_1, kIdot>(x, y, nb)) + _mm_cvtss_f32(o) + _mm_cvtss_f32(tail);
}

// ---- activation converters (bit-identical to the scalar references) ----

// roundf: halves go away from zero. t - trunc(t) is exact, so comparing it to
// 0.5 decides the rounding with no double rounding (unlike trunc(t + 0.5)).
HEARTH_AVX2 inline __m256i rne(__m256 t) {
  return _mm256_cvtps_epi32(_mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
HEARTH_AVX2 inline __m256i round_away(__m256 t) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 r = _mm256_round_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(t, r));
  const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  const __m256 step = _mm256_or_ps(_mm256_and_ps(t, sign), _mm256_set1_ps(1.0f));
  return _mm256_cvtps_epi32(_mm256_add_ps(r, _mm256_and_ps(up, step)));
}

// One q8 activation block: the same float operations as the scalar activation
// quantiser in dot_legacy.cpp (d = amax / 127, q = nearest-even(x * (127 / amax))). Returns the 32 int8 values in order; q_sum gets
// their per-lane sums.
HEARTH_AVX2 inline __m256i quantize_q8_block(const float* x, uint16_t* d_half, float* d_out, __m256i* q_sum) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8), v2 = _mm256_loadu_ps(x + 16),
               v3 = _mm256_loadu_ps(x + 24);
  const __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                 _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
  const float amax = hmax(m);
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  *d_half = f32_to_f16(d);
  *d_out = d;
  const __m256 vid = _mm256_set1_ps(id);
  const __m256i i0 = rne(_mm256_mul_ps(v0, vid)), i1 = rne(_mm256_mul_ps(v1, vid)),
                i2 = rne(_mm256_mul_ps(v2, vid)), i3 = rne(_mm256_mul_ps(v3, vid));
  if (q_sum) *q_sum = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
  // The two packs interleave 4-element groups across lanes; the permute puts
  // the groups back in element order.
  const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
  return _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

HEARTH_AVX2 void quantize_q8_0(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(y);
  for (int64_t i = 0; i < n / kLegacyBlock; ++i) {
    float d;
    const __m256i q = quantize_q8_block(x + i * kLegacyBlock, &b[i].d, &d, nullptr);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(b[i].qs), q);
  }
}

HEARTH_AVX2 void quantize_q8_1(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(y);
  for (int64_t i = 0; i < n / kLegacyBlock; ++i) {
    float d;
    __m256i sums;
    const __m256i q = quantize_q8_block(x + i * kLegacyBlock, &b[i].d, &d, &sums);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(b[i].qs), q);
    b[i].s = f32_to_f16(static_cast<float>(hsum_i32(sums)) * d);
  }
}

HEARTH_AVX2 void f32_to_f16_row(const float* x, void* y, int64_t n) {
  auto* out = static_cast<uint16_t*>(y);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = f32_to_f16(x[i]);
}

// Round to nearest even on the integer bits; NaNs stay quiet NaNs.
HEARTH_AVX2 inline __m256i f32_to_bf16x8(__m256 v) {
  const __m256i x = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
  const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb)), 16);
  const __m256i is_nan =
      _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
  const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(0x40));
  return _mm256_blendv_epi8(rounded, quiet, is_nan);
}

HEARTH_AVX2 void f32_to_bf16_row(const float* x, void* y, int64_t n) {
  auto* out = static_cast<uint16_t*>(y);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i r = f32_to_bf16x8(_mm256_loadu_ps(x + i));
    const __m128i h = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = f32_to_bf16(x[i]);
}

void f32_copy(const float* x, void* y, int64_t n) { std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float)); }

template <typename F>
WeightKernels tiled(FromFloatFn act_from_float, VecDotFn vec_dot) {
  WeightKernels k;
  k.act_type = std::is_same_v<typename F::Act, BlockQ8_1> ? DType::kQ8_1 : DType::kQ8_0;
  k.act_from_float = act_from_float;
  k.vec_dot = vec_dot;
  k.tile_dot = dispatch_tile<LegacyTile<F>, kMaxRows, kMaxCols>;
  k.tile_rows = kMaxRows;
  k.tile_cols = kMaxCols;
  k.vec_order = SumOrder::kLanes8Pairs;
  k.tile_order = SumOrder::kLanes8Single;
  return k;
}

}  // namespace

bool legacy_kernels_avx2(DType weight_type, WeightKernels* out) {
  WeightKernels k;
  switch (weight_type) {
    case DType::kF32: k = {DType::kF32, f32_copy, dot_f32}; break;
    case DType::kF16: k = {DType::kF16, f32_to_f16_row, dot_f16}; break;
    case DType::kBF16: k = {DType::kBF16, f32_to_bf16_row, dot_bf16}; break;
    case DType::kQ4_0:
      k = tiled<Q4_0Format>(quantize_q8_0, dot_symmetric<BlockQ4_0, BlockQ8_0, idot_q4_0>);
      break;
    case DType::kQ4_1: k = tiled<Q4_1Format>(quantize_q8_1, dot_affine<BlockQ4_1, idot_q4_1>); break;
    case DType::kQ5_0:
      k = tiled<Q5_0Format>(quantize_q8_0, dot_symmetric<BlockQ5_0, BlockQ8_0, idot_q5_0>);
      break;
    case DType::kQ5_1: k = tiled<Q5_1Format>(quantize_q8_1, dot_affine<BlockQ5_1, idot_q5_1>); break;
    case DType::kQ8_0:
      k = tiled<Q8Format>(quantize_q8_0, dot_symmetric<BlockQ8_0, BlockQ8_0, idot_q8_0>);
      break;
    default: return false;
  }
  k.isa = Isa::kAvx2;
  *out = k;
  return true;
}

#else  // not x86

bool legacy_kernels_avx2(DType, WeightKernels*) { return false; }

#endif

}  // namespace hearth::cpu
