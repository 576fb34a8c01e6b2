// Synthetic models: GGUF files of a real architecture and shape with random
// weights, for tests of every weight type and (later) speed at sizes whose
// real weights are not available. Random weights run exactly as fast as real ones.
#pragma once

#include <cstdint>
#include <string>

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
};

// A byte-level BPE vocabulary: the 256 byte tokens, a handful of merges and
// <|im_start|>, <|im_end|>, <|endoftext|>; n_vocab() of it.
int64_t synth_vocab_size();

// Writes the model to path (throws hearth::Error on a bad spec or I/O failure).
void write_synthetic_model(const SynthSpec& spec, const std::string& path);

}  // namespace hearth::models
