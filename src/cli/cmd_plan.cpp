// hearth plan: where a model's ops would run on a device described by a
// profile, and the predicted time per token for prompts and generation, from
// the partitioner's cost model. Works for any profile, the device present or
// not (a simulation).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_path.h"
#include "core/byte_size.h"
#include "core/error.h"
#include "devices/device_profile.h"
#include "graph/partitioner.h"
#include "runtime/device_placement.h"
#include "models/model.h"

namespace hearth::cli {
namespace {

struct PlanFlags {
  std::string model;
  std::string device;
  int64_t prompt = 512;
  int64_t context = 256;
  std::string offload = "auto";
  bool json = false;
};

nlohmann::ordered_json describe(const graph::Graph& g, const std::vector<graph::DeviceModel>& devices,
                                const graph::Placement& p, double per_token_seconds) {
  nlohmann::ordered_json j;
  j["ms_per_token"] = per_token_seconds * 1e3;
  j["tokens_per_second"] = per_token_seconds > 0 ? 1.0 / per_token_seconds : 0.0;
  j["copies"] = p.copies.size();
  j["copy_ms"] = p.copy_seconds * 1e3;
  nlohmann::ordered_json per = nlohmann::ordered_json::array();
  for (size_t d = 0; d < devices.size(); ++d) {
    std::map<std::string, int> ops;
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (p.device[i] == static_cast<int>(d)) ++ops[graph::op_name(g.nodes[i].op)];
    per.push_back({{"device", devices[d].name}, {"compute_ms", p.compute_seconds[d] * 1e3}, {"ops", ops},
                   {"weight_bytes", p.weight_bytes[d]}});
  }
  j["devices"] = per;
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  for (const auto& r : p.runs)
    runs.push_back({{"device", devices[static_cast<size_t>(r.device)].name}, {"first_node", r.first},
                    {"last_node", r.last}});
  j["runs"] = runs;
  return j;
}

void print_phase(const char* title, const nlohmann::ordered_json& j, double cpu_only_ms) {
  std::printf("%s: %.3f ms/token (%.1f tok/s); CPU only %.3f ms/token; %zu copies, %.3f ms\n", title,
              j["ms_per_token"].get<double>(), j["tokens_per_second"].get<double>(), cpu_only_ms,
              j["copies"].get<size_t>(), j["copy_ms"].get<double>());
  for (const auto& d : j["devices"]) {
    std::string ops;
    for (const auto& [name, n] : d["ops"].items()) ops += (ops.empty() ? "" : ", ") + name + " x" + std::to_string(n.get<int>());
    std::printf("  %-28s %9.3f ms  %s\n", d["device"].get<std::string>().c_str(), d["compute_ms"].get<double>(),
                ops.empty() ? "(nothing)" : ops.c_str());
  }
  std::printf("  runs: %zu\n", j["runs"].size());
}

int plan(const PlanFlags& f) {
  if (f.prompt < 1 || f.prompt > 1 << 20) throw Error(ErrorCode::kInvalidArgument, "-p must be within 1..1048576");
  if (f.context < 1 || f.context > 1 << 22) throw Error(ErrorCode::kInvalidArgument, "-c must be within 1..4194304");
  const devices::ParsedProfile prof = devices::load_device_profile(f.device);
  for (const auto& w : prof.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  auto model = models::Model::load(resolve_model(f.model));
  const graph::Graph& g = model->graph();
  const std::vector<graph::DeviceModel> devices = graph::device_models(prof.profile);
  const std::vector<graph::DeviceModel> cpu_only = {devices[0]};

  // Generation: one token against a cache of `context`; a prompt: p tokens whose
  // queries see p/2 positions on average.
  const graph::Workload gen{1, f.context, 1}, pp{f.prompt, std::max<int64_t>(1, f.prompt / 2), 1};
  // One placement serves both phases, as `hearth run --device` executes it: the
  // one chosen for generation.
  const std::vector<int> assignment = runtime::choose_devices(g, devices, gen, runtime::parse_offload_mode(f.offload));
  const graph::Placement gen_plan = graph::evaluate_placement(g, devices, gen, assignment);
  const graph::Placement pp_plan = graph::evaluate_placement(g, devices, pp, assignment);
  const double gen_cpu = graph::partition(g, cpu_only, gen).total_seconds;
  const double pp_cpu = graph::partition(g, cpu_only, pp).total_seconds / static_cast<double>(f.prompt);

  nlohmann::ordered_json j;
  j["device"] = prof.profile.device_name;
  j["model"] = model->path();
  j["devices"] = nlohmann::ordered_json::array();
  for (const auto& d : devices) j["devices"].push_back(d.name);
  j["generation"] = describe(g, devices, gen_plan, gen_plan.total_seconds);
  j["generation"]["context"] = f.context;
  j["generation"]["cpu_only_ms_per_token"] = gen_cpu * 1e3;
  j["prompt"] = describe(g, devices, pp_plan, pp_plan.total_seconds / static_cast<double>(f.prompt));
  j["prompt"]["tokens"] = f.prompt;
  j["prompt"]["cpu_only_ms_per_token"] = pp_cpu * 1e3;
  // Memory per device: the weights its nodes read in either phase and the KV
  // cache of the layers it attends.
  const double kv_bytes = static_cast<double>(g.n_layers) * static_cast<double>(f.context) *
                          static_cast<double>(g.kv_dim_k + g.kv_dim_v) * 2.0;
  nlohmann::ordered_json mem = nlohmann::ordered_json::array();
  for (size_t d = 0; d < devices.size(); ++d) {
    int attention_here = 0, attention_all = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (g.nodes[i].op == graph::OpKind::kAttention) {
        ++attention_all;
        if (gen_plan.device[i] == static_cast<int>(d)) ++attention_here;
      }
    const double kv = attention_all ? kv_bytes * attention_here / attention_all : 0.0;
    mem.push_back({{"device", devices[d].name},
                   {"weight_bytes", std::max(gen_plan.weight_bytes[d], pp_plan.weight_bytes[d])},
                   {"kv_bytes", static_cast<int64_t>(kv)}});
  }
  j["memory"] = mem;
  std::vector<std::string> notes;
  if (prof.profile.npu_tops > 0)
    notes.push_back("NPU (" + std::to_string(static_cast<int>(prof.profile.npu_tops)) +
                    " TOPS): no Hearth backend runs on it yet; not used");
  if (prof.profile.gpu_available && devices.size() == 1)
    notes.push_back("GPU: no entry with an OpenCL or CUDA backend and a FLOP/s figure; not used");
  j["notes"] = notes;

  if (f.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("device  %s (%s)\nmodel   %s\n", prof.profile.device_name.c_str(), f.device.c_str(), model->path().c_str());
  print_phase(("generation (context " + std::to_string(f.context) + ")").c_str(), j["generation"], gen_cpu * 1e3);
  print_phase(("prompt (" + std::to_string(f.prompt) + " tokens)").c_str(), j["prompt"], pp_cpu * 1e3);
  for (const auto& m : mem)
    std::printf("memory  %-28s weights %s, KV cache %s\n", m["device"].get<std::string>().c_str(),
                format_bytes(m["weight_bytes"].get<int64_t>()).c_str(), format_bytes(m["kv_bytes"].get<int64_t>()).c_str());
  for (const auto& n : notes) std::printf("note    %s\n", n.c_str());
  return 0;
}

}  // namespace

Command add_plan_command(CLI::App& root) {
  auto f = std::make_shared<PlanFlags>();
  CLI::App* app = root.add_subcommand("plan", "where a model's ops would run on a described device, and how fast");
  app->add_option("-m,--model", f->model, "GGUF file or model name (default: the default model)");
  app->add_option("--device", f->device, "a device description file (docs/device-profiles.md)")->required();
  app->add_option("-p,--n-prompt", f->prompt, "prompt tokens for the prompt prediction")->capture_default_str();
  app->add_option("-c,--context", f->context, "cache length for the generation prediction")->capture_default_str();
  app->add_option("--offload", f->offload,
                  "auto (the partitioner places ops) or all (every op the OpenCL backend runs goes to the accelerator)")
      ->capture_default_str();
  app->add_flag("--json", f->json, "print one JSON object");
  return {app, [f] { return plan(*f); }};
}

}  // namespace hearth::cli
