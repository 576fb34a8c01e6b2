// The tokenizers on small in-memory vocabularies: BPE merge order, SentencePiece
// scores and byte fallback, pre-tokenizer splits, special tokens, decoding, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/gguf.h"
#include "models/tokenizer.h"
#include "models/unicode.h"

namespace hearth::models {
namespace {

using Words = std::vector<std::string>;

// The 256 byte-level characters, one token each (ids 0..255 in byte order).
std::vector<std::string> byte_alphabet() {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(unicode::byte_to_text(static_cast<uint8_t>(b)));
  return tokens;
}

// A byte-level BPE vocabulary: the alphabet, then one token per merge, then
// the given control tokens.
VocabSpec bpe_spec(const std::vector<std::pair<std::string, std::string>>& merges,
                   const std::vector<std::string>& control = {}, const std::string& pre = "gpt-2") {
  VocabSpec spec;
  spec.model = "gpt2";
  spec.pre = pre;
  spec.tokens = byte_alphabet();
  for (const auto& [a, b] : merges) {
    spec.merges.push_back(a + " " + b);
    spec.tokens.push_back(a + b);
  }
  spec.token_types.assign(spec.tokens.size(), 1);
  for (const std::string& c : control) {
    spec.tokens.push_back(c);
    spec.token_types.push_back(3);
  }
  return spec;
}

std::vector<std::string> texts(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(tok.token_text(id));
  return out;
}

int32_t id_of(const Tokenizer& tok, const std::string& text) {
  const auto id = tok.find(text);
  EXPECT_TRUE(id.has_value()) << text;
  return id.value_or(-1);
}

// ---- Unicode ----

TEST(TokenizerUnicode, Classes) {
  using unicode::CharClass;
  EXPECT_EQ(unicode::char_class('a'), CharClass::kLetter);
  EXPECT_EQ(unicode::char_class(0x6771), CharClass::kLetter);  // 東
  EXPECT_EQ(unicode::char_class('7'), CharClass::kNumber);
  EXPECT_EQ(unicode::char_class(0xB2), CharClass::kNumber);  // ²
  EXPECT_EQ(unicode::char_class(0x2167), CharClass::kNumber);  // Ⅷ
  EXPECT_EQ(unicode::char_class('!'), CharClass::kPunctuation);
  EXPECT_EQ(unicode::char_class('$'), CharClass::kSymbol);
  EXPECT_EQ(unicode::char_class(0x1F600), CharClass::kSymbol);  // 😀
  EXPECT_EQ(unicode::char_class(0x301), CharClass::kMark);
  EXPECT_EQ(unicode::char_class(0x378), CharClass::kUndefined);
  EXPECT_EQ(unicode::char_class(0x110000), CharClass::kUndefined);
  EXPECT_TRUE(unicode::is_white_space(' '));
  EXPECT_TRUE(unicode::is_white_space('\n'));
  EXPECT_TRUE(unicode::is_white_space(0x3000));
  EXPECT_TRUE(unicode::is_white_space(0x85));
  EXPECT_FALSE(unicode::is_white_space(0x1C));
  EXPECT_FALSE(unicode::is_white_space(0x200B));  // zero width space is Cf, not White_Space
}

TEST(TokenizerUnicode, LenientDecoding) {
  EXPECT_EQ(unicode::decode("a\xC3\xA9"), (std::vector<uint32_t>{'a', 0xE9}));
  EXPECT_EQ(unicode::decode("\xFF\x80"), (std::vector<uint32_t>{0xFFFD, 0xFFFD}));
  EXPECT_EQ(unicode::decode("\xE2\x82"), (std::vector<uint32_t>{0xFFFD, 0xFFFD}));
  EXPECT_EQ(unicode::decode("\xC0\x80"), (std::vector<uint32_t>{0}));  // overlong, accepted as llama.cpp does
  EXPECT_EQ(unicode::decode("\xF5\x80\x80\x80").size(), 4u);  // past U+10FFFF: four bad bytes
  EXPECT_TRUE(unicode::is_valid_utf8("h\xC3\xA9llo \xF0\x9F\x98\x80"));
  EXPECT_FALSE(unicode::is_valid_utf8("\xC0\x80"));
  EXPECT_FALSE(unicode::is_valid_utf8("\xED\xA0\x80"));
}

TEST(TokenizerUnicode, ByteMapIsABijection) {
  std::vector<bool> seen(256, false);
  for (int b = 0; b < 256; ++b) {
    const std::string& t = unicode::byte_to_text(static_cast<uint8_t>(b));
    const std::vector<uint32_t> cps = unicode::decode(t);
    ASSERT_EQ(cps.size(), 1u);
    ASSERT_EQ(unicode::text_to_byte(cps[0]), b);
  }
  EXPECT_EQ(unicode::byte_to_text(' '), "\xC4\xA0");  // Ġ
  EXPECT_EQ(unicode::byte_to_text('\n'), "\xC4\x8A");  // Ċ
  EXPECT_EQ(unicode::byte_to_text('a'), "a");
  EXPECT_EQ(unicode::text_to_byte(0x4E00), -1);
}

// ---- pre-tokenizers ----

TEST(TokenizerPre, Names) {
  EXPECT_EQ(pre_tokenizer_from_name(""), PreTokenizer::kDefault);
  EXPECT_EQ(pre_tokenizer_from_name("smollm"), PreTokenizer::kSmollm);
  EXPECT_EQ(pre_tokenizer_from_name("llama-bpe"), PreTokenizer::kLlama3);
  EXPECT_EQ(pre_tokenizer_from_name("gpt2"), PreTokenizer::kGpt2);
  EXPECT_EQ(pre_tokenizer_from_name("qwen2"), PreTokenizer::kQwen2);
  EXPECT_FALSE(pre_tokenizer_from_name("klingon").has_value());
}

TEST(TokenizerPre, Gpt2) {
  EXPECT_EQ(split_words(PreTokenizer::kGpt2, "Hello world's  x"), (Words{"Hello", " world", "'s", " ", " x"}));
  EXPECT_EQ(split_words(PreTokenizer::kGpt2, "a 123 4.5!!"), (Words{"a", " 123", " 4", ".", "5", "!!"}));
  // Case-sensitive contractions; a lone tab before a word is a piece of its own.
  EXPECT_EQ(split_words(PreTokenizer::kGpt2, "I'M\tok  "), (Words{"I", "'", "M", "\t", "ok", "  "}));
  EXPECT_EQ(split_words(PreTokenizer::kGpt2, "\n\n x"), (Words{"\n\n", " x"}));
  EXPECT_EQ(split_words(PreTokenizer::kGpt2, ""), Words{});
}

TEST(TokenizerPre, SmollmSplitsEveryDigit) {
  EXPECT_EQ(split_words(PreTokenizer::kSmollm, "a 123x"), (Words{"a", " ", "1", "2", "3", "x"}));
  EXPECT_EQ(split_words(PreTokenizer::kSmollm, "x\xC2\xB2"), (Words{"x", "\xC2\xB2"}));  // ² is a number too
}

TEST(TokenizerPre, Llama3AndQwen2) {
  EXPECT_EQ(split_words(PreTokenizer::kLlama3, "1234567 ok"), (Words{"123", "456", "7", " ok"}));
  EXPECT_EQ(split_words(PreTokenizer::kQwen2, "123 ok"), (Words{"1", "2", "3", " ok"}));
  // Case-insensitive contractions, punctuation swallowing line breaks, \s*[\r\n]+.
  EXPECT_EQ(split_words(PreTokenizer::kLlama3, "I'M ok!!\n\nx"), (Words{"I", "'M", " ok", "!!\n\n", "x"}));
  EXPECT_EQ(split_words(PreTokenizer::kLlama3, "a  \n  b"), (Words{"a", "  \n", " ", " b"}));
  EXPECT_EQ(split_words(PreTokenizer::kLlama3, "\tword"), (Words{"\tword"}));
}

TEST(TokenizerPre, DefaultChainsFourSplits) {
  // Punctuation runs first, then GPT-2, then number runs, then digit triples.
  EXPECT_EQ(split_words(PreTokenizer::kDefault, "hi, there!! 12345"),
            (Words{"hi", ",", " there", "!!", " ", "123", "45"}));
}

TEST(TokenizerPre, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(split_words(PreTokenizer::kGpt2, "ab\xFF" "cd"), (Words{"ab", "\xEF\xBF\xBD", "cd"}));
}

// ---- BPE merging ----

TEST(TokenizerBpe, MergesLowestRankFirst) {
  auto tok = Tokenizer::from_spec(bpe_spec({{"a", "b"}, {"b", "c"}, {"ab", "c"}}));
  EXPECT_EQ(texts(*tok, tok->encode("abc", false, false)), (Words{"abc"}));
  // With the ranks reversed, "b c" wins and "ab c" never applies.
  auto tok2 = Tokenizer::from_spec(bpe_spec({{"b", "c"}, {"a", "b"}, {"ab", "c"}}));
  EXPECT_EQ(texts(*tok2, tok2->encode("abc", false, false)), (Words{"a", "bc"}));
}

TEST(TokenizerBpe, EqualRanksMergeLeftmostFirst) {
  auto tok = Tokenizer::from_spec(bpe_spec({{"a", "a"}}));
  EXPECT_EQ(texts(*tok, tok->encode("aaa", false, false)), (Words{"aa", "a"}));
  EXPECT_EQ(texts(*tok, tok->encode("aaaa", false, false)), (Words{"aa", "aa"}));
}

TEST(TokenizerBpe, MergesStayInsideWordsAndUseByteLevelSpaces) {
  const std::string sp = unicode::byte_to_text(' ');
  auto tok = Tokenizer::from_spec(bpe_spec({{sp, "a"}, {"a", "b"}, {sp + "a", "b"}}));
  EXPECT_EQ(texts(*tok, tok->encode("ab ab", false, false)), (Words{"ab", sp + "ab"}));
  EXPECT_EQ(tok->decode(tok->encode("ab ab", false, false)), "ab ab");
}

TEST(TokenizerBpe, EveryByteHasAToken) {
  auto tok = Tokenizer::from_spec(bpe_spec({{"q", "q"}}));
  std::string all;
  for (int b = 1; b < 256; ++b) all += static_cast<char>(b);
  const std::vector<int32_t> ids = tok->encode(all, false, false);
  for (int32_t id : ids) EXPECT_LT(id, 256);
  // Invalid UTF-8 turns into U+FFFD on the way in, as in llama.cpp.
  EXPECT_EQ(tok->decode(tok->encode("x\xFFy", false, false)), "x\xEF\xBF\xBDy");
  EXPECT_EQ(tok->decode(tok->encode("\xC3\xA9t\xC3\xA9", false, false)), "\xC3\xA9t\xC3\xA9");
}

TEST(TokenizerBpe, Llama3IgnoresMergesForWholeWordTokens) {
  // "abc" is a token but no merge sequence reaches it: llama3 emits it whole.
  VocabSpec spec = bpe_spec({{"a", "b"}}, {}, "llama-bpe");
  spec.tokens.push_back("abc");
  spec.token_types.push_back(1);
  auto tok = Tokenizer::from_spec(spec);
  EXPECT_EQ(texts(*tok, tok->encode("abc", false, false)), (Words{"abc"}));
  EXPECT_TRUE(tok->add_bos());  // llama3's default
  spec.pre = "gpt-2";
  auto tok2 = Tokenizer::from_spec(spec);
  EXPECT_EQ(texts(*tok2, tok2->encode("abc", false, false)), (Words{"ab", "c"}));
}

TEST(TokenizerBpe, SpecialTokensAndBos) {
  VocabSpec spec = bpe_spec({{"h", "i"}}, {"<|im_start|>", "<|im_end|>", "<|im_start|>x"});
  spec.bos_id = static_cast<int64_t>(spec.tokens.size()) - 3;
  spec.add_bos = true;
  auto tok = Tokenizer::from_spec(spec);
  const int32_t start = id_of(*tok, "<|im_start|>");
  const int32_t end = id_of(*tok, "<|im_end|>");
  const int32_t hi = id_of(*tok, "hi");
  EXPECT_EQ(tok->encode("<|im_start|>hi<|im_end|>", false, true), (std::vector<int32_t>{start, hi, end}));
  EXPECT_EQ(tok->encode("hi", true, true), (std::vector<int32_t>{start, hi}));
  // Without parse_special the control texts are plain text.
  const std::vector<int32_t> plain = tok->encode("<|im_end|>", false, false);
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(tok->decode(plain), "<|im_end|>");
  // Longer special texts are cut out first.
  EXPECT_EQ(tok->encode("<|im_start|>x", false, true), (std::vector<int32_t>{id_of(*tok, "<|im_start|>x")}));
  EXPECT_EQ(tok->token_to_piece(end), "<|im_end|>");
  EXPECT_TRUE(tok->is_end_of_generation(end));  // recognised by its text
  EXPECT_FALSE(tok->is_end_of_generation(start));
}

TEST(TokenizerBpe, CleanUpSpacesOnDecodeForGpt2) {
  auto tok = Tokenizer::from_spec(bpe_spec({{"a", "b"}}));
  const std::string text = "a , b . c 's d 're e n't f 'll g ' ' h";
  EXPECT_EQ(tok->decode(tok->encode(text, false, false)), "a, b. c's d're e n't f 'll g'' h");
  auto smollm_like = Tokenizer::from_spec(bpe_spec({{"a", "b"}}, {}, "smollm"));
  EXPECT_EQ(smollm_like->decode(smollm_like->encode(text, false, false)), text);
}

TEST(TokenizerBpe, UnknownPreTokenizerIsAnErrorNamingIt) {
  try {
    Tokenizer::from_spec(bpe_spec({{"a", "b"}}, {}, "klingon-v2"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("klingon-v2"), std::string::npos) << e.what();
  }
}

TEST(TokenizerBpe, MissingMergesAndUnknownModelAreErrors) {
  VocabSpec spec = bpe_spec({{"a", "b"}});
  spec.merges.clear();
  EXPECT_THROW(Tokenizer::from_spec(spec), Error);
  spec = bpe_spec({{"a", "b"}});
  spec.model = "t5";
  try {
    Tokenizer::from_spec(spec);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("t5"), std::string::npos);
  }
  spec = bpe_spec({{"a", "b"}});
  spec.scores = {1.0f};
  EXPECT_THROW(Tokenizer::from_spec(spec), Error);
}

// ---- SentencePiece ----

// "▁" words, single letters, a few merges with scores, and byte tokens.
VocabSpec spm_spec(float ab_score, float bc_score) {
  VocabSpec spec;
  spec.model = "llama";
  auto add = [&](const std::string& t, float score, int32_t type) {
    spec.tokens.push_back(t);
    spec.scores.push_back(score);
    spec.token_types.push_back(type);
  };
  add("<unk>", 0, 2);
  add("<s>", 0, 3);
  add("</s>", 0, 3);
  add("<start_of_turn>", 0, 3);
  add("<end_of_turn>", 0, 3);
  add("<b>", 0, 4);
  add("<unused0>", 0, 5);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    add(name, 0, 6);
  }
  add("\xE2\x96\x81", -1, 1);  // ▁
  add("a", -2, 1);
  add("b", -2, 1);
  add("c", -2, 1);
  add("ab", ab_score, 1);
  add("bc", bc_score, 1);
  add("\xE2\x96\x81" "a", -1.5f, 1);
  return spec;
}

TEST(TokenizerSpm, HighestScoreMergesFirst) {
  auto tok = Tokenizer::from_spec(spm_spec(-1, -0.5f));
  EXPECT_EQ(texts(*tok, tok->encode("abc", false, false)), (Words{"\xE2\x96\x81" "a", "bc"}));
  auto tok2 = Tokenizer::from_spec(spm_spec(-0.5f, -1));
  // add_space_prefix (the default) puts ▁ first; ▁a (-1.5) loses to ab (-0.5).
  EXPECT_EQ(texts(*tok2, tok2->encode("abc", false, false)), (Words{"\xE2\x96\x81", "ab", "c"}));
}

TEST(TokenizerSpm, EqualScoresMergeLeftmostFirst) {
  VocabSpec spec = spm_spec(-1, -1);
  spec.add_space_prefix = false;
  auto no_prefix = Tokenizer::from_spec(spec);
  EXPECT_EQ(texts(*no_prefix, no_prefix->encode("abc", false, false)), (Words{"ab", "c"}));
}

TEST(TokenizerSpm, ByteFallbackAndPieces) {
  VocabSpec spec = spm_spec(-1, -1);
  spec.add_space_prefix = false;
  auto tok = Tokenizer::from_spec(spec);
  // é is not in the vocabulary: its two UTF-8 bytes become byte tokens.
  const std::vector<int32_t> ids = tok->encode("a\xC3\xA9", false, false);
  EXPECT_EQ(texts(*tok, ids), (Words{"a", "<0xC3>", "<0xA9>"}));
  EXPECT_EQ(tok->token_to_piece(id_of(*tok, "<0xC3>")), "\xC3");
  EXPECT_EQ(tok->token_to_piece(id_of(*tok, "<0x0A>")), "\n");
  EXPECT_EQ(tok->decode(ids), "a\xC3\xA9");
  // Invalid UTF-8 goes through as bytes too.
  EXPECT_EQ(tok->decode(tok->encode("\xFF" "a\x80", false, false)), "\xFF" "a\x80");
  EXPECT_EQ(tok->token_to_piece(id_of(*tok, "\xE2\x96\x81" "a")), " a");
  EXPECT_EQ(tok->token_to_piece(id_of(*tok, "<start_of_turn>")), "<start_of_turn>");
  EXPECT_EQ(tok->token_to_piece(id_of(*tok, "<unused0>")), "");
  EXPECT_THROW(tok->token_to_piece(-1), Error);
  EXPECT_THROW(tok->token_to_piece(tok->n_vocab()), Error);
}

TEST(TokenizerSpm, BosSpacePrefixAndSpecialTokens) {
  auto tok = Tokenizer::from_spec(spm_spec(-1, -1));
  EXPECT_EQ(tok->bos_id(), 1);  // llama.cpp's SentencePiece defaults
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_TRUE(tok->add_bos());
  const int32_t sot = id_of(*tok, "<start_of_turn>");
  const std::vector<int32_t> ids = tok->encode("<start_of_turn>a b", true, true);
  // BOS, the control token, then "▁a" (a space prefix after a special token) "▁" "b".
  EXPECT_EQ(texts(*tok, ids), (Words{"<s>", "<start_of_turn>", "\xE2\x96\x81" "a", "\xE2\x96\x81", "b"}));
  EXPECT_EQ(ids[1], sot);
  // Without parse_special the control text is spelled out; user-defined <b> is still cut out.
  const std::vector<int32_t> plain = tok->encode("<start_of_turn><b>", false, false);
  EXPECT_NE(std::find(plain.begin(), plain.end(), id_of(*tok, "<b>")), plain.end());
  EXPECT_EQ(std::find(plain.begin(), plain.end(), sot), plain.end());
  // Decoding drops the leading space the prefix added.
  EXPECT_EQ(tok->decode(tok->encode("a b", false, false)), "a b");
  EXPECT_TRUE(tok->is_end_of_generation(id_of(*tok, "<end_of_turn>")));
  EXPECT_TRUE(tok->is_end_of_generation(2));
  EXPECT_FALSE(tok->is_end_of_generation(1));
  EXPECT_FALSE(tok->is_end_of_generation(-5));
}

TEST(TokenizerSpm, ArbitraryBytesRoundTrip) {
  VocabSpec spec = spm_spec(-1, -1);
  spec.add_space_prefix = false;
  auto tok = Tokenizer::from_spec(spec);
  // Stray continuation bytes are symbols of one byte and come back as bytes. (A
  // stray lead byte is not round-trip safe, in llama.cpp either: it swallows the
  // next bytes into one symbol, such as the first bytes of an escaped space.)
  const char* pool[] = {"a", "b", " ", "c", "<", ">", "\xC3\xA9", "\xE6\x9D\xB1", "\x80", "\xBF", "\xF0\x9F\x98\x80"};
  std::mt19937 rng(3);
  for (int round = 0; round < 200; ++round) {
    std::string text;
    for (size_t n = rng() % 30; n > 0; --n) text += pool[rng() % std::size(pool)];
    ASSERT_EQ(tok->decode(tok->encode(text, false, false)), text);
  }
  // Any bytes at all: no crash, ids in range.
  for (int round = 0; round < 200; ++round) {
    std::string text(rng() % 40, '\0');
    for (char& c : text) c = static_cast<char>(rng() % 256);
    for (int32_t id : tok->encode(text, true, true)) ASSERT_TRUE(id >= 0 && id < tok->n_vocab());
  }
}

// ---- GGUF ----

TEST(TokenizerGguf, ReadsTheTokenizerKeys) {
  VocabSpec spec = bpe_spec({{"h", "i"}}, {"<|endoftext|>", "<|im_end|>"});
  formats::GgufWriter w;
  w.set("tokenizer.ggml.model", formats::GgufValue::str("gpt2"));
  w.set("tokenizer.ggml.pre", formats::GgufValue::str("smollm"));
  w.set("tokenizer.ggml.tokens", formats::GgufValue::string_array(spec.tokens));
  w.set("tokenizer.ggml.token_type", formats::GgufValue::i32_array(spec.token_types));
  w.set("tokenizer.ggml.merges", formats::GgufValue::string_array(spec.merges));
  w.set("tokenizer.ggml.bos_token_id", formats::GgufValue::u32(static_cast<uint32_t>(spec.tokens.size() - 2)));
  w.set("tokenizer.ggml.eos_token_id", formats::GgufValue::u32(static_cast<uint32_t>(spec.tokens.size() - 1)));
  w.set("tokenizer.ggml.add_bos_token", formats::GgufValue::make_bool(true));
  const std::vector<uint8_t> bytes = w.to_bytes();
  auto file = formats::GgufFile::parse(bytes.data(), bytes.size(), "memory.gguf");
  auto tok = Tokenizer::from_gguf(*file);
  EXPECT_EQ(tok->n_vocab(), static_cast<int32_t>(spec.tokens.size()));
  EXPECT_EQ(tok->pre_tokenizer(), PreTokenizer::kSmollm);
  EXPECT_EQ(tok->bos_id(), tok->n_vocab() - 2);
  EXPECT_EQ(tok->eos_id(), tok->n_vocab() - 1);
  EXPECT_EQ(texts(*tok, tok->encode("hi", true, false)), (Words{"<|endoftext|>", "hi"}));

  formats::GgufWriter bad;
  bad.set("tokenizer.ggml.model", formats::GgufValue::str("gpt2"));
  bad.set("tokenizer.ggml.pre", formats::GgufValue::str("no-such-pre"));
  bad.set("tokenizer.ggml.tokens", formats::GgufValue::string_array(spec.tokens));
  bad.set("tokenizer.ggml.merges", formats::GgufValue::string_array(spec.merges));
  const std::vector<uint8_t> bad_bytes = bad.to_bytes();
  auto bad_file = formats::GgufFile::parse(bad_bytes.data(), bad_bytes.size(), "bad.gguf");
  try {
    Tokenizer::from_gguf(*bad_file);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no-such-pre"), std::string::npos) << msg;
    EXPECT_NE(msg.find("bad.gguf"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace hearth::models
