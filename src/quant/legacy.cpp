// Reference conversions of the 32-element block formats (q4_0 q4_1 q5_0 q5_1 q8_0 q8_1).
// The quantizers reproduce the GGUF reference runtime bit for bit (same float
// operations in the same order), so q8_0/q8_1 activations and files we write match
// what llama.cpp and gguf-py produce from the same floats.
#include <algorithm>
#include <cfloat>
#include <cmath>

#include "core/half.h"
#include "quant/blocks_legacy.h"
#include "quant/families.h"

// A fused multiply-add rounds once where the reference rounds twice, which moves
// a value across a rounding boundary now and then; targets with FMA in their
// baseline (aarch64) would otherwise contract (x - min) * id + 0.5f.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace hearth::quant {
namespace {

constexpr int kHalf = kLegacyBlock / 2;

// The element of largest magnitude, with its sign; the first one wins a tie.
float signed_absmax(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kLegacyBlock; ++j) {
    const float a = std::fabs(x[j]);
    if (a > amax) {
      amax = a;
      max = x[j];
    }
  }
  return max;
}

void min_max(const float* x, float* lo, float* hi) {
  float mn = FLT_MAX, mx = -FLT_MAX;
  for (int j = 0; j < kLegacyBlock; ++j) {
    mn = std::min(mn, x[j]);
    mx = std::max(mx, x[j]);
  }
  *lo = mn;
  *hi = mx;
}

// Symmetric formats: d = max / -half_range so that the largest element maps to 0
// (q - offset = -half_range) and the rest fall in [0, 2 * half_range - 1].
template <int kBits>
void quantize_symmetric(const float* x, uint16_t* d_out, uint8_t* qs, uint32_t* qh) {
  constexpr int kOffset = 1 << (kBits - 1);
  constexpr int kMaxQ = (1 << kBits) - 1;
  const float max = signed_absmax(x);
  const float d = max / static_cast<float>(-kOffset);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  *d_out = f32_to_f16(d);
  uint32_t high = 0;
  for (int j = 0; j < kHalf; ++j) {
    const int q0 = std::min(kMaxQ, static_cast<int>(x[j] * id + (kOffset + 0.5f)));
    const int q1 = std::min(kMaxQ, static_cast<int>(x[j + kHalf] * id + (kOffset + 0.5f)));
    qs[j] = static_cast<uint8_t>((q0 & 0x0f) | (q1 & 0x0f) << 4);
    high |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
    high |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + kHalf);
  }
  if (qh) *qh = high;
}

// Affine formats: m = min, d spans [min, max] in 2^bits - 1 steps.
template <int kBits>
void quantize_affine(const float* x, uint16_t* d_out, uint16_t* m_out, uint8_t* qs, uint32_t* qh) {
  constexpr int kMaxQ = (1 << kBits) - 1;
  float mn, mx;
  min_max(x, &mn, &mx);
  const float d = (mx - mn) / static_cast<float>(kMaxQ);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  *d_out = f32_to_f16(d);
  *m_out = f32_to_f16(mn);
  uint32_t high = 0;
  for (int j = 0; j < kHalf; ++j) {
    const int q0 = std::min(kMaxQ, static_cast<int>((x[j] - mn) * id + 0.5f));
    const int q1 = std::min(kMaxQ, static_cast<int>((x[j + kHalf] - mn) * id + 0.5f));
    qs[j] = static_cast<uint8_t>((q0 & 0x0f) | (q1 & 0x0f) << 4);
    high |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
    high |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + kHalf);
  }
  if (qh) *qh = high;
}

// q8: d = amax / 127, q = roundf(x * (1 / d)); returns sum(q) for q8_1's s.
int quantize_q8(const float* x, uint16_t* d_out, int8_t* qs, float* d_float) {
  float amax = 0.0f;
  for (int j = 0; j < kLegacyBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  *d_out = f32_to_f16(d);
  *d_float = d;
  int sum = 0;
  for (int j = 0; j < kLegacyBlock; ++j) {
    const int q = static_cast<int>(std::round(x[j] * id));
    qs[j] = static_cast<int8_t>(q);
    sum += q;
  }
  return sum;
}

void quantize_q4_0(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ4_0*>(y);
  for (int64_t i = 0; i < n / kLegacyBlock; ++i) quantize_symmetric<4>(x + i * kLegacyBlock, &b[i].d, b[i].qs, nullptr);
}

void quantize_q5_0(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ5_0*>(y);
  for (int64_t i = 0; i < n / kLegacyBlock; ++i) {
    uint32_t qh;
    quantize_symmetric<5>(x + i * kLegacyBlock, &b[i].d, b[i].qs, &qh);
    store_qh(b[i].qh, qh);
  }
}

void quantize_q4_1(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ4_1*>(y);
  for (int64_t i = 0; i < n / kLegacyBlock; ++i)
    quantize_affine<4>(x + i * kLegacyBlock, &b[i].d, &b[i].m, b[i].qs, nullptr);
}

void quantize_q5_1(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ5_1*>(y);
  for (int64_t i = 0; i < n / kLegacyBlock; ++i) {
    uint32_t qh;
    quantize_affine<5>(x + i * kLegacyBlock, &b[i].d, &b[i].m, b[i].qs, &qh);
    store_qh(b[i].qh, qh);
  }
}

void quantize_q8_0(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(y);
  float d;
  for (int64_t i = 0; i < n / kLegacyBlock; ++i) quantize_q8(x + i * kLegacyBlock, &b[i].d, b[i].qs, &d);
}

void quantize_q8_1(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(y);
  for (int64_t i = 0; i < n / kLegacyBlock; ++i) {
    float d;
    const int sum = quantize_q8(x + i * kLegacyBlock, &b[i].d, b[i].qs, &d);
    b[i].s = f32_to_f16(static_cast<float>(sum) * d);
  }
}

void dequantize_q4_0(const void* x, float* y, int64_t n) {
  const auto* b = static_cast<const BlockQ4_0*>(x);
  for (int64_t i = 0; i < n / kLegacyBlock; ++i, y += kLegacyBlock) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kHalf; ++j) {
      y[j] = d * static_cast<float>((b[i].qs[j] & 0x0f) - 8);
      y[j + kHalf] = d * static_cast<float>((b[i].qs[j] >> 4) - 8);
    }
  }
}

void dequantize_q4_1(const void* x, float* y, int64_t n) {
  const auto* b = static_cast<const BlockQ4_1*>(x);
  for (int64_t i = 0; i < n / kLegacyBlock; ++i, y += kLegacyBlock) {
    const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
    for (int j = 0; j < kHalf; ++j) {
      y[j] = d * static_cast<float>(b[i].qs[j] & 0x0f) + m;
      y[j + kHalf] = d * static_cast<float>(b[i].qs[j] >> 4) + m;
    }
  }
}

void dequantize_q5_0(const void* x, float* y, int64_t n) {
  const auto* b = static_cast<const BlockQ5_0*>(x);
  for (int64_t i = 0; i < n / kLegacyBlock; ++i, y += kLegacyBlock) {
    const float d = f16_to_f32(b[i].d);
    const uint32_t qh = load_qh(b[i].qh);
    for (int j = 0; j < kHalf; ++j) {
      const int q0 = (b[i].qs[j] & 0x0f) | static_cast<int>((qh >> j) & 1) << 4;
      const int q1 = (b[i].qs[j] >> 4) | static_cast<int>((qh >> (j + kHalf)) & 1) << 4;
      y[j] = d * static_cast<float>(q0 - 16);
      y[j + kHalf] = d * static_cast<float>(q1 - 16);
    }
  }
}

void dequantize_q5_1(const void* x, float* y, int64_t n) {
  const auto* b = static_cast<const BlockQ5_1*>(x);
  for (int64_t i = 0; i < n / kLegacyBlock; ++i, y += kLegacyBlock) {
    const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
    const uint32_t qh = load_qh(b[i].qh);
    for (int j = 0; j < kHalf; ++j) {
      const int q0 = (b[i].qs[j] & 0x0f) | static_cast<int>((qh >> j) & 1) << 4;
      const int q1 = (b[i].qs[j] >> 4) | static_cast<int>((qh >> (j + kHalf)) & 1) << 4;
      y[j] = d * static_cast<float>(q0) + m;
      y[j + kHalf] = d * static_cast<float>(q1) + m;
    }
  }
}

void dequantize_q8_0(const void* x, float* y, int64_t n) {
  const auto* b = static_cast<const BlockQ8_0*>(x);
  for (int64_t i = 0; i < n / kLegacyBlock; ++i, y += kLegacyBlock) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kLegacyBlock; ++j) y[j] = d * static_cast<float>(b[i].qs[j]);
  }
}

void dequantize_q8_1(const void* x, float* y, int64_t n) {
  const auto* b = static_cast<const BlockQ8_1*>(x);
  for (int64_t i = 0; i < n / kLegacyBlock; ++i, y += kLegacyBlock) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kLegacyBlock; ++j) y[j] = d * static_cast<float>(b[i].qs[j]);
  }
}

}  // namespace

bool legacy_row_converters(DType type, RowConverters* out) {
  switch (type) {
    case DType::kQ4_0: *out = {quantize_q4_0, dequantize_q4_0}; return true;
    case DType::kQ4_1: *out = {quantize_q4_1, dequantize_q4_1}; return true;
    case DType::kQ5_0: *out = {quantize_q5_0, dequantize_q5_0}; return true;
    case DType::kQ5_1: *out = {quantize_q5_1, dequantize_q5_1}; return true;
    case DType::kQ8_0: *out = {quantize_q8_0, dequantize_q8_0}; return true;
    case DType::kQ8_1: *out = {quantize_q8_1, dequantize_q8_1}; return true;
    default: return false;
  }
}

}  // namespace hearth::quant
