// Synthetic models: GGUF files of a real architecture and shape with random
// weights, for tests of every weight type and for speed at sizes whose real
// weights are not available (random weights run exactly as fast as real ones).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace hearth::models {

struct SynthSpec {
  std::string arch = "llama";  // llama, qwen2 (adds q/k/v biases) or gemma3
  int64_t n_layer = 2;
  int64_t n_embd = 256;
  int64_t n_ff = 512;
  int64_t n_head = 4;
  int64_t n_head_kv = 2;
  int64_t head_dim = 64;
  int64_t n_ctx_train = 2048;
  DType weight_type = DType::kQ8_0;  // matrices; norms and biases stay f32
  DType embedding_type = DType::kQ8_0;
  bool tied_output = true;  // no output.weight: the embedding table doubles as the LM head
  bool rope_freqs = false;  // llama: add rope_freqs.weight (Llama 3.1-style frequency factors)
  uint64_t seed = 1;
  float rope_freq_base = 10000.0f;
  std::string name;  // general.name; empty: "synthetic <arch>"
  // Standard deviation of the token embeddings; 0 means 1/sqrt(n_embd), the scale
  // that keeps tied-output logits near unit size on a large vocabulary.
  float embedding_std = 1.0f;
  // A GGUF file whose tokenizer.* metadata (vocabulary, merges, special ids, chat
  // template) is copied verbatim; n_vocab is then its vocabulary's size. Empty: the
  // built-in byte-level vocabulary of synth_vocab_size() tokens.
  std::string tokenizer_from;
  // 0: every matrix row is drawn and quantized afresh (exact, but the reference
  // quantizers make that slow beyond a few million weights). N > 0: N random rows
  // are quantized once per (type, row length, scale) and each matrix is streamed
  // to the file as rows picked at random from them, so memory stays bounded and a
  // 7B model takes seconds; the bytes a forward pass reads are just as many.
  int64_t row_pool = 0;
  int n_threads = 0;  // for quantizing the row pool; 0: all cores
};

// What write_synthetic_model wrote.
struct SynthSummary {
  int64_t n_vocab = 0;
  int64_t n_params = 0;     // elements in all tensors
  int64_t n_tensors = 0;
  uint64_t file_bytes = 0;
};

// A byte-level BPE vocabulary: the 256 byte tokens, a handful of merges and
// <|im_start|>, <|im_end|>, <|endoftext|>; n_vocab() of it.
int64_t synth_vocab_size();

// Checks a spec before anything is written; throws Error(kInvalidArgument) naming
// the field (or kNotFound for a missing tokenizer source).
void validate_synth_spec(const SynthSpec& spec);

// Writes the model to path atomically (throws hearth::Error on a bad spec or I/O failure).
SynthSummary write_synthetic_model(const SynthSpec& spec, const std::string& path);

// Named shapes of real models (synth_presets.cpp), llama architecture, with the
// row pool on and embedding_std 0; the vocabulary comes from tokenizer_from.
//   135m: SmolLM2-135M   1b: Llama-3.2-1B body   7b: Llama-2-7B
std::vector<std::string> synth_preset_names();
SynthSpec synth_preset(const std::string& name);  // Error(kInvalidArgument) for an unknown name

// Fields a user may change on a preset; unset ones keep the preset's value. When
// n_embd or n_head changes and head_dim is not given, head_dim becomes n_embd / n_head.
struct SynthOverrides {
  std::optional<int64_t> n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim, n_ctx_train;
};
void apply_synth_overrides(SynthSpec& spec, const SynthOverrides& o);  // Error(kInvalidArgument) when absurd

// The weight types synth writes (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k,
// q5_k, q6_k), by name, case-insensitive; Error(kInvalidArgument) listing them otherwise.
DType synth_type_from_name(std::string_view name);

}  // namespace hearth::models
