// Rotary embedding with per-pair frequency factors (rope_freqs.weight).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "backends/cpu/ops.h"

namespace hearth::cpu {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(RopeFactors, ReferenceDividesEachPairsAngleByItsFactor) {
  const int64_t n_heads = 3, head_dim = 16, n_rot = 16;
  const std::vector<int32_t> positions = {0, 5, 117};
  std::vector<float> factors(n_rot / 2);
  for (size_t i = 0; i < factors.size(); ++i) factors[i] = 1.0f + static_cast<float>(i);
  const auto input = random_values(positions.size() * n_heads * head_dim, 1);
  for (RopeMode mode : {RopeMode::kNormal, RopeMode::kNeox}) {
    auto x = input;
    ref::rope(x.data(), static_cast<int64_t>(positions.size()), n_heads, head_dim, n_rot, positions.data(), 500.0f,
              0.5f, mode, factors.data());
    for (size_t t = 0; t < positions.size(); ++t)
      for (int64_t h = 0; h < n_heads; ++h)
        for (int64_t i = 0; i < n_rot / 2; ++i) {
          const double angle = 0.5 * positions[t] * std::pow(500.0, -2.0 * i / n_rot) / factors[i];
          const size_t base = (t * n_heads + h) * head_dim;
          const size_t a = base + (mode == RopeMode::kNeox ? i : 2 * i);
          const size_t b = base + (mode == RopeMode::kNeox ? i + n_rot / 2 : 2 * i + 1);
          EXPECT_NEAR(x[a], input[a] * std::cos(angle) - input[b] * std::sin(angle), 2e-4);
          EXPECT_NEAR(x[b], input[a] * std::sin(angle) + input[b] * std::cos(angle), 2e-4);
        }
  }
}

TEST(RopeFactors, EveryVectorPathMatchesTheReferenceExactly) {
  const int64_t n_tokens = 5, n_heads = 4, head_dim = 128, n_rot = 96;
  std::vector<int32_t> positions = {3, 4, 5, 900, 4000};
  std::vector<float> factors(n_rot / 2);
  for (size_t i = 0; i < factors.size(); ++i) factors[i] = 1.0f + 0.37f * static_cast<float>(i);
  const auto input = random_values(n_tokens * n_heads * head_dim, 2);
  for (RopeMode mode : {RopeMode::kNormal, RopeMode::kNeox}) {
    auto want = input;
    ref::rope(want.data(), n_tokens, n_heads, head_dim, n_rot, positions.data(), 10000.0f, 1.0f, mode,
              factors.data());
    auto plain = input;
    ref::rope(plain.data(), n_tokens, n_heads, head_dim, n_rot, positions.data(), 10000.0f, 1.0f, mode);
    EXPECT_NE(want, plain) << "the factors must change the result";
    for (const std::string& path : ops_vector_targets()) {
      ASSERT_TRUE(set_ops_path(path));
      auto got = input;
      rope(got.data(), n_tokens, n_heads, head_dim, n_rot, positions.data(), 10000.0f, 1.0f, mode, factors.data());
      EXPECT_EQ(got, want) << path;
    }
    set_ops_path("");
  }
}

}  // namespace
}  // namespace hearth::cpu
