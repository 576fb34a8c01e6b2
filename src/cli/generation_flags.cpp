#include "cli/generation_flags.h"

#include <chrono>
#include <thread>

#include "core/error.h"
#include "models/model.h"

namespace hearth::cli {

void add_generation_flags(CLI::App* app, GenerationFlags& f) {
  app->add_option("-m,--model", f.model, "GGUF file or model name in the store (default: the default model)");
  app->add_option("-n,--n-predict", f.n_predict, "tokens to generate at most")->capture_default_str();
  app->add_option("-c,--ctx-size", f.n_ctx, "context size in tokens (0: model's, at most 4096)")->capture_default_str();
  app->add_option("-b,--batch-size", f.n_batch, "tokens per forward pass in prompt processing")->capture_default_str();
  app->add_option("-t,--threads", f.n_threads, "threads (0: all cores)")->capture_default_str();
  app->add_option("--temp", f.temperature, "temperature (0: greedy)")->capture_default_str();
  app->add_option("--top-k", f.top_k, "keep the k most likely tokens (0: off)")->capture_default_str();
  app->add_option("--top-p", f.top_p, "keep the smallest set with this total probability (1: off)")->capture_default_str();
  app->add_option("--min-p", f.min_p, "drop tokens below this fraction of the best's probability (0: off)")->capture_default_str();
  app->add_option("--repeat-penalty", f.repeat_penalty, "penalise recently seen tokens (1: off)")->capture_default_str();
  app->add_option("--repeat-last-n", f.repeat_last_n, "how many recent tokens the penalties consider")->capture_default_str();
  app->add_option("--presence-penalty", f.presence_penalty, "subtract from tokens already present")->capture_default_str();
  app->add_option("--frequency-penalty", f.frequency_penalty, "subtract per occurrence")->capture_default_str();
  app->add_option("--seed", f.seed, "random seed (default: from the clock; printed with --json)");
  add_device_flags(app, f.device);
  add_memory_flags(app, f.memory);
}

runtime::SamplerParams sampler_params(const GenerationFlags& f, uint64_t* seed_used) {
  if (f.n_predict < 0) throw Error(ErrorCode::kInvalidArgument, "-n/--n-predict must be 0 or more, got " + std::to_string(f.n_predict));
  if (f.n_ctx < 0) throw Error(ErrorCode::kInvalidArgument, "-c/--ctx-size must be 0 or more, got " + std::to_string(f.n_ctx));
  if (f.n_batch <= 0) throw Error(ErrorCode::kInvalidArgument, "-b/--batch-size must be positive, got " + std::to_string(f.n_batch));
  if (f.n_threads < 0 || f.n_threads > 1024)
    throw Error(ErrorCode::kInvalidArgument, "-t/--threads must be within 0..1024, got " + std::to_string(f.n_threads));
  runtime::SamplerParams p;
  p.temperature = f.temperature;
  p.top_k = f.top_k;
  p.top_p = f.top_p;
  p.min_p = f.min_p;
  p.repeat_penalty = f.repeat_penalty;
  p.repeat_last_n = f.repeat_last_n;
  p.presence_penalty = f.presence_penalty;
  p.frequency_penalty = f.frequency_penalty;
  p.seed = f.seed ? *f.seed
                  : static_cast<uint64_t>(std::chrono::high_resolution_clock::now().time_since_epoch().count());
  if (seed_used) *seed_used = p.seed;
  runtime::validate(p);
  return p;
}

std::unique_ptr<runtime::Session> open_session(const GenerationFlags& f) {
  auto model = load_model(f.model, f.memory);
  runtime::SessionOptions options;
  options.n_ctx = f.n_ctx;
  options.n_batch = f.n_batch;
  options.n_threads = f.n_threads;
  apply_memory_flags(*model, f.memory, options);
  options.offload = offload_from_flags(*model, f.device, runtime::resolve_context(*model, f.n_ctx));
  return std::make_unique<runtime::Session>(std::move(model), options);
}

}  // namespace hearth::cli
