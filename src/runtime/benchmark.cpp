#include "runtime/benchmark.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "core/error.h"
#include "core/thread_pool.h"
#include "graph/executor.h"
#include "runtime/kv_pool.h"
#include "runtime/sampler.h"

namespace hearth::runtime {
namespace {

// A short prompt before generation, as a user's would be; its time is not counted.
constexpr int64_t kGenPromptTokens = 4;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void check(const BenchOptions& o) {
  auto bad = [](const std::string& what) { throw Error(ErrorCode::kInvalidArgument, what); };
  if (o.n_prompt < 0 || o.n_prompt > (int64_t{1} << 20)) bad("prompt size must be in [0, 1048576]");
  if (o.n_gen < 0 || o.n_gen > (int64_t{1} << 20)) bad("generation size must be in [0, 1048576]");
  if (o.n_prompt == 0 && o.n_gen == 0) bad("nothing to measure: both the prompt and generation sizes are 0");
  if (o.n_batch < 1 || o.n_batch > 8192) bad("batch size must be in [1, 8192]");
  if (o.reps < 1 || o.reps > 1000) bad("repetitions must be in [1, 1000]");
  if (o.n_threads < 0 || o.n_threads > 1024) bad("thread count must be in [0, 1024]");
}

}  // namespace

BenchSeries summarize(std::vector<double> tps) {
  BenchSeries s;
  s.tps = tps;
  if (tps.empty()) return s;
  std::sort(tps.begin(), tps.end());
  const size_t n = tps.size();
  s.median = n % 2 ? tps[n / 2] : 0.5 * (tps[n / 2 - 1] + tps[n / 2]);
  s.min = tps.front();
  s.max = tps.back();
  double mean = 0;
  for (double v : tps) mean += v;
  mean /= static_cast<double>(n);
  double ss = 0;
  for (double v : tps) ss += (v - mean) * (v - mean);
  s.stddev = n > 1 ? std::sqrt(ss / static_cast<double>(n - 1)) : 0.0;
  return s;
}

SessionOptions bench_session_options(const models::Model& model, const BenchOptions& options) {
  check(options);
  const int64_t n_ctx = std::max(options.n_prompt, kGenPromptTokens + options.n_gen);
  if (n_ctx > model.hparams().n_ctx_train)
    throw Error(ErrorCode::kInvalidArgument, "the benchmark needs a context of " + std::to_string(n_ctx) +
                                                 " tokens, more than the model's " +
                                                 std::to_string(model.hparams().n_ctx_train));
  SessionOptions so;
  so.n_ctx = n_ctx;
  so.n_batch = std::min(options.n_batch, std::max<int64_t>(options.n_prompt, 1));
  so.n_threads = options.n_threads;
  so.kv_type = options.kv_type;
  so.offload = options.offload;
  return so;
}

BenchResult run_benchmark(std::shared_ptr<const models::Model> model, const BenchOptions& options,
                          const std::function<void(const std::string&, double)>& progress,
                          const std::function<void()>& before_tg) {
  Session session(model, bench_session_options(*model, options));

  // Random token ids, as llama-bench uses: the speed of a forward pass does
  // not depend on which tokens it sees.
  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(session.n_vocab() - 1));
  std::vector<int32_t> prompt(static_cast<size_t>(options.n_prompt));
  for (int32_t& t : prompt) t = pick(rng);
  std::vector<int32_t> gen_prompt(kGenPromptTokens);
  for (int32_t& t : gen_prompt) t = pick(rng);

  auto run_pp = [&]() {
    session.truncate(0);
    const auto t0 = std::chrono::steady_clock::now();
    session.decode(prompt);
    return static_cast<double>(options.n_prompt) / seconds_since(t0);
  };
  auto run_tg = [&](int64_t n_gen) {
    session.truncate(0);
    int32_t next = argmax(session.decode(gen_prompt));
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n_gen; ++i) next = argmax(session.decode({&next, 1}));
    return static_cast<double>(n_gen) / seconds_since(t0);
  };

  // Warm-up: faults in the mapped weights and brings the threads up.
  if (options.n_prompt > 0) run_pp();
  if (options.n_gen > 0) run_tg(std::min<int64_t>(options.n_gen, 8));

  std::vector<double> pp, tg;
  for (int r = 0; r < options.reps; ++r) {
    if (options.n_prompt > 0) {
      pp.push_back(run_pp());
      if (progress) progress("pp", pp.back());
    }
    if (options.n_gen > 0) {
      if (before_tg) before_tg();
      tg.push_back(run_tg(options.n_gen));
      if (progress) progress("tg", tg.back());
    }
  }
  BenchResult result;
  result.pp = summarize(std::move(pp));
  result.tg = summarize(std::move(tg));
  result.n_threads = session.n_threads();
  result.memory = memory_report(session);
  return result;
}

BenchSeries run_parallel_generation(std::shared_ptr<const models::Model> model, const BenchOptions& options,
                                    int n_sequences) {
  check(options);
  if (n_sequences < 1 || n_sequences > 256)
    throw Error(ErrorCode::kInvalidArgument, "parallel sequences must be in [1, 256], got " + std::to_string(n_sequences));
  if (options.n_gen < 1) throw Error(ErrorCode::kInvalidArgument, "parallel generation needs -n of at least 1");
  const int64_t n_ctx = kGenPromptTokens + options.n_gen;
  if (n_ctx > model->hparams().n_ctx_train)
    throw Error(ErrorCode::kInvalidArgument, "the benchmark needs a context of " + std::to_string(n_ctx) + " tokens");
  const auto n = static_cast<size_t>(n_sequences);
  SessionOptions so;
  so.kv_type = options.kv_type;
  const KvPoolShape shape = kv_pool_shape(*model, so);
  auto pool = std::make_shared<KvPool>(shape, n_sequences * ((n_ctx + shape.block_positions - 1) / shape.block_positions));
  std::vector<std::unique_ptr<KvSequence>> kv;
  for (size_t s = 0; s < n; ++s) kv.push_back(std::make_unique<KvSequence>(pool, n_ctx));
  ThreadPool threads(options.n_threads);
  graph::Executor executor(model->graph(), n_sequences * kGenPromptTokens, n_ctx, &threads, n_sequences,
                           options.offload);
  const int64_t n_vocab = executor.n_vocab();

  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(n_vocab - 1));
  std::vector<int32_t> tokens, positions, outputs;
  std::vector<graph::BatchSequence> parts(n);
  std::vector<int32_t> next(n);
  // One pass: `count` tokens of every sequence (its prompt, or its last token).
  auto step = [&](int64_t count, int64_t n_past, bool prompt) {
    tokens.clear();
    positions.clear();
    outputs.clear();
    for (size_t s = 0; s < n; ++s) {
      kv[s]->resize(n_past + count);
      parts[s] = {static_cast<int64_t>(tokens.size()), count, n_past, &kv[s]->view()};
      for (int64_t i = 0; i < count; ++i) {
        tokens.push_back(prompt ? pick(rng) : next[s]);
        positions.push_back(static_cast<int32_t>(n_past + i));
      }
      outputs.push_back(static_cast<int32_t>(tokens.size() - 1));
    }
    graph::Batch b;
    b.tokens = tokens.data();
    b.positions = positions.data();
    b.n_tokens = static_cast<int64_t>(tokens.size());
    b.sequences = parts.data();
    b.n_sequences = n_sequences;
    b.n_outputs = n_sequences;
    b.output_rows = outputs.data();
    const float* logits = executor.run(b);
    for (size_t s = 0; s < n; ++s) next[s] = argmax({logits + s * n_vocab, static_cast<size_t>(n_vocab)});
  };
  auto run = [&](int64_t n_gen) {
    step(kGenPromptTokens, 0, true);
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n_gen; ++i) step(1, kGenPromptTokens + i, false);
    return static_cast<double>(n_sequences * n_gen) / seconds_since(t0);
  };
  run(std::min<int64_t>(options.n_gen, 8));  // warm-up
  std::vector<double> tps;
  for (int r = 0; r < options.reps; ++r) tps.push_back(run(options.n_gen));
  return summarize(std::move(tps));
}

}  // namespace hearth::runtime
