// Tests of the model quantizer: which type each tensor gets (fallbacks included),
// how close the converted weights are to the originals, that the result loads and
// runs, that metadata survives, and that every bad input fails cleanly with no file left.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/gguf.h"
#include "graph/executor.h"
#include "models/model.h"
#include "models/model_quantizer.h"
#include "models/synth.h"
#include "quant/quantize.h"

#include "hearth_home.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
using models::ConversionKind;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("hearth_quantize_") + info->test_suite_name() + "_" + info->name();
    for (char& c : name)
      if (c == '/') c = '_';
    path_ = fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& file) const { return (path_ / file).string(); }
  const fs::path& path() const { return path_; }
  // Files in the directory (a failed write must leave no temporary behind).
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  fs::path path_;
};

std::vector<float> dequantize(const formats::GgufFile& f, const formats::GgufTensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  quant::dequantize_row(t.type, f.tensor_data(t), v.data(), t.n_elements());
  return v;
}

double relative_rmse(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    den += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(num / den);
}

// Bounds on the relative RMS error of one round trip through a type for Gaussian
// weights; the worst block-format tensors measured come to 55-75% of them.
double weight_tolerance(DType t) {
  switch (t) {
    case DType::kF32: return 0;
    case DType::kF16: return 1e-3;
    case DType::kBF16: return 6e-3;
    case DType::kQ8_0: return 0.01;
    case DType::kQ6_K: return 0.03;
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ5_K: return 0.06;
    default: return 0.12;  // 4-bit formats
  }
}

// Logits of the last of tokens, run through the graph executor on a small context.
std::vector<float> run_logits(const std::string& path, const std::vector<int32_t>& tokens) {
  auto model = models::Model::load(path);
  const graph::Graph& g = model->graph();
  const int64_t capacity = 32;
  ThreadPool pool(2);
  graph::Executor executor(g, capacity, capacity, &pool);
  // The whole context in one f16 block.
  graph::KvView kv;
  kv.row_bytes = g.kv_dim_k * 2;
  kv.block_positions = capacity;
  kv.block_bytes = 2 * g.n_layers * capacity * kv.row_bytes;
  std::vector<uint8_t> storage(static_cast<size_t>(kv.block_bytes));
  const int32_t block0 = 0;
  kv.base = storage.data();
  kv.blocks = &block0;
  kv.n_blocks = 1;
  std::vector<int32_t> positions(tokens.size());
  for (size_t i = 0; i < positions.size(); ++i) positions[i] = static_cast<int32_t>(i);
  graph::Batch batch;
  batch.tokens = tokens.data();
  batch.positions = positions.data();
  batch.n_tokens = static_cast<int64_t>(tokens.size());
  batch.kv = &kv;
  const float* logits = executor.run(batch);
  return std::vector<float>(logits, logits + executor.n_vocab());
}

const std::vector<int32_t> kTokens = {5, 77, 200, 31, 9, 140, 260, 3};

// n_embd 320 is a multiple of 32 but not of 256, like SmolLM2's 576: every matrix
// whose rows are n_embd long takes the K-quant fallback, ffn_down (rows of n_ff
// = 512) does not.
models::SynthSpec fallback_spec(DType weights) {
  models::SynthSpec s;
  s.n_layer = 2;
  s.n_embd = 320;
  s.n_ff = 512;
  s.n_head = 5;
  s.n_head_kv = 1;
  s.head_dim = 64;
  s.weight_type = weights;
  s.embedding_type = weights;
  s.tied_output = false;
  s.rope_freqs = true;
  return s;
}

TEST(QuantizeRules, RowLengthFallbacks) {
  using models::type_for_row_length;
  for (DType t : models::quantize_target_types()) EXPECT_EQ(type_for_row_length(t, 4096), t) << dtype_name(t);
  EXPECT_EQ(type_for_row_length(DType::kQ4_K, 1536), DType::kQ4_K);
  EXPECT_EQ(type_for_row_length(DType::kQ4_K, 576), DType::kQ5_0);
  EXPECT_EQ(type_for_row_length(DType::kQ5_K, 576), DType::kQ5_1);
  EXPECT_EQ(type_for_row_length(DType::kQ6_K, 576), DType::kQ8_0);
  // No 32-element block fits either: f16, whose block of one always does.
  for (DType t : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
                  DType::kQ5_0, DType::kQ5_1})
    EXPECT_EQ(type_for_row_length(t, 72), DType::kF16) << dtype_name(t);
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) EXPECT_EQ(type_for_row_length(t, 7), t);
}

TEST(QuantizeRules, WhichTensorsAreWeightMatrices) {
  auto info = [](std::string name, std::vector<int64_t> dims) {
    formats::GgufTensorInfo t;
    t.name = std::move(name);
    t.type = DType::kF32;
    t.dims = std::move(dims);
    return t;
  };
  EXPECT_TRUE(models::is_quantizable_weight(info("token_embd.weight", {576, 49152})));
  EXPECT_TRUE(models::is_quantizable_weight(info("output.weight", {576, 49152})));
  EXPECT_TRUE(models::is_quantizable_weight(info("blk.3.attn_q.weight", {576, 576})));
  EXPECT_TRUE(models::is_quantizable_weight(info("blk.3.ffn_down.weight", {1536, 576})));
  EXPECT_FALSE(models::is_quantizable_weight(info("blk.3.attn_norm.weight", {576})));
  EXPECT_FALSE(models::is_quantizable_weight(info("blk.3.attn_q.bias", {576})));
  EXPECT_FALSE(models::is_quantizable_weight(info("blk.3.attn_q.bias", {576, 2})));
  EXPECT_FALSE(models::is_quantizable_weight(info("rope_freqs.weight", {32})));
  EXPECT_FALSE(models::is_quantizable_weight(info("blk.3.ffn_gate_exps.weight", {576, 1536, 8})));
  EXPECT_FALSE(models::is_quantizable_weight(info("blk.3.ffn_gate_inp.weight", {576, 8})));
  EXPECT_FALSE(models::is_quantizable_weight(info("blk.3.attn_q_norm.weight", {64, 2})));
  EXPECT_FALSE(models::is_quantizable_weight(info("position_embd.weight", {384, 512})));
}

TEST(QuantizeRules, TypeNamesAndFileTypes) {
  EXPECT_EQ(models::parse_quantize_type("q4_k"), DType::kQ4_K);
  EXPECT_EQ(models::parse_quantize_type("Q4_K"), DType::kQ4_K);
  EXPECT_EQ(models::parse_quantize_type("BF16"), DType::kBF16);
  for (DType t : models::quantize_target_types()) {
    EXPECT_EQ(models::parse_quantize_type(dtype_name(t)), t);
    EXPECT_TRUE(quant::can_quantize(t)) << dtype_name(t);
  }
  for (const char* bad : {"q3_k", "q8_1", "i8", "q4_k_m", "", "fp16"}) {
    try {
      models::parse_quantize_type(bad);
      ADD_FAILURE() << "'" << bad << "' accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("q4_k, q5_k, q6_k"), std::string::npos) << e.what();
    }
  }
  const std::map<DType, uint32_t> want = {{DType::kF32, 0},   {DType::kF16, 1},   {DType::kQ4_0, 2},
                                          {DType::kQ4_1, 3},  {DType::kQ8_0, 7},  {DType::kQ5_0, 8},
                                          {DType::kQ5_1, 9},  {DType::kQ4_K, 14}, {DType::kQ5_K, 16},
                                          {DType::kQ6_K, 18}, {DType::kBF16, 32}};
  for (auto [t, ftype] : want) EXPECT_EQ(models::llama_file_type(t), ftype) << dtype_name(t);
}

class QuantizeTo : public testing::TestWithParam<DType> {};

std::string type_param_name(const testing::TestParamInfo<DType>& info) {
  return std::string(dtype_name(info.param));
}

// An f32 model quantized to each target: the types expected, weights close to the
// originals, the other tensors and metadata untouched, and a model that runs.
TEST_P(QuantizeTo, F32ModelConvertsLoadsAndRuns) {
  const DType target = GetParam();
  TempDir dir;
  const std::string in = dir / "f32.gguf", out = dir / "out.gguf";
  models::write_synthetic_model(fallback_spec(DType::kF32), in);
  const models::QuantizeReport r = models::quantize_model(in, out, {target, 2});
  EXPECT_EQ(r.type, target);
  EXPECT_EQ(r.file_type, models::llama_file_type(target));
  EXPECT_EQ(r.n_threads, 2);
  EXPECT_GT(r.file_bytes_out, 0u);
  EXPECT_EQ(r.file_bytes_out, fs::file_size(out));
  EXPECT_EQ(dir.files().size(), 2u);  // in and out, no temporary left

  const auto a = formats::GgufFile::open(in), b = formats::GgufFile::open(out);
  ASSERT_EQ(a->tensors().size(), b->tensors().size());
  int64_t counted = 0;
  for (const auto& c : r.conversions) counted += c.count;
  EXPECT_EQ(counted, static_cast<int64_t>(a->tensors().size()));
  for (size_t i = 0; i < a->tensors().size(); ++i) {
    const auto& ta = a->tensors()[i];
    const auto& tb = b->tensors()[i];
    ASSERT_EQ(ta.name, tb.name);
    EXPECT_EQ(ta.dims, tb.dims);
    DType want = DType::kF32;  // norms and rope_freqs.weight
    if (ta.dims.size() == 2) {
      const bool full_row = ta.dims[0] % 256 == 0;  // only ffn_down (rows of n_ff)
      EXPECT_EQ(full_row, ta.name.find("ffn_down") != std::string::npos) << ta.name;
      want = full_row ? target : models::type_for_row_length(target, 320);
    }
    EXPECT_EQ(dtype_name(tb.type), dtype_name(want)) << ta.name;
    const double err = relative_rmse(dequantize(*b, tb), dequantize(*a, ta));
    EXPECT_LE(err, weight_tolerance(tb.type)) << ta.name << " as " << dtype_name(tb.type);
  }

  // Every key survives with its value; file type and quantizer are stamped.
  for (const auto& [key, value] : a->metadata())
    if (key != "general.file_type") {
      EXPECT_TRUE(b->find(key) && *b->find(key) == value) << key;
    }
  EXPECT_EQ(b->get_uint("general.file_type"), models::llama_file_type(target));
  EXPECT_EQ(b->get_string("general.quantized_by"), "hearth");

  const std::vector<float> want = run_logits(in, kTokens), got = run_logits(out, kTokens);
  ASSERT_EQ(got.size(), want.size());
  for (float v : got) ASSERT_TRUE(std::isfinite(v));
  // Errors of every weight add up through two layers: a looser bound than per weight.
  EXPECT_LT(relative_rmse(got, want), std::max(0.02, 3 * weight_tolerance(target)));
}

INSTANTIATE_TEST_SUITE_P(EveryTarget, QuantizeTo, testing::ValuesIn(models::quantize_target_types()),
                         type_param_name);

TEST(Quantize, ReportCountsEachConversion) {
  TempDir dir;
  const std::string in = dir / "f32.gguf", out = dir / "out.gguf";
  models::write_synthetic_model(fallback_spec(DType::kF32), in);
  const models::QuantizeReport r = models::quantize_model(in, out, {DType::kQ4_K, 1});
  // Per layer: q, k, v, output, gate, up fall back (rows of 320), ffn_down does not;
  // plus token_embd and output; norms (2 per layer + output_norm) and rope_freqs kept.
  std::map<std::tuple<DType, DType, ConversionKind>, int64_t> got;
  for (const auto& c : r.conversions) got[{c.from, c.to, c.kind}] = c.count;
  const std::map<std::tuple<DType, DType, ConversionKind>, int64_t> want = {
      {{DType::kF32, DType::kQ5_0, ConversionKind::kFallback}, 2 * 6 + 2},
      {{DType::kF32, DType::kQ4_K, ConversionKind::kConverted}, 2},
      {{DType::kF32, DType::kF32, ConversionKind::kKept}, 2 * 2 + 1 + 1}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(r.n_threads, 1);
  EXPECT_LT(r.file_bytes_out, r.file_bytes_in / 5);
}

// A quantized model requantized: weights already of the target type are copied
// byte for byte, the others go through f32.
TEST(Quantize, TensorsAlreadyOfTheTargetTypeAreCopied) {
  TempDir dir;
  const std::string in = dir / "q8.gguf", out = dir / "out.gguf";
  models::write_synthetic_model(fallback_spec(DType::kQ8_0), in);
  const models::QuantizeReport r = models::quantize_model(in, out, {DType::kQ6_K, 2});
  const auto a = formats::GgufFile::open(in), b = formats::GgufFile::open(out);
  int copied = 0;
  for (size_t i = 0; i < a->tensors().size(); ++i) {
    const auto& ta = a->tensors()[i];
    const auto& tb = b->tensors()[i];
    if (ta.type != tb.type) {
      EXPECT_EQ(tb.type, DType::kQ6_K) << ta.name;
      EXPECT_LE(relative_rmse(dequantize(*b, tb), dequantize(*a, ta)), weight_tolerance(DType::kQ6_K))
          << ta.name;
      continue;
    }
    ASSERT_EQ(ta.n_bytes(), tb.n_bytes());
    EXPECT_EQ(std::memcmp(a->tensor_data(ta), b->tensor_data(tb), static_cast<size_t>(ta.n_bytes())), 0)
        << ta.name;
    if (tb.type == DType::kQ8_0) ++copied;  // q6_k's fallback for rows of 320 is q8_0: nothing to redo
  }
  EXPECT_EQ(copied, 2 * 6 + 2);
  bool reported = false;
  for (const auto& c : r.conversions)
    if (c.kind == ConversionKind::kCopied) {
      EXPECT_EQ(c.from, DType::kQ8_0);
      EXPECT_EQ(c.count, copied);
      reported = true;
    }
  EXPECT_TRUE(reported);
  EXPECT_EQ(run_logits(out, kTokens).size(), static_cast<size_t>(models::synth_vocab_size()));
}

// Rows of 72 and 104 fit no 32-element block: every matrix becomes f16, and the model still runs.
TEST(Quantize, RowsThatFitNoBlockBecomeF16) {
  TempDir dir;
  const std::string in = dir / "small.gguf", out = dir / "out.gguf";
  models::SynthSpec s;
  s.n_embd = 72;
  s.n_ff = 104;
  s.n_head = 2;
  s.n_head_kv = 1;
  s.head_dim = 36;
  s.weight_type = s.embedding_type = DType::kF32;
  models::write_synthetic_model(s, in);
  models::quantize_model(in, out, {DType::kQ4_K, 2});
  const auto b = formats::GgufFile::open(out);
  for (const auto& t : b->tensors())
    EXPECT_EQ(dtype_name(t.type), t.dims.size() == 2 ? "f16" : "f32") << t.name;
  const std::vector<float> want = run_logits(in, kTokens), got = run_logits(out, kTokens);
  EXPECT_LT(relative_rmse(got, want), 0.01);
}

// The Python of Hearth's environment when it has llama-cpp-python (the peer);
// empty otherwise.
std::string peer_python() {
  const std::string python = test_env::hearth_home() + "/venv/bin/python";
  if (!fs::exists(python)) return "";
  if (std::system(("'" + python + "' -c 'import llama_cpp' > /dev/null 2>&1").c_str()) != 0) return "";
  return python;
}

// llama.cpp loads what the quantizer writes (fallback types, file type and all) and
// computes the same next-token logits as Hearth. Needs the peer: skipped without it.
TEST(QuantizeWithLlamaCpp, PeerLoadsTheOutputAndAgrees) {
  const std::string python = peer_python();
  if (python.empty()) GTEST_SKIP() << "llama-cpp-python is not installed in Hearth's environment";
  TempDir dir;
  const std::string synth = dir / "synth.gguf", in = dir / "f32.gguf";
  models::write_synthetic_model(fallback_spec(DType::kF32), synth);
  {  // llama.cpp names the GPT-2 pre-tokenizer "gpt-2" and refuses the synthetic files' "gpt2"
    const auto f = formats::GgufFile::open(synth);
    formats::GgufWriter w;
    for (const auto& [key, value] : f->metadata()) w.set(key, value);
    w.set("tokenizer.ggml.pre", formats::GgufValue::str("gpt-2"));
    for (const auto& t : f->tensors())
      w.add_tensor(t.name, t.type, t.dims, f->tensor_data(t), static_cast<size_t>(t.n_bytes()));
    w.write(in);
  }
  std::string tokens;
  for (int32_t t : kTokens) tokens += (tokens.empty() ? "" : ",") + std::to_string(t);
  const char* script =
      "import sys, numpy as np, llama_cpp\n"
      "llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=64, n_threads=2, logits_all=True, verbose=False)\n"
      "tokens = [int(t) for t in sys.argv[3].split(',')]\n"
      "llm.eval(tokens)\n"
      "np.asarray(llm.scores[len(tokens) - 1], dtype=np.float32).tofile(sys.argv[2])\n";
  std::ofstream(dir / "peer.py") << script;
  for (DType target : {DType::kQ8_0, DType::kQ4_K}) {
    const std::string out = dir / (std::string(dtype_name(target)) + ".gguf");
    const std::string logits_file = out + ".logits";
    models::quantize_model(in, out, {target, 2});
    const std::string command = "'" + python + "' '" + (dir / "peer.py") + "' '" + out + "' '" + logits_file +
                                "' " + tokens + " > '" + dir / "peer.log" + "' 2>&1";
    if (std::system(command.c_str()) != 0) {
      std::ifstream log(dir / "peer.log");
      FAIL() << "llama.cpp could not run " << out << ":\n"
             << std::string(std::istreambuf_iterator<char>(log), {});
    }
    std::vector<float> peer(static_cast<size_t>(models::synth_vocab_size()));
    std::ifstream(logits_file, std::ios::binary)
        .read(reinterpret_cast<char*>(peer.data()),
              static_cast<std::streamsize>(peer.size() * sizeof(float)));
    const std::vector<float> ours = run_logits(out, kTokens);
    ASSERT_EQ(ours.size(), peer.size());
    // The bound sits above this small random model's noise floor: moving a
    // third of one matmul's outputs by a single float ulp moves its logits by
    // 0.9%, and the two programs sum in different orders (1.04% measured with
    // the panel kernels on AVX-512 VNNI).
    EXPECT_LT(relative_rmse(ours, peer), 0.03) << dtype_name(target);
    EXPECT_EQ(std::max_element(ours.begin(), ours.end()) - ours.begin(),
              std::max_element(peer.begin(), peer.end()) - peer.begin())
        << dtype_name(target);
  }
}

// Expects quantize_model to throw code with a message containing each of parts,
// and to leave nothing new in the output's directory.
void expect_failure(const TempDir& dir, const std::string& in, const std::string& out, DType type,
                    ErrorCode code, const std::vector<std::string>& parts) {
  const std::vector<std::string> before = dir.files();
  try {
    models::quantize_model(in, out, {type, 2});
    ADD_FAILURE() << "no error for " << in << " -> " << out;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    for (const std::string& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
  EXPECT_EQ(dir.files(), before);
}

TEST(QuantizeErrors, BadInputs) {
  TempDir dir;
  const std::string model = dir / "model.gguf";
  models::write_synthetic_model(fallback_spec(DType::kF32), model);
  const std::string out = dir / "out.gguf";

  expect_failure(dir, dir / "missing.gguf", out, DType::kQ8_0, ErrorCode::kNotFound, {"missing.gguf"});
  expect_failure(dir, dir.path().string(), out, DType::kQ8_0, ErrorCode::kInvalidArgument, {"directory"});

  std::ofstream(dir / "garbage.gguf") << "this is not a GGUF file at all, just some words";
  expect_failure(dir, dir / "garbage.gguf", out, DType::kQ8_0, ErrorCode::kFormat, {"garbage.gguf"});
  {  // a real model cut short
    std::ifstream src(model, std::ios::binary);
    std::vector<char> bytes(static_cast<size_t>(fs::file_size(model)) / 2);
    src.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::ofstream(dir / "truncated.gguf", std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  expect_failure(dir, dir / "truncated.gguf", out, DType::kQ8_0, ErrorCode::kFormat, {"truncated.gguf"});

  // Types that are not targets.
  expect_failure(dir, model, out, DType::kQ8_1, ErrorCode::kInvalidArgument, {"q8_1", "accepted"});
  expect_failure(dir, model, out, DType::kQ2_K, ErrorCode::kInvalidArgument, {"q2_k", "accepted"});

  // The input itself, by the same name, another spelling, or a link.
  const auto size = fs::file_size(model);
  expect_failure(dir, model, model, DType::kQ8_0, ErrorCode::kInvalidArgument, {"input"});
  expect_failure(dir, model, (dir.path() / "." / "model.gguf").string(), DType::kQ8_0,
                 ErrorCode::kInvalidArgument, {"input"});
  fs::create_symlink(model, dir / "link.gguf");
  expect_failure(dir, model, dir / "link.gguf", DType::kQ8_0, ErrorCode::kInvalidArgument, {"input"});
  EXPECT_EQ(fs::file_size(model), size);

  // Output places that cannot be written.
  expect_failure(dir, model, dir / "no-such-dir/out.gguf", DType::kQ8_0, ErrorCode::kNotFound,
                 {"no-such-dir"});
  expect_failure(dir, model, dir.path().string(), DType::kQ8_0, ErrorCode::kInvalidArgument, {"directory"});
  try {  // /proc refuses new files even to root
    models::quantize_model(model, "/proc/hearth-quantize-out.gguf", {DType::kQ8_0, 1});
    ADD_FAILURE() << "wrote into /proc";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo) << e.what();
    EXPECT_NE(std::string(e.what()).find("/proc"), std::string::npos) << e.what();
  }
  if (::geteuid() != 0) {  // root writes anywhere
    fs::create_directory(dir / "read-only");
    fs::permissions(dir / "read-only", fs::perms::owner_read | fs::perms::owner_exec);
    expect_failure(dir, model, dir / "read-only/out.gguf", DType::kQ8_0, ErrorCode::kIo, {"read-only"});
  }
}

// A tensor that must be converted but whose type has no dequantizer: refused
// before anything is written.
TEST(QuantizeErrors, TensorThatCannotBeDequantized) {
  TempDir dir;
  const std::string in = dir / "q2k.gguf", out = dir / "out.gguf";
  ASSERT_FALSE(quant::can_dequantize(DType::kQ2_K));
  formats::GgufWriter w;
  w.set("general.architecture", formats::GgufValue::str("llama"));
  std::vector<uint8_t> norm(256 * sizeof(float), 0),
      q2k(static_cast<size_t>(dtype_row_bytes(DType::kQ2_K, 256) * 4), 0);
  w.add_tensor("blk.0.attn_norm.weight", DType::kF32, {256}, norm.data(), norm.size());
  w.add_tensor("blk.0.attn_q.weight", DType::kQ2_K, {256, 4}, q2k.data(), q2k.size());
  w.write(in);
  expect_failure(dir, in, out, DType::kQ8_0, ErrorCode::kUnsupported,
                 {"blk.0.attn_q.weight", "q2_k", "q2k.gguf"});

  // The same type outside a weight matrix is kept as it is, so it is no obstacle.
  formats::GgufWriter kept;
  kept.set("general.architecture", formats::GgufValue::str("llama"));
  kept.add_tensor("blk.0.attn_norm.weight", DType::kF32, {256}, norm.data(), norm.size());
  kept.add_tensor("blk.0.odd.bias", DType::kQ2_K, {256, 4}, q2k.data(), q2k.size());
  kept.write(in);
  const models::QuantizeReport r = models::quantize_model(in, out, {DType::kQ8_0, 1});
  ASSERT_EQ(r.conversions.size(), 2u);
  EXPECT_EQ(r.conversions[1].from, DType::kQ2_K);
  EXPECT_EQ(r.conversions[1].kind, ConversionKind::kKept);
  EXPECT_EQ(formats::GgufFile::open(out)->tensors()[1].type, DType::kQ2_K);
}

}  // namespace
}  // namespace hearth
