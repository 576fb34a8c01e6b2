// Facts about the real default model, read through the GGUF reader.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "formats/gguf.h"

namespace hearth::formats {
namespace {

std::string model_path(const std::string& file) {
  std::string home;
  if (const char* h = std::getenv("HEARTH_HOME"); h && *h) {
    home = h;
  } else {
    const char* user_home = std::getenv("HOME");
    home = std::string(user_home ? user_home : "") + "/.cache/hearth";
  }
  return home + "/models/" + file;
}

TEST(GgufRealModel, SmolLM2Facts) {
  const std::string path = model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
  if (!std::filesystem::exists(path)) FAIL() << path << " is missing: run scripts/setup.sh";
  auto f = GgufFile::open(path);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->tensors().size(), 272u);
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_EQ(f->get_uint("llama.block_count"), 30u);
  EXPECT_EQ(f->get_uint("llama.embedding_length"), 576u);
  const auto tokens = f->get_string_array("tokenizer.ggml.tokens");
  EXPECT_EQ(tokens.size(), 49152u);
  const GgufTensorInfo* embd = f->find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->type, DType::kQ8_0);
  EXPECT_EQ(embd->dims, (std::vector<int64_t>{576, 49152}));
  EXPECT_EQ(f->tensor_data(*embd), f->mapping()->data() + f->data_offset() + embd->offset);
  uint64_t total = 0;
  for (const auto& t : f->tensors()) total += static_cast<uint64_t>(t.n_bytes());
  EXPECT_LE(total, f->file_size() - f->data_offset());
  EXPECT_GT(total, f->file_size() / 2);
}

TEST(GgufRealModel, SmolLM2RewritesToTheSameContents) {
  const std::string path = model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
  if (!std::filesystem::exists(path)) FAIL() << path << " is missing: run scripts/setup.sh";
  auto f = GgufFile::open(path);
  GgufWriter w(f->alignment());
  for (const auto& [k, v] : f->metadata()) w.set(k, v);
  for (const auto& t : f->tensors()) w.add_tensor(t.name, t.type, t.dims, f->tensor_data(t), t.n_bytes());
  const auto image = w.to_bytes();
  auto g = GgufFile::parse(image.data(), image.size(), "rewritten");
  EXPECT_EQ(g->metadata(), f->metadata());
  ASSERT_EQ(g->tensors().size(), f->tensors().size());
  for (size_t i = 0; i < f->tensors().size(); ++i) {
    const auto& a = f->tensors()[i];
    const auto& b = g->tensors()[i];
    ASSERT_EQ(a.name, b.name);
    EXPECT_EQ(a.dims, b.dims);
    EXPECT_EQ(std::memcmp(f->tensor_data(a), g->tensor_data(b), a.n_bytes()), 0) << a.name;
  }
}

TEST(GgufRealModel, Gemma3WhenPresent) {
  const std::string path = model_path("gemma-3-270m-q4_k_m.gguf");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is missing (scripts/setup.sh --test fetches it)";
  auto f = GgufFile::open(path);
  EXPECT_EQ(f->get_string("general.architecture"), "gemma3");
  bool has_q4_k = false;
  for (const auto& t : f->tensors()) has_q4_k = has_q4_k || t.type == DType::kQ4_K;
  EXPECT_TRUE(has_q4_k);
  EXPECT_GT(f->get_string_array("tokenizer.ggml.tokens").size(), 1000u);
}

}  // namespace
}  // namespace hearth::formats
