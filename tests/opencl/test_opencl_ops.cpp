// The OpenCL backend's ops against the CPU backend's scalar references, on the
// first OpenCL device (PoCL on the CPU in CI; the setup script installs it).
// Without any OpenCL device every test skips and says why.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backends/cpu/matmul.h"
#include "backends/cpu/ops.h"
#include "backends/cpu/vec_dot.h"
#include "backends/opencl/opencl_device.h"
#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/sum_order.h"
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

// The float matmuls (f32, f16) against the scalar CPU reference, which sums in
// double: the same conversion of the activations, results within float rounding.
class OpenClFloatMatMul : public OpenClOps, public ::testing::WithParamInterface<DType> {};

TEST_P(OpenClFloatMatMul, MatchesTheScalarReference) {
  const DType type = GetParam();
  ASSERT_TRUE(Device::supports_matmul(type));
  const int64_t k = 256, n_out = 37;
  for (const int64_t n_tokens : {1, 5}) {
    std::vector<float> wf = random_floats(static_cast<size_t>(k * n_out), -1.0f, 1.0f, 11);
    std::vector<float> x = random_floats(static_cast<size_t>(k * n_tokens), -2.0f, 2.0f, 12);
    std::vector<uint8_t> w(static_cast<size_t>(dtype_row_bytes(type, k) * n_out));
    for (int64_t r = 0; r < n_out; ++r)
      quant::quantize_row(type, wf.data() + r * k, w.data() + r * dtype_row_bytes(type, k), k);
    const cpu::WeightKernels ref = cpu::weight_kernels(type, Isa::kScalar);
    std::vector<uint8_t> act(static_cast<size_t>(dtype_row_bytes(ref.act_type, k)));
    std::vector<float> expected(static_cast<size_t>(n_out * n_tokens)), magnitude(expected.size());
    for (int64_t t = 0; t < n_tokens; ++t) {
      ref.act_from_float(x.data() + t * k, act.data(), k);
      for (int64_t r = 0; r < n_out; ++r) {
        expected[static_cast<size_t>(t * n_out + r)] = ref.vec_dot(k, w.data() + r * dtype_row_bytes(type, k), act.data());
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
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], expected[i], 2e-6 * magnitude[i] + 1e-6) << std::string(dtype_name(type)) << " output " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Types, OpenClFloatMatMul, ::testing::Values(DType::kF32, DType::kF16),
                         [](const ::testing::TestParamInfo<DType>& info) { return std::string(dtype_name(info.param)); });

// The block formats: summed in a CPU kernel's order (core/sum_order.h), the
// device gives that kernel's very floats.
class OpenClBlockMatMul : public OpenClOps, public ::testing::WithParamInterface<DType> {
 protected:
  // 11 blocks per row: two whole groups of four and a remainder of three, so
  // every part of every order is exercised. One large activation makes the
  // blocks' scales differ.
  static constexpr int64_t k = 352, n_out = 37;
  std::vector<uint8_t> weights(DType type) const {
    const std::vector<float> wf = random_floats(static_cast<size_t>(k * n_out), -1.0f, 1.0f, 11);
    std::vector<uint8_t> w(static_cast<size_t>(dtype_row_bytes(type, k) * n_out));
    for (int64_t r = 0; r < n_out; ++r)
      quant::quantize_row(type, wf.data() + r * k, w.data() + r * dtype_row_bytes(type, k), k);
    return w;
  }
  static std::vector<float> inputs(int64_t n_tokens) {
    std::vector<float> x = random_floats(static_cast<size_t>(k * n_tokens), -2.0f, 2.0f, 12);
    x[3] = 9.5f;
    return x;
  }
  std::vector<float> on_device(DType type, const std::vector<uint8_t>& w, const std::vector<float>& x,
                               int64_t n_tokens, SumOrder order) {
    Buffer wb = upload(w.data(), static_cast<int64_t>(w.size()));
    // The input and output sit at offsets inside one arena, as the executor places them.
    const int64_t x_off = 40, y_off = x_off + k * n_tokens + 8;
    Buffer arena = device()->alloc((y_off + n_out * n_tokens) * 4, "arena");
    device()->write(arena, x_off * 4, x.data(), k * n_tokens * 4);
    Buffer scratch = device()->alloc(Device::matmul_scratch_bytes(type, k, n_tokens), "scratch");
    device()->matmul(type, k, n_out, n_tokens, wb, {&arena, x_off}, {&arena, y_off}, scratch, order);
    return download(arena, y_off, n_out * n_tokens);
  }
  static int64_t differing(const std::vector<float>& a, const std::vector<float>& b) {
    int64_t n = 0;
    for (size_t i = 0; i < a.size(); ++i) n += std::memcmp(&a[i], &b[i], 4) != 0;
    return n;
  }
};

// What a graph split across devices runs: cpu::matmul at this machine's level,
// and the device in the order cpu::matmul_sum_order reports for each token count
// (rows, tiles and panels).
TEST_P(OpenClBlockMatMul, GivesTheCpuMatmulsFloatsBitForBit) {
  const DType type = GetParam();
  const std::vector<uint8_t> w = weights(type);
  for (const int64_t n_tokens : {1, 2, 3, 5, 8, 13}) {
    const std::vector<float> x = inputs(n_tokens);
    std::vector<float> want(static_cast<size_t>(n_out * n_tokens));
    const cpu::MatMulShape shape{type, k, n_out, n_tokens};
    std::vector<uint8_t> scratch(cpu::matmul_scratch_bytes(shape));
    cpu::matmul(shape, w.data(), x.data(), want.data(), scratch.data(), nullptr);
    const SumOrder order = cpu::matmul_sum_order(type, n_tokens);
    ASSERT_NE(order, SumOrder::kOther) << "the CPU's " << dtype_name(type) << " kernels here have no known order";
    EXPECT_EQ(differing(on_device(type, w, x, n_tokens, order), want), 0)
        << dtype_name(type) << ", " << n_tokens << " tokens, order " << sum_order_name(order);
  }
}

// Every ISA level this CPU runs: its row kernel (one token) and its tile kernel
// (several), each against the device in the order the kernels declare.
TEST_P(OpenClBlockMatMul, GivesEveryCpuLevelsRowAndTileFloats) {
  const DType type = GetParam();
  const std::vector<uint8_t> w = weights(type);
  const int64_t row_bytes = dtype_row_bytes(type, k);
  int checked = 0;
  for (const Isa isa : kAllIsas) {
    if (!isa_supported(isa)) continue;
    const cpu::WeightKernels kn = cpu::weight_kernels(type, isa);
    const int64_t n_tokens = 5;
    const std::vector<float> x = inputs(n_tokens);
    const int64_t act_bytes = dtype_row_bytes(kn.act_type, k);
    std::vector<uint8_t> act(static_cast<size_t>(act_bytes * n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t) kn.act_from_float(x.data() + t * k, act.data() + t * act_bytes, k);
    std::vector<float> rows(static_cast<size_t>(n_out * n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t)
      for (int64_t r = 0; r < n_out; ++r)
        rows[static_cast<size_t>(t * n_out + r)] = kn.vec_dot(k, w.data() + r * row_bytes, act.data() + t * act_bytes);
    if (kn.vec_order != SumOrder::kOther) {
      EXPECT_EQ(differing(on_device(type, w, x, n_tokens, kn.vec_order), rows), 0)
          << dtype_name(type) << " row kernel at " << isa_name(isa) << ", order " << sum_order_name(kn.vec_order);
      ++checked;
    }
    if (kn.tile_dot && kn.tile_order != SumOrder::kOther) {
      std::vector<float> tiles(rows.size());
      for (int64_t t = 0; t < n_tokens; t += kn.tile_cols)
        for (int64_t r = 0; r < n_out; r += kn.tile_rows)
          kn.tile_dot(k, w.data() + r * row_bytes, row_bytes, act.data() + t * act_bytes, act_bytes,
                      tiles.data() + t * n_out + r, n_out, static_cast<int>(std::min<int64_t>(kn.tile_rows, n_out - r)),
                      static_cast<int>(std::min<int64_t>(kn.tile_cols, n_tokens - t)));
      EXPECT_EQ(differing(on_device(type, w, x, n_tokens, kn.tile_order), tiles), 0)
          << dtype_name(type) << " tile kernel at " << isa_name(isa) << ", order " << sum_order_name(kn.tile_order);
      ++checked;
    }
  }
  std::printf("%s: %d CPU kernels (row and tile, every level here) matched bit for bit\n",
              std::string(dtype_name(type)).c_str(), checked);
  EXPECT_GE(checked, 1);  // the scalar level's row kernel at least
}

INSTANTIATE_TEST_SUITE_P(Types, OpenClBlockMatMul,
                         ::testing::Values(DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0),
                         [](const ::testing::TestParamInfo<DType>& info) { return std::string(dtype_name(info.param)); });

TEST_F(OpenClOps, UnsupportedMatMulTypeIsAnError) {
  EXPECT_FALSE(Device::supports_matmul(DType::kQ4_K));
  Buffer b = device()->alloc(1024, "x");
  EXPECT_THROW(device()->matmul(DType::kQ4_K, 256, 1, 1, b, {&b, 0}, {&b, 0}, b), Error);
}

// Within rel of each value, or abs of zero (an activation's tail rounds to zero
// on one side and to a denormal-sized value on the other).
// rel 0: the same bits.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, float rel, const char* what,
                  float abs = 1e-7f) {
  ASSERT_EQ(got.size(), want.size());
  if (rel == 0.0f) {
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(0, std::memcmp(&got[i], &want[i], 4)) << what << " element " << i << ": " << got[i] << " vs " << want[i];
    return;
  }
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
                        Case{BinaryOp::kSwiGlu, cpu::ref::swiglu, "swiglu", 0.0f},
                        Case{BinaryOp::kGeGlu, cpu::ref::geglu, "geglu", 0.0f}}) {
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
  const int64_t rows = 4, n = 581;  // not a multiple of 8: the last running sums get fewer squares
  const std::vector<float> x = random_floats(rows * n, -3, 3, 5), w = random_floats(n, 0.5f, 1.5f, 6);
  Buffer xb = upload(x.data(), rows * n * 4), wb = upload(w.data(), n * 4);
  Buffer out = device()->alloc(rows * n * 4, "out");
  std::vector<float> want(rows * n);
  cpu::ref::rms_norm(x.data(), w.data(), want.data(), rows, n, 1e-5f);
  device()->rms_norm({&xb, 0}, &wb, {&out, 0}, rows, n, 1e-5f);
  // In double, in the CPU's order, the device gives the CPU's bits; in float, within rounding.
  const float rel = device()->info().fp64 ? 0.0f : 2e-6f;
  expect_close(download(out, 0, rows * n), want, rel, "rms_norm");
  std::vector<float> vec(rows * n);
  cpu::rms_norm(x.data(), w.data(), vec.data(), rows, n, 1e-5f);
  expect_close(download(out, 0, rows * n), vec, rel, "rms_norm (the vector path)");
  cpu::ref::rms_norm(x.data(), nullptr, want.data(), rows, n, 1e-5f);
  device()->rms_norm({&xb, 0}, nullptr, {&out, 0}, rows, n, 1e-5f);
  expect_close(download(out, 0, rows * n), want, rel, "rms_norm without weight");
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

// Rotating by the CPU's own cos/sin table, the device gives rope's bits, on the
// reference and on the vector path, in both modes, with and without factors.
TEST_F(OpenClOps, RopeByTheCpusAnglesGivesItsBits) {
  const int64_t tokens = 3, heads = 4, head_dim = 64, n_rot = 64;
  const std::vector<int32_t> positions = {0, 7, 1500};
  const std::vector<float> factors = random_floats(n_rot / 2, 1.0f, 8.0f, 8);
  for (const bool neox : {false, true})
    for (const bool with_factors : {false, true}) {
      const char* what = neox ? (with_factors ? "neox with factors" : "neox") : (with_factors ? "normal with factors" : "normal");
      const float* f = with_factors ? factors.data() : nullptr;
      const cpu::RopeMode mode = neox ? cpu::RopeMode::kNeox : cpu::RopeMode::kNormal;
      const std::vector<float> x = random_floats(tokens * heads * head_dim, -2, 2, 9);
      std::vector<float> ref = x, vec = x, table(static_cast<size_t>(tokens * n_rot));
      cpu::ref::rope(ref.data(), tokens, heads, head_dim, n_rot, positions.data(), 100000.0f, 0.5f, mode, f);
      cpu::rope(vec.data(), tokens, heads, head_dim, n_rot, positions.data(), 100000.0f, 0.5f, mode, f);
      cpu::rope_cos_sin(tokens, n_rot, positions.data(), 100000.0f, 0.5f, f, table.data());
      Buffer xb = upload(x.data(), tokens * heads * head_dim * 4), tb = upload(table.data(), tokens * n_rot * 4);
      device()->rope({&xb, 0}, tokens, heads, head_dim, n_rot, tb, neox);
      const std::vector<float> got = download(xb, 0, tokens * heads * head_dim);
      EXPECT_EQ(0, std::memcmp(got.data(), ref.data(), got.size() * 4)) << what << ": not the reference's bits";
      EXPECT_EQ(0, std::memcmp(got.data(), vec.data(), got.size() * 4)) << what << ": not the vector path's bits";
      EXPECT_NE(0, std::memcmp(got.data(), x.data(), got.size() * 4)) << what << ": nothing rotated";
    }
  Buffer xb = device()->alloc(tokens * heads * head_dim * 4, "x"), small = device()->alloc(16, "short table");
  EXPECT_THROW(device()->rope({&xb, 0}, tokens, heads, head_dim, n_rot, small, false), Error);
}

TEST_F(OpenClOps, CopiesPastABufferAreRefused) {
  Buffer b = device()->alloc(64, "small");
  std::vector<uint8_t> host(128);
  EXPECT_THROW(device()->write(b, 32, host.data(), 64), Error);
  EXPECT_THROW(device()->read(b, -1, host.data(), 8), Error);
}

}  // namespace
}  // namespace hearth::opencl
