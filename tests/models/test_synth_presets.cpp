// Synthetic models at the shapes of real ones (models/synth_presets.cpp): presets,
// overrides, K-quant fallbacks, the copied tokenizer and the errors.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "formats/gguf.h"
#include "models/model.h"
#include "models/model_quantizer.h"
#include "models/synth.h"
#include "quant/quantize.h"

#include "hearth_home.h"

namespace hearth::models {
namespace {

namespace fs = std::filesystem;

using test_env::default_model_path;

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "hearth-synth-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void expect_error(const std::function<void()>& f, ErrorCode code, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error thrown; expected " << error_code_name(code) << " with '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "'" << e.what() << "' lacks '" << needle << "'";
  }
}

// The 135m preset cut to two layers: small enough to write in a test.
SynthSpec small_135m(DType type) {
  SynthSpec s = synth_preset("135m");
  apply_synth_overrides(s, {.n_layer = 2});
  s.weight_type = type;
  s.embedding_type = type;
  s.row_pool = 64;
  return s;
}

DType type_of(const formats::GgufFile& f, const std::string& tensor) {
  const formats::GgufTensorInfo* t = f.find_tensor(tensor);
  if (!t) throw std::runtime_error("no tensor " + tensor);
  return t->type;
}

TEST(SynthPresets, Shapes) {
  const SynthSpec a = synth_preset("135m");
  EXPECT_EQ(a.arch, "llama");
  EXPECT_EQ(a.n_layer, 30);
  EXPECT_EQ(a.n_embd, 576);
  EXPECT_EQ(a.n_ff, 1536);
  EXPECT_EQ(a.n_head, 9);
  EXPECT_EQ(a.n_head_kv, 3);
  EXPECT_EQ(a.head_dim, 64);
  EXPECT_EQ(a.rope_freq_base, 100000.0f);
  EXPECT_TRUE(a.tied_output);
  EXPECT_EQ(a.n_ctx_train, 8192);

  const SynthSpec b = synth_preset("1B");  // names are case-insensitive
  EXPECT_EQ(b.n_layer, 16);
  EXPECT_EQ(b.n_embd, 2048);
  EXPECT_EQ(b.n_ff, 8192);
  EXPECT_EQ(b.n_head, 32);
  EXPECT_EQ(b.n_head_kv, 8);
  EXPECT_EQ(b.head_dim, 64);
  EXPECT_EQ(b.rope_freq_base, 500000.0f);
  EXPECT_TRUE(b.tied_output);

  const SynthSpec c = synth_preset("7b");
  EXPECT_EQ(c.n_layer, 32);
  EXPECT_EQ(c.n_embd, 4096);
  EXPECT_EQ(c.n_ff, 11008);
  EXPECT_EQ(c.n_head, 32);
  EXPECT_EQ(c.n_head_kv, 32);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.rope_freq_base, 10000.0f);
  EXPECT_FALSE(c.tied_output);

  for (const auto& name : synth_preset_names()) {
    const SynthSpec s = synth_preset(name);
    EXPECT_GT(s.row_pool, 0) << name;
    EXPECT_NO_THROW(validate_synth_spec(s)) << name;
  }
}

TEST(SynthPresets, Overrides) {
  SynthSpec s = synth_preset("7b");
  apply_synth_overrides(s, {.n_layer = 3, .n_ff = 256, .n_ctx_train = 512});
  EXPECT_EQ(s.n_layer, 3);
  EXPECT_EQ(s.n_ff, 256);
  EXPECT_EQ(s.n_ctx_train, 512);
  EXPECT_EQ(s.head_dim, 128);  // untouched

  // A new width or head count re-derives the head size unless it is given.
  apply_synth_overrides(s, {.n_embd = 1024, .n_head = 8, .n_head_kv = 4});
  EXPECT_EQ(s.head_dim, 128);
  apply_synth_overrides(s, {.n_head = 16});
  EXPECT_EQ(s.head_dim, 64);
  apply_synth_overrides(s, {.n_head = 8, .head_dim = 128});
  EXPECT_EQ(s.head_dim, 128);
  EXPECT_NO_THROW(validate_synth_spec(s));
}

TEST(SynthPresets, WeightTypeNames) {
  EXPECT_EQ(synth_type_from_name("Q4_K"), DType::kQ4_K);
  EXPECT_EQ(synth_type_from_name("q4_k"), DType::kQ4_K);
  EXPECT_EQ(synth_type_from_name("bf16"), DType::kBF16);
  EXPECT_EQ(synth_type_from_name("F32"), DType::kF32);
  EXPECT_EQ(synth_type_from_name("q5_1"), DType::kQ5_1);
  expect_error([] { synth_type_from_name("q3_k"); }, ErrorCode::kInvalidArgument, "'q3_k'");
  expect_error([] { synth_type_from_name("q4_k_m"); }, ErrorCode::kInvalidArgument, "q6_k");
  expect_error([] { synth_type_from_name("i32"); }, ErrorCode::kInvalidArgument, "'i32'");
}

TEST(SynthPresets, KQuantFallbackFollowsLlamaCpp) {
  EXPECT_EQ(type_for_row_length(DType::kQ4_K, 576), DType::kQ5_0);
  EXPECT_EQ(type_for_row_length(DType::kQ5_K, 576), DType::kQ5_1);
  EXPECT_EQ(type_for_row_length(DType::kQ6_K, 576), DType::kQ8_0);
  EXPECT_EQ(type_for_row_length(DType::kQ4_K, 1536), DType::kQ4_K);
  EXPECT_EQ(type_for_row_length(DType::kQ6_K, 11008), DType::kQ6_K);  // 11008 = 43 × 256
  EXPECT_EQ(type_for_row_length(DType::kQ4_K, 11008), DType::kQ4_K);
  EXPECT_EQ(type_for_row_length(DType::kQ8_0, 576), DType::kQ8_0);
  EXPECT_EQ(type_for_row_length(DType::kF16, 100), DType::kF16);
}

TEST(SynthPresets, BadSpecsAreRefused) {
  expect_error([] { synth_preset("13b"); }, ErrorCode::kInvalidArgument, "'13b'");
  {
    SynthSpec s = synth_preset("135m");
    expect_error([&] { apply_synth_overrides(s, {.n_layer = 0}); }, ErrorCode::kInvalidArgument, "--layers");
    expect_error([&] { apply_synth_overrides(s, {.n_head = 7}); }, ErrorCode::kInvalidArgument,
                 "divide embd");
    expect_error([&] { apply_synth_overrides(s, {.n_head = 4}); }, ErrorCode::kInvalidArgument, "heads_kv");
  }
  ScratchDir dir;
  auto refused = [&](const std::function<void(SynthSpec&)>& change, ErrorCode code,
                     const std::string& needle) {
    SynthSpec s = small_135m(DType::kQ8_0);
    change(s);
    expect_error([&] { write_synthetic_model(s, dir.file("bad.gguf")); }, code, needle);
  };
  refused([](SynthSpec& s) { s.arch = "mamba"; }, ErrorCode::kInvalidArgument, "'mamba'");
  refused([](SynthSpec& s) { s.n_layer = 0; }, ErrorCode::kInvalidArgument, "layers");
  refused([](SynthSpec& s) { s.n_head = 3; }, ErrorCode::kInvalidArgument, "must equal embd");
  refused([](SynthSpec& s) { s.n_head_kv = 4; }, ErrorCode::kInvalidArgument, "heads_kv");
  refused([](SynthSpec& s) { s.n_embd = 100, s.n_head = 2, s.n_head_kv = 1, s.head_dim = 50; },
          ErrorCode::kInvalidArgument, "multiple of 32");
  refused([](SynthSpec& s) { s.n_ff = 1000; }, ErrorCode::kInvalidArgument, "ff (1000)");
  refused([](SynthSpec& s) { s.weight_type = DType::kQ8_K; }, ErrorCode::kInvalidArgument, "q8_k");
  refused([&](SynthSpec& s) { s.tokenizer_from = dir.file("missing.gguf"); }, ErrorCode::kNotFound,
          "missing.gguf");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), {}), 0);

  // A file that is not GGUF is refused as a tokenizer source, naming it.
  const std::string junk = dir.file("junk.gguf");
  std::ofstream(junk) << "not a gguf";
  SynthSpec s = small_135m(DType::kQ8_0);
  s.tokenizer_from = junk;
  EXPECT_THROW(write_synthetic_model(s, dir.file("x.gguf")), Error);
  EXPECT_FALSE(fs::exists(dir.file("x.gguf")));

  expect_error([] { write_synthetic_model(small_135m(DType::kQ8_0), "/nonexistent-hearth-dir/x.gguf"); },
               ErrorCode::kIo, "/nonexistent-hearth-dir");
}

// Always runs: the preset's shape with the built-in vocabulary.
TEST(SynthPresets, SmallPresetLoadsWithFallbackTypes) {
  ScratchDir dir;
  const std::string path = dir.file("m.gguf");
  const SynthSpec spec = small_135m(DType::kQ4_K);
  const SynthSummary summary = write_synthetic_model(spec, path);
  EXPECT_EQ(summary.n_vocab, synth_vocab_size());
  EXPECT_EQ(summary.file_bytes, fs::file_size(path));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), {}), 1) << "a temporary file was left behind";

  auto model = Model::load(path);
  const HParams& h = model->hparams();
  EXPECT_EQ(h.arch, "llama");
  EXPECT_EQ(h.n_layer, 2);
  EXPECT_EQ(h.n_embd, 576);
  EXPECT_EQ(h.n_ff, 1536);
  EXPECT_EQ(h.n_head, 9);
  EXPECT_EQ(h.n_head_kv, 3);
  EXPECT_EQ(h.head_dim_k, 64);
  EXPECT_EQ(h.n_ctx_train, 8192);
  EXPECT_FLOAT_EQ(h.rope_freq_base, 100000.0f);
  EXPECT_EQ(h.n_vocab, synth_vocab_size());

  const formats::GgufFile& f = model->file();
  // Rows of 576 are not whole K-quant blocks: Q5_0, as llama-quantize does; rows of 1536 are.
  EXPECT_EQ(type_of(f, "token_embd.weight"), DType::kQ5_0);
  EXPECT_EQ(type_of(f, "blk.0.attn_q.weight"), DType::kQ5_0);
  EXPECT_EQ(type_of(f, "blk.1.attn_output.weight"), DType::kQ5_0);
  EXPECT_EQ(type_of(f, "blk.1.ffn_up.weight"), DType::kQ5_0);
  EXPECT_EQ(type_of(f, "blk.0.ffn_down.weight"), DType::kQ4_K);
  EXPECT_EQ(type_of(f, "blk.0.attn_norm.weight"), DType::kF32);
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);  // tied

  int64_t n_params = 0;
  for (const auto& t : f.tensors()) n_params += t.n_elements();
  EXPECT_EQ(summary.n_params, n_params);

  // Scaled like an initialisation: finite, mean 0, standard deviation 1/sqrt(n_embd).
  for (const char* name : {"blk.0.attn_q.weight", "blk.1.ffn_down.weight", "token_embd.weight"}) {
    const formats::GgufTensorInfo* t = f.find_tensor(name);
    std::vector<float> w(static_cast<size_t>(t->n_elements()));
    quant::dequantize_row(t->type, f.tensor_data(*t), w.data(), t->n_elements());
    double sum = 0, sq = 0;
    for (float v : w) {
      ASSERT_TRUE(std::isfinite(v)) << name;
      sum += v;
      sq += static_cast<double>(v) * v;
    }
    const double n = static_cast<double>(w.size()), stddev = std::sqrt(sq / n - (sum / n) * (sum / n));
    const double want = 1.0 / std::sqrt(static_cast<double>(t->dims[0]));
    EXPECT_NEAR(stddev, want, 0.15 * want) << name;
    EXPECT_NEAR(sum / n, 0.0, 0.1 * want) << name;
  }
}

TEST(SynthPresets, SameSeedSameFile) {
  ScratchDir dir;
  SynthSpec s = small_135m(DType::kQ6_K);
  apply_synth_overrides(s, {.n_layer = 1});
  write_synthetic_model(s, dir.file("a.gguf"));
  s.n_threads = 1;  // the pools do not depend on the thread count
  write_synthetic_model(s, dir.file("b.gguf"));
  s.seed = 2;
  write_synthetic_model(s, dir.file("c.gguf"));
  auto read = [&](const std::string& name) {
    std::ifstream in(dir.file(name), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(read("a.gguf"), read("b.gguf"));
  EXPECT_NE(read("a.gguf"), read("c.gguf"));
  auto model = Model::load(dir.file("a.gguf"));
  EXPECT_EQ(type_of(model->file(), "blk.0.attn_k.weight"), DType::kQ8_0);  // Q6_K's fallback
}

TEST(SynthPresets, UntiedOutputIsWritten) {
  ScratchDir dir;
  SynthSpec s = synth_preset("7b");
  apply_synth_overrides(s, {.n_layer = 1, .n_embd = 512, .n_ff = 640, .n_head = 4, .n_head_kv = 4});
  s.weight_type = DType::kQ4_K;
  s.embedding_type = DType::kQ8_0;
  write_synthetic_model(s, dir.file("m.gguf"));
  auto model = Model::load(dir.file("m.gguf"));
  EXPECT_EQ(model->hparams().head_dim_k, 128);
  EXPECT_EQ(type_of(model->file(), "output.weight"), DType::kQ4_K);
  EXPECT_EQ(type_of(model->file(), "token_embd.weight"), DType::kQ8_0);
  EXPECT_EQ(type_of(model->file(), "blk.0.ffn_down.weight"), DType::kQ5_0);  // 640 is not a multiple of 256
}

// The tokenizer of the default model, copied: same vocabulary, same ids.
TEST(SynthPresets, CopiedTokenizerTokenizesLikeTheSource) {
  const std::string source = default_model_path();
  if (!fs::exists(source)) GTEST_SKIP() << "the default model is not installed (" << source << ")";
  ScratchDir dir;
  const std::string path = dir.file("m.gguf");
  SynthSpec spec = small_135m(DType::kQ4_K);
  spec.tokenizer_from = source;
  const SynthSummary summary = write_synthetic_model(spec, path);

  auto want = Model::load(source);
  auto got = Model::load(path);
  EXPECT_EQ(summary.n_vocab, want->tokenizer().n_vocab());
  EXPECT_EQ(got->tokenizer().n_vocab(), want->tokenizer().n_vocab());
  EXPECT_EQ(got->tokenizer().n_vocab(), 49152);
  EXPECT_EQ(got->hparams().n_vocab, 49152);
  const formats::GgufTensorInfo* embd = got->file().find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->dims[1], 49152);
  for (const char* text : {"Hello world", "  naïve café 1234 <|im_start|>user\nhi<|im_end|>"}) {
    EXPECT_EQ(got->tokenizer().encode(text, true, true), want->tokenizer().encode(text, true, true)) << text;
  }
  EXPECT_EQ(got->chat_template(), want->chat_template());
  for (const auto& [key, value] : want->file().metadata())
    if (key.starts_with("tokenizer.")) {
      const formats::GgufValue* copied = got->file().find(key);
      ASSERT_NE(copied, nullptr) << key;
      EXPECT_TRUE(*copied == value) << key;
    }
}

}  // namespace
}  // namespace hearth::models
