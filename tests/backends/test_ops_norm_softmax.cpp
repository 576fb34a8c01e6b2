// Tests of rms_norm and softmax: every vector path against ref::, and ref:: against
// the definitions evaluated in double.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "backends/cpu/ops.h"
#include "test_ops_util.h"

namespace hearth::cpu {
namespace {

using testing::awkward_sizes;
using testing::random_floats;

class NormSoftmaxPath : public testing::VectorPathTest {};

// Both paths sum the squares in double in one order (norm.cpp's sum_of_squares)
// and share the f32 arithmetic after it: the reference's bits.
TEST_P(NormSoftmaxPath, RmsNormMatchesReference) {
  for (size_t n : awkward_sizes()) {
    const int64_t rows = 3;
    const auto x = random_floats(rows * n, -4.0f, 4.0f, 30 + n);
    const auto w = random_floats(n, 0.5f, 1.5f, 31 + n);
    for (const float* weight : {w.data(), static_cast<const float*>(nullptr)}) {
      std::vector<float> want(rows * n), got(rows * n);
      ref::rms_norm(x.data(), weight, want.data(), rows, n, 1e-5f);
      rms_norm(x.data(), weight, got.data(), rows, n, 1e-5f);
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << "n=" << n << " i=" << i;
      auto in = x;
      rms_norm(in.data(), weight, in.data(), rows, n, 1e-5f);
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_EQ(in[i], want[i]) << "in place n=" << n << " i=" << i;
    }
  }
}

TEST_P(NormSoftmaxPath, SoftmaxMatchesReference) {
  for (size_t n : awkward_sizes()) {
    auto x = random_floats(n, -30.0f, 30.0f, 32 + n);
    if (n > 4) x[n / 2] = -std::numeric_limits<float>::infinity();  // a masked entry
    auto want = x, got = x;
    ref::softmax(want.data(), n);
    softmax(got.data(), n);
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-5f * want[i]) << "n=" << n << " i=" << i;
      sum += got[i];
    }
    EXPECT_NEAR(sum, 1.0, 1e-5) << "n=" << n;
    if (n > 4) {
      EXPECT_EQ(got[n / 2], 0.0f);
    }
  }
}

// Large inputs must not overflow: only differences to the max matter.
TEST_P(NormSoftmaxPath, SoftmaxIsShiftInvariant) {
  auto a = random_floats(100, -5.0f, 5.0f, 33);
  auto b = a;
  for (float& v : b) v += 1000.0f;
  softmax(a.data(), 100);
  softmax(b.data(), 100);
  for (int i = 0; i < 100; ++i) ASSERT_NEAR(a[i], b[i], 2e-4f * a[i]);  // 1000+x keeps ~16 fewer bits
}

INSTANTIATE_TEST_SUITE_P(Paths, NormSoftmaxPath, ::testing::ValuesIn(testing::all_vector_paths()),
                         testing::path_name);

TEST(OpsReference, RmsNormMatchesDoubleFormula) {
  for (size_t n : {1, 7, 64, 576, 4099}) {
    const auto x = random_floats(2 * n, -3.0f, 3.0f, 34 + n);
    const auto w = random_floats(n, -2.0f, 2.0f, 35 + n);
    std::vector<float> y(2 * n);
    ref::rms_norm(x.data(), w.data(), y.data(), 2, n, 1e-6f);
    for (size_t r = 0; r < 2; ++r) {
      double ss = 0.0;
      for (size_t i = 0; i < n; ++i) ss += static_cast<double>(x[r * n + i]) * x[r * n + i];
      const double s = 1.0 / std::sqrt(ss / n + 1e-6);
      for (size_t i = 0; i < n; ++i) {
        const double want = x[r * n + i] * s * w[i];
        ASSERT_NEAR(y[r * n + i], want, 1e-6 * std::fabs(want)) << "n=" << n;
      }
    }
  }
  // eps matters for a zero row: 0 / sqrt(eps), not NaN.
  const std::vector<float> zeros(8, 0.0f);
  std::vector<float> y(8, 1.0f);
  ref::rms_norm(zeros.data(), nullptr, y.data(), 1, 8, 1e-5f);
  for (float v : y) EXPECT_EQ(v, 0.0f);
  // A constant row normalises to +-1.
  const std::vector<float> c(16, -7.0f);
  ref::rms_norm(c.data(), nullptr, y.data(), 1, 8, 0.0f);
  for (int i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(y[i], -1.0f);
}

TEST(OpsReference, SoftmaxMatchesDoubleFormula) {
  for (size_t n : {1, 3, 64, 1000}) {
    const auto x = random_floats(n, -10.0f, 10.0f, 36 + n);
    auto y = x;
    ref::softmax(y.data(), n);
    double mx = -1e300, sum = 0.0;
    for (float v : x) mx = std::max(mx, static_cast<double>(v));
    for (float v : x) sum += std::exp(v - mx);
    for (size_t i = 0; i < n; ++i) {
      const double want = std::exp(x[i] - mx) / sum;
      ASSERT_NEAR(y[i], want, 1e-5 * want) << "n=" << n;
    }
  }
  float one[1] = {42.0f};
  ref::softmax(one, 1);
  EXPECT_EQ(one[0], 1.0f);
}

}  // namespace
}  // namespace hearth::cpu
