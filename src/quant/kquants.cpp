// Reference conversions of the 256-element super-block formats (q4_k q5_k q6_k q8_k).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/blocks_kquants.h"
#include "quant/families.h"

namespace hearth::quant {
namespace {

// Rounds to the nearest integer, ties to even, for |v| < 2^22: adding 1.5 * 2^23 leaves
// no fraction bits, so the FPU's default rounding does the work. This is the rounding
// the reference runtime uses for q8_K, and it is exact and branch-free.
inline int nearest_int(float v) {
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, 4);
  return (bits & 0x007fffff) - 0x00400000;
}

inline float clampf(float v, float lo, float hi) { return std::min(std::max(v, lo), hi); }

// ---- asymmetric sub-blocks (q4_K, q5_K): x ~ a * L + b with L in 0..nmax, b <= 0 ----

struct AffineFit {
  float a = 0.0f;  // scale, >= 0
  float b = 0.0f;  // offset, <= 0 (the format stores its negation as a "min")
};

constexpr int kSubBlock = 32;

float affine_error(const float* x, const uint8_t* levels, AffineFit f) {
  float err = 0.0f;
  for (int i = 0; i < kSubBlock; ++i) {
    const float diff = f.a * levels[i] + f.b - x[i];
    err += diff * diff;
  }
  return err;
}

// Least-squares a, b for fixed levels; false when the levels cannot determine a
// positive scale (all equal, or anti-correlated with x).
bool affine_least_squares(const float* x, const uint8_t* levels, AffineFit* out) {
  float sl = 0, sl2 = 0, sx = 0, sxl = 0;
  for (int i = 0; i < kSubBlock; ++i) {
    const float l = levels[i];
    sl += l;
    sl2 += l * l;
    sx += x[i];
    sxl += x[i] * l;
  }
  const float n = kSubBlock;
  const float det = n * sl2 - sl * sl;
  if (det <= 0.0f) return false;
  float a = (n * sxl - sl * sx) / det;
  float b = (sx - a * sl) / n;
  if (b > 0.0f) {  // the format cannot lift a sub-block; pin the offset at zero
    b = 0.0f;
    a = sxl / sl2;
  }
  if (!(a > 0.0f)) return false;
  out->a = a;
  out->b = b;
  return true;
}

void assign_affine(const float* x, AffineFit f, int nmax, uint8_t* levels) {
  const float inv = 1.0f / f.a;
  for (int i = 0; i < kSubBlock; ++i)
    levels[i] = static_cast<uint8_t>(nearest_int(clampf((x[i] - f.b) * inv, 0.0f, static_cast<float>(nmax))));
}

// Searches the level spacing around the plain min/max mapping, refitting scale and
// offset by least squares for each candidate, then polishes the best with a few
// assign/refit rounds. Plain squared error: that is what the reported RMSE measures.
AffineFit fit_affine(const float* x, int nmax) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < kSubBlock; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  lo = std::min(lo, 0.0f);
  if (!(hi > lo)) return {0.0f, lo};  // constant non-positive sub-block: exact with a = 0

  AffineFit best{(hi - lo) / nmax, lo};
  uint8_t levels[kSubBlock];
  assign_affine(x, best, nmax, levels);
  float best_err = affine_error(x, levels, best);

  constexpr int kSteps = 10;
  for (int k = -kSteps; k <= kSteps; ++k) {
    const float iscale = (nmax + 0.1f * k) / (hi - lo);
    for (int i = 0; i < kSubBlock; ++i)
      levels[i] = static_cast<uint8_t>(nearest_int(clampf((x[i] - lo) * iscale, 0.0f, static_cast<float>(nmax))));
    AffineFit f;
    if (!affine_least_squares(x, levels, &f)) continue;
    const float err = affine_error(x, levels, f);
    if (err < best_err) {
      best_err = err;
      best = f;
    }
  }
  for (int round = 0; round < 3; ++round) {
    assign_affine(x, best, nmax, levels);
    AffineFit f;
    if (!affine_least_squares(x, levels, &f)) break;
    const float err = affine_error(x, levels, f);
    if (!(err < best_err)) break;
    best_err = err;
    best = f;
  }
  return best;
}

// Chooses d, dmin, the 6-bit scales and mins and the final levels of one q4_K/q5_K
// super-block. Levels are assigned last, against the scales as actually stored.
void quantize_k_asym(const float* x, int nmax, uint16_t* d16, uint16_t* dmin16, uint8_t* packed_scales,
                     uint8_t* levels) {
  constexpr int kSubs = kQK / kSubBlock;
  AffineFit fits[kSubs];
  float max_a = 0.0f, max_m = 0.0f;
  for (int j = 0; j < kSubs; ++j) {
    fits[j] = fit_affine(x + j * kSubBlock, nmax);
    max_a = std::max(max_a, fits[j].a);
    max_m = std::max(max_m, -fits[j].b);
  }
  *d16 = f32_to_f16(max_a / 63.0f);
  *dmin16 = f32_to_f16(max_m / 63.0f);
  const float d = f16_to_f32(*d16);
  const float dmin = f16_to_f32(*dmin16);

  uint8_t sc[kSubs], m[kSubs];
  for (int j = 0; j < kSubs; ++j) {
    sc[j] = d > 0.0f ? static_cast<uint8_t>(nearest_int(clampf(fits[j].a / d, 0.0f, 63.0f))) : 0;
    m[j] = dmin > 0.0f ? static_cast<uint8_t>(nearest_int(clampf(-fits[j].b / dmin, 0.0f, 63.0f))) : 0;
  }
  pack_k4_scales(sc, m, packed_scales);

  for (int j = 0; j < kSubs; ++j) {
    const float scale = d * sc[j];
    const float min = dmin * m[j];
    const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
    for (int i = 0; i < kSubBlock; ++i) {
      const float v = (x[j * kSubBlock + i] + min) * inv;
      levels[j * kSubBlock + i] = static_cast<uint8_t>(nearest_int(clampf(v, 0.0f, static_cast<float>(nmax))));
    }
  }
}

// ---- symmetric groups (q6_K): x ~ a * L with L in -32..31 ----

constexpr int kGroup = 16;

// Tries level spacings that map the largest-magnitude element to about -32 (the one
// level without a positive twin) and keeps the least-squares scale with least error.
float fit_symmetric(const float* x) {
  float xm = 0.0f, am = 0.0f;
  for (int i = 0; i < kGroup; ++i) {
    if (std::fabs(x[i]) > am) {
      am = std::fabs(x[i]);
      xm = x[i];
    }
  }
  if (am == 0.0f) return 0.0f;

  float best_a = -xm / 32.0f;
  float best_gain = 0.0f;  // (sum x L)^2 / sum L^2: maximising it minimises the error
  auto try_levels = [&](float iscale) {
    float sxl = 0.0f, sl2 = 0.0f;
    for (int i = 0; i < kGroup; ++i) {
      const float l = static_cast<float>(nearest_int(clampf(iscale * x[i], -32.0f, 31.0f)));
      sxl += x[i] * l;
      sl2 += l * l;
    }
    if (sl2 <= 0.0f) return;
    const float gain = sxl * sxl / sl2;
    if (gain > best_gain) {
      best_gain = gain;
      best_a = sxl / sl2;
    }
  };
  for (int k = -12; k <= 4; ++k) try_levels(-(32.0f + 0.2f * k) / xm);
  for (int round = 0; round < 2; ++round) try_levels(1.0f / best_a);
  return best_a;
}

void quantize_block_q6_k(const float* x, BlockQ6K* y) {
  constexpr int kGroups = kQK / kGroup;
  float a[kGroups];
  float am = 0.0f, amax_signed = 0.0f;
  for (int g = 0; g < kGroups; ++g) {
    a[g] = fit_symmetric(x + g * kGroup);
    if (std::fabs(a[g]) > am) {
      am = std::fabs(a[g]);
      amax_signed = a[g];
    }
  }
  std::memset(y, 0, sizeof(*y));
  if (am == 0.0f) {
    std::memset(y->ql, 0x00, sizeof(y->ql));
    // q = 32 everywhere encodes zero: low nibble 0, high bits 2 (binary 10) in each slot.
    std::memset(y->qh, 0xaa, sizeof(y->qh));
    return;
  }
  // -128 is the int8 level without a positive twin; give it to the largest scale.
  const float iscale = -128.0f / amax_signed;
  y->d = f32_to_f16(1.0f / iscale);
  const float d = f16_to_f32(y->d);
  uint8_t q[kQK];
  for (int g = 0; g < kGroups; ++g) {
    y->scales[g] = static_cast<int8_t>(nearest_int(clampf(iscale * a[g], -128.0f, 127.0f)));
    const float scale = d * y->scales[g];
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    for (int i = 0; i < kGroup; ++i) {
      const int l = nearest_int(clampf(x[g * kGroup + i] * inv, -32.0f, 31.0f));
      q[g * kGroup + i] = static_cast<uint8_t>(l + 32);
    }
  }
  for (int h = 0; h < 2; ++h) {
    const uint8_t* qq = q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      y->ql[64 * h + l] = static_cast<uint8_t>((qq[l] & 0x0f) | ((qq[l + 64] & 0x0f) << 4));
      y->ql[64 * h + 32 + l] = static_cast<uint8_t>((qq[l + 32] & 0x0f) | ((qq[l + 96] & 0x0f) << 4));
      y->qh[32 * h + l] = static_cast<uint8_t>((qq[l] >> 4) | ((qq[l + 32] >> 4) << 2) | ((qq[l + 64] >> 4) << 4) |
                                               ((qq[l + 96] >> 4) << 6));
    }
  }
}

}  // namespace

void quantize_row_q4_k(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ4K*>(vy);
  uint8_t levels[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    quantize_k_asym(x, 15, &y[b].d, &y[b].dmin, y[b].scales, levels);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        y[b].qs[32 * c + l] = static_cast<uint8_t>(levels[64 * c + l] | (levels[64 * c + 32 + l] << 4));
  }
}

void quantize_row_q5_k(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ5K*>(vy);
  uint8_t levels[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    quantize_k_asym(x, 31, &y[b].d, &y[b].dmin, y[b].scales, levels);
    std::memset(y[b].qh, 0, sizeof(y[b].qh));
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t lo = levels[64 * c + l], hi = levels[64 * c + 32 + l];
        y[b].qs[32 * c + l] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
        y[b].qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    }
  }
}

void quantize_row_q6_k(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ6K*>(vy);
  for (int64_t b = 0; b < n / kQK; ++b) quantize_block_q6_k(x + b * kQK, &y[b]);
}

void quantize_row_q8_k(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ8K*>(vy);
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < kQK; ++i) {
      const float ax = std::fabs(x[i]);
      if (ax > amax) {
        amax = ax;
        max = x[i];
      }
    }
    if (amax == 0.0f) {
      std::memset(&y[b], 0, sizeof(y[b]));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int i = 0; i < kQK; ++i) y[b].qs[i] = static_cast<int8_t>(std::min(127, nearest_int(iscale * x[i])));
    for (int g = 0; g < kQK / 16; ++g) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += y[b].qs[16 * g + i];
      y[b].bsums[g] = static_cast<int16_t>(sum);
    }
    y[b].d = 1.0f / iscale;
  }
}

template <class Block>
void dequantize_row_q45_k(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const Block*>(vx);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float d = f16_to_f32(x[b].d), dmin = f16_to_f32(x[b].dmin);
    uint8_t sc[8], m[8];
    unpack_k4_scales(x[b].scales, sc, m);
    const uint8_t* qh = fifth_bits(x[b]);
    for (int c = 0; c < 4; ++c) {
      const float d_lo = d * sc[2 * c], m_lo = dmin * m[2 * c];
      const float d_hi = d * sc[2 * c + 1], m_hi = dmin * m[2 * c + 1];
      for (int l = 0; l < 32; ++l) {
        y[64 * c + l] = d_lo * k4_level(x[b].qs, qh, c, 0, l) - m_lo;
        y[64 * c + 32 + l] = d_hi * k4_level(x[b].qs, qh, c, 1, l) - m_hi;
      }
    }
    y += kQK;
  }
}

void dequantize_row_q4_k(const void* vx, float* y, int64_t n) { dequantize_row_q45_k<BlockQ4K>(vx, y, n); }
void dequantize_row_q5_k(const void* vx, float* y, int64_t n) { dequantize_row_q45_k<BlockQ5K>(vx, y, n); }

void dequantize_row_q6_k(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ6K*>(vx);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float d = f16_to_f32(x[b].d);
    for (int e = 0; e < kQK; ++e) y[e] = d * x[b].scales[e / 16] * q6_level(x[b], e);
    y += kQK;
  }
}

void dequantize_row_q8_k(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ8K*>(vx);
  for (int64_t b = 0; b < n / kQK; ++b)
    for (int i = 0; i < kQK; ++i) y[b * kQK + i] = x[b].d * x[b].qs[i];
}

bool kquant_row_converters(DType type, RowConverters* out) {
  switch (type) {
    case DType::kQ4_K: *out = {quantize_row_q4_k, dequantize_row_q4_k}; return true;
    case DType::kQ5_K: *out = {quantize_row_q5_k, dequantize_row_q5_k}; return true;
    case DType::kQ6_K: *out = {quantize_row_q6_k, dequantize_row_q6_k}; return true;
    case DType::kQ8_K: *out = {quantize_row_q8_k, dequantize_row_q8_k}; return true;
    default: return false;
  }
}

}  // namespace hearth::quant
