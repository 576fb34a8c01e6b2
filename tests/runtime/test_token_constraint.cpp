// Token constraints: the vocabulary trie, masks against token-by-token checks,
// end-of-generation handling, the sampler under a constraint (the same choices
// as masking logits to -inf), and greedy JSON from the default model.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <set>

#include "../models/hearth_home.h"
#include "core/error.h"
#include "grammar_walk.h"
#include "models/model.h"
#include "models/unicode.h"
#include "runtime/chat.h"
#include "runtime/json_schema_grammar.h"
#include "runtime/json_schema_validate.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "runtime/token_constraint.h"

namespace hearth::runtime {
namespace {

using Json = nlohmann::ordered_json;

std::string byte_level(std::string_view bytes) {
  std::string out;
  for (const char c : bytes) out += models::unicode::byte_to_text(static_cast<uint8_t>(c));
  return out;
}

// A byte-level BPE vocabulary: the 256 bytes, some JSON-ish multi-byte tokens,
// an end token, a control token, an unused one and a user-defined one.
struct SmallVocab {
  std::unique_ptr<models::Tokenizer> tokenizer;
  std::shared_ptr<const TokenVocabulary> vocab;
  int32_t eos = -1, control = -1, unused = -1, user = -1;
  std::vector<std::string> pieces;  // bytes of each token as built

  SmallVocab() {
    models::VocabSpec spec;
    spec.model = "gpt2";
    spec.pre = "gpt-2";
    for (int b = 0; b < 256; ++b) {
      spec.tokens.push_back(models::unicode::byte_to_text(static_cast<uint8_t>(b)));
      pieces.push_back(std::string(1, static_cast<char>(b)));
    }
    for (const char* t : {"{\"", "\":", "\",", "\"}", "true", "false", "null", "name", "get_weather", "12", " \"",
                          "\": \"", "}}", "\\n", "ab", "abc", "a", "\xc3\xa9", "\xe2\x82", "city", "\"Oslo\"", "0.5",
                          "]}", "[{", "arguments", "\":{\""})
      if (std::find(pieces.begin(), pieces.end(), t) == pieces.end()) {
        spec.tokens.push_back(byte_level(t));
        pieces.push_back(t);
      }
    spec.merges = {"a b"};
    spec.token_types.assign(spec.tokens.size(), 1);
    auto special = [&](const std::string& text, int type) {
      spec.tokens.push_back(text);
      spec.token_types.push_back(type);
      pieces.push_back(type == 5 ? "" : text);
      return static_cast<int32_t>(spec.tokens.size() - 1);
    };
    eos = special("<|im_end|>", 3);
    control = special("<|im_start|>", 3);
    unused = special("<unused0>", 5);
    user = special("UD", 4);
    spec.eos_id = eos;
    tokenizer = models::Tokenizer::from_spec(spec);
    vocab = std::make_shared<const TokenVocabulary>(*tokenizer);
  }
};

const SmallVocab& small_vocab() {
  static const SmallVocab v;
  return v;
}

std::shared_ptr<const Grammar> grammar_of(const std::string& schema) {
  return std::make_shared<const Grammar>(grammar_from_json_schema(Json::parse(schema)));
}

TEST(TokenConstraint, VocabularySortsTokensIntoKindsAndATrie) {
  const SmallVocab& v = small_vocab();
  EXPECT_EQ(v.vocab->n_vocab(), v.tokenizer->n_vocab());
  EXPECT_EQ(v.vocab->kind(v.eos), TokenVocabulary::Kind::kEnd);
  EXPECT_EQ(v.vocab->kind(v.control), TokenVocabulary::Kind::kNever);
  EXPECT_EQ(v.vocab->kind(v.unused), TokenVocabulary::Kind::kNever);
  EXPECT_EQ(v.vocab->kind(v.user), TokenVocabulary::Kind::kText);
  EXPECT_EQ(v.vocab->end_tokens(), std::vector<int32_t>{v.eos});
  size_t text = 0;
  for (int32_t id = 0; id < v.vocab->n_vocab(); ++id) {
    if (v.vocab->kind(id) != TokenVocabulary::Kind::kText) continue;
    ++text;
    EXPECT_EQ(v.vocab->bytes(id), v.pieces[id]) << id;
  }
  // One node per distinct prefix of the token byte strings.
  std::set<std::string> prefixes;
  for (int32_t id = 0; id < v.vocab->n_vocab(); ++id)
    if (v.vocab->kind(id) == TokenVocabulary::Kind::kText)
      for (size_t n = 1; n <= v.pieces[id].size(); ++n) prefixes.insert(v.pieces[id].substr(0, n));
  EXPECT_EQ(v.vocab->trie_nodes(), prefixes.size());
  EXPECT_EQ(text, static_cast<size_t>(v.vocab->n_vocab()) - 3);  // all but the end, control and unused tokens
}

// Every step of random token walks: the mask must equal allows() for every
// token, both must equal those of a constraint without the transition cache,
// and allows() must equal matching the token's bytes directly.
TEST(TokenConstraint, MaskAgreesWithTokenByTokenChecks) {
  const SmallVocab& v = small_vocab();
  const std::vector<std::string> schemas = {
      "true",
      R"({"type":"object","properties":{"name":{"const":"get_weather"},"arguments":{"type":"object",
          "properties":{"city":{"type":"string"}},"required":["city"]}},"required":["name","arguments"]})",
      R"({"type":"array","items":{"type":"number","minimum":0,"maximum":20},"maxItems":4})",
  };
  MatcherLimits uncached;
  uncached.cache_transitions = false;
  std::mt19937 rng(5);
  const auto n = static_cast<size_t>(v.vocab->n_vocab());
  std::vector<uint8_t> mask(n + 3), reference_mask(n);
  size_t steps = 0;
  for (const std::string& schema : schemas) {
    const auto g = grammar_of(schema);
    for (int walk = 0; walk < 12; ++walk) {
      TokenConstraint c(g, v.vocab), reference(g, v.vocab, uncached);
      std::string text;
      for (int step = 0; step < 300; ++step, ++steps) {
        c.fill_mask(mask);
        reference.fill_mask(reference_mask);
        std::vector<int32_t> allowed;
        for (size_t id = 0; id < n; ++id) {
          const auto t = static_cast<int32_t>(id);
          const bool a = c.allows(t);
          ASSERT_EQ(mask[id] != 0, a) << "token " << id << " after \"" << text << "\"";
          ASSERT_EQ(reference_mask[id] != 0, a) << "token " << id << " after \"" << text << "\"";
          ASSERT_EQ(reference.allows(t), a) << "token " << id << " after \"" << text << "\"";
          if (id % 7 == static_cast<size_t>(step) % 7) {
            GrammarMatcher copy = reference.matcher();
            const bool direct = v.vocab->kind(t) == TokenVocabulary::Kind::kText
                                    ? copy.can_advance(v.vocab->bytes(t))
                                    : v.vocab->kind(t) == TokenVocabulary::Kind::kEnd && c.complete();
            ASSERT_EQ(a, direct) << "token " << id << " after \"" << text << "\"";
          }
          if (a) allowed.push_back(t);
        }
        EXPECT_EQ(mask[n], 0);  // padding past the vocabulary
        EXPECT_FALSE(c.allows(v.control));
        EXPECT_FALSE(c.allows(v.unused));
        EXPECT_EQ(c.allows(v.eos), c.complete());
        ASSERT_FALSE(allowed.empty()) << text;
        if (c.must_end()) {
          EXPECT_EQ(allowed, std::vector<int32_t>{v.eos});
        }
        int32_t pick;
        if (c.complete() && (text.size() > 40 || rng() % 4 == 0)) {
          pick = v.eos;
        } else if (text.size() < 40) {
          pick = allowed[rng() % allowed.size()];
        } else {  // steer to the end
          uint32_t best = UINT32_MAX;
          pick = allowed[0];
          for (const int32_t id : allowed) {
            TokenConstraint t = reference;
            t.accept(id);
            if (t.min_bytes_to_complete() < best) best = t.min_bytes_to_complete(), pick = id;
          }
        }
        c.accept(pick);
        reference.accept(pick);
        if (pick == v.eos) break;
        text += v.vocab->bytes(pick);
      }
      ASSERT_TRUE(c.ended()) << text;
      const Json value = Json::parse(text, nullptr, false);
      ASSERT_FALSE(value.is_discarded()) << text;
      EXPECT_FALSE(json_schema_validate(Json::parse(schema), value).has_value()) << text;
    }
  }
  EXPECT_GT(steps, 300u);
}

TEST(TokenConstraint, EndOfGenerationOnlyWhenComplete) {
  const SmallVocab& v = small_vocab();
  TokenConstraint c(grammar_of(R"({"type":"object","properties":{"name":{"const":"get_weather"}},"required":["name"]})"),
                    v.vocab);
  const int32_t open = *v.tokenizer->find(byte_level("{\""));
  const int32_t name = *v.tokenizer->find(byte_level("name"));
  const int32_t colon = *v.tokenizer->find(byte_level("\":"));
  EXPECT_FALSE(c.allows(v.eos));
  EXPECT_FALSE(c.allows(*v.tokenizer->find(byte_level("true"))));
  EXPECT_THROW(c.accept(v.eos), Error);
  EXPECT_THROW(c.accept(v.control), Error);
  EXPECT_THROW(c.accept(-1), Error);
  c.accept(open);
  c.accept(name);
  c.accept(colon);
  c.accept_text("\"get_weather\"");
  EXPECT_THROW(c.accept_text("x"), Error);
  EXPECT_FALSE(c.complete());
  c.accept('}');
  EXPECT_TRUE(c.complete());
  EXPECT_TRUE(c.must_end());
  EXPECT_EQ(c.allowed_tokens(), std::vector<int32_t>{v.eos});
  c.accept(v.eos);
  EXPECT_TRUE(c.ended());
  EXPECT_FALSE(c.complete());
  EXPECT_TRUE(c.allowed_tokens().empty());
  EXPECT_THROW(c.accept(v.eos), Error);
}

// ---- the sampler under a constraint ----

std::vector<float> random_logits(std::mt19937& rng, size_t n) {
  std::normal_distribution<float> d(0.0f, 3.0f);
  std::vector<float> l(n);
  for (auto& x : l) x = d(rng);
  return l;
}

// The same seed must give the same tokens as sampling from logits with every
// disallowed token set to -inf.
TEST(SamplerConstrained, ChoosesAsIfDisallowedLogitsWereMinusInfinity) {
  const SmallVocab& v = small_vocab();
  const auto g = grammar_of(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}}})");
  const size_t n = static_cast<size_t>(v.vocab->n_vocab());
  std::vector<SamplerParams> settings(5);
  settings[0].temperature = 0;
  settings[1].temperature = 0.9f;  // top-k 40, top-p 0.95, min-p 0.05
  settings[2].temperature = 1.3f, settings[2].top_k = 3, settings[2].top_p = 1, settings[2].min_p = 0;
  settings[3].temperature = 1.0f, settings[3].top_k = 0, settings[3].top_p = 0.7f, settings[3].min_p = 0;
  settings[4].temperature = 0.7f, settings[4].top_k = 0, settings[4].top_p = 1, settings[4].min_p = 0.2f,
  settings[4].repeat_penalty = 1.3f;
  for (size_t si = 0; si < settings.size(); ++si) {
    settings[si].seed = 99 + si;
    Sampler constrained(settings[si]), masked(settings[si]);
    std::mt19937 rng(static_cast<uint32_t>(si));
    TokenConstraint c(g, v.vocab);
    std::vector<int32_t> history;
    std::vector<uint8_t> mask(n);
    for (int step = 0; step < 60 && !c.ended(); ++step) {
      std::vector<float> logits = random_logits(rng, n);
      c.fill_mask(mask);
      std::vector<float> minus_inf = logits;
      for (size_t id = 0; id < n; ++id)
        if (!mask[id]) minus_inf[id] = -INFINITY;
      const int32_t got = constrained.sample(logits, history, &c);
      const int32_t want = masked.sample(minus_inf, history);
      ASSERT_EQ(got, want) << "settings " << si << " step " << step;
      ASSERT_TRUE(c.allows(got));
      c.accept(got);
      history.push_back(got);
    }
  }
}

// Plain temperature sampling rejects and redraws: the frequencies must still
// be the softmax over the allowed tokens, whether the draws mostly land on
// allowed tokens or mostly do not (and the full mask takes over).
TEST(SamplerConstrained, PlainTemperatureSamplingFollowsTheMaskedSoftmax) {
  const SmallVocab& v = small_vocab();
  TokenConstraint c(grammar_of(R"({"type":"integer"})"), v.vocab);
  const size_t n = static_cast<size_t>(v.vocab->n_vocab());
  for (const float letters : {-1.0f, 4.0f}) {
    std::vector<float> logits(n, -3.0f);
    for (int b = 'a'; b <= 'z'; ++b) logits[b] = letters;
    for (int d = 0; d <= 9; ++d) logits['0' + d] = 0.2f * static_cast<float>(d);
    logits['-'] = 1.0f;
    SamplerParams p;
    p.temperature = 0.8f;
    p.top_k = 0;
    p.top_p = 1;
    p.min_p = 0;
    Sampler s(p);
    std::vector<double> expected(n, 0.0);
    double z = 0;
    for (size_t id = 0; id < n; ++id)
      if (c.allows(static_cast<int32_t>(id))) z += expected[id] = std::exp(logits[id] / p.temperature);
    std::vector<int> counts(n, 0);
    const int draws = 20000;
    for (int i = 0; i < draws; ++i) {
      const int32_t t = s.sample(logits, {}, &c);
      ASSERT_TRUE(c.allows(t)) << t;
      ++counts[t];
    }
    for (size_t id = 0; id < n; ++id)
      EXPECT_NEAR(counts[id] / double(draws), expected[id] / z, 0.012) << "letters " << letters << " token " << id;
  }
}

TEST(SamplerConstrained, GreedyWalksPastDisallowedFavourites) {
  const SmallVocab& v = small_vocab();
  TokenConstraint c(grammar_of(R"({"type":"integer"})"), v.vocab);
  std::vector<float> logits(static_cast<size_t>(v.vocab->n_vocab()), 0.0f);
  // Letters score highest, then '7': the sampler must look past 200 letters.
  for (int b = 'A'; b <= 'z'; ++b) logits[b] = 10.0f + static_cast<float>(b) / 100;
  for (int b = 128; b < 256; ++b) logits[b] = 9.5f;
  for (int id = 256; id < v.vocab->n_vocab(); ++id) logits[id] = 9.0f;
  logits[*v.tokenizer->find("12")] = 1.0f;  // the one multi-byte token an integer may start with
  logits['7'] = 5.0f;
  SamplerParams p;
  p.temperature = 0;
  Sampler s(p);
  EXPECT_EQ(s.sample(logits, {}, &c), '7');
  p.temperature = 1.0f;
  Sampler hot(p);
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(c.allows(hot.sample(logits, {}, &c)));
  // Without the constraint, nothing changed.
  EXPECT_EQ(Sampler(SamplerParams{0}).sample(logits, {}), 'z');

  c.accept('7');
  c.accept(v.eos);
  EXPECT_THROW(s.sample(logits, {}, &c), Error);  // nothing is allowed after the end
}

// ---- the default model ----

class TokenConstraintDefaultModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = test_env::default_model_path();
    if (!std::ifstream(path).good()) return;
    model_ = models::Model::load(path);
    const auto t0 = std::chrono::steady_clock::now();
    vocab_ = std::make_shared<const TokenVocabulary>(model_->tokenizer());
    std::printf("[ measure  ] TokenVocabulary for %d tokens: %.1f ms (trie of %zu nodes; measured inside: %.1f ms)\n",
                vocab_->n_vocab(),
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(),
                vocab_->trie_nodes(), vocab_->build_ms());
  }
  static void TearDownTestSuite() {
    vocab_.reset();
    model_.reset();
  }
  void SetUp() override {
    if (!model_) GTEST_SKIP() << "the default model is not at " << test_env::default_model_path() << " (run scripts/setup.sh)";
  }

  struct Run {
    std::string text;
    std::vector<int32_t> tokens;
    bool ended = false;
    double sample_ms = 0;  // in the sampler (and constraint) only
    double total_ms = 0;   // decode + sample + accept, per generated token
  };

  // Greedy (or seeded sampling) generation for a chat prompt, with or without
  // a constraint, up to max_tokens.
  static Run generate(const std::string& prompt, const std::shared_ptr<const Grammar>& grammar, int max_tokens,
                      float temperature = 0) {
    SessionOptions so;
    so.n_ctx = 1024;
    so.n_threads = 2;
    Session session(model_, so);
    ChatFormatter chat(*model_);
    const std::vector<int32_t> ids = chat.tokenize({{"system", "You reply with JSON only."}, {"user", prompt}});
    SamplerParams sp;
    sp.temperature = temperature;
    sp.seed = 7;
    Sampler sampler(sp);
    std::optional<TokenConstraint> constraint;
    if (grammar) constraint.emplace(grammar, vocab_);
    const models::Tokenizer& tok = model_->tokenizer();
    Run r;
    std::span<const float> logits = session.decode(ids);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < max_tokens; ++i) {
      const auto s0 = std::chrono::steady_clock::now();
      const int32_t id = sampler.sample(logits, session.history(), constraint ? &*constraint : nullptr);
      if (constraint) {
        EXPECT_TRUE(constraint->allows(id));
        if (constraint->must_end()) {
          EXPECT_TRUE(tok.is_end_of_generation(id)) << "must end, yet " << id;
        }
        constraint->accept(id);
      }
      r.sample_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s0).count();
      r.tokens.push_back(id);
      if (tok.is_end_of_generation(id)) {
        r.ended = true;
        break;
      }
      r.text += tok.token_to_piece(id);
      const int32_t next[1] = {id};
      logits = session.decode(next);
    }
    r.total_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return r;
  }

  static inline std::shared_ptr<const models::Model> model_;
  static inline std::shared_ptr<const TokenVocabulary> vocab_;
};

TEST_F(TokenConstraintDefaultModel, GreedyJsonUnderASchemaParsesValidatesAndEnds) {
  const std::string schema = R"({"type":"object","properties":{
      "name":{"type":"string","maxLength":24},"age":{"type":"integer","minimum":0,"maximum":150},
      "city":{"type":"string","maxLength":24}},"required":["name","age","city"],"additionalProperties":false})";
  const auto g = grammar_of(schema);
  const Run c = generate("Describe Alice, 30, who lives in Paris, as a JSON object with name, age and city.", g, 120);
  std::printf("[ output   ] %s\n", c.text.c_str());
  ASSERT_TRUE(c.ended) << c.text;
  const Json value = Json::parse(c.text, nullptr, false);
  ASSERT_FALSE(value.is_discarded()) << c.text;
  EXPECT_FALSE(json_schema_validate(Json::parse(schema), value).has_value()) << c.text;

  // The same number of tokens without a constraint, for the cost per token.
  const int n = static_cast<int>(c.tokens.size());
  const Run u = generate("Describe Alice, 30, who lives in Paris, as a JSON object with name, age and city.", nullptr, n);
  std::printf("[ measure  ] greedy, %d tokens: unconstrained %.2f ms/token (sampler %.3f ms), constrained %.2f "
              "ms/token (sampler+constraint %.3f ms)\n",
              n, u.total_ms / u.tokens.size(), u.sample_ms / u.tokens.size(), c.total_ms / n, c.sample_ms / n);
}

TEST_F(TokenConstraintDefaultModel, ToolCallAndSampledOutputValidate) {
  const std::string tool = R"({"type":"object","properties":{"name":{"const":"get_weather"},"arguments":{
      "type":"object","properties":{"city":{"type":"string","maxLength":30},"unit":{"enum":["celsius","fahrenheit"]}},
      "required":["city","unit"],"additionalProperties":false}},"required":["name","arguments"],"additionalProperties":false})";
  const auto g = grammar_of(tool);
  for (const float temperature : {0.0f, 0.8f}) {
    const Run r = generate("What is the weather in Oslo? Call the get_weather tool.", g, 80, temperature);
    std::printf("[ output   ] t=%.1f %s\n", temperature, r.text.c_str());
    ASSERT_TRUE(r.ended) << r.text;
    const Json value = Json::parse(r.text, nullptr, false);
    ASSERT_FALSE(value.is_discarded()) << r.text;
    EXPECT_FALSE(json_schema_validate(Json::parse(tool), value).has_value()) << r.text;
    EXPECT_EQ(value["name"], "get_weather");
  }
}

TEST_F(TokenConstraintDefaultModel, MasksOverTheRealVocabularyAgreeWithTokenChecks) {
  const auto g = std::make_shared<const Grammar>(json_value_grammar());
  TokenConstraint c(g, vocab_);
  const models::Tokenizer& tok = model_->tokenizer();
  std::vector<uint8_t> mask(static_cast<size_t>(vocab_->n_vocab()));
  for (const std::string prefix : {"", "{\"k", "[1", "{\"a\": \"x\\u00e"}) {
    TokenConstraint at = c;
    at.accept_text(prefix);
    const auto t0 = std::chrono::steady_clock::now();
    at.fill_mask(mask);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    size_t allowed = 0;
    for (int32_t id = 0; id < vocab_->n_vocab(); ++id) {
      ASSERT_EQ(mask[id] != 0, at.allows(id)) << "after \"" << prefix << "\": token " << id << " "
                                              << tok.token_text(id);
      allowed += mask[id];
    }
    std::printf("[ measure  ] full mask after \"%s\": %.2f ms, %zu tokens allowed\n", prefix.c_str(), ms, allowed);
    EXPECT_GT(allowed, 0u);
  }
}

}  // namespace
}  // namespace hearth::runtime
