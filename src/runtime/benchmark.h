// Speed benchmark of a model, as llama-bench measures it: prompt processing
// (pp: one prompt of n_prompt tokens in batches) and text generation (tg:
// n_gen tokens decoded one at a time after a short prompt), each repeated and
// summarised by median and spread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "graph/device_executor.h"
#include "models/model.h"
#include "runtime/memory_report.h"
#include "runtime/session.h"

namespace hearth::runtime {

struct BenchOptions {
  int64_t n_prompt = 512;  // pp test size (0 skips pp)
  int64_t n_gen = 128;     // tg test size (0 skips tg)
  int64_t n_batch = 512;   // tokens per forward pass in pp
  int reps = 5;
  int n_threads = 0;       // 0: all hardware threads
  uint64_t seed = 1;       // picks the (random) token ids
  DType kv_type = DType::kF16;
  graph::Offload offload;  // nodes to run on an OpenCL device; none: all on the CPU
};

struct BenchSeries {
  std::vector<double> tps;  // tokens per second of each repetition, in run order
  double median = 0;
  double stddev = 0;  // sample standard deviation (0 with one repetition)
  double min = 0;
  double max = 0;
};

struct BenchResult {
  BenchSeries pp;
  BenchSeries tg;
  int n_threads = 0;
  MemoryReport memory;  // taken after the last run
};

// The session the benchmark runs in: a context that holds the larger test.
// Throws Error for invalid options or a context beyond the model's.
SessionOptions bench_session_options(const models::Model& model, const BenchOptions& options);

// Summary statistics of a series of per-repetition figures.
BenchSeries summarize(std::vector<double> tps);

// Generation with n_sequences sequences decoded together, each pass one token
// of every sequence (continuous batching in its steady state), after a prompt
// of a few tokens each: aggregate tokens/s over options.reps repetitions, after
// a warm-up. Uses n_gen, n_threads, kv_type and seed from options.
BenchSeries run_parallel_generation(std::shared_ptr<const models::Model> model, const BenchOptions& options,
                                    int n_sequences);

// Runs one untimed warm-up of each test, then reps repetitions, alternating pp
// and tg so that drift on a noisy machine hits both alike. progress (optional)
// is called after each timed run with "pp" or "tg" and its tokens/s;
// before_tg (optional) just before each timed tg run, outside its timing (the
// CLI measures memory bandwidth there, so each run has its own bound).
BenchResult run_benchmark(std::shared_ptr<const models::Model> model, const BenchOptions& options,
                          const std::function<void(const std::string&, double)>& progress = {},
                          const std::function<void()>& before_tg = {});

}  // namespace hearth::runtime
