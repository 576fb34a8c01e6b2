// hearth info: what a GGUF model is — architecture, hyper-parameters, tensors,
// vocabulary and chat template.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_path.h"
#include "formats/gguf.h"
#include "models/model.h"

namespace hearth::cli {
namespace {

struct InfoFlags {
  std::string model;
  bool json = false;
  bool tensors = false;
};

int info(const InfoFlags& f) {
  auto model = models::Model::load(resolve_model(f.model));
  const models::HParams& h = model->hparams();
  const formats::GgufFile& file = model->file();
  nlohmann::ordered_json j;
  j["path"] = model->path();
  j["gguf_version"] = file.version();
  j["architecture"] = h.arch;
  j["name"] = file.get_string_or("general.name", "");
  j["hparams"] = {{"n_layer", h.n_layer},         {"n_embd", h.n_embd},          {"n_ff", h.n_ff},
                  {"n_head", h.n_head},           {"n_head_kv", h.n_head_kv},    {"head_dim_k", h.head_dim_k},
                  {"head_dim_v", h.head_dim_v},   {"n_rot", h.n_rot},            {"n_ctx_train", h.n_ctx_train},
                  {"norm_eps", h.norm_eps},       {"rope_freq_base", h.rope_freq_base},
                  {"rope_freq_scale", h.rope_freq_scale}, {"sliding_window", h.sliding_window}};
  j["n_vocab"] = model->tokenizer().n_vocab();
  j["tokenizer"] = file.get_string_or("tokenizer.ggml.model", "");
  j["pre_tokenizer"] = file.get_string_or("tokenizer.ggml.pre", "");
  j["weight_bytes"] = model->weight_bytes();
  j["chat_template"] = model->chat_template();
  nlohmann::ordered_json counts = nlohmann::ordered_json::object();
  nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
  for (const auto& t : file.tensors()) {
    const std::string type(dtype_name(t.type));
    counts[type] = counts.value(type, 0) + 1;
    tensors.push_back({{"name", t.name}, {"type", type}, {"dims", t.dims}, {"bytes", t.n_bytes()}});
  }
  j["tensor_types"] = counts;
  j["n_tensors"] = file.tensors().size();
  if (f.json) {
    j["tensors"] = tensors;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("model         %s\n", model->path().c_str());
  std::printf("name          %s (GGUF v%u)\n", j["name"].get<std::string>().c_str(), file.version());
  std::printf("architecture  %s: %lld layers, embd %lld, ff %lld, heads %lld (kv %lld), head dim %lld\n",
              h.arch.c_str(), static_cast<long long>(h.n_layer), static_cast<long long>(h.n_embd),
              static_cast<long long>(h.n_ff), static_cast<long long>(h.n_head), static_cast<long long>(h.n_head_kv),
              static_cast<long long>(h.head_dim_k));
  std::printf("context       %lld (trained), rope base %g, rms eps %g\n", static_cast<long long>(h.n_ctx_train),
              h.rope_freq_base, h.norm_eps);
  std::printf("vocabulary    %d tokens (%s, pre-tokenizer %s)\n", model->tokenizer().n_vocab(),
              j["tokenizer"].get<std::string>().c_str(), j["pre_tokenizer"].get<std::string>().c_str());
  std::printf("weights       %.1f MiB in %zu tensors:", static_cast<double>(model->weight_bytes()) / (1 << 20),
              file.tensors().size());
  for (const auto& [type, n] : counts.items()) std::printf(" %s×%d", type.c_str(), n.get<int>());
  std::printf("\nchat template %s\n", model->chat_template().empty() ? "(none: a built-in one is used)" : "(from the file)");
  if (f.tensors)
    for (const auto& t : file.tensors()) {
      std::string dims;
      for (auto d : t.dims) dims += (dims.empty() ? "" : "x") + std::to_string(d);
      std::printf("  %-40s %-6s %-16s %lld bytes\n", t.name.c_str(), std::string(dtype_name(t.type)).c_str(),
                  dims.c_str(), static_cast<long long>(t.n_bytes()));
    }
  return 0;
}

}  // namespace

Command add_info_command(CLI::App& root) {
  auto flags = std::make_shared<InfoFlags>();
  CLI::App* app = root.add_subcommand("info", "Describe a GGUF model");
  app->add_option("model", flags->model, "GGUF file or model name (default: the default model)");
  app->add_option("-m,--model", flags->model, "same as the positional argument");
  app->add_flag("--json", flags->json, "print JSON (includes the full tensor list)");
  app->add_flag("--tensors", flags->tensors, "list every tensor");
  return {app, [flags] { return info(*flags); }};
}

}  // namespace hearth::cli
