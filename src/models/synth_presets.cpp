// Named shapes of real models for `hearth synth`, the user's changes to them, and
// the weight type names synth accepts.
#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "models/synth.h"

namespace hearth::models {
namespace {

// Rows this many per (type, row length, scale) are enough for random picks to
// look unstructured and take well under a second to quantize with K-quants.
constexpr int64_t kPresetRowPool = 512;

[[noreturn]] void bad(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "synth: " + message);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

SynthSpec base(const char* name) {
  SynthSpec s;
  s.arch = "llama";
  s.name = std::string("synthetic llama ") + name + " (random weights)";
  s.row_pool = kPresetRowPool;
  s.embedding_std = 0.0f;  // 1/sqrt(n_embd)
  s.weight_type = DType::kQ8_0;
  s.embedding_type = DType::kQ8_0;
  return s;
}

constexpr DType kSynthTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0,
                                 DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                 DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

}  // namespace

std::vector<std::string> synth_preset_names() { return {"135m", "1b", "7b"}; }

SynthSpec synth_preset(const std::string& name) {
  const std::string n = lower(name);
  if (n == "135m") {  // SmolLM2-135M
    SynthSpec s = base("135m");
    s.n_layer = 30, s.n_embd = 576, s.n_ff = 1536, s.n_head = 9, s.n_head_kv = 3, s.head_dim = 64;
    s.rope_freq_base = 100000.0f, s.tied_output = true, s.n_ctx_train = 8192;
    return s;
  }
  if (n == "1b") {  // Llama-3.2-1B (its body; the vocabulary is the copied tokenizer's)
    SynthSpec s = base("1b");
    s.n_layer = 16, s.n_embd = 2048, s.n_ff = 8192, s.n_head = 32, s.n_head_kv = 8, s.head_dim = 64;
    s.rope_freq_base = 500000.0f, s.tied_output = true, s.n_ctx_train = 131072;
    return s;
  }
  if (n == "7b") {  // Llama-2-7B
    SynthSpec s = base("7b");
    s.n_layer = 32, s.n_embd = 4096, s.n_ff = 11008, s.n_head = 32, s.n_head_kv = 32, s.head_dim = 128;
    s.rope_freq_base = 10000.0f, s.tied_output = false, s.n_ctx_train = 4096;
    return s;
  }
  std::string known;
  for (const auto& p : synth_preset_names()) known += (known.empty() ? "" : ", ") + p;
  bad("unknown preset '" + name + "' (" + known + ")");
}

void apply_synth_overrides(SynthSpec& spec, const SynthOverrides& o) {
  SynthSpec s = spec;  // spec stays as it was when the overrides are refused
  auto positive = [](const char* flag, const std::optional<int64_t>& v) {
    if (v && *v <= 0) bad(std::string(flag) + " must be positive, got " + std::to_string(*v));
  };
  positive("--layers", o.n_layer);
  positive("--embd", o.n_embd);
  positive("--ff", o.n_ff);
  positive("--heads", o.n_head);
  positive("--heads-kv", o.n_head_kv);
  positive("--head-dim", o.head_dim);
  positive("--ctx", o.n_ctx_train);
  if (o.n_layer) s.n_layer = *o.n_layer;
  if (o.n_embd) s.n_embd = *o.n_embd;
  if (o.n_ff) s.n_ff = *o.n_ff;
  if (o.n_head) s.n_head = *o.n_head;
  if (o.n_head_kv) s.n_head_kv = *o.n_head_kv;
  if (o.n_ctx_train) s.n_ctx_train = *o.n_ctx_train;
  if (o.head_dim) {
    s.head_dim = *o.head_dim;
  } else if (o.n_embd || o.n_head) {
    // In the llama family a head is its share of the embedding.
    if (s.n_embd % s.n_head != 0)
      bad("heads (" + std::to_string(s.n_head) + ") must divide embd (" + std::to_string(s.n_embd) + ")");
    s.head_dim = s.n_embd / s.n_head;
  }
  if (s.n_head % s.n_head_kv != 0)
    bad("heads_kv (" + std::to_string(s.n_head_kv) + ") must divide heads (" + std::to_string(s.n_head) +
        "); give --heads-kv");
  spec = s;
}

DType synth_type_from_name(std::string_view name) {
  const std::optional<DType> t = dtype_from_name(name);
  if (t && std::find(std::begin(kSynthTypes), std::end(kSynthTypes), *t) != std::end(kSynthTypes)) return *t;
  std::string known;
  for (DType k : kSynthTypes) known += (known.empty() ? "" : ", ") + std::string(dtype_name(k));
  bad("unknown weight type '" + std::string(name) + "' (" + known + ")");
}

}  // namespace hearth::models
