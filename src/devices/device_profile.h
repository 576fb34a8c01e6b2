// Device description files: a JSON file per device saying what it has (cores,
// memory, GPU, NPU) and, optionally, how fast it is. The five fields of the
// seed's example are a valid file on their own; every other field has a
// documented default (docs/device-profiles.md). Parsing is strict: a wrong
// type, an impossible value or a unit it does not know is an error naming the
// key; an unknown key is a warning.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace hearth::devices {

// One accelerator beside the CPU (a GPU, or an NPU given as a device).
struct AcceleratorProfile {
  std::string name;
  double fp32_gflops = 0;         // 0: unknown
  double fp16_gflops = 0;         // 0: unknown (then 2x fp32 where fp32 is known)
  double int8_tops = 0;           // 0: unknown
  double memory_bandwidth_gbs = 0;  // its own memory; 0: shares the system memory
  std::vector<std::string> backends;  // "opencl", "cuda", "metal", "vulkan", ...
  // Measured (hearth device probe, through Hearth's own kernels on the device):
  std::map<DType, double> matmul_gflops;  // a prompt-sized matmul per weight type
  std::map<DType, double> matvec_gbs;     // weight GB/s of a 1-token matvec per weight type
  double launch_overhead_us = 0;          // launch_overhead: a queued kernel's fixed cost; 0: unknown
  double copy_bandwidth_gbs = 0;          // host <-> device copies; 0: unknown
  double copy_latency_us = 0;             // copy_latency: a small blocking copy's fixed cost; 0: unknown
};

struct DeviceProfile {
  // The seed's five fields.
  std::string device_name;
  int cpu_cores = 0;
  double memory_gb = 0;         // memory_size, in GB (10^9 bytes)
  bool gpu_available = false;
  double npu_tops = 0;          // npu_performance, in TOPS (0: no NPU)
  // Optional refinements; the defaults are what a CPU-only reading assumes.
  std::string cpu_model;
  double cpu_ghz = 0;                 // 0: unknown
  double cpu_fp32_gflops = 0;         // the whole CPU; 0: estimated from cores and clock
  // Measured (hearth device probe): a prompt-sized matmul's GFLOP/s per weight
  // type on every core; where given, the cost model uses it as it is.
  std::map<DType, double> cpu_matmul_gflops;
  // Measured: the GB/s of weights one token's matrix-vector product streams
  // per weight type from memory (kernel and bandwidth together, as generation
  // runs them).
  std::map<DType, double> cpu_matvec_gbs;
  // Measured: the fixed cost of one small node of a generation step on all
  // threads (fork-join, activation quantization); 0: unknown.
  double cpu_node_overhead_us = 0;
  std::vector<std::string> cpu_features;  // e.g. "avx2", "neon" (informative)
  std::vector<std::string> cpu_caches;    // e.g. "L2 1 MiB" (informative)
  double memory_bandwidth_gbs = 0;    // system memory read bandwidth; 0: unknown
  bool unified_memory = false;        // the GPU reads system memory without copies
  std::vector<AcceleratorProfile> gpus;
  std::vector<std::string> quant_types;  // weight types the device's kernels support; empty: all
  double power_watts = 0;             // 0: unknown
  std::vector<std::string> sources;   // where the numbers come from
};

struct ParsedProfile {
  DeviceProfile profile;
  std::vector<std::string> warnings;  // unknown keys, each named
};

// Parses a device description. `origin` names the file in messages. Throws
// Error(kFormat) for malformed JSON, Error(kInvalidArgument) naming the key for
// a wrong type, impossible value or unknown unit.
ParsedProfile parse_device_profile(const std::string& json_text, const std::string& origin);
// Reads and parses a file; Error(kNotFound) for a missing one.
ParsedProfile load_device_profile(const std::string& path);

// A quantity written as a number (in the key's default unit) or as a string
// "<number> <unit>": the value in `unit`. For tests and the CLI.
enum class Quantity { kBytesGB, kBandwidthGBs, kTops, kGflops, kGhz, kWatts, kMicroseconds };
double parse_quantity(const std::string& text, Quantity kind, const std::string& key);

}  // namespace hearth::devices
