// The legacy block conversions against gguf-py: golden blocks and floats written by
// tests/quant/gen_legacy_golden.py (random data, and rows of the default model).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "quant/blocks_legacy.h"
#include "quant/quantize.h"

namespace hearth::quant {
namespace {

struct Golden {
  DType type = DType::kF32;
  int64_t n = 0;
  std::vector<float> source;  // empty when the blocks did not come from our floats
  std::vector<uint8_t> blocks;
  std::vector<float> dequantized;
};

// Fails the calling test (and returns false) when the file is missing or malformed.
bool load(const std::string& name, Golden* g) {
  const std::string path = std::string(HEARTH_TEST_DATA) + "/quant_legacy_" + name + ".bin";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "missing " << path << " (regenerate with tests/quant/gen_legacy_golden.py)";
    return false;
  }
  char magic[4];
  uint32_t header[3];
  in.read(magic, 4);
  in.read(reinterpret_cast<char*>(header), sizeof header);
  if (!in || std::memcmp(magic, "HLGD", 4) != 0) {
    ADD_FAILURE() << path << ": bad header";
    return false;
  }
  g->type = static_cast<DType>(header[0]);
  g->n = header[1];
  const size_t n = header[1];
  if (header[2] & 1u) {
    g->source.resize(n);
    in.read(reinterpret_cast<char*>(g->source.data()), static_cast<std::streamsize>(n * 4));
  }
  g->blocks.resize(static_cast<size_t>(dtype_row_bytes(g->type, g->n)));
  in.read(reinterpret_cast<char*>(g->blocks.data()), static_cast<std::streamsize>(g->blocks.size()));
  g->dequantized.resize(n);
  in.read(reinterpret_cast<char*>(g->dequantized.data()), static_cast<std::streamsize>(n * 4));
  if (!in || in.peek() != std::char_traits<char>::eof()) {
    ADD_FAILURE() << path << ": size does not match its header";
    return false;
  }
  return true;
}

// Bit patterns, so that -0.0 against 0.0 or a different NaN would show.
void expect_same_floats(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 10; ++i) {
    if (std::memcmp(&got[i], &want[i], 4) != 0) {
      ADD_FAILURE() << what << " element " << i << ": got " << got[i] << ", gguf-py " << want[i];
      ++bad;
    }
  }
}

void expect_same_bytes(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want, int64_t block_bytes,
                       const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 10; ++i) {
    if (got[i] != want[i]) {
      ADD_FAILURE() << what << " byte " << i << " (block " << static_cast<int64_t>(i) / block_bytes << "): got "
                    << int{got[i]} << ", gguf-py " << int{want[i]};
      ++bad;
    }
  }
}

class LegacyGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(LegacyGolden, DequantizeMatchesGgufPyBitForBit) {
  Golden g;
  if (!load(GetParam(), &g)) return;
  std::vector<float> y(static_cast<size_t>(g.n));
  dequantize_row(g.type, g.blocks.data(), y.data(), g.n);
  expect_same_floats(y, g.dequantized, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Cases, LegacyGolden,
                         ::testing::Values("random_q4_0", "random_q4_1", "random_q5_0", "random_q5_1", "random_q8_0",
                                           "model_q4_1_attn_q", "model_q4_1_ffn_down", "model_q8_0_token_embd"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// Only the random cases: the model's blocks were made from floats we do not have.
class LegacyGoldenQuantize : public ::testing::TestWithParam<std::string> {};

TEST_P(LegacyGoldenQuantize, QuantizeMatchesGgufPyBitForBit) {
  Golden g;
  if (!load(GetParam(), &g)) return;
  ASSERT_FALSE(g.source.empty()) << GetParam() << " has no source floats";
  std::vector<uint8_t> q(g.blocks.size());
  quantize_row(g.type, g.source.data(), q.data(), g.n);
  expect_same_bytes(q, g.blocks, dtype_info(g.type).block_bytes, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Random, LegacyGoldenQuantize,
                         ::testing::Values("random_q4_0", "random_q4_1", "random_q5_0", "random_q5_1", "random_q8_0"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// The model's q8_0 blocks were made by the reference quantiser, so quantising their
// own values again must give the same bytes wherever the block reaches |q| = 127
// (then d = amax / 127 is recovered exactly).
TEST(LegacyGoldenModel, Q8_0RequantizesToTheSameBytes) {
  Golden g;
  if (!load("model_q8_0_token_embd", &g)) return;
  ASSERT_EQ(g.type, DType::kQ8_0);
  std::vector<uint8_t> again(g.blocks.size());
  quantize_row(g.type, g.dequantized.data(), again.data(), g.n);
  int checked = 0;
  for (int64_t b = 0; b < g.n / kLegacyBlock; ++b) {
    BlockQ8_0 orig;
    std::memcpy(&orig, g.blocks.data() + b * sizeof(BlockQ8_0), sizeof orig);
    bool full_range = false;
    for (int8_t q : orig.qs) full_range |= q == 127 || q == -127;
    if (!full_range) continue;
    ++checked;
    EXPECT_EQ(std::memcmp(&orig, again.data() + b * sizeof(BlockQ8_0), sizeof orig), 0) << "block " << b;
  }
  EXPECT_GT(checked, 0);
}

// A sanity check on the model slices themselves: real weights are small, finite
// and not all equal, so a misread layout cannot pass as golden.
TEST(LegacyGoldenModel, SlicesLookLikeWeights) {
  for (const char* name : {"model_q4_1_attn_q", "model_q4_1_ffn_down", "model_q8_0_token_embd"}) {
    Golden g;
    if (!load(name, &g)) continue;
    double sum_sq = 0.0;
    float lo = 0.0f, hi = 0.0f;
    for (float v : g.dequantized) {
      ASSERT_TRUE(std::isfinite(v)) << name;
      sum_sq += static_cast<double>(v) * v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    const double rms = std::sqrt(sum_sq / static_cast<double>(g.n));
    EXPECT_GT(rms, 1e-3) << name;
    EXPECT_LT(rms, 1.0) << name;
    EXPECT_LT(lo, 0.0f) << name;
    EXPECT_GT(hi, 0.0f) << name;
  }
}

}  // namespace
}  // namespace hearth::quant
