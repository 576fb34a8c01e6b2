// libFuzzer target for the GGUF reader: any input must either parse or throw
// hearth::Error; whatever parses must be fully readable and survive a rewrite.
// With HEARTH_FUZZ_WRITE_SEEDS=DIR set, the binary writes its seed corpus there and exits.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/gguf.h"

using hearth::DType;
using hearth::Error;
using namespace hearth::formats;

namespace {

[[noreturn]] void invariant_broken(const char* what) {
  std::fprintf(stderr, "gguf_fuzz: invariant broken: %s\n", what);
  std::abort();
}

// Keeps reads from being optimized away.
volatile uint64_t g_sink = 0;

void touch(const GgufValue& v) {
  uint64_t acc = static_cast<uint64_t>(v.type());
  auto quietly = [&](auto f) {
    try {
      f();
    } catch (const Error&) {
    }
  };
  quietly([&] { acc += v.as_uint(); });
  quietly([&] { acc += static_cast<uint64_t>(v.as_int()); });
  quietly([&] { acc += static_cast<uint64_t>(v.as_float() != 0); });
  quietly([&] { acc += v.as_bool(); });
  const GgufType t = v.type();
  if (v.is_integer() != (t <= GgufType::kInt32 || t == GgufType::kUint64 || t == GgufType::kInt64))
    invariant_broken("is_integer");
  if (v.type() == GgufType::kString) {
    for (char c : v.as_string()) acc += static_cast<uint8_t>(c);
  } else if (v.type() == GgufType::kArray) {
    for (const GgufValue& e : v.as_array()) {
      if (e.type() != v.array_type()) invariant_broken("array element type");
      touch(e);
    }
  }
  g_sink = g_sink + acc;
}

void touch_file(const GgufFile& f) {
  for (const auto& entry : f.metadata()) {
    // Not a structured binding: clang 14 cannot capture those in the lambdas below.
    const std::string& key = entry.first;
    const GgufValue& value = entry.second;
    touch(value);
    if (f.find(key) != &value) invariant_broken("find(key)");
    auto quietly = [&](auto fn) {
      try {
        fn();
      } catch (const Error&) {
      }
    };
    quietly([&] { g_sink = g_sink + f.get_string_or(key, "").size(); });
    quietly([&] { g_sink = g_sink + f.get_uint_or(key, 0); });
    quietly([&] { g_sink = g_sink + static_cast<uint64_t>(f.get_float_or(key, 0) != 0); });
    quietly([&] { g_sink = g_sink + f.get_bool_or(key, false); });
    quietly([&] { g_sink = g_sink + f.get_string_array(key).size(); });
    quietly([&] { g_sink = g_sink + f.get_float_array(key).size(); });
    quietly([&] { g_sink = g_sink + f.get_int_array(key).size(); });
  }
  try {
    f.get_uint("no such key in any file");
    invariant_broken("missing key found");
  } catch (const Error& e) {
    if (e.code() != hearth::ErrorCode::kNotFound) invariant_broken("missing key code");
  }
  if (f.alignment() == 0 || (f.alignment() & (f.alignment() - 1)) != 0) invariant_broken("alignment");
  if (f.data_offset() > f.file_size()) invariant_broken("data offset");
  for (const GgufTensorInfo& t : f.tensors()) {
    if (f.find_tensor(t.name) != &t) invariant_broken("find_tensor");
    if (t.n_elements() <= 0 || t.n_bytes() <= 0) invariant_broken("tensor size");
    if (t.offset % f.alignment() != 0) invariant_broken("tensor offset alignment");
    const uint8_t* p = f.tensor_data(t);
    uint64_t acc = 0;
    // Every byte, so that ASan sees any tensor that reaches past the input.
    for (int64_t i = 0; i < t.n_bytes(); ++i) acc += p[i];
    g_sink = g_sink + acc;
  }
}

// Whatever the reader accepts, the writer must reproduce with the same contents.
void check_rewrite(const GgufFile& f) {
  GgufWriter w(f.alignment());
  for (const auto& [key, value] : f.metadata()) w.set(key, value);
  for (const GgufTensorInfo& t : f.tensors())
    w.add_tensor(t.name, t.type, t.dims, f.tensor_data(t), static_cast<size_t>(t.n_bytes()));
  const std::vector<uint8_t> image = w.to_bytes();
  std::unique_ptr<GgufFile> g;
  try {
    g = GgufFile::parse(image.data(), image.size(), "rewritten.gguf");
  } catch (const Error& e) {
    std::fprintf(stderr, "gguf_fuzz: rewritten file rejected: %s\n", e.what());
    std::abort();
  }
  if (g->metadata() != f.metadata()) invariant_broken("rewritten metadata differs");
  if (g->alignment() != f.alignment()) invariant_broken("rewritten alignment differs");
  if (g->tensors().size() != f.tensors().size()) invariant_broken("rewritten tensor count differs");
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const GgufTensorInfo& a = f.tensors()[i];
    const GgufTensorInfo& b = g->tensors()[i];
    if (a.name != b.name || a.type != b.type || a.dims != b.dims) invariant_broken("rewritten tensor info differs");
    if (std::memcmp(f.tensor_data(a), g->tensor_data(b), static_cast<size_t>(a.n_bytes())) != 0)
      invariant_broken("rewritten tensor data differs");
  }
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(seed + i * 37);
  return out;
}

void add(GgufWriter& w, const std::string& name, DType type, std::vector<int64_t> dims, size_t n_bytes) {
  const auto data = pattern(n_bytes, static_cast<uint8_t>(name.size()));
  w.add_tensor(name, type, std::move(dims), data.data(), data.size());
}

void write_seeds(const std::string& dir) {
  GgufWriter empty;
  empty.write(dir + "/empty.gguf");

  GgufWriter values;
  values.set("u8", GgufValue::make_uint(GgufType::kUint8, 200));
  values.set("i8", GgufValue::make_int(GgufType::kInt8, -100));
  values.set("u16", GgufValue::make_uint(GgufType::kUint16, 60000));
  values.set("i16", GgufValue::make_int(GgufType::kInt16, -30000));
  values.set("u32", GgufValue::u32(4000000000u));
  values.set("i32", GgufValue::i32(-2000000000));
  values.set("f32", GgufValue::f32(1.5f));
  values.set("bool", GgufValue::make_bool(true));
  values.set("str", GgufValue::str("hello"));
  values.set("u64", GgufValue::make_uint(GgufType::kUint64, UINT64_MAX));
  values.set("i64", GgufValue::make_int(GgufType::kInt64, INT64_MIN));
  values.set("f64", GgufValue::make_float(GgufType::kFloat64, -2.25));
  values.set("arr.str", GgufValue::string_array({"a", "", "ccc"}));
  values.set("arr.f32", GgufValue::f32_array({0.5f, -1}));
  values.set("arr.i32", GgufValue::i32_array({1, -1, 7}));
  values.set("arr.bool", GgufValue::make_array(GgufType::kBool, {GgufValue::make_bool(false)}));
  values.set("arr.nested", GgufValue::make_array(GgufType::kArray, {GgufValue::i32_array({3}),
                                                                    GgufValue::string_array({"x"})}));
  values.write(dir + "/values.gguf");

  GgufWriter tensors;
  tensors.set("general.architecture", GgufValue::str("llama"));
  add(tensors, "f32", DType::kF32, {3, 2}, 24);
  add(tensors, "f16", DType::kF16, {5}, 10);
  add(tensors, "q8_0", DType::kQ8_0, {32, 2}, 68);
  add(tensors, "q4_0", DType::kQ4_0, {32}, 18);
  add(tensors, "q4_k", DType::kQ4_K, {256}, 144);
  tensors.write(dir + "/tensors.gguf");

  GgufWriter aligned(8);
  aligned.set("general.name", GgufValue::str("aligned"));
  add(aligned, "a", DType::kI8, {3}, 3);
  add(aligned, "b", DType::kI16, {1, 1, 1, 2}, 4);
  aligned.write(dir + "/aligned8.gguf");

  GgufWriter llama;
  llama.set("general.architecture", GgufValue::str("llama"));
  llama.set("llama.block_count", GgufValue::u32(1));
  llama.set("llama.embedding_length", GgufValue::u32(32));
  llama.set("llama.attention.layer_norm_rms_epsilon", GgufValue::f32(1e-5f));
  llama.set("tokenizer.ggml.model", GgufValue::str("gpt2"));
  llama.set("tokenizer.ggml.tokens", GgufValue::string_array({"<s>", "</s>", "a", "b", "ab"}));
  llama.set("tokenizer.ggml.scores", GgufValue::f32_array({0, 0, -1, -2, -3}));
  llama.set("tokenizer.ggml.token_type", GgufValue::i32_array({3, 3, 1, 1, 1}));
  llama.set("tokenizer.ggml.merges", GgufValue::string_array({"a b"}));
  add(llama, "token_embd.weight", DType::kQ8_0, {32, 5}, 170);
  add(llama, "output_norm.weight", DType::kF32, {32}, 128);
  llama.write(dir + "/llama.gguf");

  // The same file as version 2.
  std::vector<uint8_t> v2 = llama.to_bytes();
  v2[4] = 2;
  if (FILE* f = std::fopen((dir + "/llama_v2.gguf").c_str(), "wb")) {
    std::fwrite(v2.data(), 1, v2.size(), f);
    std::fclose(f);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("HEARTH_FUZZ_WRITE_SEEDS")) {
    try {
      write_seeds(dir);
    } catch (const Error& e) {
      std::fprintf(stderr, "gguf_fuzz: cannot write seeds: %s\n", e.what());
      std::exit(1);
    }
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<GgufFile> f;
  try {
    f = GgufFile::parse(data, size, "fuzz.gguf");
  } catch (const Error& e) {
    if (std::strncmp(e.what(), "fuzz.gguf: ", 11) != 0) invariant_broken("error message lacks the file name");
    return 0;
  }
  touch_file(*f);
  check_rewrite(*f);
  return 0;
}
