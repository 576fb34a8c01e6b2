// Reference conversions of q4_K/q5_K/q6_K/q8_K: exact dequantization of golden blocks
// (real model data and gguf-py's own dequantizer, see gen_kquants_golden.py), quantization
// error bounds, and q8_K against its definition.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "quant/blocks_kquants.h"
#include "quant/quantize.h"

namespace hearth::quant {
namespace {

std::vector<uint8_t> read_file(const std::string& name) {
  std::ifstream in(std::string(HEARTH_TEST_DATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing golden file tests/data/" << name;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void expect_golden(DType type, const std::string& stem) {
  const std::vector<uint8_t> blocks = read_file("quant_kquants_" + stem + ".blocks");
  const std::vector<uint8_t> raw = read_file("quant_kquants_" + stem + ".f32");
  const int64_t block_bytes = dtype_info(type).block_bytes;
  ASSERT_FALSE(blocks.empty());
  ASSERT_EQ(blocks.size() % block_bytes, 0u);
  const int64_t n = static_cast<int64_t>(blocks.size() / block_bytes) * kQK;
  ASSERT_EQ(raw.size(), static_cast<size_t>(n) * 4);
  std::vector<float> expect(n), got(n, -12345.0f);
  std::memcpy(expect.data(), raw.data(), raw.size());
  dequantize_row(type, blocks.data(), got.data(), n);
  int mismatches = 0;
  for (int64_t i = 0; i < n; ++i) {
    // Bit-exact: dequantization is a definition, not an approximation.
    if (f32_to_bits(got[i]) != f32_to_bits(expect[i]) && ++mismatches <= 5)
      ADD_FAILURE() << stem << " element " << i << " (block " << i / kQK << "): got " << got[i] << ", want "
                    << expect[i];
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(KQuants, Q4KDequantizeMatchesGolden) { expect_golden(DType::kQ4_K, "q4_k"); }
TEST(KQuants, Q5KDequantizeMatchesGolden) { expect_golden(DType::kQ5_K, "q5_k"); }
TEST(KQuants, Q6KDequantizeMatchesGolden) { expect_golden(DType::kQ6_K, "q6_k"); }

TEST(KQuants, BlockSizesMatchDTypeTable) {
  EXPECT_EQ(dtype_info(DType::kQ4_K).block_bytes, static_cast<int64_t>(sizeof(BlockQ4K)));
  EXPECT_EQ(dtype_info(DType::kQ5_K).block_bytes, static_cast<int64_t>(sizeof(BlockQ5K)));
  EXPECT_EQ(dtype_info(DType::kQ6_K).block_bytes, static_cast<int64_t>(sizeof(BlockQ6K)));
  EXPECT_EQ(dtype_info(DType::kQ8_K).block_bytes, static_cast<int64_t>(sizeof(BlockQ8K)));
  for (DType t : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kQ8_K}) {
    EXPECT_EQ(dtype_info(t).block_elems, kQK);
    EXPECT_TRUE(can_quantize(t)) << dtype_name(t);
    EXPECT_TRUE(can_dequantize(t)) << dtype_name(t);
  }
}

TEST(KQuants, ScalePackingRoundTrips) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 1000; ++trial) {
    uint8_t sc[8], m[8], packed[kKScaleBytes], sc2[8], m2[8];
    for (int j = 0; j < 8; ++j) {
      sc[j] = static_cast<uint8_t>(rng() % 64);
      m[j] = static_cast<uint8_t>(rng() % 64);
    }
    pack_k4_scales(sc, m, packed);
    unpack_k4_scales(packed, sc2, m2);
    ASSERT_EQ(0, std::memcmp(sc, sc2, 8));
    ASSERT_EQ(0, std::memcmp(m, m2, 8));
  }
  // One case by hand: scale 4 = 0b110101 keeps its low 4 bits in byte 8's low nibble
  // and its top 2 bits in bits 6-7 of byte 0.
  uint8_t sc[8] = {0, 0, 0, 0, 0x35, 0, 0, 0}, m[8] = {}, packed[kKScaleBytes];
  pack_k4_scales(sc, m, packed);
  EXPECT_EQ(packed[0], 0xc0);
  EXPECT_EQ(packed[8], 0x05);
}

std::vector<float> gaussian(int64_t n, uint32_t seed, float mean = 0.0f, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(mean, stddev);
  std::vector<float> x(n);
  for (float& v : x) v = dist(rng);
  return x;
}

// RMS of the quantization error relative to the RMS of the data.
double relative_rmse(DType type, const std::vector<float>& x) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(dtype_row_bytes(type, n));
  std::vector<float> y(n);
  quantize_row(type, x.data(), q.data(), n);
  dequantize_row(type, q.data(), y.data(), n);
  double err = 0, ref = 0;
  for (int64_t i = 0; i < n; ++i) {
    err += (double(y[i]) - x[i]) * (double(y[i]) - x[i]);
    ref += double(x[i]) * x[i];
  }
  return std::sqrt(err / ref);
}

TEST(KQuants, QuantizeErrorOnGaussianData) {
  const std::vector<float> x = gaussian(256 * 256, 42);
  const double q4 = relative_rmse(DType::kQ4_K, x);
  const double q5 = relative_rmse(DType::kQ5_K, x);
  const double q6 = relative_rmse(DType::kQ6_K, x);
  const double q8 = relative_rmse(DType::kQ8_K, x);
  RecordProperty("rmse_q4_k", std::to_string(q4));
  RecordProperty("rmse_q5_k", std::to_string(q5));
  RecordProperty("rmse_q6_k", std::to_string(q6));
  std::printf("relative RMSE on N(0,1): q4_K %.4f  q5_K %.4f  q6_K %.4f  q8_K %.4f\n", q4, q5, q6, q8);
  EXPECT_LT(q4, 0.08);
  EXPECT_LT(q5, 0.04);
  EXPECT_LT(q6, 0.019);
  EXPECT_LT(q8, 0.01);
  // Each extra bit should roughly halve the error; a wrong level assignment would not.
  EXPECT_LT(q5, 0.6 * q4);
  EXPECT_LT(q6, 0.6 * q5);
}

TEST(KQuants, QuantizeErrorOnShiftedAndScaledData) {
  // A positive mean exercises the mins (pinned at zero offset); tiny values push the
  // f16 super-block scales into subnormals, which the 6-bit scales must make up for.
  for (DType t : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    EXPECT_LT(relative_rmse(t, gaussian(256 * 16, 3, 2.0f, 1.0f)), 0.04) << dtype_name(t);
    EXPECT_LT(relative_rmse(t, gaussian(256 * 16, 4, -2.0f, 1.0f)), 0.04) << dtype_name(t);
    const double unit = relative_rmse(t, gaussian(256 * 16, 5, 0.0f, 1.0f));
    EXPECT_LT(relative_rmse(t, gaussian(256 * 16, 5, 0.0f, 1e-3f)), 1.3 * unit) << dtype_name(t);
  }
}

TEST(KQuants, QuantizeRepresentsZerosAndOutliers) {
  for (DType t : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kQ8_K}) {
    std::vector<float> x(2 * kQK, 0.0f), y(2 * kQK, 1.0f);
    // second block: zeros except one large outlier, which must survive closely
    x[kQK + 77] = -50.0f;
    x[kQK + 200] = 0.25f;
    std::vector<uint8_t> q(dtype_row_bytes(t, 2 * kQK));
    quantize_row(t, x.data(), q.data(), 2 * kQK);
    dequantize_row(t, q.data(), y.data(), 2 * kQK);
    for (int i = 0; i < kQK; ++i) ASSERT_EQ(y[i], 0.0f) << dtype_name(t) << " zero block, element " << i;
    EXPECT_NEAR(y[kQK + 77], -50.0f, 0.5f) << dtype_name(t);
    for (int i = kQK; i < 2 * kQK; ++i) {
      if (i == kQK + 77 || i == kQK + 200) continue;
      EXPECT_NEAR(y[i], 0.0f, 0.4f) << dtype_name(t) << " element " << i;
    }
  }
}

TEST(KQuants, QuantizedLevelsStayInRange) {
  // Data with large range differences between sub-blocks: every scale byte and level
  // must be a valid encoding, which the dequantized values' bounds reveal.
  std::vector<float> x = gaussian(kQK * 4, 11);
  for (int i = 0; i < kQK * 4; ++i) x[i] *= 1.0f + static_cast<float>(i % 97);
  for (DType t : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    std::vector<uint8_t> q(dtype_row_bytes(t, x.size()));
    std::vector<float> y(x.size());
    quantize_row(t, x.data(), q.data(), x.size());
    dequantize_row(t, q.data(), y.data(), x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_TRUE(std::isfinite(y[i]));
      ASSERT_LT(std::fabs(y[i]), 1.25f * 100.0f * 5.0f) << dtype_name(t) << " element " << i;
    }
  }
}

TEST(KQuants, RejectsPartialBlocks) {
  std::vector<float> x(300);
  std::vector<uint8_t> q(1024);
  try {
    quantize_row(DType::kQ4_K, x.data(), q.data(), 300);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
}

// q8_K written straight from its definition, as the reference runtime states it.
std::vector<uint8_t> q8k_by_definition(const std::vector<float>& x) {
  std::vector<uint8_t> out(x.size() / kQK * sizeof(BlockQ8K));
  for (size_t b = 0; b < x.size() / kQK; ++b) {
    BlockQ8K blk{};
    const float* v = x.data() + b * kQK;
    float amax = 0, max = 0;
    for (int i = 0; i < kQK; ++i)
      if (std::fabs(v[i]) > amax) {
        amax = std::fabs(v[i]);
        max = v[i];
      }
    if (amax != 0) {
      const float iscale = -127.0f / max;
      for (int i = 0; i < kQK; ++i) {
        const float p = iscale * v[i];
        blk.qs[i] = static_cast<int8_t>(std::min(127L, std::lrint(p)));  // default rounding: ties to even
      }
      for (int g = 0; g < 16; ++g) {
        int s = 0;
        for (int i = 0; i < 16; ++i) s += blk.qs[16 * g + i];
        blk.bsums[g] = static_cast<int16_t>(s);
      }
      blk.d = 1 / iscale;
    }
    std::memcpy(out.data() + b * sizeof(BlockQ8K), &blk, sizeof(blk));
  }
  return out;
}

std::vector<float> q8k_test_rows() {
  std::vector<float> x = gaussian(kQK * 8, 21, 0.3f, 2.0f);
  // block 1: all zeros; block 2: ties at .5 (max -127 gives iscale 1 exactly)
  std::fill(x.begin() + kQK, x.begin() + 2 * kQK, 0.0f);
  float* t = x.data() + 2 * kQK;
  for (int i = 0; i < kQK; ++i) t[i] = static_cast<float>(i % 64) - 31.5f;
  t[3] = -127.0f;
  // block 3: equal magnitudes of both signs; the first one sets the sign
  float* s = x.data() + 3 * kQK;
  s[10] = 20.0f;
  s[20] = -20.0f;
  // block 4: tiny values
  for (int i = 0; i < kQK; ++i) x[4 * kQK + i] *= 1e-30f;
  return x;
}

TEST(KQuants, Q8KMatchesDefinition) {
  const std::vector<float> x = q8k_test_rows();
  std::vector<uint8_t> got(x.size() / kQK * sizeof(BlockQ8K));
  quantize_row(DType::kQ8_K, x.data(), got.data(), x.size());
  const std::vector<uint8_t> want = q8k_by_definition(x);
  ASSERT_EQ(got.size(), want.size());
  for (size_t b = 0; b < got.size() / sizeof(BlockQ8K); ++b)
    EXPECT_EQ(0, std::memcmp(got.data() + b * sizeof(BlockQ8K), want.data() + b * sizeof(BlockQ8K), sizeof(BlockQ8K)))
        << "block " << b;

  BlockQ8K tie;
  std::memcpy(&tie, got.data() + 2 * sizeof(BlockQ8K), sizeof(tie));
  EXPECT_EQ(tie.d, 1.0f);  // the max is -127: iscale = 1
  EXPECT_EQ(tie.qs[3], -127);
  EXPECT_EQ(tie.qs[0], -32);  // -31.5 rounds to the even -32
  EXPECT_EQ(tie.qs[1], -30);  // -30.5 rounds to the even -30
  BlockQ8K sign;
  std::memcpy(&sign, got.data() + 3 * sizeof(BlockQ8K), sizeof(sign));
  EXPECT_EQ(sign.qs[10], -127);
  EXPECT_EQ(sign.qs[20], 127);
  BlockQ8K zero;
  std::memcpy(&zero, got.data() + sizeof(BlockQ8K), sizeof(zero));
  EXPECT_EQ(zero.d, 0.0f);
  for (int16_t s : zero.bsums) EXPECT_EQ(s, 0);
}

}  // namespace
}  // namespace hearth::quant
