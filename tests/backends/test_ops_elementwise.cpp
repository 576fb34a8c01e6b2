// Tests of the element-wise and activation ops: every vector path against ref::,
// and ref:: against the formulas evaluated in double.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "backends/cpu/ops.h"
#include "core/half.h"
#include "test_ops_util.h"

namespace hearth::cpu {
namespace {

using testing::awkward_sizes;
using testing::random_floats;

using BinaryFn = void (*)(const float*, const float*, float*, int64_t);
using UnaryFn = void (*)(const float*, float*, int64_t);

class ElementwisePath : public testing::VectorPathTest {};

// Plain IEEE adds and multiplies round the same way on every path: bit equality.
void expect_binary_exact(BinaryFn fast, BinaryFn reference, const char* name) {
  for (size_t n : awkward_sizes()) {
    const auto a = random_floats(n, -10.0f, 10.0f, 1 + n);
    const auto b = random_floats(n, -10.0f, 10.0f, 2 + n);
    std::vector<float> want(n), got(n);
    reference(a.data(), b.data(), want.data(), n);
    fast(a.data(), b.data(), got.data(), n);
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), n * sizeof(float))) << name << " n=" << n;
    // In place, over either input.
    auto in_a = a;
    fast(in_a.data(), b.data(), in_a.data(), n);
    ASSERT_EQ(0, std::memcmp(want.data(), in_a.data(), n * sizeof(float))) << name << " in place (a) n=" << n;
    auto in_b = b;
    fast(a.data(), in_b.data(), in_b.data(), n);
    ASSERT_EQ(0, std::memcmp(want.data(), in_b.data(), n * sizeof(float))) << name << " in place (b) n=" << n;
  }
}

TEST_P(ElementwisePath, AddAndMulMatchReferenceExactly) {
  expect_binary_exact(add, ref::add, "add");
  expect_binary_exact(mul, ref::mul, "mul");
}

TEST_P(ElementwisePath, ScaleMatchesReferenceExactly) {
  for (size_t n : awkward_sizes()) {
    const auto x = random_floats(n, -10.0f, 10.0f, 3 + n);
    std::vector<float> want(n), got(n);
    ref::scale(x.data(), 0.37f, want.data(), n);
    scale(x.data(), 0.37f, got.data(), n);
    ASSERT_EQ(want, got) << "n=" << n;
    auto in = x;
    scale(in.data(), 0.37f, in.data(), n);
    ASSERT_EQ(want, in) << "in place n=" << n;
  }
}

TEST_P(ElementwisePath, AddRowBroadcastMatchesReferenceExactly) {
  for (size_t n : {1, 7, 31, 64, 1000}) {
    const int64_t rows = 5;
    const auto x = random_floats(rows * n, -3.0f, 3.0f, 4 + n);
    const auto b = random_floats(n, -3.0f, 3.0f, 5 + n);
    std::vector<float> want(rows * n), got(rows * n);
    ref::add_row_broadcast(x.data(), b.data(), want.data(), rows, n);
    add_row_broadcast(x.data(), b.data(), got.data(), rows, n);
    ASSERT_EQ(want, got) << "n=" << n;
    for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(got[r * n + n - 1], x[r * n + n - 1] + b[n - 1]);
    auto in = x;
    add_row_broadcast(in.data(), b.data(), in.data(), rows, n);
    ASSERT_EQ(want, in) << "in place n=" << n;
  }
}

TEST_P(ElementwisePath, LargeInPlaceAdd) {
  const size_t n = (1u << 20) + 5;
  auto a = random_floats(n, -1.0f, 1.0f, 6);
  const auto b = random_floats(n, -1.0f, 1.0f, 7);
  std::vector<float> want(n);
  ref::add(a.data(), b.data(), want.data(), n);
  add(a.data(), b.data(), a.data(), n);
  ASSERT_EQ(want, a);
}

// Every f16 value, the exact midpoints between neighbours (ties), one f32 ulp
// either side of them, subnormals, overflow to infinity and random values.
std::vector<float> f16_rounding_cases() {
  std::vector<float> xs;
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    const float lo = f16_to_f32(static_cast<uint16_t>(h));
    const float hi = f16_to_f32(static_cast<uint16_t>(h + 1));
    const float mid = static_cast<float>((static_cast<double>(lo) + hi) / 2);
    for (float v : {lo, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f)}) {
      xs.push_back(v);
      xs.push_back(-v);
    }
  }
  for (float v : {65519.0f, 65520.0f, 1e6f, 1e-10f, 1e-30f, std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::denorm_min()}) {
    xs.push_back(v);
    xs.push_back(-v);
  }
  const auto r = random_floats(100000, -70000.0f, 70000.0f, 8);
  xs.insert(xs.end(), r.begin(), r.end());
  const auto small = random_floats(100000, -1e-4f, 1e-4f, 9);
  xs.insert(xs.end(), small.begin(), small.end());
  return xs;
}

TEST_P(ElementwisePath, RoundToF16MatchesScalarConversionBitForBit) {
  const auto xs = f16_rounding_cases();
  std::vector<float> got(xs.size());
  round_to_f16(xs.data(), got.data(), xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    const float want = f16_to_f32(f32_to_f16(xs[i]));
    ASSERT_EQ(f32_to_bits(want), f32_to_bits(got[i])) << "x=" << xs[i] << " (bits " << std::hex << f32_to_bits(xs[i]) << ")";
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  float y;
  round_to_f16(&nan, &y, 1);
  EXPECT_TRUE(std::isnan(y));
}

// Every path evaluates exp_f32's operations in the reference's order, so the
// activations are the reference's bits (the OpenCL kernels rely on it).
void expect_same_bits(float got, float want, const char* name, float x) {
  uint32_t g, w;
  std::memcpy(&g, &got, 4);
  std::memcpy(&w, &want, 4);
  ASSERT_EQ(g, w) << name << " x=" << x << " got " << got << " want " << want;
}

TEST_P(ElementwisePath, SiluAndSwigluMatchReference) {
  for (size_t n : awkward_sizes()) {
    auto x = random_floats(n, -20.0f, 20.0f, 10 + n);
    if (n > 8) {  // the extremes: underflow to -0, overflow of exp, identity
      x[0] = -1000.0f;
      x[1] = 1000.0f;
      x[2] = -88.9f;
      x[3] = 0.0f;
      x[4] = -104.5f;
    }
    const auto up = random_floats(n, -2.0f, 2.0f, 11 + n);
    std::vector<float> want(n), got(n);
    ref::silu(x.data(), want.data(), n);
    silu(x.data(), got.data(), n);
    for (size_t i = 0; i < n; ++i) expect_same_bits(got[i], want[i], "silu", x[i]);
    ref::swiglu(x.data(), up.data(), want.data(), n);
    auto in = x;
    swiglu(in.data(), up.data(), in.data(), n);
    for (size_t i = 0; i < n; ++i) expect_same_bits(in[i], want[i], "swiglu", x[i]);
  }
}

TEST_P(ElementwisePath, GeluAndGegluMatchReference) {
  for (size_t n : awkward_sizes()) {
    auto x = random_floats(n, -12.0f, 12.0f, 12 + n);
    if (n > 8) {
      x[0] = -500.0f;
      x[1] = 500.0f;
      x[2] = 0.0f;
      x[3] = 1e-6f;
    }
    const auto up = random_floats(n, -2.0f, 2.0f, 13 + n);
    std::vector<float> want(n), got(n);
    ref::gelu(x.data(), want.data(), n);
    gelu(x.data(), got.data(), n);
    for (size_t i = 0; i < n; ++i) expect_same_bits(got[i], want[i], "gelu", x[i]);
    ref::geglu(x.data(), up.data(), want.data(), n);
    geglu(x.data(), up.data(), got.data(), n);
    for (size_t i = 0; i < n; ++i) expect_same_bits(got[i], want[i], "geglu", x[i]);
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, ElementwisePath, ::testing::ValuesIn(testing::all_vector_paths()),
                         testing::path_name);

// ---- ref:: against the definitions in double ----

TEST(OpsReference, AddMulScaleAreCorrectlyRounded) {
  const auto a = random_floats(1000, -10.0f, 10.0f, 20);
  const auto b = random_floats(1000, -10.0f, 10.0f, 21);
  std::vector<float> s(1000), p(1000), c(1000), r(2000);
  ref::add(a.data(), b.data(), s.data(), 1000);
  ref::mul(a.data(), b.data(), p.data(), 1000);
  ref::scale(a.data(), -2.5f, c.data(), 1000);
  ref::add_row_broadcast(p.data(), b.data(), r.data(), 1, 1000);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(s[i], static_cast<float>(static_cast<double>(a[i]) + b[i]));
    EXPECT_EQ(p[i], static_cast<float>(static_cast<double>(a[i]) * b[i]));
    EXPECT_EQ(c[i], static_cast<float>(static_cast<double>(a[i]) * -2.5));
    EXPECT_EQ(r[i], static_cast<float>(static_cast<double>(p[i]) + b[i]));
  }
}

TEST(OpsReference, ActivationsMatchDoubleFormulas) {
  const auto x = random_floats(20000, -15.0f, 15.0f, 22);
  const auto up = random_floats(20000, -2.0f, 2.0f, 23);
  std::vector<float> si(x.size()), ge(x.size()), sw(x.size()), gg(x.size());
  ref::silu(x.data(), si.data(), x.size());
  ref::gelu(x.data(), ge.data(), x.size());
  ref::swiglu(x.data(), up.data(), sw.data(), x.size());
  ref::geglu(x.data(), up.data(), gg.data(), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    const double s = v / (1.0 + std::exp(-v));
    const double g = 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    ASSERT_NEAR(si[i], s, 1e-6 * std::fabs(s)) << "x=" << v;
    ASSERT_NEAR(sw[i], s * up[i], 1e-6 * std::fabs(s * up[i])) << "x=" << v;
    // f32 rounding of the tanh argument moves tanh by up to ~1e-6 absolute.
    ASSERT_NEAR(ge[i], g, 2e-6 * std::fabs(g) + 1e-6 * std::fabs(v)) << "x=" << v;
    ASSERT_NEAR(gg[i], g * up[i], 2e-6 * std::fabs(g * up[i]) + 2e-6 * std::fabs(v)) << "x=" << v;
  }
  // Known values.
  float y;
  const float one = 1.0f;
  ref::silu(&one, &y, 1);
  EXPECT_NEAR(y, 0.7310585786f, 1e-7f);
  ref::gelu(&one, &y, 1);
  EXPECT_NEAR(y, 0.8411919906f, 1e-6f);
}

}  // namespace
}  // namespace hearth::cpu
