// hearth synth: writes a GGUF of a real model's architecture and shape with random
// weights and a real tokenizer, to measure speed at sizes whose weights are not here.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/model_path.h"
#include "core/error.h"
#include "formats/gguf.h"
#include "models/synth.h"

namespace hearth::cli {
namespace {

struct SynthFlags {
  std::string arch = "llama";
  std::string preset;
  std::string type = "q4_k";
  std::string embd_type;
  std::string output;
  std::string tokenizer_from;
  models::SynthOverrides overrides;
  uint64_t seed = 1;
  int threads = 0;
  bool json = false;
};

// The tokenizer's source: the named file or store model, else the default model.
std::string tokenizer_source(const std::string& name) {
  try {
    return resolve_model(name);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kNotFound) throw;
    if (!name.empty()) throw Error(ErrorCode::kNotFound, std::string("--tokenizer-from: ") + e.what());
    throw Error(ErrorCode::kNotFound, "no tokenizer source: the default model is not installed (" +
                                          model_store() + "/" + kDefaultModelFile +
                                          "); run scripts/setup.sh or pass --tokenizer-from FILE.gguf");
  }
}

int synth_unwrapped(const SynthFlags& f) {
  if (f.arch != "llama" && f.arch != "qwen2")
    throw Error(ErrorCode::kInvalidArgument, "unknown architecture '" + f.arch + "' (llama, qwen2)");
  models::SynthSpec spec = models::synth_preset(f.preset);
  spec.arch = f.arch;
  models::apply_synth_overrides(spec, f.overrides);
  spec.weight_type = models::synth_type_from_name(f.type);
  spec.embedding_type = f.embd_type.empty() ? spec.weight_type : models::synth_type_from_name(f.embd_type);
  spec.seed = f.seed;
  if (f.threads < 0) throw Error(ErrorCode::kInvalidArgument, "-t/--threads must be 0 or more");
  spec.n_threads = f.threads;
  if (f.output.empty()) throw Error(ErrorCode::kInvalidArgument, "-o/--output must name a file");
  models::validate_synth_spec(spec);  // shape errors before looking for the tokenizer
  spec.tokenizer_from = tokenizer_source(f.tokenizer_from);

  const auto t0 = std::chrono::steady_clock::now();
  const models::SynthSummary summary = models::write_synthetic_model(spec, f.output);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Types as written, fallbacks included, read back from the file itself.
  std::map<std::string, int> counts;
  for (const auto& t : formats::GgufFile::open(f.output)->tensors())
    ++counts[std::string(dtype_name(t.type))];

  if (f.json) {
    nlohmann::ordered_json j;
    j["path"] = f.output;
    j["architecture"] = spec.arch;
    j["preset"] = f.preset;
    j["hparams"] = {{"n_layer", spec.n_layer},
                    {"n_embd", spec.n_embd},
                    {"n_ff", spec.n_ff},
                    {"n_head", spec.n_head},
                    {"n_head_kv", spec.n_head_kv},
                    {"head_dim", spec.head_dim},
                    {"n_ctx_train", spec.n_ctx_train},
                    {"rope_freq_base", spec.rope_freq_base},
                    {"tied_output", spec.tied_output},
                    {"n_vocab", summary.n_vocab}};
    j["type"] = dtype_name(spec.weight_type);
    j["embedding_type"] = dtype_name(spec.embedding_type);
    j["tensor_types"] = counts;
    j["tokenizer_from"] = spec.tokenizer_from;
    j["seed"] = spec.seed;
    j["n_params"] = summary.n_params;
    j["n_tensors"] = summary.n_tensors;
    j["file_bytes"] = summary.file_bytes;
    j["seconds"] = seconds;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("wrote         %s\n", f.output.c_str());
  std::printf(
      "architecture  %s (preset %s): %lld layers, embd %lld, ff %lld, heads %lld (kv %lld), head dim %lld\n",
      spec.arch.c_str(), f.preset.c_str(), static_cast<long long>(spec.n_layer),
      static_cast<long long>(spec.n_embd), static_cast<long long>(spec.n_ff),
      static_cast<long long>(spec.n_head), static_cast<long long>(spec.n_head_kv),
      static_cast<long long>(spec.head_dim));
  std::printf("              context %lld, rope base %g, %s output\n",
              static_cast<long long>(spec.n_ctx_train), static_cast<double>(spec.rope_freq_base),
              spec.tied_output ? "tied" : "separate");
  std::printf("vocabulary    %lld tokens, tokenizer from %s\n", static_cast<long long>(summary.n_vocab),
              spec.tokenizer_from.c_str());
  std::printf("weights       %s (embedding %s), seed %llu; tensors:",
              std::string(dtype_name(spec.weight_type)).c_str(),
              std::string(dtype_name(spec.embedding_type)).c_str(),
              static_cast<unsigned long long>(spec.seed));
  for (const auto& [type, n] : counts) std::printf(" %s×%d", type.c_str(), n);
  std::printf("\nparameters    %.3f B (%lld)\n", static_cast<double>(summary.n_params) / 1e9,
              static_cast<long long>(summary.n_params));
  std::printf("file          %.1f MiB (%llu bytes) in %.1f s\n",
              static_cast<double>(summary.file_bytes) / (1 << 20),
              static_cast<unsigned long long>(summary.file_bytes), seconds);
  return 0;
}

// main prefixes "hearth synth: "; the library's own "synth: " would say it twice.
int synth(const SynthFlags& f) {
  try {
    return synth_unwrapped(f);
  } catch (const Error& e) {
    constexpr std::string_view kPrefix = "synth: ";
    const std::string_view message = e.what();
    if (!message.starts_with(kPrefix)) throw;
    throw Error(e.code(), std::string(message.substr(kPrefix.size())));
  }
}

}  // namespace

Command add_synth_command(CLI::App& root) {
  auto f = std::make_shared<SynthFlags>();
  CLI::App* app = root.add_subcommand(
      "synth",
      "Write a GGUF of a real model's shape with random weights and a real tokenizer (for benchmarks)");
  app->add_option("--preset", f->preset, "shape: 135m (SmolLM2-135M), 1b (Llama-3.2-1B), 7b (Llama-2-7B)")
      ->required();
  app->add_option("-o,--output", f->output, "GGUF file to write (atomically)")->required();
  app->add_option("--arch", f->arch, "architecture: llama, or qwen2 (adds q/k/v biases)")
      ->capture_default_str();
  app->add_option("--type", f->type,
                  "matrix type: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k (K-quants fall back to "
                  "q5_0/q5_1/q8_0 on rows that are not whole 256-blocks, as llama.cpp does)")
      ->capture_default_str();
  app->add_option("--embd-type", f->embd_type, "token embedding type (default: --type)");
  app->add_option("--tokenizer-from", f->tokenizer_from,
                  "GGUF file or store model whose tokenizer is copied (default: the default model)");
  app->add_option("--layers", f->overrides.n_layer, "override the number of layers");
  app->add_option("--embd", f->overrides.n_embd, "override the embedding width");
  app->add_option("--ff", f->overrides.n_ff, "override the feed-forward width");
  app->add_option("--heads", f->overrides.n_head, "override the attention heads");
  app->add_option("--heads-kv", f->overrides.n_head_kv, "override the key/value heads");
  app->add_option("--head-dim", f->overrides.head_dim,
                  "override the head size (default with --embd/--heads: embd/heads)");
  app->add_option("--ctx", f->overrides.n_ctx_train,
                  "override the training context length written to the file");
  app->add_option("--seed", f->seed, "random seed of the weights")->capture_default_str();
  app->add_option("-t,--threads", f->threads, "threads for quantizing (0: all cores)")->capture_default_str();
  app->add_flag("--json", f->json, "print one JSON object describing what was written");
  return {app, [f] { return synth(*f); }};
}

}  // namespace hearth::cli
