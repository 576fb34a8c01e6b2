// hearth bench: prompt-processing and generation speed of a model, with the
// machine's memory bandwidth and the generation bound it implies.
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/cpu/memory_bandwidth.h"
#include "cli/commands.h"
#include "cli/device_flags.h"
#include "cli/memory_flags.h"
#include "core/cpu_features.h"
#include "runtime/benchmark.h"

namespace hearth::cli {
namespace {

struct BenchFlags {
  std::string model;
  runtime::BenchOptions options;
  bool json = false;
  bool no_bandwidth = false;
  bool memory = false;
  int parallel = 0;
  MemoryFlags memory_flags;
  DeviceFlags device;
};

// The type most of the weight bytes are in: what "Q4_K" means for a model
// whose small tensors keep other types.
std::string dominant_type(const graph::Graph& g) {
  std::map<std::string, int64_t> bytes;
  for (const graph::Weight& w : g.weights)
    if (w.rows > 1) bytes[std::string(dtype_name(w.type))] += graph::weight_bytes(w);
  std::string best;
  int64_t most = -1;
  for (const auto& [name, b] : bytes)
    if (b > most) best = name, most = b;
  return best;
}

int64_t parameter_count(const graph::Graph& g) {
  int64_t n = 0;
  for (const graph::Weight& w : g.weights) n += w.cols * w.rows;
  return n;
}

nlohmann::ordered_json series_json(const runtime::BenchSeries& s) {
  return {{"median", s.median}, {"stddev", s.stddev}, {"min", s.min}, {"max", s.max}, {"runs", s.tps}};
}

int bench(const BenchFlags& f) {
  auto model = load_model(f.model, f.memory_flags);
  runtime::BenchOptions o = f.options;
  o.offload = offload_from_flags(*model, f.device, std::max<int64_t>(o.n_prompt, 16 + o.n_gen));
  runtime::SessionOptions session_options = runtime::bench_session_options(*model, o);
  apply_memory_flags(*model, f.memory_flags, session_options);
  o.kv_type = session_options.kv_type;
  const graph::Graph& g = model->graph();
  const std::string type = dominant_type(g);
  const std::string name = std::filesystem::path(model->path()).filename().string();
  const int64_t bytes_per_token = graph::weight_bytes_read_per_token(g);
  const int n_threads = o.n_threads > 0 ? o.n_threads : static_cast<int>(std::thread::hardware_concurrency());

  if (!f.json)
    std::printf("model    %s (%s, %s, %.0f M parameters, %.1f MiB)\nthreads  %d, kernels %s\n", name.c_str(),
                model->hparams().arch.c_str(), type.c_str(), static_cast<double>(parameter_count(g)) / 1e6,
                static_cast<double>(model->weight_bytes()) / (1 << 20), n_threads, isa_name(best_isa()));
  std::fflush(stdout);

  // The read bandwidth of a shared machine moves (here by up to 2x within
  // seconds), so it is measured just before each tg run and each run is set
  // against its own bound; without tg, once.
  std::vector<double> bandwidths;
  auto probe = [&] {
    ThreadPool pool(n_threads);  // gone before the run: its threads must not compete with the session's
    cpu::BandwidthOptions bw;
    bw.buffer_bytes = size_t{512} << 20;
    bw.passes = 5;
    bandwidths.push_back(cpu::measure_read_bandwidth(pool, bw));
  };
  const bool per_tg_run = !f.no_bandwidth && o.n_gen > 0;
  if (!f.no_bandwidth && !per_tg_run) probe();
  const runtime::BenchResult r =
      runtime::run_benchmark(model, o, {}, per_tg_run ? std::function<void()>(probe) : std::function<void()>());
  runtime::BenchSeries parallel;
  if (f.parallel > 0) parallel = runtime::run_parallel_generation(model, o, f.parallel);
  const runtime::BenchSeries bandwidth_series = runtime::summarize(bandwidths);
  const double bandwidth = bandwidth_series.median;
  const double bound = bandwidth > 0 ? bandwidth / static_cast<double>(bytes_per_token) : 0.0;
  // Each tg run against the bound measured just before it; the median of those.
  std::vector<double> fractions;
  if (per_tg_run)
    for (size_t i = 0; i < r.tg.tps.size() && i < bandwidths.size(); ++i)
      fractions.push_back(r.tg.tps[i] * static_cast<double>(bytes_per_token) / bandwidths[i]);
  const double fraction = fractions.empty() ? 0.0 : runtime::summarize(fractions).median;

  if (f.json) {
    nlohmann::ordered_json j;
    j["model"] = name;
    j["path"] = model->path();
    j["arch"] = model->hparams().arch;
    j["type"] = type;
    j["parameters"] = parameter_count(g);
    j["weight_bytes"] = model->weight_bytes();
    j["threads"] = r.n_threads;
    j["isa"] = isa_name(best_isa());
    if (o.offload.device)
      j["offload"] = {{"device", o.offload.device->info().name},
                      {"nodes_on_device", o.offload.nodes_on_device()},
                      {"nodes", g.nodes.size()}};
    j["n_prompt"] = o.n_prompt;
    j["n_gen"] = o.n_gen;
    j["reps"] = o.reps;
    j["pp_tps"] = r.pp.median;
    j["pp_spread"] = r.pp.stddev;
    j["tg_tps"] = r.tg.median;
    j["tg_spread"] = r.tg.stddev;
    j["pp"] = series_json(r.pp);
    j["tg"] = series_json(r.tg);
    j["bytes_read_per_token"] = bytes_per_token;
    if (bandwidth > 0) {
      j["read_bandwidth_gbs"] = bandwidth / 1e9;  // median of the measurements
      std::vector<double> gbs;
      for (double b : bandwidths) gbs.push_back(b / 1e9);
      j["read_bandwidth_runs_gbs"] = gbs;
      j["tg_bound_tps"] = bound;
      if (per_tg_run) {
        j["tg_fraction_of_bound"] = fraction;
        j["tg_fraction_runs"] = fractions;
      }
    }
    if (f.memory) j["memory"] = runtime::memory_report_json(r.memory);
    if (f.parallel > 0) {
      j["parallel"] = series_json(parallel);
      j["parallel"]["sequences"] = f.parallel;
    }
    std::cout << j.dump() << "\n";
    return 0;
  }
  auto line = [&](const char* test, int64_t n, const runtime::BenchSeries& s) {
    if (n == 0) return;
    std::printf("%s%-6lld %8.2f tok/s  ± %.2f  (min %.2f, max %.2f, %d runs)\n", test, static_cast<long long>(n),
                s.median, s.stddev, s.min, s.max, o.reps);
  };
  line("pp", o.n_prompt, r.pp);
  line("tg", o.n_gen, r.tg);
  if (f.parallel > 0)
    std::printf("tg%-6lld %8.2f tok/s  ± %.2f  with %d sequences decoded together (%.2f tok/s each)\n",
                static_cast<long long>(o.n_gen), parallel.median, parallel.stddev, f.parallel,
                parallel.median / f.parallel);
  if (bandwidth > 0) {
    std::printf("memory   read bandwidth %.1f GB/s", bandwidth / 1e9);
    if (bandwidths.size() > 1)
      std::printf(" (median; %.1f-%.1f, measured before each tg run)", bandwidth_series.min / 1e9,
                  bandwidth_series.max / 1e9);
    std::printf("; a token reads %.1f MB of weights, so tg cannot pass %.1f tok/s",
                static_cast<double>(bytes_per_token) / 1e6, bound);
    if (per_tg_run) std::printf("; tg reached %.0f%% of its run's bound (median)", 100.0 * fraction);
    std::printf("\n");
  }
  if (f.memory) std::fputs(runtime::format_memory_report(r.memory).c_str(), stdout);
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& root) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* app = root.add_subcommand("bench", "Measure prompt-processing and generation speed (tokens/s)");
  app->add_option("-m,--model", flags->model, "GGUF file or model name (default: the default model)");
  app->add_option("-p,--n-prompt", flags->options.n_prompt, "prompt tokens processed in the pp test (0 skips it)")
      ->capture_default_str();
  app->add_option("-n,--n-gen", flags->options.n_gen, "tokens generated in the tg test (0 skips it)")
      ->capture_default_str();
  app->add_option("-b,--batch", flags->options.n_batch, "tokens per forward pass in the pp test")
      ->capture_default_str();
  app->add_option("-t,--threads", flags->options.n_threads, "threads (0: all hardware threads)")
      ->capture_default_str();
  app->add_option("-r,--reps", flags->options.reps, "repetitions of each test")->capture_default_str();
  app->add_flag("--json", flags->json, "print one JSON object");
  app->add_flag("--no-bandwidth", flags->no_bandwidth, "skip the memory bandwidth probe");
  app->add_option("--parallel", flags->parallel,
                  "also measure generation of N sequences decoded together (aggregate tok/s)");
  app->add_flag("--memory", flags->memory, "report where the memory went (weights, arena, KV pool, peak RSS)");
  add_memory_flags(app, flags->memory_flags);
  add_device_flags(app, flags->device);
  return {app, [flags] { return bench(*flags); }};
}

}  // namespace hearth::cli
