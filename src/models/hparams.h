// Hyper-parameters of a language model, read from GGUF metadata under the
// architecture's prefix (llama.block_count, gemma3.embedding_length, ...).
#pragma once

#include <cstdint>
#include <string>

namespace hearth::formats {
class GgufFile;
}

namespace hearth::models {

struct HParams {
  std::string arch;
  int64_t n_layer = 0;
  int64_t n_embd = 0;
  int64_t n_ff = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim_k = 0;
  int64_t head_dim_v = 0;
  int64_t n_rot = 0;
  int64_t n_ctx_train = 0;
  int64_t n_vocab = 0;
  float norm_eps = 1e-5f;
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // 1 / linear scaling factor
  int64_t sliding_window = 0;
};

// Reads and validates; throws Error(kFormat) naming the file and key for a
// missing or impossible value.
HParams read_hparams(const formats::GgufFile& file);

}  // namespace hearth::models
