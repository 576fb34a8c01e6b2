// The tokenizers against llama.cpp on the real models: token ids, decoded bytes,
// pieces and special-token facts from tests/data/tokenizer_*.json, which
// tests/models/gen_tokenizer_golden.py wrote with llama-cpp-python.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "formats/gguf.h"
#include "models/tokenizer.h"
#include "models/unicode.h"

namespace hearth::models {
namespace {

using nlohmann::json;

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

constexpr const char* kSmollm = "SmolLM2-135M-Instruct.Q4_1.gguf";
constexpr const char* kGemma = "gemma-3-270m-q4_k_m.gguf";

json load_golden(const std::string& name) {
  const std::string path = std::string(HEARTH_TEST_DATA) + "/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return json::parse(in);
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// A JSON string literal of the bytes (escaped, invalid UTF-8 replaced) for messages.
std::string printable(const std::string& bytes) {
  return json(bytes).dump(-1, ' ', true, json::error_handler_t::replace);
}

std::string ids_str(const std::vector<int32_t>& ids) { return json(ids).dump(); }

// Opens a real model; the caller FAILs (not skips) when it is missing.
std::unique_ptr<formats::GgufFile> open_model(const char* file) {
  const std::string path = model_path(file);
  if (!std::filesystem::exists(path)) return nullptr;
  return formats::GgufFile::open(path);
}

#define OPEN_MODEL_OR_FAIL(var, file)                                                                       \
  auto var = open_model(file);                                                                              \
  if (!var) FAIL() << model_path(file) << " is missing: run scripts/setup.sh --test to install the models " \
                   << "(HEARTH_HOME=" << (std::getenv("HEARTH_HOME") ? std::getenv("HEARTH_HOME") : "") << ")"

// Every case of a golden file: same ids, same decoded bytes. Returns the case count.
size_t check_cases(const Tokenizer& tok, const json& golden) {
  size_t encode_bad = 0, decode_bad = 0;
  for (const json& c : golden["cases"]) {
    const std::string text = from_hex(c["text_hex"].get<std::string>());
    const bool add_special = c["add_special"].get<bool>();
    const bool parse_special = c["parse_special"].get<bool>();
    const auto expected = c["ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> got = tok.encode(text, add_special, parse_special);
    if (got != expected && ++encode_bad <= 10) {
      ADD_FAILURE() << golden["label"].get<std::string>() << ": encode(" << printable(text)
                    << ", add_special=" << add_special << ", parse_special=" << parse_special << ")\n  got      "
                    << ids_str(got) << "\n  llama.cpp " << ids_str(expected);
    }
    const std::string expected_text = from_hex(c["decoded_hex"].get<std::string>());
    const std::string decoded = tok.decode(expected);
    if (decoded != expected_text && ++decode_bad <= 10) {
      ADD_FAILURE() << golden["label"].get<std::string>() << ": decode(" << ids_str(expected) << ")\n  got      "
                    << printable(decoded) << "\n  llama.cpp " << printable(expected_text);
    }
  }
  EXPECT_EQ(encode_bad, 0u) << "encode mismatches in " << golden["label"].get<std::string>();
  EXPECT_EQ(decode_bad, 0u) << "decode mismatches in " << golden["label"].get<std::string>();
  return golden["cases"].size();
}

void check_vocab_facts(const Tokenizer& tok, const json& golden) {
  EXPECT_EQ(tok.n_vocab(), golden["n_vocab"].get<int32_t>());
  EXPECT_EQ(tok.bos_id(), golden["bos_id"].get<int32_t>());
  EXPECT_EQ(tok.eos_id(), golden["eos_id"].get<int32_t>());
  EXPECT_EQ(tok.eot_id(), golden["eot_id"].get<int32_t>());
  EXPECT_EQ(tok.add_bos(), golden["add_bos"].get<bool>());
  EXPECT_EQ(tok.add_eos(), golden["add_eos"].get<bool>());

  const auto eog = golden["end_of_generation_ids"].get<std::set<int32_t>>();
  const auto control = golden["control_ids"].get<std::set<int32_t>>();
  ASSERT_FALSE(eog.empty());
  for (int32_t id = 0; id < tok.n_vocab(); ++id) {
    ASSERT_EQ(tok.is_end_of_generation(id), eog.count(id) == 1) << "token " << id << " " << tok.token_text(id);
    ASSERT_EQ(tok.token_type(id) == TokenType::kControl, control.count(id) == 1)
        << "token " << id << " " << tok.token_text(id);
  }
  for (const json& p : golden["pieces"]) {
    const int32_t id = p["id"].get<int32_t>();
    ASSERT_EQ(tok.token_to_piece(id), from_hex(p["piece_hex"].get<std::string>())) << "token " << id;
  }
}

TEST(TokenizerGolden, SmolLM2MatchesLlamaCpp) {
  OPEN_MODEL_OR_FAIL(file, kSmollm);
  const json golden = load_golden("tokenizer_smollm2.json");
  auto tok = Tokenizer::from_gguf(*file);
  EXPECT_TRUE(tok->is_bpe());
  EXPECT_EQ(tok->pre_tokenizer(), PreTokenizer::kSmollm);
  EXPECT_GE(check_cases(*tok, golden), 160u);
  check_vocab_facts(*tok, golden);
}

TEST(TokenizerGolden, Gemma3MatchesLlamaCpp) {
  OPEN_MODEL_OR_FAIL(file, kGemma);
  const json golden = load_golden("tokenizer_gemma3.json");
  auto tok = Tokenizer::from_gguf(*file);
  EXPECT_FALSE(tok->is_bpe());
  EXPECT_GE(check_cases(*tok, golden), 160u);
  check_vocab_facts(*tok, golden);
}

// The pre-tokenizers no installed model uses, on SmolLM2's vocabulary with
// tokenizer.ggml.pre rewritten (as the generator did for llama.cpp).
class TokenizerPreGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(TokenizerPreGolden, MatchesLlamaCpp) {
  OPEN_MODEL_OR_FAIL(file, kSmollm);
  const std::string pre = GetParam();
  std::string name = pre;
  for (char& c : name) c = c == '-' ? '_' : c;
  const json golden = load_golden("tokenizer_smollm2_pre_" + name + ".json");
  VocabSpec spec = Tokenizer::read_spec(*file);
  spec.pre = pre;
  auto tok = Tokenizer::from_spec(spec);
  EXPECT_GE(check_cases(*tok, golden), 80u);
  EXPECT_EQ(tok->add_bos(), golden["add_bos"].get<bool>());
}

INSTANTIATE_TEST_SUITE_P(Variants, TokenizerPreGolden, ::testing::Values("gpt-2", "default", "llama-bpe", "qwen2"));

// SentencePiece's space prefix (and the space decode drops again), which Gemma
// turns off, on Gemma's vocabulary with tokenizer.ggml.add_space_prefix set.
TEST(TokenizerGolden, Gemma3WithSpacePrefixMatchesLlamaCpp) {
  OPEN_MODEL_OR_FAIL(file, kGemma);
  const json golden = load_golden("tokenizer_gemma3_space_prefix.json");
  VocabSpec spec = Tokenizer::read_spec(*file);
  spec.add_space_prefix = true;
  auto tok = Tokenizer::from_spec(spec);
  EXPECT_GE(check_cases(*tok, golden), 160u);
}

// Random bytes, valid UTF-8 or not, through both real vocabularies: nothing
// throws or crashes, and every id is in range. Random valid UTF-8 round trips.
TEST(TokenizerGolden, ArbitraryBytesNeverBreakRealVocabularies) {
  OPEN_MODEL_OR_FAIL(smollm_file, kSmollm);
  OPEN_MODEL_OR_FAIL(gemma_file, kGemma);
  auto smollm = Tokenizer::from_gguf(*smollm_file);
  auto gemma = Tokenizer::from_gguf(*gemma_file);
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::string text(rng() % 64, '\0');
    for (char& c : text) c = static_cast<char>(rng() % 256);
    for (const Tokenizer* tok : {smollm.get(), gemma.get()}) {
      const std::vector<int32_t> ids = tok->encode(text, true, true);
      for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok->n_vocab());
      (void)tok->decode(ids);
    }
  }
  // Code points from the blocks the pre-tokenizers treat apart; not U+2581,
  // which SentencePiece hands back as a space.
  const uint32_t ranges[][2] = {{0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0x24F}, {0x300, 0x36F}, {0x400, 0x4FF},
                                {0x600, 0x6FF}, {0x2000, 0x2070}, {0x3000, 0x303F}, {0x4E00, 0x4FFF},
                                {0xAC00, 0xAD00}, {0x1F300, 0x1F6FF}, {0xE000, 0xE010}};
  for (int round = 0; round < 300; ++round) {
    std::string text;
    for (size_t n = rng() % 40; n > 0; --n) {
      const auto& r = ranges[rng() % std::size(ranges)];
      const uint32_t cp = r[0] + rng() % (r[1] - r[0] + 1);
      if (cp != 0x2581) unicode::append_utf8(text, cp);
    }
    ASSERT_EQ(smollm->decode(smollm->encode(text, false, false)), text);
    ASSERT_EQ(gemma->decode(gemma->encode(text, false, false)), text);
  }
}

// Round trips of a large mixed text; this also keeps the encoders honest about
// their complexity (a quadratic one would not finish within the test timeout).
TEST(TokenizerGolden, LargeTextRoundTrips) {
  OPEN_MODEL_OR_FAIL(smollm_file, kSmollm);
  OPEN_MODEL_OR_FAIL(gemma_file, kGemma);
  auto smollm = Tokenizer::from_gguf(*smollm_file);
  auto gemma = Tokenizer::from_gguf(*gemma_file);
  const json golden = load_golden("tokenizer_smollm2.json");
  std::string text;
  while (text.size() < 400 * 1024) {
    for (const json& c : golden["cases"]) {
      // U+2581 in the input would come back from SentencePiece as a space.
      if (c.contains("text") && c["text"].get<std::string>().find("\xE2\x96\x81") == std::string::npos) {
        text += c["text"].get<std::string>();
      }
    }
  }
  const std::vector<int32_t> a = smollm->encode(text, false, false);
  EXPECT_EQ(smollm->decode(a), text);
  EXPECT_LT(a.size(), text.size());
  const std::vector<int32_t> b = gemma->encode(text, false, false);
  EXPECT_EQ(gemma->decode(b), text);
  EXPECT_LT(b.size(), text.size());
}

}  // namespace
}  // namespace hearth::models
