#include "models/hparams.h"

#include "core/error.h"
#include "formats/gguf.h"

namespace hearth::models {
namespace {

int64_t positive(const formats::GgufFile& f, const std::string& key, int64_t v, int64_t limit) {
  if (v <= 0 || v > limit)
    throw Error(ErrorCode::kFormat, f.path() + ": " + key + " = " + std::to_string(v) +
                                        " is out of range (1.." + std::to_string(limit) + ")");
  return v;
}

}  // namespace

HParams read_hparams(const formats::GgufFile& f) {
  HParams h;
  h.arch = f.get_string("general.architecture");
  const std::string p = h.arch + ".";
  auto req = [&](const char* key, int64_t limit) {
    return positive(f, p + key, static_cast<int64_t>(f.get_uint(p + key)), limit);
  };
  auto opt = [&](const char* key, int64_t fallback, int64_t limit) {
    return positive(f, p + key, static_cast<int64_t>(f.get_uint_or(p + key, static_cast<uint64_t>(fallback))), limit);
  };
  h.n_layer = req("block_count", 4096);
  h.n_embd = req("embedding_length", 1 << 20);
  h.n_ff = req("feed_forward_length", 1 << 22);
  h.n_head = req("attention.head_count", 1 << 14);
  h.n_head_kv = opt("attention.head_count_kv", h.n_head, h.n_head);
  if (h.n_head % h.n_head_kv != 0)
    throw Error(ErrorCode::kFormat, f.path() + ": " + std::to_string(h.n_head) +
                                        " attention heads do not divide into " + std::to_string(h.n_head_kv) +
                                        " key/value heads");
  const int64_t default_head = h.n_embd / h.n_head;
  h.head_dim_k = opt("attention.key_length", default_head, 1 << 14);
  h.head_dim_v = opt("attention.value_length", default_head, 1 << 14);
  h.n_rot = opt("rope.dimension_count", h.head_dim_k, h.head_dim_k);
  if (h.n_rot % 2 != 0) throw Error(ErrorCode::kFormat, f.path() + ": " + p + "rope.dimension_count is odd");
  h.n_ctx_train = opt("context_length", 2048, int64_t{1} << 24);
  h.norm_eps = static_cast<float>(f.get_float_or(p + "attention.layer_norm_rms_epsilon", 1e-5));
  if (!(h.norm_eps > 0 && h.norm_eps < 1))
    throw Error(ErrorCode::kFormat, f.path() + ": " + p + "attention.layer_norm_rms_epsilon is out of range");
  h.rope_freq_base = static_cast<float>(f.get_float_or(p + "rope.freq_base", 10000.0));
  if (!(h.rope_freq_base > 1)) throw Error(ErrorCode::kFormat, f.path() + ": " + p + "rope.freq_base must exceed 1");
  const std::string scaling = f.get_string_or(p + "rope.scaling.type", "none");
  if (scaling == "linear") {
    const double factor = f.get_float_or(p + "rope.scaling.factor", 1.0);
    if (!(factor >= 1 && factor < 1e6))
      throw Error(ErrorCode::kFormat, f.path() + ": " + p + "rope.scaling.factor is out of range");
    h.rope_freq_scale = static_cast<float>(1.0 / factor);
  } else if (scaling != "none") {
    throw Error(ErrorCode::kUnsupported, f.path() + ": rope scaling '" + scaling + "' is not supported yet");
  }
  const formats::GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
  if (!embd || embd->dims.size() != 2)
    throw Error(ErrorCode::kFormat, f.path() + ": tensor 'token_embd.weight' is missing or not two-dimensional");
  h.n_vocab = embd->dims[1];
  h.sliding_window = static_cast<int64_t>(f.get_uint_or(p + "attention.sliding_window", 0));
  return h;
}

}  // namespace hearth::models
