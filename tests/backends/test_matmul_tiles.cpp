// Tile kernels and the matmul built on them: every tile shape must give the
// very floats the 1x1 tile gives for each (weight row, activation row) pair,
// close to vec_dot's; a matmul of several tokens must equal the 1x1 tile per
// pair for any row and token count, edges included (one token: vec_dot per
// row; from panel_min_tokens on: the panels' scalar model), and stay close to
// vec_dot; a group of matmuls sharing one input must equal separate matmuls.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/matmul.h"
#include "backends/cpu/vec_dot.h"
#include "core/thread_pool.h"
#include "quant/quantize.h"

namespace hearth::cpu {
namespace {

constexpr DType kTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0,
                            DType::kQ5_1, DType::kQ8_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};
constexpr Isa kLevels[] = {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kNeon, Isa::kNeonDot};

struct Operands {
  int64_t k = 0;
  int64_t w_row = 0;
  int64_t a_row = 0;
  std::vector<uint8_t> w;  // rows of k in the weight type
  std::vector<uint8_t> a;  // rows of k in the activation type
  std::vector<float> x;    // the activations as floats
};

Operands make(const WeightKernels& kern, DType type, int64_t k, int64_t rows, int64_t tokens, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Operands o;
  o.k = k;
  o.w_row = dtype_row_bytes(type, k);
  o.a_row = dtype_row_bytes(kern.act_type, k);
  o.w.resize(static_cast<size_t>(o.w_row * rows));
  std::vector<float> row(static_cast<size_t>(k));
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : row) v = dist(rng);
    quant::quantize_row(type, row.data(), o.w.data() + r * o.w_row, k);
  }
  o.x.resize(static_cast<size_t>(k * tokens));
  for (float& v : o.x) v = dist(rng);
  o.a.resize(static_cast<size_t>(o.a_row * tokens));
  for (int64_t t = 0; t < tokens; ++t) kern.act_from_float(o.x.data() + t * k, o.a.data() + t * o.a_row, k);
  return o;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float tile_1x1(const WeightKernels& kern, const Operands& o, int64_t r, int64_t c) {
  float y = 0;
  kern.tile_dot(o.k, o.w.data() + r * o.w_row, o.w_row, o.a.data() + c * o.a_row, o.a_row, &y, 1, 1, 1);
  return y;
}

// What a matmul of `tokens` must give for pair (r, c): the panel kernels' scalar
// model from panel_min_tokens on (test_matmul_panels.cpp holds the kernels to it),
// else the 1x1 tile, else (one token, or no tiles) vec_dot.
float matmul_pair(const WeightKernels& kern, DType type, const Operands& o, int64_t tokens, int64_t r, int64_t c) {
  if (kern.panel_dot && tokens >= kern.panel_min_tokens) {
    std::vector<uint8_t> group(static_cast<size_t>(panel_group_bytes(kern.act_type, o.k)));
    kern.panel_pack(o.a.data() + c * o.a_row, o.a_row, 1, o.k, group.data());
    float y = 0;
    panel_reference(type)(o.k, o.w.data() + r * o.w_row, o.w_row, group.data(), 0, &y, 1, 1, 1);
    return y;
  }
  if (kern.tile_dot && tokens > 1) return tile_1x1(kern, o, r, c);
  return kern.vec_dot(o.k, o.w.data() + r * o.w_row, o.a.data() + c * o.a_row);
}

TEST(MatMulTiles, EveryTileShapeEqualsTheOneByOneTile) {
  int checked = 0;
  for (Isa isa : kLevels) {
    if (!isa_supported(isa)) continue;
    for (DType type : kTypes) {
      const WeightKernels kern = weight_kernels(type, isa);
      if (!kern.tile_dot) continue;
      const int64_t k = 512;
      const Operands o = make(kern, type, k, kern.tile_rows, kern.tile_cols, 11);
      for (int rows = 1; rows <= kern.tile_rows; ++rows) {
        for (int cols = 1; cols <= kern.tile_cols; ++cols) {
          std::vector<float> y(static_cast<size_t>(cols * 8), -1.0f);
          kern.tile_dot(k, o.w.data(), o.w_row, o.a.data(), o.a_row, y.data(), 8, rows, cols);
          for (int c = 0; c < cols; ++c)
            for (int r = 0; r < rows; ++r) {
              const float want = tile_1x1(kern, o, r, c);
              const float dot = kern.vec_dot(k, o.w.data() + r * o.w_row, o.a.data() + c * o.a_row);
              ASSERT_NEAR(want, dot, 1e-4f * (1.0f + std::fabs(dot))) << dtype_name(type) << " at " << isa_name(isa);
              ASSERT_EQ(bits(y[static_cast<size_t>(c * 8 + r)]), bits(want))
                  << dtype_name(type) << " at " << isa_name(isa) << " tile " << rows << "x" << cols << " (" << r
                  << "," << c << ")";
            }
          ++checked;
        }
      }
    }
  }
  if (checked == 0) GTEST_SKIP() << "no tile kernels for this CPU's levels";
}

TEST(MatMulTiles, MatMulEqualsItsKernelPerPairAtAnyShape) {
  ThreadPool pool(3);
  for (DType type : kTypes) {
    const WeightKernels kern = weight_kernels(type);
    const int64_t k = dtype_info(type).block_elems == 256 ? 512 : 320;
    for (int64_t n_out : {1, 3, 16, 37}) {
      for (int64_t tokens : {1, 2, 3, 4, 7, 8, 12, 16, 17}) {
        const Operands o = make(kern, type, k, n_out, tokens, static_cast<uint32_t>(n_out * 10 + tokens));
        const MatMulShape shape{type, k, n_out, tokens};
        std::vector<uint8_t> scratch(matmul_scratch_bytes(shape));
        for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
          std::vector<float> y(static_cast<size_t>(n_out * tokens));
          matmul(shape, o.w.data(), o.x.data(), y.data(), scratch.data(), p);
          for (int64_t t = 0; t < tokens; ++t)
            for (int64_t j = 0; j < n_out; ++j) {
              const float want = matmul_pair(kern, type, o, tokens, j, t);
              const float dot = kern.vec_dot(k, o.w.data() + j * o.w_row, o.a.data() + t * o.a_row);
              ASSERT_NEAR(want, dot, 2e-4f * (1.0f + std::fabs(dot))) << dtype_name(type) << " tokens=" << tokens;
              ASSERT_EQ(bits(y[static_cast<size_t>(t * n_out + j)]), bits(want))
                  << dtype_name(type) << " n_out=" << n_out << " tokens=" << tokens << " at (" << t << "," << j
                  << ")" << (p ? " threaded" : "");
            }
        }
      }
    }
  }
}

TEST(MatMulTiles, GroupEqualsSeparateMatMuls) {
  ThreadPool pool(2);
  const int64_t k = 512, tokens = 5;
  for (DType type : {DType::kQ4_1, DType::kQ8_0, DType::kQ4_K, DType::kF16}) {
    const WeightKernels kern = weight_kernels(type);
    const int64_t outs[3] = {40, 8, 24};
    std::vector<Operands> ops;
    for (int i = 0; i < 3; ++i) ops.push_back(make(kern, type, k, outs[i], tokens, 100 + i));
    // One input for all three: use the first operand's activations.
    const std::vector<float>& x = ops[0].x;
    std::vector<std::vector<float>> grouped(3), separate(3);
    MatMulTarget targets[3];
    for (int i = 0; i < 3; ++i) {
      grouped[i].assign(static_cast<size_t>(outs[i] * tokens), 0.0f);
      separate[i].assign(static_cast<size_t>(outs[i] * tokens), 1.0f);
      targets[i] = {type, outs[i], ops[i].w.data(), grouped[i].data()};
    }
    std::vector<uint8_t> scratch(matmul_scratch_bytes({type, k, 64, tokens}));
    ASSERT_TRUE(matmul_share_input(type, type));
    matmul_group(k, tokens, targets, 3, x.data(), scratch.data(), &pool);
    for (int i = 0; i < 3; ++i) {
      matmul({type, k, outs[i], tokens}, ops[i].w.data(), x.data(), separate[i].data(), scratch.data(), &pool);
      for (size_t e = 0; e < separate[i].size(); ++e)
        ASSERT_EQ(bits(grouped[i][e]), bits(separate[i][e])) << dtype_name(type) << " target " << i << " at " << e;
    }
  }
}

TEST(MatMulTiles, LevelsWithoutTilesBorrowTheAvx2Ones) {
  if (!isa_supported(Isa::kAvx512)) GTEST_SKIP() << "this CPU lacks AVX-512: no level above AVX2 to check";
  for (DType type : kTypes) {
    const WeightKernels avx2 = weight_kernels(type, Isa::kAvx2);
    const WeightKernels avx512 = weight_kernels(type, Isa::kAvx512);
    if (avx2.tile_dot) {
      EXPECT_TRUE(avx512.tile_dot != nullptr) << dtype_name(type);
    }
    EXPECT_EQ(avx512.act_type, avx2.act_type) << dtype_name(type);
  }
}

TEST(MatMulTiles, InputSharingFollowsTheActivationType) {
  EXPECT_TRUE(matmul_share_input(DType::kQ4_0, DType::kQ8_0));   // both q8_0 activations
  EXPECT_FALSE(matmul_share_input(DType::kQ4_1, DType::kQ8_0));  // q8_1 against q8_0
  EXPECT_FALSE(matmul_share_input(DType::kQ4_K, DType::kQ4_0));  // q8_K against q8_0
}

}  // namespace
}  // namespace hearth::cpu
