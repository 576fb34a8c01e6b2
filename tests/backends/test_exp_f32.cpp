// exp_f32 (backends/cpu/exp_f32.h), the e^x every CPU path and the OpenCL kernels
// share: its error against e^x in double, and its edges (0, underflow, overflow,
// NaN, infinities).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>

#include "backends/cpu/exp_f32.h"

namespace hearth::cpu {
namespace {

float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

uint32_t to_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// |got - e^x| in units of the f32 spacing at e^x.
double ulp_error(float x, float got) {
  const double exact = std::exp(static_cast<double>(x));
  int e;
  std::frexp(exact, &e);
  const double ulp = std::ldexp(1.0, e - 24);
  return std::fabs(static_cast<double>(got) - exact) / ulp;
}

// Stepping through the bit patterns of [lo, hi] (same sign) with a stride
// visits floats of every exponent; random points fill in between.
TEST(ExpF32, WithinTwoUlpOverTheWholeNormalRange) {
  double worst = 0.0;
  float worst_x = 0.0f;
  auto check = [&](float x) {
    const double err = ulp_error(x, exp_f32(x));
    if (err > worst) {
      worst = err;
      worst_x = x;
    }
  };
  for (float end : {88.72f, -87.33f})
    for (uint32_t b = 0; b <= to_bits(end) - (end < 0 ? 0x80000000u : 0); b += 1021)
      check(from_bits(b | (end < 0 ? 0x80000000u : 0)));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-87.33f, 88.72f);
  for (int i = 0; i < 1000000; ++i) check(dist(rng));
  EXPECT_LE(worst, 2.0) << "worst at x=" << worst_x;
  std::printf("exp_f32: worst error %.3f ulp at x=%.9g\n", worst, worst_x);
}

TEST(ExpF32, ExactWhereTheResultIsAPowerOfTwoOrOne) {
  EXPECT_EQ(exp_f32(0.0f), 1.0f);
  EXPECT_EQ(exp_f32(-0.0f), 1.0f);
}

TEST(ExpF32, EdgesUnderflowOverflowAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(exp_f32(-87.34f), 0.0f);  // below 2^-126: zero, never subnormal
  EXPECT_EQ(exp_f32(-1000.0f), 0.0f);
  EXPECT_EQ(exp_f32(-inf), 0.0f);
  EXPECT_GE(exp_f32(-87.33f), std::numeric_limits<float>::min());
  EXPECT_EQ(exp_f32(89.0f), inf);
  EXPECT_EQ(exp_f32(inf), inf);
  EXPECT_LT(exp_f32(88.72f), inf);
  EXPECT_TRUE(std::isnan(exp_f32(std::numeric_limits<float>::quiet_NaN())));
}

// Monotone over a fine sweep: softmax's ordering of scores survives it.
TEST(ExpF32, NeverDecreases) {
  float prev = 0.0f;
  for (float x = -87.3f; x < 88.7f; x += 0.0137f) {
    const float y = exp_f32(x);
    ASSERT_GE(y, prev) << "x=" << x;
    prev = y;
  }
}

}  // namespace
}  // namespace hearth::cpu
