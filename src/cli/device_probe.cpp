#include "cli/device_probe.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backends/cpu/matmul.h"
#include "backends/cpu/memory_bandwidth.h"
#include "backends/opencl/opencl_device.h"
#include "cli/opencl_probe.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/process_memory.h"
#include "core/thread_pool.h"
#include "quant/quantize.h"

namespace hearth::cli {
namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    // x86: "model name"; aarch64 kernels print no name, only part numbers.
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown CPU";
}

// Linux's sysfs cache description of cpu0: "L1d 48 KiB", "L2 1024 KiB", ...
std::vector<std::string> caches() {
  std::vector<std::string> out;
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream level(dir + "level"), type(dir + "type"), size(dir + "size");
    std::string l, t, z;
    if (!(level >> l) || !(type >> t) || !(size >> z)) break;
    if (t == "Instruction") continue;
    out.push_back("L" + l + (t == "Data" ? "d" : "") + " " + z);
  }
  return out;
}

std::vector<std::string> features() {
  std::vector<std::string> out;
  for (Isa isa : kAllIsas)
    if (isa != Isa::kScalar && isa_supported(isa)) out.push_back(isa_name(isa));
  return out;
}

struct MatMulRates {
  double gflops = 0;     // at 256 tokens
  double matvec_gbs = 0;  // weight bytes per second at 1 token
};

// The fastest of 7 timed runs (after one warm-up) of a matmul: on a shared
// machine interference only ever slows a run down.
double best_seconds(const cpu::MatMulShape& shape, const std::vector<uint8_t>& w, ThreadPool& pool) {
  std::mt19937 rng(2);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(shape.k * shape.n_tokens)), y(static_cast<size_t>(shape.n_out * shape.n_tokens));
  for (float& v : x) v = dist(rng);
  std::vector<uint8_t> scratch(cpu::matmul_scratch_bytes(shape));
  std::vector<double> seconds;
  for (int rep = 0; rep < 8; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    cpu::matmul(shape, w.data(), x.data(), y.data(), scratch.data(), &pool);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rep > 0) seconds.push_back(s);  // the first warms caches and pages
  }
  return *std::min_element(seconds.begin(), seconds.end());
}

MatMulRates matmul_rates(DType type, ThreadPool& pool) {
  const int64_t k = 2048, n_out = 2048, tokens = 256;
  const int64_t row = dtype_row_bytes(type, k);
  const std::vector<uint8_t> w = random_weight_rows(type, k, n_out, 1);
  MatMulRates r;
  r.gflops = 2.0 * static_cast<double>(k * n_out * tokens) / best_seconds({type, k, n_out, tokens}, w, pool) / 1e9;
  // Matrix-vector: 1 token against 96 MiB of weights, well past the caches, as
  // generation streams them (the 2048 rows above repeated, so the data is real).
  const int64_t big_rows = std::max<int64_t>(n_out, (int64_t{96} << 20) / row / n_out * n_out);
  std::vector<uint8_t> big(static_cast<size_t>(row * big_rows));
  for (int64_t r0 = 0; r0 < big_rows; r0 += n_out) std::copy(w.begin(), w.end(), big.begin() + r0 * row);
  r.matvec_gbs = static_cast<double>(big.size()) / best_seconds({type, k, big_rows, 1}, big, pool) / 1e9;
  return r;
}

// The fixed cost of one small node as a generation step runs it: a 1-token
// matvec of a 256x256 Q8_0 matrix (in cache; 0.1 us of arithmetic) on every
// thread, so what is timed is the fork-join and the activation's quantization.
double node_overhead_seconds(ThreadPool& pool);

}  // namespace

std::vector<uint8_t> random_weight_rows(DType type, int64_t k, int64_t n_rows, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int64_t row = dtype_row_bytes(type, k);
  std::vector<uint8_t> w(static_cast<size_t>(row * n_rows));
  std::vector<float> tmp(static_cast<size_t>(k));
  for (int64_t r = 0; r < n_rows; ++r) {
    for (float& v : tmp) v = dist(rng);
    quant::quantize_row(type, tmp.data(), w.data() + r * row, k);
  }
  return w;
}

nlohmann::ordered_json probe_this_machine(int threads) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(threads > 0 ? threads : cores);
  nlohmann::ordered_json j;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const std::string model = cpu_model_name();
  j["device_name"] = std::string(host) + " (" + model + ")";
  j["cpu_cores"] = cores;
  j["memory_size"] = std::to_string(system_memory().physical / (1024 * 1024)) + " MiB";
  j["gpu_available"] = false;
  j["npu_performance"] = 0;
  j["cpu_model"] = model;
  j["cpu_features"] = features();
  j["cpu_caches"] = caches();
  std::fprintf(stderr, "probing memory read bandwidth...\n");
  const double bw = cpu::measure_read_bandwidth(pool);
  char bw_text[32];
  std::snprintf(bw_text, sizeof bw_text, "%.1f GB/s", bw / 1e9);
  j["memory_bandwidth"] = bw_text;
  nlohmann::ordered_json gflops, matvec;
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0,
                  DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    std::fprintf(stderr, "probing %s matmul...\n", std::string(dtype_name(t)).c_str());
    const MatMulRates r = matmul_rates(t, pool);
    gflops[std::string(dtype_name(t))] = static_cast<int64_t>(r.gflops * 10) / 10.0;
    matvec[std::string(dtype_name(t))] = static_cast<int64_t>(r.matvec_gbs * 10) / 10.0;
  }
  j["cpu_matmul_gflops"] = gflops;
  j["cpu_matvec_gbs"] = matvec;
  std::fprintf(stderr, "probing the cost of one small node...\n");
  char overhead_text[32];
  std::snprintf(overhead_text, sizeof overhead_text, "%.2f us", node_overhead_seconds(pool) * 1e6);
  j["cpu_node_overhead"] = overhead_text;
  // Every OpenCL device, measured through Hearth's kernels on it.
  nlohmann::ordered_json gpus = nlohmann::ordered_json::array();
  bool unified = false;
  for (const opencl::DeviceInfo& info : opencl::list_devices()) {
    try {
      gpus.push_back(probe_opencl_device(info));
      if (gpus.size() == 1) unified = info.host_unified;
    } catch (const Error& e) {
      std::fprintf(stderr, "OpenCL device %d (%s) not probed: %s\n", info.index, info.name.c_str(), e.what());
    }
  }
  if (!gpus.empty()) {
    j["gpu_available"] = true;
    j["unified_memory"] = unified;
    j["gpus"] = gpus;
  }
  j["sources"] = {"measured by hearth device probe on " + std::to_string(threads > 0 ? threads : cores) +
                  " threads: read bandwidth (median of 9 passes over 1 GiB), a 256-token 2048x2048 matmul per "
                  "weight type and a 1-token matvec over 96 MiB of its weights (fastest of 7 runs each), "
                  "the node overhead from 2000 1-token 256x256 Q8_0 matvecs (fastest of 5 rounds)",
                  gpus.empty() ? std::string(opencl::built_with_opencl() ? "no OpenCL device found"
                                                                         : "this build has no OpenCL")
                               : "OpenCL devices (gpus[]): Hearth's kernels on each, a 64-token 2048x2048 matmul and a "
                                 "1-token matvec over 64 MiB per weight type, 200 queued kernels for the launch cost, "
                                 "32 MiB copied each way, 200 4 KiB copies each way for the copy latency "
                                 "(fastest of 3 runs each)"};
  return j;
}

namespace {

double node_overhead_seconds(ThreadPool& pool) {
  const cpu::MatMulShape shape{DType::kQ8_0, 256, 256, 1};
  const std::vector<uint8_t> w = random_weight_rows(shape.weight_type, shape.k, shape.n_out, 3);
  std::vector<float> x(static_cast<size_t>(shape.k), 0.5f), y(static_cast<size_t>(shape.n_out));
  std::vector<uint8_t> scratch(cpu::matmul_scratch_bytes(shape));
  constexpr int kCalls = 2000;
  double best = 1e30;
  for (int round = 0; round < 6; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i) cpu::matmul(shape, w.data(), x.data(), y.data(), scratch.data(), &pool);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / kCalls;
    if (round > 0) best = std::min(best, s);  // the first warms caches and wakes the threads
  }
  return best;
}

}  // namespace

}  // namespace hearth::cli
