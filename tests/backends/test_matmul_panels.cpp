// Panel kernels (multi-token matmuls) of the legacy formats and the k-quants, at
// every SIMD level (a level the CPU lacks is skipped, saying so): every call shape
// (rows, tokens, a token's lane) gives each (weight row, token) pair the very float
// the scalar model of panel.h gives, on random data and on the extreme values that
// would saturate a 16-bit sum if the kernels allowed one; close to vec_dot; lanes
// past the last token are never stored; the vector packers write the scalar
// packers' bytes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/panel.h"
#include "backends/cpu/vec_dot.h"
#include "quant/blocks_legacy.h"
#include "quant/quantize.h"

namespace hearth::cpu {
namespace {

constexpr DType kPanelTypes[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0,
                                 DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

bool is_kquant(DType t) { return t == DType::kQ4_K || t == DType::kQ5_K || t == DType::kQ6_K; }
// A SIMD level as a test parameter; PrintTo gives readable test names in ctest.
struct Level {
  Isa isa;
};
void PrintTo(const Level& l, std::ostream* os) { *os << isa_name(l.isa); }
constexpr Level kLevels[] = {{Isa::kAvx2}, {Isa::kAvx512}, {Isa::kAvx512Vnni}};

// The panels this level runs: its own (AVX2, AVX-512 VNNI) or borrowed (AVX-512).
class MatMulPanels : public ::testing::TestWithParam<Level> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam().isa))
      GTEST_SKIP() << "this CPU lacks " << isa_name(GetParam().isa) << ": its panel kernels cannot run here";
  }
  Isa isa() const { return GetParam().isa; }
};

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

struct Problem {
  int64_t k = 0;
  int64_t w_row = 0;
  int64_t a_row = 0;
  int64_t group_bytes = 0;
  std::vector<uint8_t> w;
  std::vector<uint8_t> a;
  std::vector<uint8_t> panel;
};

enum class Fill { kRandom, kExtreme };

// Keeps each block's f16 scales, forces its values (and k-quant sub-block scales) to
// the extremes: the largest unsigned level on even rows, the smallest on odd ones
// (q8_0: -128 and 127 alternating).
void extreme(DType type, uint8_t* row, int64_t k, int r) {
  const int64_t block = dtype_info(type).block_elems;
  const int64_t block_bytes = dtype_row_bytes(type, block);
  const uint8_t level = r % 2 ? 0x00 : 0xff;
  for (int64_t b = 0; b < k / block; ++b) {
    uint8_t* blk = row + b * block_bytes;
    switch (type) {
      case DType::kQ8_0:
        for (int e = 0; e < 32; ++e) blk[2 + e] = static_cast<uint8_t>(((e + r) & 1) ? 0x80 : 0x7f);
        break;
      case DType::kQ4_0:
      case DType::kQ5_0: std::memset(blk + 2, level, static_cast<size_t>(block_bytes) - 2); break;
      case DType::kQ4_1:
      case DType::kQ5_1:
      case DType::kQ4_K:
      case DType::kQ5_K: std::memset(blk + 4, 0xff, static_cast<size_t>(block_bytes) - 4); break;
      case DType::kQ6_K:
        std::memset(blk, level, 192);                 // ql, qh
        std::memset(blk + 192, r % 2 ? 0x7f : 0x80, 16);  // int8 scales at +127 / -128
        break;
      default: break;
    }
  }
}

// rows x k weights and tokens x k activations, converted and packed into panels.
// kExtreme: every weight at its largest unsigned level (and q8_0 at -128/127) and
// activations at +-127, the worst case for any intermediate sum.
Problem make(const WeightKernels& kern, DType type, int64_t k, int rows, int tokens, uint32_t seed, Fill fill) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Problem p;
  p.k = k;
  p.w_row = dtype_row_bytes(type, k);
  p.a_row = dtype_row_bytes(kern.act_type, k);
  p.group_bytes = panel_group_bytes(kern.act_type, k);
  p.w.resize(static_cast<size_t>(p.w_row * rows));
  std::vector<float> row(static_cast<size_t>(k));
  for (int r = 0; r < rows; ++r) {
    uint8_t* dst = p.w.data() + r * p.w_row;
    for (float& v : row) v = dist(rng);
    quant::quantize_row(type, row.data(), dst, k);
    if (fill == Fill::kExtreme) extreme(type, dst, k, r);
  }
  std::vector<float> x(static_cast<size_t>(k * tokens));
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = fill == Fill::kExtreme ? ((i / 16 + static_cast<size_t>(seed)) % 2 ? 3.0f : -3.0f) : dist(rng);
  }
  p.a.resize(static_cast<size_t>(p.a_row * tokens));
  for (int t = 0; t < tokens; ++t) kern.act_from_float(x.data() + t * k, p.a.data() + t * p.a_row, k);
  const int groups = (tokens + kPanelTokens - 1) / kPanelTokens;
  p.panel.assign(static_cast<size_t>(p.group_bytes * groups), 0xcd);  // garbage the packer must overwrite
  for (int g = 0; g < groups; ++g) {
    const int n = std::min(kPanelTokens, tokens - g * kPanelTokens);
    kern.panel_pack(p.a.data() + g * kPanelTokens * p.a_row, p.a_row, n, k, p.panel.data() + g * p.group_bytes);
  }
  return p;
}

void check_shapes(Isa isa, DType type, int64_t k, Fill fill, int* checked) {
  const WeightKernels kern = weight_kernels(type, isa);
  ASSERT_TRUE(kern.panel_dot != nullptr) << dtype_name(type);
  ASSERT_TRUE(kern.panel_pack != nullptr);
  ASSERT_EQ(kern.panel_tokens % kPanelTokens, 0);
  const PanelDotFn ref = panel_reference(type);
  ASSERT_TRUE(ref != nullptr) << dtype_name(type);
  const int rows = kern.panel_rows, tokens = kern.panel_tokens;
  const Problem p = make(kern, type, k, rows, tokens, static_cast<uint32_t>(k) + static_cast<uint32_t>(type), fill);
  const int64_t y_stride = rows + 3;
  std::vector<float> want(static_cast<size_t>(tokens * y_stride));
  ref(k, p.w.data(), p.w_row, p.panel.data(), p.group_bytes, want.data(), y_stride, rows, tokens);
  const std::string where = std::string(dtype_name(type)) + " at " + isa_name(isa) + " k=" + std::to_string(k) +
                            (fill == Fill::kExtreme ? " extreme" : " random");
  // Near vec_dot: the model sums in another order but from the same integers.
  for (int t = 0; t < tokens; ++t)
    for (int r = 0; r < rows; ++r) {
      const float dot = kern.vec_dot(k, p.w.data() + r * p.w_row, p.a.data() + t * p.a_row);
      const float got = want[static_cast<size_t>(t * y_stride + r)];
      ASSERT_NEAR(got, dot, 2e-4f * (1.0f + std::fabs(dot))) << where << " (" << r << "," << t << ")";
    }
  // Every call shape, starting at every row: the same bits as the model.
  for (int nr = 1; nr <= rows; ++nr)
    for (int nt = 1; nt <= tokens; ++nt) {
      std::vector<float> y(want.size(), -7.0f);
      kern.panel_dot(k, p.w.data(), p.w_row, p.panel.data(), p.group_bytes, y.data(), y_stride, nr, nt);
      for (int t = 0; t < tokens; ++t)
        for (int r = 0; r < y_stride; ++r) {
          const size_t i = static_cast<size_t>(t * y_stride + r);
          if (t < nt && r < nr) {
            ASSERT_EQ(bits(y[i]), bits(want[i])) << where << " call " << nr << "x" << nt << " (" << r << "," << t
                                                 << "): " << y[i] << " vs " << want[i];
          } else {
            ASSERT_EQ(y[i], -7.0f) << where << " call " << nr << "x" << nt << " wrote outside at (" << r << ","
                                   << t << ")";
          }
        }
      ++*checked;
    }
}

TEST_P(MatMulPanels, EveryCallShapeEqualsTheScalarModel) {
  int checked = 0;
  for (DType type : kPanelTypes)
    for (int64_t k : is_kquant(type) ? std::vector<int64_t>{256, 768} : std::vector<int64_t>{32, 96, 512})
      for (Fill fill : {Fill::kRandom, Fill::kExtreme}) check_shapes(isa(), type, k, fill, &checked);
  EXPECT_GT(checked, 0);
}

// A token's result does not depend on the other tokens of its group, nor on its lane.
TEST_P(MatMulPanels, ATokenAloneGivesTheSameBits) {
  for (DType type : kPanelTypes) {
    const WeightKernels kern = weight_kernels(type, isa());
    ASSERT_TRUE(kern.panel_dot != nullptr) << dtype_name(type);
    const int64_t k = 512;
    const int tokens = kern.panel_tokens;
    const Problem p = make(kern, type, k, 1, tokens, 5, Fill::kRandom);
    std::vector<float> all(static_cast<size_t>(tokens));
    kern.panel_dot(k, p.w.data(), p.w_row, p.panel.data(), p.group_bytes, all.data(), 1, 1, tokens);
    for (int t = 0; t < tokens; ++t) {
      std::vector<uint8_t> alone(static_cast<size_t>(p.group_bytes));
      kern.panel_pack(p.a.data() + t * p.a_row, p.a_row, 1, k, alone.data());
      float y = 0.0f;
      kern.panel_dot(k, p.w.data(), p.w_row, alone.data(), p.group_bytes, &y, 1, 1, 1);
      ASSERT_EQ(bits(y), bits(all[static_cast<size_t>(t)])) << dtype_name(type) << " token " << t;
    }
  }
}

// The vector packers write the very bytes of the scalar ones (panel_packer),
// padding lanes included.
TEST_P(MatMulPanels, PackersEqualTheScalarOnes) {
  for (DType type : {DType::kQ4_0, DType::kQ4_1, DType::kQ4_K}) {  // q8_0, q8_1, q8_K activations
    const WeightKernels kern = weight_kernels(type, isa());
    ASSERT_TRUE(kern.panel_dot != nullptr) << dtype_name(type);
    const PanelPackFn scalar = panel_packer(kern.act_type);
    ASSERT_TRUE(scalar != nullptr);
    const int64_t k = 512;
    const Problem p = make(kern, type, k, 1, kPanelTokens, 9, Fill::kRandom);
    for (int tokens = 1; tokens <= kPanelTokens; ++tokens) {
      std::vector<uint8_t> want(static_cast<size_t>(p.group_bytes), 0x11), got(want.size(), 0x22);
      scalar(p.a.data(), p.a_row, tokens, k, want.data());
      kern.panel_pack(p.a.data(), p.a_row, tokens, k, got.data());
      ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size()), 0)
          << dtype_name(kern.act_type) << ", " << tokens << " tokens";
    }
  }
}

TEST_P(MatMulPanels, EveryTypeHasPanelsOfTheRightLevel) {
  for (DType type : kPanelTypes) {
    const WeightKernels kern = weight_kernels(type, isa());
    EXPECT_TRUE(kern.panel_dot != nullptr) << dtype_name(type);
    EXPECT_GE(kern.panel_min_tokens, 2) << dtype_name(type);
    EXPECT_LE(kern.panel_min_tokens, kern.panel_tokens) << dtype_name(type);
    // VNNI has panels of its own; AVX-512 without it borrows AVX2's.
    EXPECT_EQ(kern.panel_isa, isa() == Isa::kAvx512Vnni ? Isa::kAvx512Vnni : Isa::kAvx2) << dtype_name(type);
  }
}

TEST(MatMulPanelsScalar, TheScalarLevelHasNone) {
  for (DType type : kPanelTypes)
    EXPECT_TRUE(weight_kernels(type, Isa::kScalar).panel_dot == nullptr) << dtype_name(type);
}

INSTANTIATE_TEST_SUITE_P(Levels, MatMulPanels, ::testing::ValuesIn(kLevels),
                         [](const ::testing::TestParamInfo<Level>& info) {
                           return std::string(isa_name(info.param.isa));
                         });

}  // namespace
}  // namespace hearth::cpu
