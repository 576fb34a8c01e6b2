// The q4_K layout in 8-row groups (backends/cpu/q4k_x8.h): packing keeps every
// value (the reference kernel on the packed rows against a double dot of the
// dequantized rows), each x86 level's kernel (AVX2, AVX-512 VNNI) against the
// reference bit for bit, also at the extreme values, and matmul_group with grouped targets against the row-major kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backends/cpu/matmul.h"
#include "backends/cpu/q4k_x8.h"
#include "core/error.h"
#include "core/half.h"
#include "quant/blocks_kquants.h"
#include "quant/quantize.h"
#include "random_kquant_blocks.h"

namespace hearth::cpu {
namespace {

using quant::BlockQ4K;
using quant::BlockQ8K;
using quant::kQK;

// Random bytes (every value, scale and min pattern) with moderate f16 factors.
std::vector<uint8_t> random_q4k(int64_t rows, int64_t k, std::mt19937& rng) {
  std::vector<uint8_t> w(static_cast<size_t>(dtype_row_bytes(DType::kQ4_K, k) * rows));
  for (uint8_t& b : w) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(1e-4f, 2e-3f);
  auto* blocks = reinterpret_cast<BlockQ4K*>(w.data());
  for (int64_t b = 0; b < rows * k / kQK; ++b) {
    blocks[b].d = f32_to_f16(scale(rng));
    blocks[b].dmin = f32_to_f16(scale(rng));
  }
  return w;
}

std::vector<uint8_t> random_q8k(int64_t tokens, int64_t k, std::mt19937& rng) {
  std::vector<uint8_t> a(static_cast<size_t>(dtype_row_bytes(DType::kQ8_K, k) * tokens));
  testing::fill_random_q8k(a.data(), tokens * k / kQK, rng);
  return a;
}

std::vector<uint8_t> pack(const std::vector<uint8_t>& w, int64_t rows, int64_t k) {
  std::vector<uint8_t> p(q4k_x8_bytes(rows, k));
  q4k_x8_pack(w.data(), rows, k, p.data());
  return p;
}

TEST(Q4KGrouped, ShapesThatFit) {
  EXPECT_TRUE(q4k_x8_fits(8, 256));
  EXPECT_TRUE(q4k_x8_fits(2048, 8192));
  EXPECT_FALSE(q4k_x8_fits(12, 256));
  EXPECT_FALSE(q4k_x8_fits(8, 320));
  EXPECT_FALSE(q4k_x8_fits(0, 256));
  EXPECT_EQ(q4k_x8_bytes(16, 512), 2u * 2u * sizeof(BlockQ4Kx8));
}

// Packing moves values, never changes them: the reference kernel on the packed
// rows gives the dot of the dequantized original rows with the activations.
TEST(Q4KGrouped, PackedRowsGiveTheOriginalRowsDots) {
  std::mt19937 rng(1);
  const int64_t rows = 16, k = 512, tokens = 3;
  const auto w = random_q4k(rows, k, rng);
  const auto a = random_q8k(tokens, k, rng);
  const auto p = pack(w, rows, k);
  std::vector<float> y(static_cast<size_t>(tokens * rows));
  const int64_t act_stride = dtype_row_bytes(DType::kQ8_K, k);
  q4k_x8_matmul_ref(k, p.data(), 0, rows / 8, a.data(), act_stride, tokens, y.data(), rows);
  std::vector<float> wf(static_cast<size_t>(k)), af(static_cast<size_t>(k));
  for (int64_t t = 0; t < tokens; ++t) {
    quant::dequantize_row(DType::kQ8_K, a.data() + t * act_stride, af.data(), k);
    for (int64_t r = 0; r < rows; ++r) {
      quant::dequantize_row(DType::kQ4_K, w.data() + r * dtype_row_bytes(DType::kQ4_K, k), wf.data(), k);
      double want = 0, scale = 0;
      for (int64_t i = 0; i < k; ++i) {
        want += static_cast<double>(wf[i]) * af[i];
        scale += std::fabs(static_cast<double>(wf[i]) * af[i]);
      }
      ASSERT_NEAR(y[t * rows + r], want, 1e-5 * scale + 1e-6) << "token " << t << " row " << r;
    }
  }
}

// The levels of the grouped kernel this CPU has (whatever HEARTH_ISA says).
std::vector<Isa> grouped_kernel_levels() {
  std::vector<Isa> levels;
#if defined(__x86_64__)
  if (cpu_features().avx2) levels.push_back(Isa::kAvx2);
  if (cpu_features().avx512 && cpu_features().avx512_vnni) levels.push_back(Isa::kAvx512Vnni);
#endif
  return levels;
}

// Every level's kernel against the reference, in two calls over disjoint group
// ranges as matmul's tasks make them.
void expect_levels_match_reference(const std::vector<uint8_t>& packed, const std::vector<uint8_t>& act, int64_t rows,
                                   int64_t k, int64_t tokens) {
  const int64_t act_stride = dtype_row_bytes(DType::kQ8_K, k);
  std::vector<float> want(static_cast<size_t>(tokens * rows));
  q4k_x8_matmul_ref(k, packed.data(), 0, rows / 8, act.data(), act_stride, tokens, want.data(), rows);
  for (Isa isa : grouped_kernel_levels()) {
    std::vector<float> got(want.size(), -1.0f);
    q4k_x8_matmul_isa(isa, k, packed.data(), 0, 1, act.data(), act_stride, tokens, got.data(), rows);
    q4k_x8_matmul_isa(isa, k, packed.data(), 1, rows / 8, act.data(), act_stride, tokens, got.data(), rows);
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
        << isa_name(isa) << " k=" << k << " tokens=" << tokens;
  }
}

TEST(Q4KGrouped, EachLevelsKernelIsTheReferenceBitForBit) {
  if (grouped_kernel_levels().empty()) GTEST_SKIP() << "this CPU has neither AVX2 nor AVX-512 VNNI: no grouped kernel";
  std::mt19937 rng(2);
  for (int64_t k : {256, 512, 2048, 256 * 11}) {
    for (int64_t tokens : {1, 2, 3, 4, 5, 8, 9}) {
      const int64_t rows = 24;
      const auto w = random_q4k(rows, k, rng);
      const auto a = random_q8k(tokens, k, rng);
      expect_levels_match_reference(pack(w, rows, k), a, rows, k, tokens);
    }
  }
}

// The AVX2 kernel sums a sub-block's products in int16: every value 15 against
// activations of -128 and of 127 (and every scale and min 63) must still give
// the reference's integers.
TEST(Q4KGrouped, ExtremeValuesGiveTheReferencesResult) {
  if (grouped_kernel_levels().empty()) GTEST_SKIP() << "this CPU has neither AVX2 nor AVX-512 VNNI: no grouped kernel";
  const int64_t rows = 16, k = 512;
  for (int8_t value : {int8_t{-128}, int8_t{127}}) {
    std::vector<uint8_t> w(static_cast<size_t>(dtype_row_bytes(DType::kQ4_K, k) * rows), 0xff);
    auto* blocks = reinterpret_cast<BlockQ4K*>(w.data());
    for (int64_t b = 0; b < rows * k / kQK; ++b) {
      blocks[b].d = f32_to_f16(1e-3f);
      blocks[b].dmin = f32_to_f16(5e-4f);
    }
    const int64_t tokens = 3;
    std::vector<uint8_t> a(static_cast<size_t>(dtype_row_bytes(DType::kQ8_K, k) * tokens));
    auto* act = reinterpret_cast<BlockQ8K*>(a.data());
    for (int64_t b = 0; b < tokens * k / kQK; ++b) {
      act[b].d = 0.01f;
      for (int8_t& q : act[b].qs) q = value;
      for (int16_t& s : act[b].bsums) s = static_cast<int16_t>(16 * value);
    }
    expect_levels_match_reference(pack(w, rows, k), a, rows, k, tokens);
    // And the reference itself: every row's dot is known.
    std::vector<float> y(static_cast<size_t>(tokens * rows));
    q4k_x8_matmul_ref(k, pack(w, rows, k).data(), 0, rows / 8, a.data(), dtype_row_bytes(DType::kQ8_K, k), tokens,
                      y.data(), rows);
    // Per superblock: total = 8 sub-blocks x 63 x (32 x 15 x value), mins = 8 x 63 x (32 x value).
    const double per_block = 0.01 * (static_cast<double>(f16_to_f32(f32_to_f16(1e-3f))) * 8 * 63 * 32 * 15 * value -
                                     static_cast<double>(f16_to_f32(f32_to_f16(5e-4f))) * 8 * 63 * 32 * value);
    for (float v : y) ASSERT_NEAR(v, 2 * per_block, 1e-4 * std::fabs(2 * per_block)) << static_cast<int>(value);
  }
}

// matmul_group with grouped targets beside a row-major one (rows not a
// multiple of 8): the same results as all row-major, to rounding.
TEST(Q4KGrouped, MatmulGroupWithGroupedTargets) {
  if (!q4k_x8_available()) GTEST_SKIP() << "this CPU (or HEARTH_ISA) has no grouped q4_K kernel (it needs AVX2)";
  std::mt19937 rng(3);
  const int64_t k = 1024;
  for (int64_t tokens : {1, 3, 8, 70}) {
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(tokens * k));
    for (float& v : x) v = dist(rng);
    const int64_t n_a = 48, n_b = 40, n_c = 20;
    const auto wa = random_q4k(n_a, k, rng), wb = random_q4k(n_b, k, rng), wc = random_q4k(n_c, k, rng);
    const auto pa = pack(wa, n_a, k), pb = pack(wb, n_b, k);
    std::vector<float> ya(tokens * n_a), yb(tokens * n_b), yc(tokens * n_c);
    std::vector<float> ra(ya.size()), rb(yb.size()), rc(yc.size());
    const size_t scratch_bytes = matmul_scratch_bytes({DType::kQ4_K, k, n_a, tokens});
    std::vector<uint8_t> scratch(scratch_bytes + 4096);
    const MatMulTarget grouped[3] = {{DType::kQ4_K, n_a, pa.data(), ya.data(), true},
                                     {DType::kQ4_K, n_b, pb.data(), yb.data(), true},
                                     {DType::kQ4_K, n_c, wc.data(), yc.data(), false}};
    const MatMulTarget plain[3] = {{DType::kQ4_K, n_a, wa.data(), ra.data(), false},
                                   {DType::kQ4_K, n_b, wb.data(), rb.data(), false},
                                   {DType::kQ4_K, n_c, wc.data(), rc.data(), false}};
    matmul_group(k, tokens, grouped, 3, x.data(), scratch.data(), nullptr);
    matmul_group(k, tokens, plain, 3, x.data(), scratch.data(), nullptr);
    for (size_t i = 0; i < ya.size(); ++i) ASSERT_NEAR(ya[i], ra[i], 1e-4f * (1.0f + std::fabs(ra[i]))) << i;
    for (size_t i = 0; i < yb.size(); ++i) ASSERT_NEAR(yb[i], rb[i], 1e-4f * (1.0f + std::fabs(rb[i]))) << i;
    for (size_t i = 0; i < yc.size(); ++i) ASSERT_EQ(yc[i], rc[i]) << i;
  }
}

TEST(Q4KGrouped, MatmulRefusesAGroupedTargetThatCannotBe) {
  std::mt19937 rng(4);
  const int64_t k = 256, rows = 12;  // not whole groups
  const auto w = random_q4k(rows, k, rng);
  std::vector<float> x(k, 1.0f), y(rows);
  std::vector<uint8_t> scratch(matmul_scratch_bytes({DType::kQ4_K, k, rows, 1}) + 4096);
  const MatMulTarget t{DType::kQ4_K, rows, w.data(), y.data(), true};
  EXPECT_THROW(matmul_group(k, 1, &t, 1, x.data(), scratch.data(), nullptr), Error);
}

}  // namespace
}  // namespace hearth::cpu
