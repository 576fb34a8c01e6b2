// Writes synthetic models: plans the tensors of a spec, draws (or pools) random rows,
// and streams them through the GGUF writer with a built-in or a copied tokenizer.
#include "models/synth.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/gguf.h"
#include "models/model_quantizer.h"
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
  w.set("tokenizer.ggml.pre", GgufValue::str("gpt-2"));  // llama.cpp's name for it
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

// One tensor to write, in file order. Planned up front so that the size of the
// file is known (and checked against the disk) before any work is done.
struct TensorPlan {
  enum class Kind { kMatrix, kVector, kRopeFactors };
  Kind kind;
  std::string name;
  DType type;
  int64_t cols, rows;  // rows == 1 for a vector
  float mean, stddev;

  int64_t n_elements() const { return cols * rows; }
  int64_t n_bytes() const { return dtype_row_bytes(type, cols) * rows; }
};

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t state = a ^ (b * 0xd6e8feb86659fd93ull);
  return splitmix64(state);
}

// Random rows of one (type, row length, scale), quantized once.
struct RowPool {
  int64_t row_bytes = 0;
  int64_t n_rows = 0;
  std::vector<uint8_t> data;
};

std::shared_ptr<const RowPool> build_row_pool(DType type, int64_t cols, float stddev, int64_t n_rows,
                                              uint64_t seed, ThreadPool& threads) {
  auto pool = std::make_shared<RowPool>();
  pool->row_bytes = dtype_row_bytes(type, cols);
  pool->n_rows = n_rows;
  pool->data.resize(static_cast<size_t>(pool->row_bytes * n_rows));
  // Each row has its own generator, so the pool does not depend on the thread count.
  std::atomic<bool> failed{false};
  threads.parallel_for(n_rows, [&](int64_t r, int) {
    try {
      std::mt19937_64 rng(mix(seed, static_cast<uint64_t>(r)));
      std::normal_distribution<float> dist(0.0f, stddev);
      std::vector<float> row(static_cast<size_t>(cols));
      for (auto& v : row) v = dist(rng);
      quant::quantize_row(type, row.data(), pool->data.data() + r * pool->row_bytes, cols);
    } catch (...) {  // parallel_for's functions must not throw
      failed = true;
    }
  });
  if (failed)
    throw Error(ErrorCode::kInternal, "synth: cannot quantize rows of " + std::to_string(cols) + " to " +
                                          std::string(dtype_name(type)));
  return pool;
}

class Weights {
 public:
  Weights(formats::GgufWriter& w, const SynthSpec& s)
      : w_(w), rng_(s.seed), seed_(s.seed), pool_rows_(s.row_pool), n_threads_(s.n_threads) {}

  void add(const TensorPlan& t) {
    switch (t.kind) {
      case TensorPlan::Kind::kMatrix:
        if (pool_rows_ > 0) {
          pooled_matrix(t);
        } else {
          matrix(t.name, t.type, t.cols, t.rows, t.stddev);
        }
        break;
      case TensorPlan::Kind::kVector: vector(t.name, t.cols, t.mean, t.stddev); break;
      case TensorPlan::Kind::kRopeFactors: rope_factors(t.name, t.cols); break;
    }
    ++index_;
  }

 private:
  // Every row drawn afresh: the small test models, byte for byte as they always were.
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

  // Rows picked at random from a pool and streamed out while the file is written.
  void pooled_matrix(const TensorPlan& t) {
    uint32_t std_bits = 0;
    std::memcpy(&std_bits, &t.stddev, sizeof std_bits);
    const auto key = std::make_tuple(t.type, t.cols, std_bits);
    auto it = pools_.find(key);
    if (it == pools_.end()) {
      if (!threads_) threads_ = std::make_unique<ThreadPool>(n_threads_);
      const uint64_t pool_seed = mix(mix(seed_, static_cast<uint64_t>(t.type)), mix(t.cols, std_bits));
      it = pools_.emplace(key, build_row_pool(t.type, t.cols, t.stddev, pool_rows_, pool_seed, *threads_))
               .first;
    }
    std::vector<int64_t> dims = {t.cols};
    if (t.rows > 1) dims.push_back(t.rows);
    const uint64_t tensor_seed = mix(seed_ ^ 0x5eed, static_cast<uint64_t>(index_));
    w_.add_tensor_stream(
        t.name, t.type, dims,
        [pool = it->second, rows = t.rows, tensor_seed](const formats::GgufWriter::TensorSink& sink) {
          // Chunks of a few MiB: large enough that the writer passes them straight
          // to write(2), small enough to keep memory flat.
          constexpr size_t kChunk = 4 << 20;
          const auto row_bytes = static_cast<size_t>(pool->row_bytes);
          std::vector<uint8_t> chunk;
          chunk.reserve(std::max(kChunk, row_bytes));
          uint64_t state = tensor_seed;
          for (int64_t r = 0; r < rows; ++r) {
            if (chunk.size() + row_bytes > chunk.capacity()) {
              sink(chunk.data(), chunk.size());
              chunk.clear();
            }
            const uint64_t pick = splitmix64(state) % static_cast<uint64_t>(pool->n_rows);
            const uint8_t* src = pool->data.data() + pick * row_bytes;
            chunk.insert(chunk.end(), src, src + row_bytes);
          }
          if (!chunk.empty()) sink(chunk.data(), chunk.size());
        });
  }

  void vector(const std::string& name, int64_t n, float mean, float stddev) {
    std::normal_distribution<float> dist(mean, stddev);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = dist(rng_);
    w_.add_tensor(name, DType::kF32, {n}, v.data(), v.size() * sizeof(float));
  }

  void rope_factors(const std::string& name, int64_t n) {
    // Long wavelengths slowed down, short ones kept: the shape of the Llama 3.1 correction.
    std::vector<float> factors(static_cast<size_t>(n));
    for (size_t i = 0; i < factors.size(); ++i)
      factors[i] =
          1.0f + 7.0f * static_cast<float>(i) / static_cast<float>(std::max<size_t>(factors.size() - 1, 1));
    w_.add_tensor(name, DType::kF32, {n}, factors.data(), factors.size() * sizeof(float));
  }

  formats::GgufWriter& w_;
  std::mt19937_64 rng_;
  uint64_t seed_;
  int64_t pool_rows_;
  int n_threads_;
  int64_t index_ = 0;
  std::unique_ptr<ThreadPool> threads_;
  std::map<std::tuple<DType, int64_t, uint32_t>, std::shared_ptr<const RowPool>> pools_;
};

std::vector<TensorPlan> plan_tensors(const SynthSpec& s, int64_t n_vocab) {
  using K = TensorPlan::Kind;
  const std::string& a = s.arch;
  const float in_std = 1.0f / std::sqrt(static_cast<float>(s.n_embd));
  const float ff_std = 1.0f / std::sqrt(static_cast<float>(s.n_ff));
  const int64_t q_dim = s.n_head * s.head_dim, kv_dim = s.n_head_kv * s.head_dim;
  const float out_std = 1.0f / std::sqrt(static_cast<float>(q_dim));
  const DType embd_type = type_for_row_length(s.embedding_type, s.n_embd);
  const DType in_type = type_for_row_length(s.weight_type, s.n_embd);
  const DType out_type = type_for_row_length(s.weight_type, q_dim);
  const DType ff_type = type_for_row_length(s.weight_type, s.n_ff);
  std::vector<TensorPlan> p;
  auto matrix = [&](std::string name, DType type, int64_t cols, int64_t rows, float stddev) {
    p.push_back({K::kMatrix, std::move(name), type, cols, rows, 0.0f, stddev});
  };
  auto vector = [&](std::string name, int64_t n, float mean, float stddev) {
    p.push_back({K::kVector, std::move(name), DType::kF32, n, 1, mean, stddev});
  };
  matrix("token_embd.weight", embd_type, s.n_embd, n_vocab, s.embedding_std > 0 ? s.embedding_std : in_std);
  if (s.rope_freqs) p.push_back({K::kRopeFactors, "rope_freqs.weight", DType::kF32, s.head_dim / 2, 1, 0, 0});
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    vector(b + "attn_norm.weight", s.n_embd, 1.0f, 0.1f);
    matrix(b + "attn_q.weight", in_type, s.n_embd, q_dim, in_std);
    matrix(b + "attn_k.weight", in_type, s.n_embd, kv_dim, in_std);
    matrix(b + "attn_v.weight", in_type, s.n_embd, kv_dim, in_std);
    if (a == "qwen2") {
      vector(b + "attn_q.bias", q_dim, 0.0f, 0.1f);
      vector(b + "attn_k.bias", kv_dim, 0.0f, 0.1f);
      vector(b + "attn_v.bias", kv_dim, 0.0f, 0.1f);
    }
    if (a == "gemma3") {
      vector(b + "attn_q_norm.weight", s.head_dim, 1.0f, 0.1f);
      vector(b + "attn_k_norm.weight", s.head_dim, 1.0f, 0.1f);
      vector(b + "post_attention_norm.weight", s.n_embd, 1.0f, 0.1f);
      vector(b + "post_ffw_norm.weight", s.n_embd, 1.0f, 0.1f);
    }
    matrix(b + "attn_output.weight", out_type, q_dim, s.n_embd, out_std);
    vector(b + "ffn_norm.weight", s.n_embd, 1.0f, 0.1f);
    matrix(b + "ffn_gate.weight", in_type, s.n_embd, s.n_ff, in_std);
    matrix(b + "ffn_up.weight", in_type, s.n_embd, s.n_ff, in_std);
    matrix(b + "ffn_down.weight", ff_type, s.n_ff, s.n_embd, ff_std);
  }
  vector("output_norm.weight", s.n_embd, 1.0f, 0.1f);
  if (!s.tied_output) matrix("output.weight", in_type, s.n_embd, n_vocab, in_std);
  return p;
}

// The tokenizer.* keys of another model, kept mapped until the file is written
// because the values read from it point into the mapping.
struct TokenizerSource {
  std::unique_ptr<formats::GgufFile> file;
  int64_t n_vocab = 0;
};

TokenizerSource open_tokenizer_source(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(ErrorCode::kNotFound,
                "synth: tokenizer source '" + path + "' does not exist or is not a file");
  TokenizerSource src;
  src.file = formats::GgufFile::open(path);
  const GgufValue* tokens = src.file->find("tokenizer.ggml.tokens");
  if (!tokens || tokens->type() != formats::GgufType::kArray ||
      tokens->array_type() != formats::GgufType::kString || tokens->array_size() == 0)
    throw Error(ErrorCode::kFormat, "synth: tokenizer source '" + path +
                                        "' has no vocabulary (tokenizer.ggml.tokens, an array of strings)");
  src.n_vocab = static_cast<int64_t>(tokens->array_size());
  return src;
}

void copy_tokenizer(formats::GgufWriter& w, const formats::GgufFile& src) {
  for (const auto& [key, value] : src.metadata())
    if (key.starts_with("tokenizer.")) w.set(key, value);
}

// Fails before the slow part when the file could never be written: a missing or
// read-only directory, or a disk without room for the file.
void check_destination(const std::string& path, uint64_t n_bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (fs::is_directory(path, ec)) throw Error(ErrorCode::kIo, path + ": is a directory");
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorCode::kIo, path + ": cannot write: directory '" + dir.string() + "' does not exist");
  if (::access(dir.c_str(), W_OK) != 0)
    throw Error(ErrorCode::kIo, path + ": cannot write in '" + dir.string() + "': " + std::strerror(errno));
  const fs::space_info space = fs::space(dir, ec);
  if (!ec && space.available < n_bytes)
    throw Error(ErrorCode::kIo, path + ": the model needs " + std::to_string(n_bytes >> 20) + " MiB, only " +
                                    std::to_string(space.available >> 20) + " MiB free in '" + dir.string() +
                                    "'");
}

bool is_synth_type(DType t) {
  switch (t) {
    case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kQ8_0: case DType::kQ4_0:
    case DType::kQ4_1: case DType::kQ5_0: case DType::kQ5_1: case DType::kQ4_K: case DType::kQ5_K:
    case DType::kQ6_K:
      return true;
    default:
      return false;
  }
}

[[noreturn]] void bad_spec(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "synth: " + message);
}

}  // namespace

int64_t synth_vocab_size() { return 256 + static_cast<int64_t>(synth_merges().size()) + 3; }

void validate_synth_spec(const SynthSpec& s) {
  if (s.arch != "llama" && s.arch != "qwen2" && s.arch != "gemma3")
    bad_spec("unknown architecture '" + s.arch + "' (llama, qwen2, gemma3)");
  // Limits far beyond any real model of these families; they keep sizes and
  // metadata within what the reader accepts.
  struct Field {
    const char* name;
    int64_t value, max;
  };
  for (const Field& f : {Field{"layers", s.n_layer, 1024}, Field{"embd", s.n_embd, 1 << 16},
                         Field{"ff", s.n_ff, 1 << 18}, Field{"heads", s.n_head, 1024},
                         Field{"heads_kv", s.n_head_kv, 1024}, Field{"head_dim", s.head_dim, 1024},
                         Field{"ctx", s.n_ctx_train, int64_t{1} << 24}})
    if (f.value <= 0 || f.value > f.max)
      bad_spec(std::string(f.name) + " must be within 1.." + std::to_string(f.max) + ", got " +
               std::to_string(f.value));
  if (s.n_head % s.n_head_kv != 0)
    bad_spec("heads_kv (" + std::to_string(s.n_head_kv) + ") must divide heads (" + std::to_string(s.n_head) +
             ")");
  if (s.head_dim % 2 != 0)
    bad_spec("head_dim must be even (rotary pairs), got " + std::to_string(s.head_dim));
  if ((s.arch == "llama" || s.arch == "qwen2") && s.n_head * s.head_dim != s.n_embd)
    bad_spec("heads × head_dim (" + std::to_string(s.n_head) + " × " + std::to_string(s.head_dim) +
             ") must equal embd (" + std::to_string(s.n_embd) + ") in the " + s.arch + " architecture");
  if (!(s.rope_freq_base > 0.0f) || !std::isfinite(s.rope_freq_base)) bad_spec("rope base must be positive");
  if (!(s.embedding_std >= 0.0f) || !std::isfinite(s.embedding_std))
    bad_spec("embedding_std must be 0 or more");
  if (s.row_pool < 0 || s.row_pool > (1 << 20)) bad_spec("row_pool must be within 0..1048576");
  if (s.n_threads < 0) bad_spec("n_threads must be 0 or more");
  for (DType t : {s.weight_type, s.embedding_type})
    if (!is_synth_type(t) || !quant::can_quantize(t))
      bad_spec("cannot write weights of type " + std::string(dtype_name(t)));
  // Every matrix's rows must be whole blocks of its type, or for a K-quant of
  // its 32-element fallback (never the quantizer's last resort, f16).
  struct Rows {
    const char* what;
    DType type;
    int64_t cols;
  };
  for (const Rows& r : {Rows{"embd", s.embedding_type, s.n_embd}, Rows{"embd", s.weight_type, s.n_embd},
                        Rows{"heads × head_dim", s.weight_type, s.n_head * s.head_dim},
                        Rows{"ff", s.weight_type, s.n_ff}}) {
    const int64_t block = std::min<int64_t>(dtype_info(r.type).block_elems, 32);
    if (r.cols % block != 0)
      bad_spec(std::string(r.what) + " (" + std::to_string(r.cols) + ") must be a multiple of " +
               std::to_string(block) + " for " + std::string(dtype_name(r.type)) + " weights");
  }
  std::error_code ec;
  if (!s.tokenizer_from.empty() && !std::filesystem::is_regular_file(s.tokenizer_from, ec))
    throw Error(ErrorCode::kNotFound,
                "synth: tokenizer source '" + s.tokenizer_from + "' does not exist or is not a file");
}

SynthSummary write_synthetic_model(const SynthSpec& s, const std::string& path) {
  validate_synth_spec(s);
  TokenizerSource tok;
  if (!s.tokenizer_from.empty()) tok = open_tokenizer_source(s.tokenizer_from);
  const int64_t n_vocab = tok.file ? tok.n_vocab : synth_vocab_size();
  const std::vector<TensorPlan> plan = plan_tensors(s, n_vocab);

  SynthSummary summary;
  summary.n_vocab = n_vocab;
  summary.n_tensors = static_cast<int64_t>(plan.size());
  uint64_t data_bytes = 0;
  for (const TensorPlan& t : plan) {
    summary.n_params += t.n_elements();
    data_bytes += static_cast<uint64_t>(t.n_bytes()) + 32;  // + alignment padding
  }
  check_destination(path, data_bytes + (tok.file ? tok.file->data_offset() : 0) + (1 << 20));

  formats::GgufWriter w;
  const std::string& a = s.arch;
  w.set("general.architecture", GgufValue::str(a));
  w.set("general.name", GgufValue::str(s.name.empty() ? "synthetic " + a : s.name));
  w.set(a + ".block_count", GgufValue::u32(static_cast<uint32_t>(s.n_layer)));
  w.set(a + ".context_length", GgufValue::u32(static_cast<uint32_t>(s.n_ctx_train)));
  w.set(a + ".embedding_length", GgufValue::u32(static_cast<uint32_t>(s.n_embd)));
  w.set(a + ".feed_forward_length", GgufValue::u32(static_cast<uint32_t>(s.n_ff)));
  w.set(a + ".attention.head_count", GgufValue::u32(static_cast<uint32_t>(s.n_head)));
  w.set(a + ".attention.head_count_kv", GgufValue::u32(static_cast<uint32_t>(s.n_head_kv)));
  w.set(a + ".attention.key_length", GgufValue::u32(static_cast<uint32_t>(s.head_dim)));
  w.set(a + ".attention.value_length", GgufValue::u32(static_cast<uint32_t>(s.head_dim)));
  w.set(a + ".rope.dimension_count", GgufValue::u32(static_cast<uint32_t>(s.head_dim)));
  w.set(a + ".rope.freq_base", GgufValue::f32(s.rope_freq_base));
  w.set(a + ".attention.layer_norm_rms_epsilon", GgufValue::f32(1e-5f));
  if (a == "gemma3") w.set(a + ".attention.sliding_window", GgufValue::u32(8));
  if (tok.file) {
    copy_tokenizer(w, *tok.file);
  } else {
    add_tokenizer(w);
  }

  Weights weights(w, s);
  for (const TensorPlan& t : plan) weights.add(t);
  w.write(path);  // streamed tensors are made here, while tok.file is still mapped

  std::error_code ec;
  summary.file_bytes = std::filesystem::file_size(path, ec);
  return summary;
}

}  // namespace hearth::models
