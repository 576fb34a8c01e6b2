// q4_K/q5_K/q6_K x q8_K dot-product kernels: the scalar kernel against a float dot
// product of dequantized rows, every SIMD kernel against the scalar one, and the
// vectorised q8_K activation quantizer byte for byte against the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/matmul.h"
#include "backends/cpu/vec_dot.h"
#include "core/half.h"
#include "quant/blocks_kquants.h"
#include "quant/quantize.h"
#include "random_kquant_blocks.h"

namespace hearth::cpu {
namespace {

using quant::BlockQ4K;
using quant::BlockQ5K;
using quant::BlockQ6K;
using quant::BlockQ8K;
using quant::kQK;

constexpr DType kWeightTypes[] = {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};
constexpr int64_t kLengths[] = {256, 512, 2048, 4096, 256 * 11};

std::vector<float> gaussian(int64_t n, std::mt19937& rng, float stddev = 1.0f) {
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> x(n);
  for (float& v : x) v = dist(rng);
  return x;
}

// Weights either quantized from Gaussian data (realistic scales) or random bytes with
// moderate f16 super-block scales (every level, scale and high bit pattern occurs,
// including the extremes 63, 31 and -128 that stress int16 saturation).
std::vector<uint8_t> make_weights(DType type, int64_t n, std::mt19937& rng, bool random_bytes) {
  std::vector<uint8_t> w(dtype_row_bytes(type, n));
  if (!random_bytes) {
    const std::vector<float> x = gaussian(n, rng, 0.05f);
    quant::quantize_row(type, x.data(), w.data(), n);
    return w;
  }
  for (uint8_t& b : w) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(1e-4f, 2e-3f);
  for (int64_t b = 0; b < n / kQK; ++b) {
    if (type == DType::kQ4_K) {
      auto* blk = reinterpret_cast<BlockQ4K*>(w.data()) + b;
      blk->d = f32_to_f16(scale(rng));
      blk->dmin = f32_to_f16(scale(rng));
    } else if (type == DType::kQ5_K) {
      auto* blk = reinterpret_cast<BlockQ5K*>(w.data()) + b;
      blk->d = f32_to_f16(scale(rng));
      blk->dmin = f32_to_f16(scale(rng));
    } else {
      auto* blk = reinterpret_cast<BlockQ6K*>(w.data()) + b;
      blk->d = f32_to_f16(scale(rng));
    }
  }
  return w;
}

// Activations from the reference quantizer, or with random int8 values (the full range,
// -128 included) and consistent bsums.
std::vector<uint8_t> make_acts(int64_t n, std::mt19937& rng, bool random_bytes) {
  std::vector<uint8_t> a(dtype_row_bytes(DType::kQ8_K, n));
  if (!random_bytes) {
    const std::vector<float> x = gaussian(n, rng);
    quant::quantize_row(DType::kQ8_K, x.data(), a.data(), n);
    return a;
  }
  testing::fill_random_q8k(a.data(), n / kQK, rng);
  return a;
}

struct FloatDot {
  double value = 0;
  double magnitude = 0;  // sum of |w_i * a_i|: the scale rounding errors are relative to
};

FloatDot dequantized_dot(DType type, const std::vector<uint8_t>& w, const std::vector<uint8_t>& a, int64_t n) {
  std::vector<float> wf(n), af(n);
  quant::dequantize_row(type, w.data(), wf.data(), n);
  quant::dequantize_row(DType::kQ8_K, a.data(), af.data(), n);
  FloatDot r;
  for (int64_t i = 0; i < n; ++i) {
    r.value += double(wf[i]) * af[i];
    r.magnitude += std::fabs(double(wf[i]) * af[i]);
  }
  return r;
}

WeightKernels kernels_at(DType type, Isa isa) {
  WeightKernels k;
  EXPECT_TRUE(kquant_weight_kernels(type, isa, &k)) << dtype_name(type) << " at " << isa_name(isa);
  return k;
}

TEST(DotKQuants, ScalarMatchesDequantizedFloatDot) {
  std::mt19937 rng(1);
  for (DType type : kWeightTypes) {
    const WeightKernels k = kernels_at(type, Isa::kScalar);
    ASSERT_NE(k.vec_dot, nullptr);
    for (int64_t n : kLengths) {
      for (int mode = 0; mode < 4; ++mode) {
        const auto w = make_weights(type, n, rng, mode & 1);
        const auto a = make_acts(n, rng, mode & 2);
        const FloatDot ref = dequantized_dot(type, w, a, n);
        const float got = k.vec_dot(n, w.data(), a.data());
        EXPECT_NEAR(got, ref.value, 2e-6 * ref.magnitude + 1e-30)
            << dtype_name(type) << " n=" << n << " mode=" << mode;
      }
    }
  }
}

TEST(DotKQuants, ScalarDetectsElementOrder) {
  // A single non-zero activation at each position must pick out exactly the weight the
  // dequantizer puts there: this pins the nibble, high-bit and scale mapping per element.
  std::mt19937 rng(2);
  for (DType type : kWeightTypes) {
    const WeightKernels k = kernels_at(type, Isa::kScalar);
    const auto w = make_weights(type, kQK, rng, true);
    std::vector<float> wf(kQK);
    quant::dequantize_row(type, w.data(), wf.data(), kQK);
    for (int pos = 0; pos < kQK; ++pos) {
      BlockQ8K a{};
      a.d = 1.0f;
      a.qs[pos] = 1;
      a.bsums[pos / 16] = 1;
      const float got = k.vec_dot(kQK, w.data(), &a);
      ASSERT_NEAR(got, wf[pos], 1e-6f * (1.0f + std::fabs(wf[pos]))) << dtype_name(type) << " element " << pos;
    }
  }
}

void expect_simd_matches_scalar(Isa isa) {
  if (!isa_supported(isa))
    GTEST_SKIP() << "this CPU lacks " << isa_name(isa) << ", so its kernels cannot run here";
  std::mt19937 rng(3);
  for (DType type : kWeightTypes) {
    WeightKernels simd;
    if (!kquant_weight_kernels(type, isa, &simd)) {
      ADD_FAILURE() << "no " << isa_name(isa) << " kernel for " << dtype_name(type);
      continue;
    }
    EXPECT_EQ(simd.isa, isa);
    EXPECT_EQ(simd.act_type, DType::kQ8_K);
    const WeightKernels scalar = kernels_at(type, Isa::kScalar);
    for (int64_t n : kLengths) {
      for (int mode = 0; mode < 4; ++mode) {
        const auto w = make_weights(type, n, rng, mode & 1);
        const auto a = make_acts(n, rng, mode & 2);
        const float want = scalar.vec_dot(n, w.data(), a.data());
        const float got = simd.vec_dot(n, w.data(), a.data());
        const double mag = dequantized_dot(type, w, a, n).magnitude;
        // Integer parts are exact in both; only the float accumulation order differs.
        EXPECT_NEAR(got, want, 1e-6 * mag + 1e-30)
            << dtype_name(type) << " " << isa_name(isa) << " n=" << n << " mode=" << mode;
      }
    }
  }
}

#if defined(__aarch64__)
TEST(DotKQuants, NeonMatchesScalar) { expect_simd_matches_scalar(Isa::kNeon); }
TEST(DotKQuants, NeonDotMatchesScalar) { expect_simd_matches_scalar(Isa::kNeonDot); }
#else
TEST(DotKQuants, Avx2MatchesScalar) { expect_simd_matches_scalar(Isa::kAvx2); }
TEST(DotKQuants, Avx512MatchesScalar) { expect_simd_matches_scalar(Isa::kAvx512); }
#endif

#if !defined(__aarch64__)  // the x86 levels' vectorised q8_K quantizer
std::vector<float> q8k_inputs(std::mt19937& rng) {
  std::vector<float> x = gaussian(kQK * 12, rng, 3.0f);
  std::fill(x.begin() + kQK, x.begin() + 2 * kQK, 0.0f);  // all-zero block
  float* t = x.data() + 2 * kQK;                          // exact .5 ties: iscale is 1
  for (int i = 0; i < kQK; ++i) t[i] = static_cast<float>(i % 64) - 31.5f;
  t[200] = -127.0f;
  float* s = x.data() + 3 * kQK;  // +-m, first one wins the sign
  s[130] = -40.0f;
  s[7] = 40.0f;
  float* u = x.data() + 4 * kQK;  // largest magnitude in the last lane of the last vector
  u[255] = -50.0f;
  x[5 * kQK + 17] = -0.0f;
  // the scale -127/max overflows to infinity
  for (int i = 0; i < kQK; ++i) x[6 * kQK + i] = (i == 9) ? 1e-38f : 0.0f;
  // garbage in: still the same bytes as the reference
  x[7 * kQK + 3] = std::numeric_limits<float>::infinity();
  x[8 * kQK + 100] = std::numeric_limits<float>::quiet_NaN();
  return x;
}

TEST(DotKQuants, Avx2Q8KQuantizerMatchesReferenceBytes) {
  if (!isa_supported(Isa::kAvx2)) GTEST_SKIP() << "this CPU lacks avx2, so its quantizer cannot run here";
  std::mt19937 rng(4);
  const WeightKernels k = kernels_at(DType::kQ4_K, Isa::kAvx2);
  ASSERT_NE(k.act_from_float, nullptr);
  ASSERT_NE(k.act_from_float, &quant::quantize_row_q8_k) << "expected the vectorised quantizer at avx2";
  for (int trial = 0; trial < 20; ++trial) {
    const std::vector<float> x = trial == 0 ? q8k_inputs(rng) : gaussian(kQK * (1 + trial % 5), rng, 0.1f * trial);
    const int64_t n = static_cast<int64_t>(x.size());
    std::vector<uint8_t> want(dtype_row_bytes(DType::kQ8_K, n)), got(want.size(), 0xcd);
    quant::quantize_row_q8_k(x.data(), want.data(), n);
    k.act_from_float(x.data(), got.data(), n);
    for (int64_t b = 0; b < n / kQK; ++b)
      ASSERT_EQ(0, std::memcmp(want.data() + b * sizeof(BlockQ8K), got.data() + b * sizeof(BlockQ8K),
                               sizeof(BlockQ8K)))
          << "trial " << trial << " block " << b;
  }
}
#endif

TEST(DotKQuants, KernelSelection) {
  WeightKernels k;
  EXPECT_FALSE(kquant_weight_kernels(DType::kQ8_0, Isa::kScalar, &k));
  EXPECT_FALSE(kquant_weight_kernels(DType::kF32, Isa::kAvx2, &k));
  EXPECT_FALSE(kquant_weight_kernels(DType::kQ8_K, Isa::kScalar, &k));  // an activation type only
  // No VNNI-specific kernels: the dispatcher must fall back to the AVX-512 ones.
  EXPECT_FALSE(kquant_weight_kernels(DType::kQ4_K, Isa::kAvx512Vnni, &k));
  for (DType type : kWeightTypes) {
    EXPECT_TRUE(has_weight_kernels(type));
    const WeightKernels s = weight_kernels(type, Isa::kScalar);
    EXPECT_EQ(s.isa, Isa::kScalar);
    EXPECT_EQ(s.act_type, DType::kQ8_K);
    const WeightKernels best = weight_kernels(type);
    EXPECT_TRUE(isa_supported(best.isa));
    if (isa_supported(Isa::kAvx2)) {
      EXPECT_GE(static_cast<int>(best.isa), static_cast<int>(Isa::kAvx2));
    }
    if (isa_supported(Isa::kNeon)) {
      EXPECT_EQ(best.isa, best_isa()) << "the best aarch64 level has k-quant kernels";
    }
  }
}

TEST(DotKQuants, MatmulWithKQuantWeights) {
  // End to end through matmul: q8_K activations add error, so the bound is looser than
  // the kernel tests but still far below what a wrong kernel would give.
  std::mt19937 rng(5);
  for (DType type : kWeightTypes) {
    MatMulShape shape{type, 512, 24, 3};
    const std::vector<float> wf = gaussian(shape.k * shape.n_out, rng, 0.05f);
    const std::vector<float> x = gaussian(shape.k * shape.n_tokens, rng);
    std::vector<uint8_t> w(dtype_row_bytes(type, shape.k) * shape.n_out);
    quant::quantize_row(type, wf.data(), w.data(), static_cast<int64_t>(wf.size()));
    std::vector<float> wd(wf.size());
    quant::dequantize_row(type, w.data(), wd.data(), static_cast<int64_t>(wd.size()));
    std::vector<uint8_t> scratch(matmul_scratch_bytes(shape));
    std::vector<float> y(shape.n_out * shape.n_tokens);
    matmul(shape, w.data(), x.data(), y.data(), scratch.data(), nullptr);
    for (int64_t t = 0; t < shape.n_tokens; ++t) {
      for (int64_t j = 0; j < shape.n_out; ++j) {
        double ref = 0, mag = 0;
        for (int64_t i = 0; i < shape.k; ++i) {
          ref += double(wd[j * shape.k + i]) * x[t * shape.k + i];
          mag += std::fabs(double(wd[j * shape.k + i]) * x[t * shape.k + i]);
        }
        EXPECT_NEAR(y[t * shape.n_out + j], ref, 0.01 * mag) << dtype_name(type) << " row " << j << " token " << t;
      }
    }
  }
}

}  // namespace
}  // namespace hearth::cpu
