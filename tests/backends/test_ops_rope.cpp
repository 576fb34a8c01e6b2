// Tests of rotary position embedding: a hand-checked case in both modes, the
// properties a rotation must have, and every vector path against ref::.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "backends/cpu/ops.h"
#include "test_ops_util.h"

namespace hearth::cpu {
namespace {

using testing::random_floats;

// One head of 4 dims at position 1, base 10000: pair 0 turns by 1 rad and pair 1
// by 10000^(-1/2) = 0.01 rad. Expected values worked out by hand (cos 1 = 0.5403023,
// sin 1 = 0.8414710, cos 0.01 = 0.99995, sin 0.01 = 0.0099998).
TEST(OpsRope, HandCheckedNormalAndNeox) {
  const int32_t pos = 1;
  float normal[4] = {1, 2, 3, 4};
  ref::rope(normal, 1, 1, 4, 4, &pos, 10000.0f, 1.0f, RopeMode::kNormal);
  // normal rotates (x0, x1) and (x2, x3)
  const float want_normal[4] = {-1.1426397f, 1.9220756f, 2.9598507f, 4.0297995f};
  float neox[4] = {1, 2, 3, 4};
  ref::rope(neox, 1, 1, 4, 4, &pos, 10000.0f, 1.0f, RopeMode::kNeox);
  // neox rotates (x0, x2) and (x1, x3)
  const float want_neox[4] = {-1.9841106f, 1.9599007f, 2.4623779f, 4.0197997f};
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(normal[i], want_normal[i], 1e-6f) << i;
    EXPECT_NEAR(neox[i], want_neox[i], 1e-6f) << i;
  }
  // freq_scale 0.5 at position 2 is the same angle as scale 1 at position 1.
  const int32_t pos2 = 2;
  float scaled[4] = {1, 2, 3, 4};
  ref::rope(scaled, 1, 1, 4, 4, &pos2, 10000.0f, 0.5f, RopeMode::kNormal);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(scaled[i], want_normal[i], 1e-6f) << i;
}

TEST(OpsRope, ReferenceMatchesDoubleDefinition) {
  const int64_t n_tokens = 4, n_heads = 3, head_dim = 64;
  const int32_t positions[4] = {0, 1, 17, 100};
  for (RopeMode mode : {RopeMode::kNormal, RopeMode::kNeox}) {
    for (int64_t n_rot : {64, 32}) {
      const auto x = random_floats(n_tokens * n_heads * head_dim, -2.0f, 2.0f, 40 + n_rot);
      auto y = x;
      ref::rope(y.data(), n_tokens, n_heads, head_dim, n_rot, positions, 10000.0f, 1.0f, mode);
      for (int64_t t = 0; t < n_tokens; ++t) {
        for (int64_t h = 0; h < n_heads; ++h) {
          const size_t base = (t * n_heads + h) * head_dim;
          for (int64_t i = 0; i < n_rot / 2; ++i) {
            const double theta = positions[t] * std::pow(10000.0, -2.0 * i / n_rot);
            const size_t i0 = base + (mode == RopeMode::kNeox ? i : 2 * i);
            const size_t i1 = base + (mode == RopeMode::kNeox ? i + n_rot / 2 : 2 * i + 1);
            const double y0 = x[i0] * std::cos(theta) - x[i1] * std::sin(theta);
            const double y1 = x[i0] * std::sin(theta) + x[i1] * std::cos(theta);
            // The angle is built by repeated f32 products (as in llama.cpp): a few
            // 1e-5 rad off the exact power at position 100.
            ASSERT_NEAR(y[i0], y0, 1e-4) << "t=" << t << " i=" << i;
            ASSERT_NEAR(y[i1], y1, 1e-4) << "t=" << t << " i=" << i;
          }
          for (int64_t i = n_rot; i < head_dim; ++i) ASSERT_EQ(y[base + i], x[base + i]) << "dims past n_rot stay";
        }
      }
    }
  }
}

class RopePath : public testing::VectorPathTest {};

TEST_P(RopePath, RotationKeepsPairNormsAndPositionZeroIsIdentity) {
  const int64_t head_dim = 80, n_heads = 2;
  const int32_t positions[3] = {0, 5, 30000};
  for (RopeMode mode : {RopeMode::kNormal, RopeMode::kNeox}) {
    const auto x = random_floats(3 * n_heads * head_dim, -3.0f, 3.0f, 41);
    auto y = x;
    rope(y.data(), 3, n_heads, head_dim, head_dim, positions, 10000.0f, 1.0f, mode);
    for (int64_t h = 0; h < n_heads; ++h)
      for (int64_t i = 0; i < head_dim; ++i) ASSERT_EQ(y[h * head_dim + i], x[h * head_dim + i]);
    for (int64_t row = n_heads; row < 3 * n_heads; ++row) {
      const float* a = x.data() + row * head_dim;
      const float* b = y.data() + row * head_dim;
      bool moved = false;
      for (int64_t i = 0; i < head_dim / 2; ++i) {
        const int64_t j0 = mode == RopeMode::kNeox ? i : 2 * i;
        const int64_t j1 = mode == RopeMode::kNeox ? i + head_dim / 2 : 2 * i + 1;
        const double before = std::hypot(a[j0], a[j1]), after = std::hypot(b[j0], b[j1]);
        ASSERT_NEAR(after, before, 1e-5 * before + 1e-7) << "row " << row << " pair " << i;
        moved |= b[j0] != a[j0];
      }
      EXPECT_TRUE(moved);
    }
  }
}

// The vector path uses the same cos/sin values and rounds its products and sums
// exactly as the reference does, so the results are bit-identical.
TEST_P(RopePath, MatchesReferenceExactly) {
  struct Case {
    int64_t head_dim, n_rot, n_heads;
  };
  const Case cases[] = {{64, 64, 9}, {128, 128, 3}, {80, 80, 2}, {64, 32, 4}, {6, 6, 5},
                        {2, 2, 3},   {96, 34, 2},   {1200, 1100, 1}};
  const int32_t positions[5] = {0, 1, 7, 513, 32000};
  for (const Case& c : cases) {
    for (RopeMode mode : {RopeMode::kNormal, RopeMode::kNeox}) {
      for (float freq_scale : {1.0f, 0.25f}) {
        const auto x = random_floats(5 * c.n_heads * c.head_dim, -2.0f, 2.0f, 42 + c.head_dim);
        auto want = x, got = x;
        ref::rope(want.data(), 5, c.n_heads, c.head_dim, c.n_rot, positions, 500000.0f, freq_scale, mode);
        rope(got.data(), 5, c.n_heads, c.head_dim, c.n_rot, positions, 500000.0f, freq_scale, mode);
        ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
            << "head_dim " << c.head_dim << " n_rot " << c.n_rot << " neox " << (mode == RopeMode::kNeox);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, RopePath, ::testing::ValuesIn(testing::all_vector_paths()), testing::path_name);

}  // namespace
}  // namespace hearth::cpu
