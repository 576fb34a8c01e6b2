// Reference conversions of the 32-element block formats: error bounds of the round
// trip, exact dequantisation of hand-built blocks, and the quantisers' defining rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "quant/blocks_legacy.h"
#include "quant/quantize.h"

namespace hearth::quant {
namespace {

constexpr DType kLegacyTypes[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0,
                                  DType::kQ5_1, DType::kQ8_0, DType::kQ8_1};

std::vector<uint8_t> quantize(DType type, const std::vector<float>& x) {
  std::vector<uint8_t> out(static_cast<size_t>(dtype_row_bytes(type, static_cast<int64_t>(x.size()))));
  quantize_row(type, x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

std::vector<float> dequantize(DType type, const void* blocks, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  dequantize_row(type, blocks, out.data(), n);
  return out;
}

struct FormatShape {
  bool affine;  // x = d*q + m (else x = d*(q - offset))
  int levels;   // 2^bits
};

FormatShape shape(DType type) {
  switch (type) {
    case DType::kQ4_0: return {false, 16};
    case DType::kQ4_1: return {true, 16};
    case DType::kQ5_0: return {false, 32};
    case DType::kQ5_1: return {true, 32};
    default: return {false, 255};  // q8: q in [-127, 127]
  }
}

TEST(Legacy, AllSixFormatsConvertBothWays) {
  for (DType t : kLegacyTypes) {
    EXPECT_TRUE(can_quantize(t)) << dtype_name(t);
    EXPECT_TRUE(can_dequantize(t)) << dtype_name(t);
  }
}

TEST(Legacy, RowsMustBeWholeBlocks) {
  std::vector<float> x(33, 1.0f);
  std::vector<uint8_t> y(64);
  EXPECT_THROW(quantize_row(DType::kQ4_0, x.data(), y.data(), 33), Error);
  EXPECT_THROW(dequantize_row(DType::kQ8_0, y.data(), x.data(), 33), Error);
}

// Every element lands within half a step of its value, plus what rounding d (and m)
// to f16 costs; the symmetric formats' one clamped level (+max maps to offset-1
// instead of offset) costs one full step.
TEST(Legacy, RoundTripErrorWithinHalfAStep) {
  std::mt19937 rng(7);
  for (DType t : kLegacyTypes) {
    const FormatShape s = shape(t);
    for (float scale : {0.05f, 1.0f, 40.0f}) {
      for (float mean : {0.0f, 3.0f * scale}) {
        std::normal_distribution<float> dist(mean, scale);
        std::vector<float> x(32 * 64);
        for (float& v : x) v = dist(rng);
        const std::vector<uint8_t> q = quantize(t, x);
        const std::vector<float> y = dequantize(t, q.data(), static_cast<int64_t>(x.size()));
        double sq = 0.0, step_sum = 0.0;
        for (size_t b = 0; b < x.size() / 32; ++b) {
          const float* xb = x.data() + b * 32;
          const float mn = *std::min_element(xb, xb + 32), mx = *std::max_element(xb, xb + 32);
          const float amax = std::max(std::fabs(mn), std::fabs(mx));
          const float step = s.affine ? (mx - mn) / (s.levels - 1) : amax / (s.levels / 2);
          const float half_ulp = 1.0f / 2048;  // relative rounding of an f16 normal
          float bound = step * (0.5f + (s.levels / 2 + 1) * half_ulp);
          if (s.affine) bound += std::fabs(mn) * half_ulp + step * (s.levels / 2) * half_ulp;
          for (int j = 0; j < 32; ++j) {
            const float err = std::fabs(y[b * 32 + j] - xb[j]);
            const bool clamped = !s.affine && s.levels < 255 && std::fabs(xb[j]) > (s.levels / 2 - 0.5f) * step &&
                                 std::signbit(xb[j]) != std::signbit(amax == std::fabs(mx) ? mx : mn);
            EXPECT_LE(err, bound + (clamped ? step * 0.5f : 0.0f) + 1e-6f * std::fabs(xb[j]))
                << dtype_name(t) << " scale " << scale << " mean " << mean << " block " << b << " elem " << j;
            sq += static_cast<double>(err) * err;
          }
          step_sum += step;
        }
        // Rounding errors spread over the step: RMS about step/sqrt(12) ≈ 0.29 step,
        // far below the worst case; a format that loses a bit shows up here.
        const double rms = std::sqrt(sq / static_cast<double>(x.size()));
        EXPECT_LT(rms, 0.35 * step_sum / static_cast<double>(x.size() / 32)) << dtype_name(t) << " scale " << scale;
      }
    }
  }
}

TEST(Legacy, DequantizeQ4_0HandBuiltBlock) {
  BlockQ4_0 b{};
  b.d = f32_to_f16(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | (15 - j) << 4);
  const std::vector<float> y = dequantize(DType::kQ4_0, &b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * static_cast<float>(j - 8)) << j;
    EXPECT_EQ(y[j + 16], 0.5f * static_cast<float>(7 - j)) << j + 16;
  }
}

TEST(Legacy, DequantizeQ4_1HandBuiltBlock) {
  BlockQ4_1 b{};
  b.d = f32_to_f16(0.25f);
  b.m = f32_to_f16(-1.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>((j * 3) % 16 | j << 4);
  const std::vector<float> y = dequantize(DType::kQ4_1, &b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.25f * static_cast<float>((j * 3) % 16) - 1.5f) << j;
    EXPECT_EQ(y[j + 16], 0.25f * static_cast<float>(j) - 1.5f) << j + 16;
  }
}

// Bit j of qh is the fifth bit of element j, for both halves of the block.
TEST(Legacy, DequantizeQ5HandBuiltBlocks) {
  const uint32_t qh = 0xa5c30f01u;
  BlockQ5_0 b0{};
  BlockQ5_1 b1{};
  b0.d = f32_to_f16(2.0f);
  b1.d = f32_to_f16(0.125f);
  b1.m = f32_to_f16(3.0f);
  store_qh(b0.qh, qh);
  store_qh(b1.qh, qh);
  for (int j = 0; j < 16; ++j) b0.qs[j] = b1.qs[j] = static_cast<uint8_t>(j | (j ^ 0x9) << 4);
  const std::vector<float> y0 = dequantize(DType::kQ5_0, &b0, 32);
  const std::vector<float> y1 = dequantize(DType::kQ5_1, &b1, 32);
  for (int j = 0; j < 32; ++j) {
    const int nibble = j < 16 ? j : ((j - 16) ^ 0x9);
    const int q = nibble | static_cast<int>((qh >> j) & 1u) << 4;
    EXPECT_EQ(y0[j], 2.0f * static_cast<float>(q - 16)) << j;
    EXPECT_EQ(y1[j], 0.125f * static_cast<float>(q) + 3.0f) << j;
  }
  EXPECT_EQ(b0.qh[0], 0x01);  // little-endian, as GGUF stores it
  EXPECT_EQ(b0.qh[3], 0xa5);
}

TEST(Legacy, DequantizeQ8HandBuiltBlocks) {
  BlockQ8_0 b0{};
  BlockQ8_1 b1{};
  b0.d = b1.d = f32_to_f16(0.0625f);
  b1.s = f32_to_f16(1000.0f);  // s plays no part in the values
  for (int j = 0; j < 32; ++j) b0.qs[j] = b1.qs[j] = static_cast<int8_t>(j * 8 - 128);
  const std::vector<float> y0 = dequantize(DType::kQ8_0, &b0, 32);
  const std::vector<float> y1 = dequantize(DType::kQ8_1, &b1, 32);
  for (int j = 0; j < 32; ++j) {
    EXPECT_EQ(y0[j], 0.0625f * static_cast<float>(j * 8 - 128)) << j;
    EXPECT_EQ(y1[j], y0[j]) << j;
  }
}

// Symmetric formats: d = (signed extreme) / -offset, so the extreme itself is q = 0
// and d's sign is opposite to the extreme's.
TEST(Legacy, SymmetricScaleComesFromTheSignedExtreme) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = 0.1f * static_cast<float>(j - 16);
  x[5] = -3.0f;
  x[9] = 3.0f;  // same magnitude later: the first one wins
  const auto q4 = quantize(DType::kQ4_0, x);
  BlockQ4_0 b4;
  std::memcpy(&b4, q4.data(), sizeof b4);
  EXPECT_EQ(b4.d, f32_to_f16(-3.0f / -8.0f));
  EXPECT_EQ(b4.qs[5] & 0x0f, 0);
  EXPECT_EQ(b4.qs[9] & 0x0f, 15);  // +3 would be q = 16: clamped

  const auto q5 = quantize(DType::kQ5_0, x);
  BlockQ5_0 b5;
  std::memcpy(&b5, q5.data(), sizeof b5);
  EXPECT_EQ(b5.d, f32_to_f16(-3.0f / -16.0f));
  EXPECT_EQ(b5.qs[5] & 0x0f, 0);
  EXPECT_EQ((load_qh(b5.qh) >> 5) & 1u, 0u);
  EXPECT_EQ(b5.qs[9] & 0x0f, 15);
  EXPECT_EQ((load_qh(b5.qh) >> 9) & 1u, 1u);  // 31 = 0b11111
}

TEST(Legacy, AffineFormatsMapMinToZeroAndMaxToTop) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = 0.37f * static_cast<float>((j * 7) % 32) - 2.0f;
  const float mn = *std::min_element(x.begin(), x.end()), mx = *std::max_element(x.begin(), x.end());
  const auto q4 = quantize(DType::kQ4_1, x);
  BlockQ4_1 b4;
  std::memcpy(&b4, q4.data(), sizeof b4);
  EXPECT_EQ(b4.m, f32_to_f16(mn));
  EXPECT_EQ(b4.d, f32_to_f16((mx - mn) / 15.0f));
  const auto q5 = quantize(DType::kQ5_1, x);
  const std::vector<float> y = dequantize(DType::kQ5_1, q5.data(), 32);
  const int imin = static_cast<int>(std::min_element(x.begin(), x.end()) - x.begin());
  const int imax = static_cast<int>(std::max_element(x.begin(), x.end()) - x.begin());
  BlockQ5_1 b5;
  std::memcpy(&b5, q5.data(), sizeof b5);
  EXPECT_EQ(y[imin], f16_to_f32(b5.m));
  EXPECT_EQ(y[imax], f16_to_f32(b5.d) * 31.0f + f16_to_f32(b5.m));
}

TEST(Legacy, ZeroAndConstantBlocks) {
  // 7.9375 = 127/16: every format's d is exact in f16, so the constant comes back exactly.
  const std::vector<float> zeros(32, 0.0f), sevens(32, 7.9375f);
  for (DType t : kLegacyTypes) {
    const auto qz = quantize(t, zeros);
    for (float v : dequantize(t, qz.data(), 32)) EXPECT_EQ(v, 0.0f) << dtype_name(t);
    const auto qc = quantize(t, sevens);
    for (float v : dequantize(t, qc.data(), 32)) EXPECT_EQ(v, 7.9375f) << dtype_name(t);
  }
}

// q8: d = amax / 127 and q = roundf(x / d) with halves away from zero.
TEST(Legacy, Q8RoundsHalvesAwayFromZero) {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;  // d = 1 exactly
  x[1] = 0.5f;
  x[2] = -0.5f;
  x[3] = 2.5f;
  x[4] = -3.5f;
  x[5] = 0.49999997f;
  x[6] = -126.5f;
  const auto q = quantize(DType::kQ8_0, x);
  BlockQ8_0 b;
  std::memcpy(&b, q.data(), sizeof b);
  EXPECT_EQ(b.d, f32_to_f16(1.0f));
  const int expected[] = {127, 1, -1, 3, -4, 0, -127};
  for (int j = 0; j < 7; ++j) EXPECT_EQ(b.qs[j], expected[j]) << j;
}

TEST(Legacy, Q8_1IsQ8_0PlusScaledSum) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.3f, 2.0f);
  std::vector<float> x(32 * 16);
  for (float& v : x) v = dist(rng);
  const auto q0 = quantize(DType::kQ8_0, x);
  const auto q1 = quantize(DType::kQ8_1, x);
  for (int b = 0; b < 16; ++b) {
    BlockQ8_0 a;
    BlockQ8_1 c;
    std::memcpy(&a, q0.data() + b * sizeof a, sizeof a);
    std::memcpy(&c, q1.data() + b * sizeof c, sizeof c);
    EXPECT_EQ(a.d, c.d);
    EXPECT_EQ(std::memcmp(a.qs, c.qs, 32), 0);
    int sum = 0;
    for (int8_t v : c.qs) sum += v;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    EXPECT_EQ(c.s, f32_to_f16(static_cast<float>(sum) * (amax / 127.0f))) << b;
  }
}

}  // namespace
}  // namespace hearth::quant
