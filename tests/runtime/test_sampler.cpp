#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "core/error.h"
#include "runtime/generator.h"
#include "runtime/sampler.h"

namespace hearth::runtime {
namespace {

std::vector<float> random_logits(uint32_t seed, int n = 500) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 3.0f);
  std::vector<float> l(n);
  for (auto& v : l) v = d(rng);
  return l;
}

TEST(Sampler, GreedyIsArgmax) {
  SamplerParams p;
  p.temperature = 0;
  Sampler s(p);
  for (uint32_t seed = 0; seed < 20; ++seed) {
    const auto l = random_logits(seed);
    EXPECT_EQ(s.sample(l, {}), static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin()));
  }
}

TEST(Sampler, SameSeedSameChoicesDifferentSeedDifferentChoices) {
  SamplerParams p;
  p.temperature = 1.5f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  auto run = [&](uint64_t seed) {
    p.seed = seed;
    Sampler s(p);
    std::vector<int32_t> out;
    for (uint32_t i = 0; i < 50; ++i) out.push_back(s.sample(random_logits(i), {}));
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

TEST(Sampler, TopKOneIsGreedyAndTopKLimitsTheChoices) {
  const auto l = random_logits(3);
  std::vector<int32_t> order(l.size());
  for (size_t i = 0; i < l.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
  SamplerParams p;
  p.temperature = 5.0f;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.top_k = 1;
  Sampler one(p);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(one.sample(l, {}), order[0]);
  p.top_k = 3;
  Sampler three(p);
  std::map<int32_t, int> seen;
  for (int i = 0; i < 300; ++i) ++seen[three.sample(l, {})];
  EXPECT_EQ(seen.size(), 3u);
  for (const auto& [id, n] : seen) EXPECT_TRUE(id == order[0] || id == order[1] || id == order[2]);
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
  const std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  Sampler s(p);
  std::vector<int> counts(3);
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[s.sample(l, {})];
  EXPECT_NEAR(counts[0] / double(n), 0.5, 0.02);
  EXPECT_NEAR(counts[1] / double(n), 0.3, 0.02);
  EXPECT_NEAR(counts[2] / double(n), 0.2, 0.02);
}

TEST(Sampler, TopPAndMinPCutTheTail) {
  const std::vector<float> l = {std::log(0.6f), std::log(0.3f), std::log(0.06f), std::log(0.04f)};
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.min_p = 0.0f;
  p.top_p = 0.85f;  // 0.6 + 0.3 reaches it: two candidates
  Sampler top_p(p);
  for (int i = 0; i < 500; ++i) EXPECT_LT(top_p.sample(l, {}), 2);
  p.top_p = 1.0f;
  p.min_p = 0.2f;  // floor 0.12: the first two stay
  Sampler min_p(p);
  for (int i = 0; i < 500; ++i) EXPECT_LT(min_p.sample(l, {}), 2);
}

TEST(Sampler, PenaltiesDemoteRepeatedTokens) {
  const std::vector<float> l = {2.0f, 1.9f, -1.0f};
  SamplerParams p;
  p.temperature = 0;
  p.repeat_penalty = 1.5f;  // 2.0 / 1.5 < 1.9
  EXPECT_EQ(Sampler(p).sample(l, std::vector<int32_t>{0}), 1);
  p.repeat_penalty = 1.0f;
  p.presence_penalty = 0.5f;
  EXPECT_EQ(Sampler(p).sample(l, std::vector<int32_t>{0}), 1);
  p.presence_penalty = 0.0f;
  p.frequency_penalty = 0.04f;  // once: 1.96 > 1.9; three times: 1.88 < 1.9
  EXPECT_EQ(Sampler(p).sample(l, std::vector<int32_t>{0}), 0);
  EXPECT_EQ(Sampler(p).sample(l, std::vector<int32_t>{0, 0, 0}), 1);
  p.repeat_last_n = 1;  // only the last token counts
  EXPECT_EQ(Sampler(p).sample(l, std::vector<int32_t>{0, 0, 2}), 0);
}

TEST(Sampler, RejectsAbsurdParameters) {
  auto bad = [](auto edit) {
    SamplerParams p;
    edit(p);
    EXPECT_THROW(validate(p), Error);
  };
  bad([](SamplerParams& p) { p.temperature = NAN; });
  bad([](SamplerParams& p) { p.temperature = 1e9f; });
  bad([](SamplerParams& p) { p.top_k = -1; });
  bad([](SamplerParams& p) { p.top_p = 0.0f; });
  bad([](SamplerParams& p) { p.top_p = 1.5f; });
  bad([](SamplerParams& p) { p.min_p = -0.1f; });
  bad([](SamplerParams& p) { p.repeat_penalty = 0.0f; });
  bad([](SamplerParams& p) { p.repeat_last_n = -2; });
}

TEST(Generator, CompleteUtf8PrefixHoldsBackPartialSequences) {
  EXPECT_EQ(complete_utf8_prefix("abc"), 3u);
  EXPECT_EQ(complete_utf8_prefix("ab\xc3"), 2u);           // first byte of é
  EXPECT_EQ(complete_utf8_prefix("ab\xc3\xa9"), 4u);       // é complete
  EXPECT_EQ(complete_utf8_prefix("\xf0\x9f\x98"), 0u);     // 3 of 4 bytes of an emoji
  EXPECT_EQ(complete_utf8_prefix("x\xf0\x9f\x98\x80"), 5u);
  EXPECT_EQ(complete_utf8_prefix(""), 0u);
}

}  // namespace
}  // namespace hearth::runtime

namespace hearth::runtime {
namespace {

// argmax is the first maximum, as a plain scan finds it, whatever the length,
// ties, infinities or NaNs.
TEST(Argmax, MatchesAPlainScan) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 2000; ++trial) {
    const size_t n = 1 + rng() % 70;
    std::vector<float> v(n);
    for (float& x : v) x = static_cast<float>(static_cast<int>(rng() % 9) - 4);  // many ties
    if (trial % 5 == 0) v[rng() % n] = NAN;
    if (trial % 7 == 0) v[rng() % n] = INFINITY;
    if (trial % 11 == 0) v[rng() % n] = -INFINITY;
    int32_t want = 0;
    for (size_t i = 1; i < n; ++i)
      if (v[i] > v[want]) want = static_cast<int32_t>(i);
    ASSERT_EQ(argmax(v), want) << "trial " << trial;
  }
}

}  // namespace
}  // namespace hearth::runtime
