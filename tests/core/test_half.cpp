#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/half.h"

namespace hearth {
namespace {

TEST(Half, F16RoundTripOfEveryHalfValue) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_f16(f), h) << "half bits " << h;
  }
}

TEST(Half, F16RoundsToNearestEven) {
  EXPECT_EQ(f16_to_f32(f32_to_f16(1.0f + 1.0f / 2048)), 1.0f);              // tie goes to even
  EXPECT_EQ(f16_to_f32(f32_to_f16(1.0f + 3.0f / 2048)), 1.0f + 2.0f / 1024);  // tie goes to even (up)
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);                                   // rounds to infinity
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(5.9604644775390625e-8f), 0x0001);  // smallest subnormal
}

TEST(Half, F16MatchesHardwareConversionOnRandomFloats) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-70000.0f, 70000.0f);
  for (int i = 0; i < 100000; ++i) {
    const float f = dist(rng) * std::pow(2.0f, static_cast<float>(static_cast<int>(rng() % 40) - 30));
    const uint16_t h = f32_to_f16(f);
    const float back = f16_to_f32(h);
    if (std::isinf(back)) continue;
    // the nearest half: neither neighbour of the same sign is closer
    const uint16_t mag = h & 0x7fff, sign = h & 0x8000;
    const float up = f16_to_f32(static_cast<uint16_t>(sign | (mag + 1)));
    EXPECT_LE(std::fabs(back - f), std::fabs(up - f)) << f;
    if (mag > 0) {
      const float down = f16_to_f32(static_cast<uint16_t>(sign | (mag - 1)));
      EXPECT_LE(std::fabs(back - f), std::fabs(down - f)) << f;
    }
  }
}

TEST(Half, Bf16RoundTrip) {
  for (uint32_t h = 0; h < 0x10000; h += 7) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_bf16(f), h);
  }
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.00390625f)), 1.0f);  // tie to even
}

}  // namespace
}  // namespace hearth
