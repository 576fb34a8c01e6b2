// AVX2 kernels for the k-quant formats: q4_K/q5_K/q6_K x q8_K dot products and the q8_K
// activation quantizer. Compiled per function for AVX2+FMA+F16C, chosen at run time.
#if defined(__x86_64__)  // x86 only: other targets get their k-quant kernels elsewhere
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backends/cpu/dot_kquants_tiles.h"
#include "backends/cpu/prefetch.h"
#include "backends/cpu/tile_dispatch.h"
#include "quant/blocks_kquants.h"

#define HEARTH_AVX2 __attribute__((target("avx2,fma,f16c")))
// For the pieces of a tile: the tile keeps its accumulators in registers only
// when these are inlined into it, which the compiler's size heuristics decline.
#define HEARTH_AVX2_INLINED HEARTH_AVX2 __attribute__((always_inline)) inline

namespace hearth::cpu {

using quant::BlockQ4K;
using quant::BlockQ5K;
using quant::BlockQ6K;
using quant::BlockQ8K;
using quant::kQK;

namespace {

HEARTH_AVX2 inline float hsum_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

HEARTH_AVX2 inline float hsum_ps(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The 6-bit scales and mins of q4_K/q5_K as 8 int16 each (see unpack_k4_scales).
HEARTH_AVX2 inline void unpack_scales_mins(const uint8_t* packed, __m128i* sc, __m128i* m) {
  uint32_t w[3];
  std::memcpy(w, packed, sizeof(w));
  const uint64_t sc8 = (w[0] & 0x3f3f3f3fu) |
                       static_cast<uint64_t>((w[2] & 0x0f0f0f0fu) | ((w[0] >> 2) & 0x30303030u)) << 32;
  const uint64_t m8 = (w[1] & 0x3f3f3f3fu) |
                      static_cast<uint64_t>(((w[2] >> 4) & 0x0f0f0f0fu) | ((w[1] >> 2) & 0x30303030u)) << 32;
  *sc = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(sc8)));
  *m = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(m8)));
}

// A pshufb mask that broadcasts int16 element j of each 128-bit lane.
HEARTH_AVX2 inline __m256i pick_i16(int j) {
  return _mm256_set1_epi16(static_cast<int16_t>(((2 * j + 1) << 8) | (2 * j)));
}

// The mins term of one q4_K/q5_K block, sum_j m[j] * (bsums[2j] + bsums[2j+1]), as four
// int32 partial sums: the pair sums fit int16 (at most 32 * 127).
HEARTH_AVX2 inline __m128i mins_dot(__m128i m16, const int16_t* bsums) {
  const __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums));
  const __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums + 8));
  return _mm_madd_epi16(_mm_hadd_epi16(b0, b1), m16);
}

// Moves bit S of every byte to bit 4 (other bits are masked off by the caller). 16-bit
// shifts by at most 4 never carry a bit from one byte into bit 4 of its neighbour.
template <int S>
HEARTH_AVX2 inline __m256i bit_to_4(__m256i v) {
  if constexpr (S < 4) return _mm256_slli_epi16(v, 4 - S);
  else if constexpr (S > 4) return _mm256_srli_epi16(v, S - 4);
  else return v;
}

// One 64-element chunk c of a q4_K/q5_K block: weights lo (sub-block 2c) and hi (2c+1)
// as unsigned bytes against the activations; products summed in int16 pairs by maddubs
// (at most 2 * 31 * 127, no saturation), then weighted by the sub-block scales.
HEARTH_AVX2 inline __m256i chunk_dot(__m256i lo, __m256i hi, const int8_t* act, __m256i scales, int c) {
  const __m256i p_lo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(act)));
  const __m256i p_hi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(act + 32)));
  const __m256i s_lo = _mm256_madd_epi16(p_lo, _mm256_shuffle_epi8(scales, pick_i16(2 * c)));
  const __m256i s_hi = _mm256_madd_epi16(p_hi, _mm256_shuffle_epi8(scales, pick_i16(2 * c + 1)));
  return _mm256_add_epi32(s_lo, s_hi);
}

// pshufb masks for q6_K: group g (32 elements) takes scale 2g for its first 16 and
// 2g + 1 for its last 16 elements.
HEARTH_AVX2 inline __m128i q6_scale_pick(int g) {
  return _mm_set_epi64x(0x0101010101010101LL * (2 * g + 1), 0x0101010101010101LL * (2 * g));
}

HEARTH_AVX2 inline __m256i q6_group_dot(__m256i q, const int8_t* act, __m128i scales8, int g) {
  const __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(act)));
  const __m256i s = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales8, q6_scale_pick(g)));
  return _mm256_madd_epi16(p, s);
}

// Horizontal max/min of accumulators that never hold a NaN.
HEARTH_AVX2 inline float hmax_ps(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}
HEARTH_AVX2 inline float hmin_ps(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_min_ss(m, _mm_movehdup_ps(m)));
}

// The first of the kQK elements whose magnitude is `magnitude` (which one occurs).
HEARTH_AVX2 inline float first_of_magnitude(const float* x, float magnitude) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 target = _mm256_set1_ps(magnitude);
  for (int i = 0; i < kQK; i += 8) {
    const __m256 eq = _mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask), target, _CMP_EQ_OQ);
    if (const int hits = _mm256_movemask_ps(eq)) return x[i + __builtin_ctz(static_cast<unsigned>(hits))];
  }
  return magnitude;
}

}  // namespace

namespace {

// q4_K and q5_K as tiles: RM weight rows against RN activation rows. Per
// superblock and row, the scales are unpacked and each 64-element chunk's
// values and scale vectors are built once, then used for every activation row;
// one int32 sum per activation row collects the chunks. The mins term joins the
// same float accumulator in its low four lanes. Each (row, activation) pair
// sees the same operations whatever the tile's shape, so every tile agrees
// with the 1x1 tile bit for bit.
struct Q4KValues {
  using Block = BlockQ4K;
  HEARTH_AVX2 static __m256i high_bits(const BlockQ4K&) { return _mm256_setzero_si256(); }
  template <int C>
  HEARTH_AVX2 static void chunk(const BlockQ4K& w, __m256i, __m256i* lo, __m256i* hi) {
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs + 32 * C));
    *lo = _mm256_and_si256(q, low4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
  }
};

struct Q5KValues {
  using Block = BlockQ5K;
  HEARTH_AVX2 static __m256i high_bits(const BlockQ5K& w) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh));
  }
  template <int C>
  HEARTH_AVX2 static void chunk(const BlockQ5K& w, __m256i hbits, __m256i* lo, __m256i* hi) {
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs + 32 * C));
    *lo = _mm256_or_si256(_mm256_and_si256(q, low4), _mm256_and_si256(bit_to_4<2 * C>(hbits), bit4));
    *hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4),
                          _mm256_and_si256(bit_to_4<2 * C + 1>(hbits), bit4));
  }
};

template <typename V, int RN, int C>
HEARTH_AVX2_INLINED void k_chunk(const typename V::Block& w, __m256i hbits, __m256i scales, const BlockQ8K* const* act,
                                __m256i* sumi) {
  __m256i lo, hi;
  V::template chunk<C>(w, hbits, &lo, &hi);
  const __m256i s_lo = _mm256_shuffle_epi8(scales, pick_i16(2 * C));
  const __m256i s_hi = _mm256_shuffle_epi8(scales, pick_i16(2 * C + 1));
#pragma GCC unroll 8
  for (int c = 0; c < RN; ++c) {
    const int8_t* q = act[c]->qs + 64 * C;
    const __m256i p_lo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q)));
    const __m256i p_hi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 32)));
    sumi[c] = _mm256_add_epi32(sumi[c], _mm256_add_epi32(_mm256_madd_epi16(p_lo, s_lo), _mm256_madd_epi16(p_hi, s_hi)));
  }
}

// One weight row's superblock against RN activation rows, added into acc[0..RN).
template <typename V>
struct Q45Rows {
  using Block = typename V::Block;
  template <int RN>
  HEARTH_AVX2_INLINED static void add(const Block& x, const BlockQ8K* const* act, __m256* acc) {
    __m128i sc16, m16;
    unpack_scales_mins(x.scales, &sc16, &m16);
    const float d = _cvtsh_ss(x.d);
    const float dmin = _cvtsh_ss(x.dmin);
#pragma GCC unroll 8
    for (int c = 0; c < RN; ++c) {
      const __m128 mins = _mm_cvtepi32_ps(mins_dot(m16, act[c]->bsums));
      acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(-dmin * act[c]->d), _mm256_zextps128_ps256(mins), acc[c]);
    }
    const __m256i scales = _mm256_broadcastsi128_si256(sc16);
    const __m256i hbits = V::high_bits(x);
    __m256i sumi[RN];
#pragma GCC unroll 8
    for (int c = 0; c < RN; ++c) sumi[c] = _mm256_setzero_si256();
    k_chunk<V, RN, 0>(x, hbits, scales, act, sumi);
    k_chunk<V, RN, 1>(x, hbits, scales, act, sumi);
    k_chunk<V, RN, 2>(x, hbits, scales, act, sumi);
    k_chunk<V, RN, 3>(x, hbits, scales, act, sumi);
#pragma GCC unroll 8
    for (int c = 0; c < RN; ++c)
      acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(d * act[c]->d), _mm256_cvtepi32_ps(sumi[c]), acc[c]);
  }
};

// q6_K as a tile, built like the q4_K/q5_K one: per superblock and row, the 16 scales
// and each 32-value group are unpacked once and used for every activation row.
// Group g of a 128-value half: low 4 bits from ql, high 2 from qh.
template <int G>
HEARTH_AVX2 inline __m256i q6_values(__m256i ql0, __m256i ql1, __m256i qh) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m256i hi2 = _mm256_set1_epi8(0x30);
  if constexpr (G == 0) return _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), hi2));
  if constexpr (G == 1) return _mm256_or_si256(_mm256_and_si256(ql1, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), hi2));
  if constexpr (G == 2)
    return _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), _mm256_and_si256(qh, hi2));
  return _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                         _mm256_and_si256(_mm256_srli_epi16(qh, 2), hi2));
}

template <int RN, int H, int G>
HEARTH_AVX2_INLINED void q6_group(__m256i ql0, __m256i ql1, __m256i qh, __m128i scales8, const BlockQ8K* const* act,
                                 __m256i* sumi) {
  const __m256i q = q6_values<G>(ql0, ql1, qh);
  const __m256i s = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales8, q6_scale_pick(4 * H + G)));
#pragma GCC unroll 8
  for (int c = 0; c < RN; ++c) {
    const auto* a = reinterpret_cast<const __m256i*>(act[c]->qs + 128 * H + 32 * G);
    sumi[c] = _mm256_add_epi32(sumi[c], _mm256_madd_epi16(_mm256_maddubs_epi16(q, _mm256_loadu_si256(a)), s));
  }
}

template <int RN, int H>
HEARTH_AVX2_INLINED void q6_half(const BlockQ6K& x, __m128i scales8, const BlockQ8K* const* act, __m256i* sumi) {
  const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.ql + 64 * H));
  const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.ql + 64 * H + 32));
  const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qh + 32 * H));
  q6_group<RN, H, 0>(ql0, ql1, qh, scales8, act, sumi);
  q6_group<RN, H, 1>(ql0, ql1, qh, scales8, act, sumi);
  q6_group<RN, H, 2>(ql0, ql1, qh, scales8, act, sumi);
  q6_group<RN, H, 3>(ql0, ql1, qh, scales8, act, sumi);
}

// Works on the stored values 0..63 and takes the -32 offset off as
// 32 * sum_k scale[k] * bsums[k], as the row kernel does.
struct Q6Rows {
  using Block = BlockQ6K;
  template <int RN>
  HEARTH_AVX2_INLINED static void add(const BlockQ6K& x, const BlockQ8K* const* act, __m256* acc) {
    const __m128i scales8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales));
    const __m256i scales16 = _mm256_cvtepi8_epi16(scales8);
    __m256i sumi[RN];
#pragma GCC unroll 8
    for (int c = 0; c < RN; ++c) {
      const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(act[c]->bsums));
      sumi[c] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(scales16, bsums), 5));
    }
    q6_half<RN, 0>(x, scales8, act, sumi);
    q6_half<RN, 1>(x, scales8, act, sumi);
    const float d = _cvtsh_ss(x.d);
#pragma GCC unroll 8
    for (int c = 0; c < RN; ++c)
      acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(act[c]->d * d), _mm256_cvtepi32_ps(sumi[c]), acc[c]);
  }
};

// What every k-quant tile shares: RM x RN float accumulators, the activation
// rows' superblocks located once per superblock, each weight row's superblock
// added by Rows::add, and one horizontal sum per pair at the end.
template <typename Rows, int RM, int RN>
HEARTH_AVX2 void superblock_tile(int64_t n, const void* w, int64_t w_stride, const void* a, int64_t a_stride,
                                 float* y, int64_t y_stride) {
  using W = typename Rows::Block;
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  __m256 acc[RM][RN];
#pragma GCC unroll 8
  for (int r = 0; r < RM; ++r)
#pragma GCC unroll 8
    for (int c = 0; c < RN; ++c) acc[r][c] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    const BlockQ8K* act[RN];
#pragma GCC unroll 8
    for (int c = 0; c < RN; ++c) act[c] = reinterpret_cast<const BlockQ8K*>(ab + c * a_stride) + b;
#pragma GCC unroll 8
    for (int r = 0; r < RM; ++r)
      Rows::template add<RN>(reinterpret_cast<const W*>(wb + r * w_stride)[b], act, acc[r]);
  }
#pragma GCC unroll 8
  for (int r = 0; r < RM; ++r)
#pragma GCC unroll 8
    for (int c = 0; c < RN; ++c) y[c * y_stride + r] = hsum_ps(acc[r][c]);
}

template <typename Rows>
struct SuperblockTile {
  template <int RM, int RN>
  static void run(int64_t n, const void* w, int64_t w_stride, const void* a, int64_t a_stride, float* y,
                  int64_t y_stride) {
    superblock_tile<Rows, RM, RN>(n, w, w_stride, a, a_stride, y, y_stride);
  }
};

using Q4KTile = SuperblockTile<Q45Rows<Q4KValues>>;
using Q5KTile = SuperblockTile<Q45Rows<Q5KValues>>;
using Q6KTile = SuperblockTile<Q6Rows>;

}  // namespace

namespace {

// One row at a time (token generation): two chunk sums in flight, faster here
// than the 1x1 tile (measured 8.7-9.3 against 5.4-6.4 GB/s on one core).
// q4_K and q5_K differ only in the values V unpacks.
template <typename V>
HEARTH_AVX2 float row_dot_q45(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const typename V::Block*>(vw);
  const auto* a = static_cast<const BlockQ8K*>(va);
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    prefetch_ahead(w + b, sizeof(typename V::Block));
    const float d = a[b].d * _cvtsh_ss(w[b].d);
    const float dmin = a[b].d * _cvtsh_ss(w[b].dmin);
    __m128i sc16, m16;
    unpack_scales_mins(w[b].scales, &sc16, &m16);
    acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(mins_dot(m16, a[b].bsums)), acc_m);

    const __m256i scales = _mm256_broadcastsi128_si256(sc16);
    const __m256i hbits = V::high_bits(w[b]);
    __m256i chunk[4];
    __m256i lo, hi;
    V::template chunk<0>(w[b], hbits, &lo, &hi);
    chunk[0] = chunk_dot(lo, hi, a[b].qs, scales, 0);
    V::template chunk<1>(w[b], hbits, &lo, &hi);
    chunk[1] = chunk_dot(lo, hi, a[b].qs + 64, scales, 1);
    V::template chunk<2>(w[b], hbits, &lo, &hi);
    chunk[2] = chunk_dot(lo, hi, a[b].qs + 128, scales, 2);
    V::template chunk<3>(w[b], hbits, &lo, &hi);
    chunk[3] = chunk_dot(lo, hi, a[b].qs + 192, scales, 3);
    // Two independent sums shorten the add chain.
    const __m256i sumi =
        _mm256_add_epi32(_mm256_add_epi32(chunk[0], chunk[1]), _mm256_add_epi32(chunk[2], chunk[3]));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum_ps(acc) - hsum_ps(acc_m);
}

}  // namespace

HEARTH_AVX2 float vec_dot_q4_k_q8_k_avx2(int64_t n, const void* vw, const void* va) {
  return row_dot_q45<Q4KValues>(n, vw, va);
}

HEARTH_AVX2 float vec_dot_q5_k_q8_k_avx2(int64_t n, const void* vw, const void* va) {
  return row_dot_q45<Q5KValues>(n, vw, va);
}

void tile_dot_q4_k_q8_k_avx2(int64_t n, const void* w, int64_t w_stride, const void* a, int64_t a_stride, float* y,
                             int64_t y_stride, int rows, int cols) {
  dispatch_tile<Q4KTile, kKTileRows, kKTileCols>(n, w, w_stride, a, a_stride, y, y_stride, rows, cols);
}

void tile_dot_q6_k_q8_k_avx2(int64_t n, const void* w, int64_t w_stride, const void* a, int64_t a_stride, float* y,
                             int64_t y_stride, int rows, int cols) {
  dispatch_tile<Q6KTile, kKTileRows, kKTileCols>(n, w, w_stride, a, a_stride, y, y_stride, rows, cols);
}

void tile_dot_q5_k_q8_k_avx2(int64_t n, const void* w, int64_t w_stride, const void* a, int64_t a_stride, float* y,
                             int64_t y_stride, int rows, int cols) {
  dispatch_tile<Q5KTile, kKTileRows, kKTileCols>(n, w, w_stride, a, a_stride, y, y_stride, rows, cols);
}

// Works on q = stored value in 0..63 (unsigned, as maddubs needs) and takes the -32
// offset off once per block as 32 * sum_k scale[k] * bsums[k].
HEARTH_AVX2 float vec_dot_q6_k_q8_k_avx2(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6K*>(vw);
  const auto* a = static_cast<const BlockQ8K*>(va);
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m256i hi2 = _mm256_set1_epi8(0x30);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    prefetch_ahead(w + b, sizeof(BlockQ6K));
    const float d = a[b].d * _cvtsh_ss(w[b].d);
    const __m128i scales8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].scales));
    const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].bsums));
    const __m256i offset = _mm256_madd_epi16(_mm256_cvtepi8_epi16(scales8), bsums);

    __m256i sumi = _mm256_setzero_si256();
#pragma GCC unroll 2  // unrolled, the scale shuffle masks become constants
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].ql + 64 * h));
      const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].ql + 64 * h + 32));
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qh + 32 * h));
      const __m256i q0 = _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), hi2));
      const __m256i q1 = _mm256_or_si256(_mm256_and_si256(ql1, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), hi2));
      const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), _mm256_and_si256(qh, hi2));
      const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                                         _mm256_and_si256(_mm256_srli_epi16(qh, 2), hi2));
      const int8_t* act = a[b].qs + 128 * h;
      sumi = _mm256_add_epi32(sumi, q6_group_dot(q0, act, scales8, 4 * h + 0));
      sumi = _mm256_add_epi32(sumi, q6_group_dot(q1, act + 32, scales8, 4 * h + 1));
      sumi = _mm256_add_epi32(sumi, q6_group_dot(q2, act + 64, scales8, 4 * h + 2));
      sumi = _mm256_add_epi32(sumi, q6_group_dot(q3, act + 96, scales8, 4 * h + 3));
    }
    sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(offset, 5));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum_ps(acc);
}

// Same bytes as quant::quantize_row_q8_k for every input: the first element of largest
// magnitude sets the sign of the scale, and rounding uses the same add-1.5*2^23 trick with
// the same int8 truncation, so even degenerate blocks (inf, NaN, a scale that overflows)
// come out identical rather than merely close.
HEARTH_AVX2 void quantize_row_q8_k_avx2(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ8K*>(vy);
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const __m256i max_q = _mm256_set1_epi32(127);
  const __m256 magic = _mm256_set1_ps(12582912.0f);
  const __m256i mantissa = _mm256_set1_epi32(0x007fffff);
  const __m256i half_range = _mm256_set1_epi32(0x00400000);
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    // The element of largest magnitude is the largest or the smallest value; tracking
    // both finds its sign without a second pass unless +v and -v tie. max_ps/min_ps
    // return the second operand (the accumulator) for a NaN element, so NaNs are skipped
    // as the scalar `ax > amax` test skips them. Two chains each hide the latency.
    __m256 hi0 = _mm256_setzero_ps(), hi1 = hi0, lo0 = hi0, lo1 = hi0;
    for (int i = 0; i < kQK; i += 16) {
      const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
      hi0 = _mm256_max_ps(v0, hi0);
      hi1 = _mm256_max_ps(v1, hi1);
      lo0 = _mm256_min_ps(v0, lo0);
      lo1 = _mm256_min_ps(v1, lo1);
    }
    const float hi = hmax_ps(_mm256_max_ps(hi0, hi1));
    const float lo = hmin_ps(_mm256_min_ps(lo0, lo1));
    float max;
    if (hi > -lo) {
      max = hi;
    } else if (-lo > hi) {
      max = lo;
    } else if (hi == 0.0f) {
      std::memset(&y[b], 0, sizeof(y[b]));
      continue;
    } else {
      max = first_of_magnitude(x, hi);
    }
    const float iscale = -127.0f / max;
    const __m256 vscale = _mm256_set1_ps(iscale);
    __m128i sums[4];
    for (int i = 0; i < kQK; i += 64) {
      __m256i q[8];  // fully unrolled below, so these live in registers
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        __m256 v = _mm256_mul_ps(vscale, _mm256_loadu_ps(x + i + 8 * k));
        // Two roundings, as in the scalar code: keep the compiler from fusing into an FMA.
        __asm__("" : "+x"(v));
        const __m256i bits = _mm256_castps_si256(_mm256_add_ps(v, magic));
        const __m256i r = _mm256_min_epi32(_mm256_sub_epi32(_mm256_and_si256(bits, mantissa), half_range), max_q);
        q[k] = _mm256_srai_epi32(_mm256_slli_epi32(r, 24), 24);  // the scalar int8 cast keeps the low byte
      }
      // bsums: each 16-element group is q[2g] + q[2g+1]; three hadds and a lane fold
      // give the four group sums of these 64 elements in order.
      const __m256i s01 = _mm256_hadd_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
      const __m256i s23 = _mm256_hadd_epi32(_mm256_add_epi32(q[4], q[5]), _mm256_add_epi32(q[6], q[7]));
      const __m256i s = _mm256_hadd_epi32(s01, s23);
      sums[i / 64] = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      // packs work within 128-bit lanes; the permute restores element order.
#pragma GCC unroll 2
      for (int k = 0; k < 8; k += 4) {
        const __m256i p16a = _mm256_packs_epi32(q[k], q[k + 1]);
        const __m256i p16b = _mm256_packs_epi32(q[k + 2], q[k + 3]);
        const __m256i p8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b), perm);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs + i + 8 * k), p8);
      }
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].bsums), _mm_packs_epi32(sums[0], sums[1]));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].bsums + 8), _mm_packs_epi32(sums[2], sums[3]));
    y[b].d = 1.0f / iscale;
  }
}

}  // namespace hearth::cpu

#endif  // __x86_64__
