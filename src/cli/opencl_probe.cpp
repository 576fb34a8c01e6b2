#include "cli/opencl_probe.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cli/device_probe.h"

namespace hearth::cli {
namespace {

using Clock = std::chrono::steady_clock;

// The fastest of `reps` timed runs after one warm-up: interference only slows.
template <typename F>
double best_seconds(int reps, F&& run) {
  run();
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    run();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

double round1(double v) { return static_cast<double>(static_cast<int64_t>(v * 10)) / 10.0; }

std::string with_unit(double v, const char* unit) {
  char text[48];
  std::snprintf(text, sizeof text, "%.1f %s", v, unit);
  return text;
}

}  // namespace

nlohmann::ordered_json probe_opencl_device(const opencl::DeviceInfo& info) {
  std::unique_ptr<opencl::Device> device = opencl::Device::open(info.index);
  opencl::Device& d = *device;
  nlohmann::ordered_json g;
  g["name"] = info.name;
  g["backends"] = {"opencl"};

  // A queued kernel's fixed cost: many tiny kernels, then one wait.
  constexpr int kLaunches = 200;
  opencl::Buffer tiny = d.alloc(64 * 4, "launch probe");
  const double launches = best_seconds(3, [&] {
    for (int i = 0; i < kLaunches; ++i) d.scale({&tiny, 0}, 1.0f, {&tiny, 0}, 64);
    d.finish();
  });
  g["launch_overhead"] = with_unit(launches / kLaunches * 1e6, "us");

  // Copies both ways, as a pass moves activations.
  const int64_t copy_bytes = int64_t{32} << 20;
  std::vector<uint8_t> host(static_cast<size_t>(copy_bytes), 1);
  opencl::Buffer copy = d.alloc(copy_bytes, "copy probe");
  const double copies = best_seconds(3, [&] {
    d.write(copy, 0, host.data(), copy_bytes);
    d.read(copy, 0, host.data(), copy_bytes);
  });
  g["copy_bandwidth"] = with_unit(2.0 * static_cast<double>(copy_bytes) / copies / 1e9, "GB/s");

  // A small blocking copy's fixed cost, as a generation step makes many:
  // 4 KiB written and read back, one at a time.
  constexpr int kSmallCopies = 200;
  const double small = best_seconds(3, [&] {
    for (int i = 0; i < kSmallCopies; ++i) {
      d.write(copy, 0, host.data(), 4096);
      d.read(copy, 0, host.data(), 4096);
    }
  });
  g["copy_latency"] = with_unit(small / (2.0 * kSmallCopies) * 1e6, "us");

  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int64_t k = 2048, n_out = 2048, tokens = 64;
  std::vector<float> x(static_cast<size_t>(k * tokens));
  for (float& v : x) v = dist(rng);
  opencl::Buffer acts = d.alloc((k + n_out) * tokens * 4, "activations");
  d.write(acts, 0, x.data(), k * tokens * 4);
  nlohmann::ordered_json gflops, matvec;
  double f32_gflops = 0;
  for (DType t : {DType::kF32, DType::kF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0}) {
    std::fprintf(stderr, "probing %s matmul on %s...\n", std::string(dtype_name(t)).c_str(), info.name.c_str());
    const int64_t row = dtype_row_bytes(t, k);
    const std::vector<uint8_t> w = random_weight_rows(t, k, n_out, 1);
    // Matrix-vector over 64 MiB of weights (the rows above repeated), past the caches.
    const int64_t big_rows = std::max<int64_t>(n_out, (int64_t{64} << 20) / row / n_out * n_out);
    opencl::Buffer wb = d.alloc(row * big_rows, "weights");
    for (int64_t r0 = 0; r0 < big_rows; r0 += n_out) d.write(wb, r0 * row, w.data(), row * n_out);
    opencl::Buffer out = d.alloc(big_rows * 4 * 2, "outputs");
    opencl::Buffer scratch = d.alloc(opencl::Device::matmul_scratch_bytes(t, k, tokens), "scratch");
    const double mm = best_seconds(3, [&] {
      d.matmul(t, k, n_out, tokens, wb, {&acts, 0}, {&acts, k * tokens}, scratch);
      d.finish();
    });
    const double mv = best_seconds(3, [&] {
      d.matmul(t, k, big_rows, 1, wb, {&acts, 0}, {&out, 0}, scratch);
      d.finish();
    });
    const double rate = 2.0 * static_cast<double>(k * n_out * tokens) / mm / 1e9;
    if (t == DType::kF32) f32_gflops = rate;
    gflops[std::string(dtype_name(t))] = round1(rate);
    matvec[std::string(dtype_name(t))] = round1(static_cast<double>(row * big_rows) / mv / 1e9);
  }
  g["fp32_gflops"] = round1(f32_gflops);
  g["matmul_gflops"] = gflops;
  g["matvec_gbs"] = matvec;
  return g;
}

}  // namespace hearth::cli
