// The OpenCL backend's ops against the CPU backend's scalar references, on the
// first OpenCL device (PoCL on the CPU in CI; the setup script installs it).
// Without any OpenCL device every test skips and says why.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backends/cpu/ops.h"
#include "backends/cpu/vec_dot.h"
#include "backends/opencl/opencl_device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "quant/quantize.h"

namespace hearth::opencl {
namespace {

std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

class OpenClOps : public ::testing::Test {
 protected:
  static Device* device() {
    static std::unique_ptr<Device> d = [] {
      std::unique_ptr<Device> out;
      if (!list_devices().empty()) out = Device::open();
      return out;
    }();
    return d.get();
  }
  void SetUp() override {
    if (!built_with_opencl()) GTEST_SKIP() << "this build has no OpenCL (opencl-headers, ocl-icd-opencl-dev missing)";
    if (!device()) GTEST_SKIP() << "no OpenCL device on this machine (install pocl-opencl-icd)";
  }

  Buffer upload(const void* data, int64_t bytes) {
    Buffer b = device()->alloc(bytes, "test data");
    device()->write(b, 0, data, bytes);
    return b;
  }
  std::vector<float> download(const Buffer& b, int64_t offset_floats, int64_t n) {
    std::vector<float> out(static_cast<size_t>(n));
    device()->read(b, offset_floats * 4, out.data(), n * 4);
    return out;
  }
};

TEST_F(OpenClOps, ListsTheDeviceItOpens) {
  const std::vector<DeviceInfo> all = list_devices();
  ASSERT_FALSE(all.empty());
  EXPECT_FALSE(device()->info().name.empty());
  EXPECT_GT(device()->info().global_memory, 0);
  std::printf("OpenCL device: %s (%s, %s)\n", device()->info().name.c_str(), device()->info().platform.c_str(),
              device()->info().version.c_str());
}

TEST_F(OpenClOps, OpeningADeviceThatDoesNotExistNamesIt) {
  try {
    Device::open(1000);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("OpenCL device 1000 does not exist"), std::string::npos) << e.what();
  }
}

// Each weight type's matmul against the scalar CPU reference: the same
// activation conversion and, for block types, the same exact integer dots, so
// the results agree to the last bits of the float sum.
class OpenClMatMul : public OpenClOps, public ::testing::WithParamInterface<DType> {};

TEST_P(OpenClMatMul, MatchesTheScalarReference) {
  const DType type = GetParam();
  ASSERT_TRUE(Device::supports_matmul(type));
  const int64_t k = 256, n_out = 37;
  for (const int64_t n_tokens : {1, 5}) {
    // A few rows with a large value make the activation scales differ per block.
    std::vector<float> wf = random_floats(static_cast<size_t>(k * n_out), -1.0f, 1.0f, 11);
    std::vector<float> x = random_floats(static_cast<size_t>(k * n_tokens), -2.0f, 2.0f, 12);
    x[3] = 9.5f;
    std::vector<uint8_t> w(static_cast<size_t>(dtype_row_bytes(type, k) * n_out));
    for (int64_t r = 0; r < n_out; ++r)
      quant::quantize_row(type, wf.data() + r * k, w.data() + r * dtype_row_bytes(type, k), k);

    const cpu::WeightKernels ref = cpu::weight_kernels(type, Isa::kScalar);
    std::vector<uint8_t> act(static_cast<size_t>(dtype_row_bytes(ref.act_type, k)));
    std::vector<float> expected(static_cast<size_t>(n_out * n_tokens));
    std::vector<float> magnitude(expected.size());
    for (int64_t t = 0; t < n_tokens; ++t) {
      ref.act_from_float(x.data() + t * k, act.data(), k);
      for (int64_t r = 0; r < n_out; ++r) {
        expected[static_cast<size_t>(t * n_out + r)] =
            ref.vec_dot(k, w.data() + r * dtype_row_bytes(type, k), act.data());
        double m = 0;
        for (int64_t i = 0; i < k; ++i) m += std::fabs(wf[static_cast<size_t>(r * k + i)] * x[static_cast<size_t>(t * k + i)]);
        magnitude[static_cast<size_t>(t * n_out + r)] = static_cast<float>(m);
      }
    }

    Buffer wb = upload(w.data(), static_cast<int64_t>(w.size()));
    // The input and output sit at offsets inside one arena, as the executor places them.
    const int64_t x_off = 40, y_off = x_off + k * n_tokens + 8;
    Buffer arena = device()->alloc((y_off + n_out * n_tokens) * 4, "arena");
    device()->write(arena, x_off * 4, x.data(), k * n_tokens * 4);
    Buffer scratch = device()->alloc(Device::matmul_scratch_bytes(type, k, n_tokens), "scratch");
    device()->matmul(type, k, n_out, n_tokens, wb, {&arena, x_off}, {&arena, y_off}, scratch);
    const std::vector<float> got = download(arena, y_off, n_out * n_tokens);
    int exact = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i], expected[i], 2e-6 * magnitude[i] + 1e-6) << std::string(dtype_name(type)) << " output " << i;
      exact += got[i] == expected[i];
    }
    std::printf("%s, %lld tokens: %d of %zu outputs bit-identical to the scalar reference\n", std::string(dtype_name(type)).c_str(),
                static_cast<long long>(n_tokens), exact, got.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Types, OpenClMatMul,
                         ::testing::Values(DType::kF32, DType::kF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
                                           DType::kQ5_0),
                         [](const ::testing::TestParamInfo<DType>& info) { return std::string(dtype_name(info.param)); });

TEST_F(OpenClOps, UnsupportedMatMulTypeIsAnError) {
  EXPECT_FALSE(Device::supports_matmul(DType::kQ4_K));
  Buffer b = device()->alloc(1024, "x");
  EXPECT_THROW(device()->matmul(DType::kQ4_K, 256, 1, 1, b, {&b, 0}, {&b, 0}, b), Error);
}

// Within rel of each value, or abs of zero (an activation's tail rounds to zero
// on one side and to a denormal-sized value on the other).
void expect_close(const std::vector<float>& got, const std::vector<float>& want, float rel, const char* what,
                  float abs = 1e-7f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], rel * std::fabs(want[i]) + abs) << what << " element " << i;
}

TEST_F(OpenClOps, BinaryOpsMatchTheReference) {
  const int64_t n = 1000;
  const std::vector<float> a = random_floats(n, -6, 6, 1), b = random_floats(n, -3, 3, 2);
  std::vector<float> both(a);
  both.insert(both.end(), b.begin(), b.end());
  Buffer buf = upload(both.data(), 2 * n * 4);
  Buffer out = device()->alloc(n * 4, "out");
  struct Case {
    BinaryOp op;
    void (*ref)(const float*, const float*, float*, int64_t);
    const char* name;
    float rel;
  };
  for (const Case& c : {Case{BinaryOp::kAdd, cpu::ref::add, "add", 0.0f}, Case{BinaryOp::kMul, cpu::ref::mul, "mul", 0.0f},
                        Case{BinaryOp::kSwiGlu, cpu::ref::swiglu, "swiglu", 1e-6f},
                        Case{BinaryOp::kGeGlu, cpu::ref::geglu, "geglu", 1e-6f}}) {
    std::vector<float> want(n);
    c.ref(a.data(), b.data(), want.data(), n);
    device()->binary(c.op, {&buf, 0}, {&buf, n}, {&out, 0}, n);
    expect_close(download(out, 0, n), want, c.rel, c.name, 1e-6f);
  }
  // In place: the output is the first input.
  std::vector<float> want(n);
  cpu::ref::add(a.data(), b.data(), want.data(), n);
  device()->binary(BinaryOp::kAdd, {&buf, 0}, {&buf, n}, {&buf, 0}, n);
  expect_close(download(buf, 0, n), want, 0, "add in place");
}

TEST_F(OpenClOps, ScaleAndBiasMatchTheReference) {
  const int64_t rows = 3, n = 96;
  const std::vector<float> x = random_floats(rows * n, -5, 5, 3), bias = random_floats(n, -1, 1, 4);
  Buffer xb = upload(x.data(), rows * n * 4), bb = upload(bias.data(), n * 4);
  Buffer out = device()->alloc(rows * n * 4, "out");
  std::vector<float> want(rows * n);
  cpu::ref::scale(x.data(), 0.125f, want.data(), rows * n);
  device()->scale({&xb, 0}, 0.125f, {&out, 0}, rows * n);
  expect_close(download(out, 0, rows * n), want, 0, "scale");
  cpu::ref::add_row_broadcast(x.data(), bias.data(), want.data(), rows, n);
  device()->add_bias({&xb, 0}, bb, {&out, 0}, rows, n);
  expect_close(download(out, 0, rows * n), want, 0, "add_bias");
}

TEST_F(OpenClOps, RmsNormMatchesTheReference) {
  const int64_t rows = 4, n = 576;
  const std::vector<float> x = random_floats(rows * n, -3, 3, 5), w = random_floats(n, 0.5f, 1.5f, 6);
  Buffer xb = upload(x.data(), rows * n * 4), wb = upload(w.data(), n * 4);
  Buffer out = device()->alloc(rows * n * 4, "out");
  std::vector<float> want(rows * n);
  cpu::ref::rms_norm(x.data(), w.data(), want.data(), rows, n, 1e-5f);
  device()->rms_norm({&xb, 0}, &wb, {&out, 0}, rows, n, 1e-5f);
  expect_close(download(out, 0, rows * n), want, 2e-6f, "rms_norm");
  cpu::ref::rms_norm(x.data(), nullptr, want.data(), rows, n, 1e-5f);
  device()->rms_norm({&xb, 0}, nullptr, {&out, 0}, rows, n, 1e-5f);
  expect_close(download(out, 0, rows * n), want, 2e-6f, "rms_norm without weight");
}

TEST_F(OpenClOps, SoftmaxMatchesTheReference) {
  const int64_t rows = 3, n = 300;
  std::vector<float> x = random_floats(rows * n, -20, 20, 7);
  Buffer xb = upload(x.data(), rows * n * 4);
  for (int64_t r = 0; r < rows; ++r) cpu::ref::softmax(x.data() + r * n, n);
  device()->softmax({&xb, 0}, rows, n);
  const std::vector<float> got = download(xb, 0, rows * n);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], x[i], 1e-5f * x[i] + 1e-9f) << "softmax element " << i;
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += got[static_cast<size_t>(r * n + i)];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

TEST_F(OpenClOps, RopeMatchesTheReferenceInBothModes) {
  const int64_t tokens = 3, heads = 4, head_dim = 64, n_rot = 64;
  const std::vector<int32_t> positions = {0, 7, 1500};
  const std::vector<float> factors = random_floats(n_rot / 2, 1.0f, 8.0f, 8);
  Buffer pb = upload(positions.data(), tokens * 4), fb = upload(factors.data(), n_rot / 2 * 4);
  for (const bool neox : {false, true})
    for (const bool with_factors : {false, true}) {
      std::vector<float> x = random_floats(tokens * heads * head_dim, -2, 2, 9);
      Buffer xb = upload(x.data(), tokens * heads * head_dim * 4);
      cpu::ref::rope(x.data(), tokens, heads, head_dim, n_rot, positions.data(), 100000.0f, 1.0f,
                     neox ? cpu::RopeMode::kNeox : cpu::RopeMode::kNormal, with_factors ? factors.data() : nullptr);
      device()->rope({&xb, 0}, tokens, heads, head_dim, n_rot, pb, 100000.0f, 1.0f, neox, with_factors ? &fb : nullptr);
      const std::vector<float> got = download(xb, 0, tokens * heads * head_dim);
      // sin/cos of angles up to 1500 rad: a few ulps of the angle's magnitude.
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], x[i], 2e-4f) << (neox ? "neox" : "normal") << (with_factors ? " with factors" : "")
                                         << " element " << i;
    }
}

TEST_F(OpenClOps, CopiesPastABufferAreRefused) {
  Buffer b = device()->alloc(64, "small");
  std::vector<uint8_t> host(128);
  EXPECT_THROW(device()->write(b, 32, host.data(), 64), Error);
  EXPECT_THROW(device()->read(b, -1, host.data(), 8), Error);
}

}  // namespace
}  // namespace hearth::opencl
