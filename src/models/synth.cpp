#include "models/synth.h"

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "formats/gguf.h"
#include "models/unicode.h"
#include "quant/quantize.h"

namespace hearth::models {
namespace {

using formats::GgufValue;

const std::vector<std::pair<std::string, std::string>>& synth_merges() {
  static const std::vector<std::pair<std::string, std::string>> merges = {
      {"t", "h"}, {"th", "e"}, {"Ġ", "t"}, {"Ġt", "he"}, {"i", "n"}, {"a", "n"}, {"e", "r"}, {"o", "n"}};
  return merges;
}

constexpr const char* kSpecials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};

void add_tokenizer(formats::GgufWriter& w) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(unicode::byte_to_text(static_cast<uint8_t>(b)));
  std::vector<int32_t> types(tokens.size(), 1);
  std::vector<std::string> merges;
  for (const auto& [a, b] : synth_merges()) {
    merges.push_back(a + " " + b);
    tokens.push_back(a + b);
    types.push_back(1);
  }
  for (const char* s : kSpecials) {
    tokens.emplace_back(s);
    types.push_back(3);
  }
  const auto first_special = static_cast<uint32_t>(tokens.size() - 3);
  w.set("tokenizer.ggml.model", GgufValue::str("gpt2"));
  w.set("tokenizer.ggml.pre", GgufValue::str("gpt2"));
  w.set("tokenizer.ggml.tokens", GgufValue::string_array(tokens));
  w.set("tokenizer.ggml.token_type", GgufValue::i32_array(types));
  w.set("tokenizer.ggml.merges", GgufValue::string_array(merges));
  w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(first_special + 1));
  w.set("tokenizer.ggml.eos_token_id", GgufValue::u32(first_special + 2));
  w.set("tokenizer.ggml.add_bos_token", GgufValue::make_bool(false));
  w.set("tokenizer.chat_template",
        GgufValue::str("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
                       "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' "
                       "}}{% endif %}"));
}

class Weights {
 public:
  Weights(formats::GgufWriter& w, uint64_t seed) : w_(w), rng_(seed) {}

  void matrix(const std::string& name, DType type, int64_t cols, int64_t rows, float stddev) {
    std::normal_distribution<float> dist(0.0f, stddev);
    std::vector<float> row(static_cast<size_t>(cols));
    const int64_t row_bytes = dtype_row_bytes(type, cols);
    std::vector<uint8_t> data(static_cast<size_t>(row_bytes * rows));
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& v : row) v = dist(rng_);
      quant::quantize_row(type, row.data(), data.data() + r * row_bytes, cols);
    }
    std::vector<int64_t> dims = {cols};
    if (rows > 1) dims.push_back(rows);
    w_.add_tensor(name, type, dims, data.data(), data.size());
  }

  void vector(const std::string& name, int64_t n, float mean, float stddev) {
    std::normal_distribution<float> dist(mean, stddev);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = dist(rng_);
    w_.add_tensor(name, DType::kF32, {n}, v.data(), v.size() * sizeof(float));
  }

 private:
  formats::GgufWriter& w_;
  std::mt19937_64 rng_;
};

}  // namespace

int64_t synth_vocab_size() { return 256 + static_cast<int64_t>(synth_merges().size()) + 3; }

void write_synthetic_model(const SynthSpec& s, const std::string& path) {
  if (s.arch != "llama" && s.arch != "qwen2" && s.arch != "gemma3")
    throw Error(ErrorCode::kInvalidArgument, "synth: unknown architecture '" + s.arch + "' (llama, qwen2, gemma3)");
  if (s.n_layer <= 0 || s.n_embd <= 0 || s.n_ff <= 0 || s.n_head <= 0 || s.n_head_kv <= 0 || s.head_dim <= 0 ||
      s.n_head % s.n_head_kv != 0 || s.head_dim % 2 != 0)
    throw Error(ErrorCode::kInvalidArgument, "synth: inconsistent model shape");
  for (DType t : {s.weight_type, s.embedding_type})
    if (!quant::can_quantize(t))
      throw Error(ErrorCode::kInvalidArgument, "synth: cannot write weights of type " + std::string(dtype_name(t)));

  formats::GgufWriter w;
  const std::string& a = s.arch;
  const int64_t n_vocab = synth_vocab_size();
  w.set("general.architecture", GgufValue::str(a));
  w.set("general.name", GgufValue::str("synthetic " + a));
  w.set(a + ".block_count", GgufValue::u32(static_cast<uint32_t>(s.n_layer)));
  w.set(a + ".context_length", GgufValue::u32(static_cast<uint32_t>(s.n_ctx_train)));
  w.set(a + ".embedding_length", GgufValue::u32(static_cast<uint32_t>(s.n_embd)));
  w.set(a + ".feed_forward_length", GgufValue::u32(static_cast<uint32_t>(s.n_ff)));
  w.set(a + ".attention.head_count", GgufValue::u32(static_cast<uint32_t>(s.n_head)));
  w.set(a + ".attention.head_count_kv", GgufValue::u32(static_cast<uint32_t>(s.n_head_kv)));
  w.set(a + ".attention.key_length", GgufValue::u32(static_cast<uint32_t>(s.head_dim)));
  w.set(a + ".attention.value_length", GgufValue::u32(static_cast<uint32_t>(s.head_dim)));
  w.set(a + ".rope.dimension_count", GgufValue::u32(static_cast<uint32_t>(s.head_dim)));
  w.set(a + ".rope.freq_base", GgufValue::f32(10000.0f));
  w.set(a + ".attention.layer_norm_rms_epsilon", GgufValue::f32(1e-5f));
  if (a == "gemma3") w.set(a + ".attention.sliding_window", GgufValue::u32(8));
  add_tokenizer(w);

  Weights weights(w, s.seed);
  const float in_std = 1.0f / std::sqrt(static_cast<float>(s.n_embd));
  const float ff_std = 1.0f / std::sqrt(static_cast<float>(s.n_ff));
  const int64_t q_dim = s.n_head * s.head_dim, kv_dim = s.n_head_kv * s.head_dim;
  weights.matrix("token_embd.weight", s.embedding_type, s.n_embd, n_vocab, 1.0f);
  if (s.rope_freqs) {
    // Long wavelengths slowed down, short ones kept: the shape of the Llama 3.1 correction.
    std::vector<float> factors(static_cast<size_t>(s.head_dim / 2));
    for (size_t i = 0; i < factors.size(); ++i)
      factors[i] = 1.0f + 7.0f * static_cast<float>(i) / static_cast<float>(factors.size() - 1);
    w.add_tensor("rope_freqs.weight", DType::kF32, {static_cast<int64_t>(factors.size())}, factors.data(),
                 factors.size() * sizeof(float));
  }
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    weights.vector(b + "attn_norm.weight", s.n_embd, 1.0f, 0.1f);
    weights.matrix(b + "attn_q.weight", s.weight_type, s.n_embd, q_dim, in_std);
    weights.matrix(b + "attn_k.weight", s.weight_type, s.n_embd, kv_dim, in_std);
    weights.matrix(b + "attn_v.weight", s.weight_type, s.n_embd, kv_dim, in_std);
    if (a == "qwen2") {
      weights.vector(b + "attn_q.bias", q_dim, 0.0f, 0.1f);
      weights.vector(b + "attn_k.bias", kv_dim, 0.0f, 0.1f);
      weights.vector(b + "attn_v.bias", kv_dim, 0.0f, 0.1f);
    }
    if (a == "gemma3") {
      weights.vector(b + "attn_q_norm.weight", s.head_dim, 1.0f, 0.1f);
      weights.vector(b + "attn_k_norm.weight", s.head_dim, 1.0f, 0.1f);
      weights.vector(b + "post_attention_norm.weight", s.n_embd, 1.0f, 0.1f);
      weights.vector(b + "post_ffw_norm.weight", s.n_embd, 1.0f, 0.1f);
    }
    weights.matrix(b + "attn_output.weight", s.weight_type, q_dim, s.n_embd, 1.0f / std::sqrt(static_cast<float>(q_dim)));
    weights.vector(b + "ffn_norm.weight", s.n_embd, 1.0f, 0.1f);
    weights.matrix(b + "ffn_gate.weight", s.weight_type, s.n_embd, s.n_ff, in_std);
    weights.matrix(b + "ffn_up.weight", s.weight_type, s.n_embd, s.n_ff, in_std);
    weights.matrix(b + "ffn_down.weight", s.weight_type, s.n_ff, s.n_embd, ff_std);
  }
  weights.vector("output_norm.weight", s.n_embd, 1.0f, 0.1f);
  if (!s.tied_output) weights.matrix("output.weight", s.weight_type, s.n_embd, n_vocab, in_std);
  w.write(path);
}

}  // namespace hearth::models
