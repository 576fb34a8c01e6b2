// hearth device: device description files. `list` shows the bundled profiles
// (the repository's devices/ and $HEARTH_HOME/devices), `check` validates one,
// `probe` measures this machine (device_probe.cpp).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/device_probe.h"
#include "cli/model_path.h"
#include "core/error.h"
#include "devices/device_profile.h"

namespace hearth::cli {
namespace {

struct DeviceCommandFlags {
  std::string file;
  std::string output;
  int threads = 0;
  bool json = false;
};

nlohmann::ordered_json to_json(const devices::DeviceProfile& d) {
  nlohmann::ordered_json j;
  j["device_name"] = d.device_name;
  j["cpu_cores"] = d.cpu_cores;
  j["memory_size_gb"] = d.memory_gb;
  j["gpu_available"] = d.gpu_available;
  j["npu_tops"] = d.npu_tops;
  j["cpu_model"] = d.cpu_model;
  j["cpu_ghz"] = d.cpu_ghz;
  j["cpu_fp32_gflops"] = d.cpu_fp32_gflops;
  j["memory_bandwidth_gbs"] = d.memory_bandwidth_gbs;
  j["cpu_features"] = d.cpu_features;
  j["cpu_caches"] = d.cpu_caches;
  auto per_type = [](const std::map<DType, double>& m) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (const auto& [t, v] : m) o[std::string(dtype_name(t))] = v;
    return o;
  };
  j["cpu_matmul_gflops"] = per_type(d.cpu_matmul_gflops);
  j["cpu_matvec_gbs"] = per_type(d.cpu_matvec_gbs);
  j["unified_memory"] = d.unified_memory;
  j["gpus"] = nlohmann::ordered_json::array();
  for (const auto& g : d.gpus)
    j["gpus"].push_back({{"name", g.name},
                         {"fp32_gflops", g.fp32_gflops},
                         {"fp16_gflops", g.fp16_gflops},
                         {"int8_tops", g.int8_tops},
                         {"memory_bandwidth_gbs", g.memory_bandwidth_gbs},
                         {"backends", g.backends}});
  j["quant_types"] = d.quant_types;
  j["power_watts"] = d.power_watts;
  j["sources"] = d.sources;
  return j;
}

std::vector<std::string> profile_files() {
  std::vector<std::string> files;
  for (const std::string& dir : {std::string(HEARTH_BUNDLED_DEVICES), hearth_home() + "/devices"}) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      if (e.path().extension() == ".json") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

int list(const DeviceCommandFlags& f) {
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  int bad = 0;
  for (const std::string& path : profile_files()) {
    try {
      const devices::ParsedProfile p = devices::load_device_profile(path);
      for (const auto& w : p.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
      nlohmann::ordered_json j = to_json(p.profile);
      j["file"] = path;
      all.push_back(j);
    } catch (const Error& e) {
      std::fprintf(stderr, "hearth device list: %s\n", e.what());
      ++bad;
    }
  }
  if (f.json) {
    std::cout << all.dump(2) << "\n";
  } else {
    std::printf("%-46s %5s %8s %10s %4s %6s  %s\n", "device", "cores", "memory", "bandwidth", "gpu", "npu", "file");
    for (const auto& j : all) {
      const double bw = j["memory_bandwidth_gbs"];
      std::printf("%-46s %5d %6.0f GB %5s GB/s %4s %6s  %s\n", j["device_name"].get<std::string>().c_str(),
                  j["cpu_cores"].get<int>(), j["memory_size_gb"].get<double>(),
                  bw > 0 ? std::to_string(static_cast<int>(bw)).c_str() : "?", j["gpu_available"] ? "yes" : "no",
                  j["npu_tops"].get<double>() > 0 ? (std::to_string(static_cast<int>(j["npu_tops"].get<double>())) + "T").c_str() : "-",
                  std::filesystem::path(j["file"].get<std::string>()).filename().string().c_str());
    }
  }
  return bad ? 1 : 0;
}

int check(const DeviceCommandFlags& f) {
  const devices::ParsedProfile p = devices::load_device_profile(f.file);
  for (const auto& w : p.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (f.json) {
    std::cout << to_json(p.profile).dump(2) << "\n";
  } else {
    std::printf("%s: a valid device description (%s)\n", f.file.c_str(), p.profile.device_name.c_str());
  }
  return 0;
}

int probe(const DeviceCommandFlags& f) {
  if (f.threads < 0 || f.threads > 4096) throw Error(ErrorCode::kInvalidArgument, "-t must be within 0..4096");
  const nlohmann::ordered_json j = probe_this_machine(f.threads);
  // What it writes must read back as a valid description.
  const devices::ParsedProfile p = devices::parse_device_profile(j.dump(), "the probe's result");
  if (!f.output.empty()) {
    const std::string tmp = f.output + ".partial";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << j.dump(2) << "\n";
      if (!out) throw Error(ErrorCode::kIo, f.output + ": cannot write the device description");
    }
    std::filesystem::rename(tmp, f.output);
    std::fprintf(stderr, "wrote %s\n", f.output.c_str());
  }
  if (f.json || f.output.empty()) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::printf("%s: %d cores, %.1f GB/s read bandwidth, %.1f GFLOP/s f32 matmul\n", p.profile.device_name.c_str(),
                p.profile.cpu_cores, p.profile.memory_bandwidth_gbs, p.profile.cpu_matmul_gflops.at(DType::kF32));
  }
  return 0;
}

}  // namespace

Command add_device_command(CLI::App& root) {
  auto f = std::make_shared<DeviceCommandFlags>();
  CLI::App* app = root.add_subcommand("device", "device description files (docs/device-profiles.md)");
  app->require_subcommand(1);
  CLI::App* ls = app->add_subcommand("list", "the bundled device profiles");
  ls->add_flag("--json", f->json, "print them as a JSON array");
  CLI::App* ck = app->add_subcommand("check", "validate a device description file");
  ck->add_option("FILE", f->file, "the JSON file")->required();
  ck->add_flag("--json", f->json, "print the profile with every default filled in");
  CLI::App* pr = app->add_subcommand("probe", "measure this machine and write its device description");
  pr->add_option("-o,--output", f->output, "write the description to this file");
  pr->add_option("-t,--threads", f->threads, "threads to measure with (0: all)")->capture_default_str();
  pr->add_flag("--json", f->json, "print the description (the default without -o)");
  return {app, [f, ls, pr] { return ls->parsed() ? list(*f) : pr->parsed() ? probe(*f) : check(*f); }};
}

}  // namespace hearth::cli
