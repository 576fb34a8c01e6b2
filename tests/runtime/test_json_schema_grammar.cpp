// JSON and JSON Schema grammars: accepted and refused texts for each supported
// keyword, random walks that must parse and validate, refused keywords named
// with their path, recursion, and random schemas that never crash.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "grammar_walk.h"
#include "runtime/json_schema_grammar.h"
#include "runtime/json_schema_validate.h"

namespace hearth::runtime {
namespace {

using Json = nlohmann::ordered_json;

std::shared_ptr<const Grammar> schema_grammar(const std::string& schema, const JsonGrammarOptions& o = {}) {
  return std::make_shared<const Grammar>(grammar_from_json_schema(Json::parse(schema), o));
}

bool accepts(const std::shared_ptr<const Grammar>& g, std::string_view text) {
  GrammarMatcher m(g);
  return m.advance(text) && m.complete();
}

// The message of the Error compiling schema throws ("" when it compiles).
std::string refusal(const std::string& schema, const JsonGrammarOptions& o = {}) {
  try {
    grammar_from_json_schema(Json::parse(schema), o);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    return e.what();
  }
  return "";
}

// Random walks through the schema's grammar: each must parse and validate.
std::vector<std::string> walk_outputs(const std::string& schema, int walks, uint32_t seed, size_t soft = 60,
                                      test_walk::WalkStats* stats = nullptr) {
  const Json s = Json::parse(schema);
  const auto g = std::make_shared<const Grammar>(grammar_from_json_schema(s));
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (int i = 0; i < walks; ++i) {
    GrammarMatcher m(g);
    const std::string text = test_walk::random_walk(m, rng, soft, stats);
    Json value;
    try {
      value = Json::parse(text);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "does not parse: " << text << " (" << e.what() << ")";
      continue;
    }
    const auto why = json_schema_validate(s, value);
    EXPECT_FALSE(why.has_value()) << text << ": " << why.value_or("");
    out.push_back(text);
  }
  return out;
}

// ---- plain JSON ----

TEST(JsonSchemaGrammar, AnyValueAcceptsCompactJson) {
  const auto g = std::make_shared<const Grammar>(json_value_grammar());
  for (const char* ok :
       {"0", "-0", "12", "-3.25", "1e5", "1E-7", "6.02e+23", "true", "false", "null", "\"\"", "\"a b\"",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u00e9\\uD83D\\uDE00\"", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
        "[]", "[1,2]", "[1, 2]", "{}", "{\"a\":1}", "{\"a\": [true, {\"b\":null}]}", "9999999999999999",
        "0.1234567890123456"})
    EXPECT_TRUE(accepts(g, ok)) << ok;
  for (const char* bad :
       {"", "01", "1.", ".5", "+1", "1e", "-", "[1,]", "[,1]", "{\"a\":1,}", "{a:1}", "tru", "nul", "\"abc",
        "\"\x01\"", "\"\\x41\"", "\"\\u12\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\x80\"",
        "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "{ }", "[ 1]", "[1 ]", "[1,  2]", "{\"a\" :1}", " 1",
        "1 ", "[1]\n", "99999999999999999", "0.12345678901234567", "1e123", "NaN", "Infinity", "'a'"})
    EXPECT_FALSE(accepts(g, bad)) << bad;

  JsonGrammarOptions tight;
  tight.space_after_separators = false;
  tight.max_integer_digits = 3;
  const auto t = std::make_shared<const Grammar>(json_value_grammar(tight));
  EXPECT_TRUE(accepts(t, "[1,{\"a\":999}]"));
  EXPECT_FALSE(accepts(t, "[1, 2]"));
  EXPECT_FALSE(accepts(t, "{\"a\": 1}"));
  EXPECT_FALSE(accepts(t, "1000"));
  EXPECT_THROW(json_value_grammar(JsonGrammarOptions{true, 0}), Error);
}

TEST(JsonSchemaGrammar, ObjectGrammarTakesOnlyObjects) {
  const auto g = std::make_shared<const Grammar>(json_object_grammar());
  EXPECT_TRUE(accepts(g, "{}"));
  EXPECT_TRUE(accepts(g, "{\"k\":[1,\"x\"],\"j\":{}}"));
  EXPECT_FALSE(accepts(g, "[]"));
  EXPECT_FALSE(accepts(g, "\"{}\""));
  EXPECT_FALSE(accepts(g, "1"));
}

TEST(JsonSchemaGrammar, RandomWalksOfAnyValueParse) {
  test_walk::WalkStats stats;
  const auto texts = walk_outputs("true", 300, 1, 80, &stats);
  std::set<char> firsts;
  for (const auto& t : texts) firsts.insert(t[0]);
  EXPECT_GE(firsts.size(), 6u);  // objects, arrays, strings, numbers, literals all come up
  EXPECT_LE(stats.max_heads, 32u);
}

// With a small depth limit, random walks nest until the limit: every byte
// next_bytes() offers must still be taken (the walk checks), and the output
// must still parse.
TEST(JsonSchemaGrammar, DepthLimitKeepsWhatNextBytesPromises) {
  const auto g = std::make_shared<const Grammar>(json_value_grammar());
  MatcherLimits limits;
  limits.max_depth = 9;
  std::mt19937 rng(3);
  size_t max_frames = 0;
  for (int i = 0; i < 200; ++i) {
    GrammarMatcher m(g, limits);
    test_walk::WalkStats stats;
    const std::string text = test_walk::random_walk(m, rng, 150, &stats);
    max_frames = std::max(max_frames, stats.max_frames);
    EXPECT_FALSE(Json::parse(text, nullptr, false).is_discarded()) << text;
  }
  EXPECT_LE(max_frames, 40u);
  GrammarMatcher deep(g, limits);
  int opened = 0;
  while (opened < 100 && deep.accept("[")) ++opened;
  EXPECT_LT(opened, 10);
  EXPECT_TRUE(deep.accept(std::string(static_cast<size_t>(opened), ']')));
  EXPECT_TRUE(deep.complete());
}

// ---- types and literals ----

TEST(JsonSchemaGrammar, Types) {
  struct Case {
    const char* type;
    std::vector<const char*> ok, bad;
  };
  const std::vector<Case> cases = {
      {"\"string\"", {"\"\"", "\"x\""}, {"1", "null", "[]"}},
      {"\"integer\"", {"0", "-12", "345"}, {"1.5", "1e3", "\"1\"", "true"}},
      {"\"number\"", {"0", "-1.5", "2e10"}, {"\"1\"", "null"}},
      {"\"boolean\"", {"true", "false"}, {"0", "null", "\"true\""}},
      {"\"null\"", {"null"}, {"0", "false", "{}"}},
      {"\"object\"", {"{}", "{\"a\":[1]}"}, {"[]", "null"}},
      {"\"array\"", {"[]", "[1,\"a\",{}]"}, {"{}", "\"[]\""}},
      {"[\"string\",\"null\"]", {"\"x\"", "null"}, {"1", "{}"}},
      {"[\"integer\",\"number\"]", {"1", "1.5"}, {"\"1\""}},
  };
  for (const Case& c : cases) {
    const auto g = schema_grammar(std::string("{\"type\":") + c.type + "}");
    for (const char* t : c.ok) EXPECT_TRUE(accepts(g, t)) << c.type << " " << t;
    for (const char* t : c.bad) EXPECT_FALSE(accepts(g, t)) << c.type << " " << t;
  }
  for (const char* any : {"{}", "true", "{\"description\":\"anything\",\"title\":\"x\"}"}) {
    const auto g = schema_grammar(any);
    for (const char* t : {"1", "\"s\"", "[null]", "{\"a\":{}}", "false"}) EXPECT_TRUE(accepts(g, t)) << any << " " << t;
  }
  // Without "type", the keywords say which type is meant.
  const auto inferred = schema_grammar(R"({"properties":{"a":{"type":"integer"}}})");
  EXPECT_TRUE(accepts(inferred, "{\"a\":1}"));
  EXPECT_FALSE(accepts(inferred, "1"));
  // OpenAPI nullable.
  const auto nullable = schema_grammar(R"({"type":"integer","nullable":true})");
  EXPECT_TRUE(accepts(nullable, "null"));
  EXPECT_TRUE(accepts(nullable, "3"));
}

TEST(JsonSchemaGrammar, EnumAndConst) {
  const auto g = schema_grammar(R"({"enum":["red","gr\"een",1,2.5,null,{"a":[1,true]},"caf\u00e9"]})");
  for (const char* t : {"\"red\"", "\"gr\\\"een\"", "1", "2.5", "null", "{\"a\":[1,true]}", "\"caf\xc3\xa9\""})
    EXPECT_TRUE(accepts(g, t)) << t;
  for (const char* t : {"\"blue\"", "\"re\"", "12", "2", "{\"a\":[1, true]}", "true"}) EXPECT_FALSE(accepts(g, t)) << t;
  // Enum values the other keywords rule out are not generated.
  const auto typed = schema_grammar(R"({"type":"string","maxLength":3,"enum":["abc","abcd",1]})");
  EXPECT_TRUE(accepts(typed, "\"abc\""));
  EXPECT_FALSE(accepts(typed, "\"abcd\""));
  EXPECT_FALSE(accepts(typed, "1"));
  const auto c = schema_grammar(R"({"const":{"k":"v"}})");
  EXPECT_TRUE(accepts(c, "{\"k\":\"v\"}"));
  EXPECT_FALSE(accepts(c, "{\"k\":\"w\"}"));
  EXPECT_NE(refusal(R"({"enum":[]})").find("admits no JSON value"), std::string::npos);
  EXPECT_NE(refusal(R"({"type":"integer","enum":["a"]})").find("admits no JSON value"), std::string::npos);
}

// ---- objects ----

TEST(JsonSchemaGrammar, PropertiesInOrderRequiredAndOptional) {
  const auto g = schema_grammar(R"({"type":"object","properties":{
      "a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},"required":["c","a"]})");
  for (const char* t : {"{\"a\":1,\"c\":true}", "{\"a\":1,\"b\":\"x\",\"c\":false}", "{\"a\": 1, \"c\": true}"})
    EXPECT_TRUE(accepts(g, t)) << t;
  for (const char* t : {"{}", "{\"a\":1}", "{\"c\":true,\"a\":1}", "{\"a\":1,\"c\":true,\"d\":1}", "{\"b\":\"x\",\"c\":true}",
                        "{\"a\":\"1\",\"c\":true}", "{\"a\":1,,\"c\":true}"})
    EXPECT_FALSE(accepts(g, t)) << t;
  const auto all_optional = schema_grammar(R"({"properties":{"x":{"type":"null"},"y":{"type":"null"}}})");
  for (const char* t : {"{}", "{\"x\":null}", "{\"y\":null}", "{\"x\":null,\"y\":null}"}) EXPECT_TRUE(accepts(all_optional, t)) << t;
  EXPECT_FALSE(accepts(all_optional, "{,\"y\":null}"));
  EXPECT_FALSE(accepts(all_optional, "{\"y\":null,\"x\":null}"));
  walk_outputs(R"({"properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},
                   "required":["b"]})", 100, 2);
}

TEST(JsonSchemaGrammar, AdditionalProperties) {
  const auto none = schema_grammar(R"({"type":"object","additionalProperties":false})");
  EXPECT_TRUE(accepts(none, "{}"));
  EXPECT_FALSE(accepts(none, "{\"a\":1}"));

  const auto map = schema_grammar(R"({"type":"object","additionalProperties":{"type":"integer"}})");
  EXPECT_TRUE(accepts(map, "{\"k\":1,\"\xc3\xa9\":2}"));
  EXPECT_FALSE(accepts(map, "{\"k\":\"s\"}"));

  // Extra keys after the listed ones, never spelling a listed name.
  const auto extra = schema_grammar(R"({"properties":{"a":{"type":"integer"},"ab":{"type":"integer"}},
                                         "additionalProperties":{"type":"string"}})");
  for (const char* t : {"{\"a\":1,\"x\":\"s\"}", "{\"x\":\"s\",\"y\":\"t\"}", "{\"abc\":\"s\"}", "{\"\":\"s\"}", "{\"b\":\"s\"}"})
    EXPECT_TRUE(accepts(extra, t)) << t;
  for (const char* t : {"{\"a\":\"s\"}", "{\"x\":\"s\",\"a\":1}", "{\"ab\":\"s\"}", "{\"x\":1}"}) EXPECT_FALSE(accepts(extra, t)) << t;
  walk_outputs(R"({"properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"string"}})", 100, 3);

  // Listed properties without additionalProperties: the listed ones only.
  const auto listed = schema_grammar(R"({"properties":{"a":{"type":"integer"}}})");
  EXPECT_FALSE(accepts(listed, "{\"a\":1,\"b\":2}"));
  // A required name that is not listed may have any value, unless extras are off.
  const auto req = schema_grammar(R"({"properties":{"a":{"type":"integer"}},"required":["z"]})");
  EXPECT_TRUE(accepts(req, "{\"z\":[1]}"));
  EXPECT_TRUE(accepts(req, "{\"a\":1,\"z\":null}"));
  EXPECT_FALSE(accepts(req, "{\"a\":1}"));
  const std::string why = refusal(R"({"properties":{"a":{}},"required":["z"],"additionalProperties":false})");
  EXPECT_NE(why.find("#/required"), std::string::npos) << why;
}

// ---- arrays ----

TEST(JsonSchemaGrammar, ItemsPrefixItemsAndCounts) {
  const auto g = schema_grammar(R"({"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3})");
  for (const char* t : {"[1,2]", "[1, 2, 3]"}) EXPECT_TRUE(accepts(g, t)) << t;
  for (const char* t : {"[]", "[1]", "[1,2,3,4]", "[1,\"a\"]"}) EXPECT_FALSE(accepts(g, t)) << t;

  const auto tuple = schema_grammar(R"({"prefixItems":[{"type":"string"},{"type":"integer"}],"items":false})");
  for (const char* t : {"[]", "[\"a\"]", "[\"a\",1]"}) EXPECT_TRUE(accepts(tuple, t)) << t;
  for (const char* t : {"[1]", "[\"a\",1,2]", "[\"a\",\"b\"]"}) EXPECT_FALSE(accepts(tuple, t)) << t;

  const auto open = schema_grammar(R"({"prefixItems":[{"const":"x"}],"items":{"type":"boolean"},"minItems":1})");
  for (const char* t : {"[\"x\"]", "[\"x\",true,false]"}) EXPECT_TRUE(accepts(open, t)) << t;
  for (const char* t : {"[]", "[true]", "[\"x\",1]"}) EXPECT_FALSE(accepts(open, t)) << t;

  const auto draft7 = schema_grammar(R"({"items":[{"type":"null"}],"additionalItems":{"type":"integer"},"maxItems":3})");
  EXPECT_TRUE(accepts(draft7, "[null,1,2]"));
  EXPECT_FALSE(accepts(draft7, "[null,1,2,3]"));
  EXPECT_FALSE(accepts(draft7, "[1]"));

  const auto capped = schema_grammar(R"({"prefixItems":[{},{},{}],"maxItems":2})");
  EXPECT_TRUE(accepts(capped, "[1,2]"));
  EXPECT_FALSE(accepts(capped, "[1,2,3]"));
  const auto at_most_one = schema_grammar(R"({"type":"array","maxItems":1})");
  EXPECT_TRUE(accepts(at_most_one, "[]"));
  EXPECT_TRUE(accepts(at_most_one, "[{}]"));
  EXPECT_FALSE(accepts(at_most_one, "[1,2]"));
  EXPECT_NE(refusal(R"({"type":"array","minItems":3,"maxItems":2})").find("admits no"), std::string::npos);
  walk_outputs(R"({"type":"array","prefixItems":[{"type":"string"}],"items":{"type":"integer"},"minItems":3,"maxItems":6})",
               100, 4);
}

// ---- strings ----

TEST(JsonSchemaGrammar, StringLengthsCountCodePoints) {
  const auto g = schema_grammar(R"({"type":"string","minLength":2,"maxLength":3})");
  for (const char* t : {"\"ab\"", "\"abc\"", "\"\xc3\xa9\xc3\xa9\"", "\"a\\n\"", "\"\\uD83D\\uDE00x\"", "\"\xf0\x9f\x98\x80z\""})
    EXPECT_TRUE(accepts(g, t)) << t;
  for (const char* t : {"\"a\"", "\"abcd\"", "\"\xc3\xa9\"", "\"\\n\"", "\"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\""})
    EXPECT_FALSE(accepts(g, t)) << t;
  walk_outputs(R"({"type":"string","minLength":5,"maxLength":9})", 100, 5);
  EXPECT_NE(refusal(R"({"type":"string","maxLength":1000000})").find("#/maxLength"), std::string::npos);
}

TEST(JsonSchemaGrammar, Formats) {
  struct Case {
    const char* format;
    std::vector<const char*> ok, bad;
  };
  const std::vector<Case> cases = {
      {"date", {"2024-02-29", "2000-02-29", "2023-12-31", "0001-04-30"}, {"2023-02-29", "1900-02-29", "2023-04-31", "2023-13-01", "2023-1-01", "2023-00-10"}},
      {"time", {"23:59:59Z", "00:00:00.123+05:30", "12:30:00-08:00"}, {"24:00:00Z", "12:60:00Z", "12:00:00", "12:00Z", "12:00:00+5:00"}},
      {"date-time", {"2024-01-15T08:30:00Z", "1999-12-31T23:59:59.5+01:00"}, {"2024-01-15 08:30:00Z", "2024-01-15T08:30Z"}},
      {"uuid", {"123e4567-e89b-12d3-a456-426614174000", "ABCDEF00-0000-0000-0000-000000000000"}, {"123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400g"}},
      {"ipv4", {"0.0.0.0", "192.168.1.254", "255.255.255.255"}, {"256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4.5"}},
      {"email", {"a@b.co", "first.last+tag@mail.example.org"}, {"a@-b.co", "@b.co", "a..b@c.de", "a b@c.de", ".a@b.co"}},
      {"hostname", {"localhost", "api.example.com", "a-b.c"}, {"-a.com", "a-.com", "a..b", "a_b.com"}},
  };
  for (const Case& c : cases) {
    const auto g = schema_grammar(std::string("{\"type\":\"string\",\"format\":\"") + c.format + "\"}");
    for (const char* t : c.ok) {
      EXPECT_TRUE(accepts(g, std::string("\"") + t + "\"")) << c.format << " " << t;
      EXPECT_TRUE(json_format_matches(c.format, t)) << c.format << " " << t;
    }
    for (const char* t : c.bad) {
      EXPECT_FALSE(accepts(g, std::string("\"") + t + "\"")) << c.format << " " << t;
      EXPECT_FALSE(json_format_matches(c.format, t)) << c.format << " " << t;
    }
    walk_outputs(std::string("{\"format\":\"") + c.format + "\"}", 60, 6);
  }
  const std::string why = refusal(R"({"properties":{"site":{"type":"string","format":"uri"}}})");
  EXPECT_NE(why.find("format"), std::string::npos) << why;
  EXPECT_NE(why.find("#/properties/site/format"), std::string::npos) << why;
  JsonGrammarOptions lax;
  lax.ignore_unknown_formats = true;
  EXPECT_EQ(refusal(R"({"type":"string","format":"uri"})", lax), "");
}

// ---- numbers ----

TEST(JsonSchemaGrammar, IntegerBoundsAreExact) {
  struct Case {
    const char* bounds;
    std::function<bool(int64_t)> in;
  };
  const std::vector<Case> cases = {
      {R"("minimum":0)", [](int64_t v) { return v >= 0; }},
      {R"("minimum":-7,"maximum":123)", [](int64_t v) { return v >= -7 && v <= 123; }},
      {R"("exclusiveMinimum":-120,"exclusiveMaximum":-3)", [](int64_t v) { return v > -120 && v < -3; }},
      {R"("minimum":2.5,"maximum":999.9)", [](int64_t v) { return v >= 3 && v <= 999; }},
      {R"("maximum":-1000)", [](int64_t v) { return v <= -1000; }},
      {R"("minimum":10,"maximum":10)", [](int64_t v) { return v == 10; }},
      {R"("minimum":5,"exclusiveMinimum":true,"maximum":1100)", [](int64_t v) { return v > 5 && v <= 1100; }},
      {R"("minimum":0,"maximum":1000000)", [](int64_t v) { return v >= 0 && v <= 1000000; }},
  };
  for (const Case& c : cases) {
    const auto g = schema_grammar(std::string("{\"type\":\"integer\",") + c.bounds + "}");
    for (int64_t v = -1300; v <= 1300; ++v) ASSERT_EQ(accepts(g, std::to_string(v)), c.in(v)) << c.bounds << " " << v;
    for (const int64_t v : {999999LL, 1000000LL, 1000001LL, 123456789012LL, -123456789012LL})
      EXPECT_EQ(accepts(g, std::to_string(v)), c.in(v)) << c.bounds << " " << v;
    EXPECT_FALSE(accepts(g, "007"));
    EXPECT_FALSE(accepts(g, "5.0"));
  }
  walk_outputs(R"({"type":"integer","minimum":-50,"exclusiveMaximum":77})", 200, 8);
  EXPECT_NE(refusal(R"({"type":"integer","minimum":5,"maximum":4})").find("admits no"), std::string::npos);
}

TEST(JsonSchemaGrammar, NumberBoundsAreExactOnWholeNumbers) {
  const auto g = schema_grammar(R"({"type":"number","minimum":-2,"exclusiveMaximum":3})");
  for (const char* t : {"-2", "-2.0", "-1.999", "0", "-0.5", "2.999", "2", "0.0001"}) EXPECT_TRUE(accepts(g, t)) << t;
  for (const char* t : {"-2.001", "-3", "3", "3.0", "3.5", "10", "1e0", "-2.0001"}) EXPECT_FALSE(accepts(g, t)) << t;
  const auto positive = schema_grammar(R"({"type":"number","exclusiveMinimum":0})");
  for (const char* t : {"0.1", "0.0001", "7", "12.5"}) EXPECT_TRUE(accepts(positive, t)) << t;
  for (const char* t : {"0", "0.0", "-0.5", "-1"}) EXPECT_FALSE(accepts(positive, t)) << t;
  walk_outputs(R"({"type":"number","minimum":-10,"maximum":10})", 200, 9);
  walk_outputs(R"({"type":"number","exclusiveMinimum":1,"exclusiveMaximum":2})", 100, 10);
  const std::string why = refusal(R"({"properties":{"p":{"type":"number","maximum":0.5}}})");
  EXPECT_NE(why.find("#/properties/p/maximum"), std::string::npos) << why;
}

// ---- combinators and references ----

TEST(JsonSchemaGrammar, AnyOfOneOfAllOf) {
  const auto any = schema_grammar(R"({"anyOf":[{"type":"string","maxLength":2},{"type":"integer","minimum":0}]})");
  for (const char* t : {"\"ab\"", "5"}) EXPECT_TRUE(accepts(any, t)) << t;
  for (const char* t : {"\"abc\"", "-5", "null"}) EXPECT_FALSE(accepts(any, t)) << t;

  const auto one = schema_grammar(R"({"oneOf":[
      {"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"number"}},"required":["kind","r"]},
      {"type":"object","properties":{"kind":{"const":"square"},"side":{"type":"number"}},"required":["kind","side"]}]})");
  EXPECT_TRUE(accepts(one, "{\"kind\":\"circle\",\"r\":1}"));
  EXPECT_FALSE(accepts(one, "{\"kind\":\"circle\",\"side\":1}"));
  walk_outputs(R"({"oneOf":[{"type":"string"},{"type":"integer"},{"enum":[true,null]}]})", 60, 11);
  const std::string why = refusal(R"({"oneOf":[{"type":"object","properties":{"a":{}}},{"type":"object","properties":{"b":{}}}]})");
  EXPECT_NE(why.find("oneOf"), std::string::npos) << why;
  EXPECT_NE(refusal(R"({"oneOf":[{"type":"number"},{"type":"integer"}]})"), "");

  // Siblings apply to every branch.
  const auto shared = schema_grammar(R"({"type":"object","properties":{"id":{"type":"integer"}},"required":["id"],
      "anyOf":[{"properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"b":{"type":"null"}},"required":["b"]}]})");
  EXPECT_TRUE(accepts(shared, "{\"id\":1,\"a\":\"x\"}"));
  EXPECT_TRUE(accepts(shared, "{\"id\":1,\"b\":null}"));
  EXPECT_FALSE(accepts(shared, "{\"a\":\"x\"}"));

  const auto all = schema_grammar(R"({"allOf":[
      {"type":"object","properties":{"a":{"type":"integer","minimum":0}},"required":["a"]},
      {"properties":{"a":{"maximum":9},"b":{"type":"string"}},"required":["b"]}]})");
  EXPECT_TRUE(accepts(all, "{\"a\":3,\"b\":\"x\"}"));
  for (const char* t : {"{\"a\":10,\"b\":\"x\"}", "{\"a\":3}", "{\"b\":\"x\"}", "{\"a\":-1,\"b\":\"x\"}"})
    EXPECT_FALSE(accepts(all, t)) << t;
  // additionalProperties: false in one branch rules out the other's extra names.
  const auto closed = schema_grammar(R"({"allOf":[{"properties":{"a":{"type":"integer"}},"additionalProperties":false},
                                                  {"properties":{"b":{"type":"integer"}}}]})");
  EXPECT_TRUE(accepts(closed, "{\"a\":1}"));
  EXPECT_FALSE(accepts(closed, "{\"a\":1,\"b\":2}"));
  EXPECT_NE(refusal(R"({"allOf":[{"type":"string"},{"type":"integer"}]})").find("admits no"), std::string::npos);
  walk_outputs(R"({"allOf":[{"type":"integer","minimum":3},{"maximum":40},{"exclusiveMaximum":35}]})", 60, 12);
}

TEST(JsonSchemaGrammar, RefsAndRecursion) {
  const std::string tree = R"({"$defs":{"node":{"type":"object","properties":{
      "value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":3}},
      "required":["value","children"],"additionalProperties":false}},"$ref":"#/$defs/node"})";
  const auto g = schema_grammar(tree);
  EXPECT_TRUE(accepts(g, "{\"value\":1,\"children\":[]}"));
  EXPECT_TRUE(accepts(g, "{\"value\":1,\"children\":[{\"value\":2,\"children\":[{\"value\":3,\"children\":[]}]}]}"));
  EXPECT_FALSE(accepts(g, "{\"value\":1,\"children\":[{\"value\":2}]}"));
  EXPECT_FALSE(accepts(g, "{\"value\":1}"));
  test_walk::WalkStats stats;
  walk_outputs(tree, 100, 13, 150, &stats);
  EXPECT_LE(stats.max_heads, 32u);

  // definitions, the root itself, and a pointer into properties.
  const auto linked = schema_grammar(R"({"definitions":{"n":{"type":"integer"}},"type":"object",
      "properties":{"v":{"$ref":"#/definitions/n"},"next":{"$ref":"#"},"w":{"$ref":"#/properties/v"}}})");
  EXPECT_TRUE(accepts(linked, "{\"v\":1,\"next\":{\"next\":{}},\"w\":2}"));
  EXPECT_FALSE(accepts(linked, "{\"next\":{\"v\":\"x\"}}"));
  walk_outputs(R"({"type":"object","properties":{"v":{"type":"integer"},"next":{"$ref":"#"}}})", 60, 14, 60);

  EXPECT_NE(refusal(R"({"$ref":"https://example.com/s.json"})").find("only references within"), std::string::npos);
  const std::string missing = refusal(R"({"properties":{"a":{"$ref":"#/$defs/nope"}}})");
  EXPECT_NE(missing.find("#/properties/a/$ref"), std::string::npos) << missing;
  // Recursion that must go on forever, or that never nests, admits no value.
  EXPECT_NE(refusal(R"({"type":"object","properties":{"a":{"$ref":"#"}},"required":["a"]})"), "");
  EXPECT_NE(refusal(R"({"anyOf":[{"$ref":"#"},{"type":"string"}]})").find("leads back to #"), std::string::npos);
  EXPECT_NE(refusal(R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"})"), "");
  EXPECT_NE(refusal(R"({"allOf":[{"$ref":"#"}]})"), "");
}

// Cases random schemas once broke: each must compile to a grammar whose walks
// validate, or be refused.
TEST(JsonSchemaGrammar, MergesAndRecursionFoundByFuzzing) {
  // allOf where one side's items start after prefixItems and the other's cover
  // every position.
  walk_outputs(R"({"allOf":[{"type":"array","prefixItems":[{"type":"string"}],"items":{"type":"integer"},"minItems":1},
                            {"type":"array","items":{"type":"string","maxLength":3}}]})", 60, 20);
  const auto tuple = schema_grammar(R"({"allOf":[{"prefixItems":[{"type":"string"}]},{"items":{"maxLength":2}}]})");
  EXPECT_TRUE(accepts(tuple, "[\"ab\"]"));
  EXPECT_FALSE(accepts(tuple, "[\"abc\"]"));
  // Recursion through allOf and $ref closes into a cycle instead of unrolling.
  const std::string recursive = R"({"type":"object","properties":{"c":{"allOf":[{"allOf":[{"$ref":"#"}]},{"$ref":"#"},
      {"type":"object","properties":{"d":{"type":"boolean"}},"required":["d"]}]},"e":{"enum":[0,"a"]}}})";
  EXPECT_TRUE(accepts(schema_grammar(recursive), R"({"c":{"c":{"d":true},"d":false},"e":"a"})"));
  walk_outputs(recursive, 40, 21);
  // Merging a recursive allOf level after level must reach a fixed point.
  walk_outputs(R"({"type":"object","properties":{},"additionalProperties":{"allOf":[{"type":"object","properties":{
      "a":{"$ref":"#"},"b":{"anyOf":[true,{"type":"array"},{"type":"integer"}]}},"additionalProperties":false},
      {"$ref":"#"}]}})", 40, 22);
  // A schema without "type" accepts every type, so this oneOf's branches overlap
  // (false matches both): refused, though the grammar would write only numbers
  // for the first branch.
  EXPECT_NE(refusal(R"({"oneOf":[{"minimum":7},{"const":false}]})").find("oneOf"), std::string::npos);
  // $ref cycles that never step into a part: refused even where compiling would
  // prune them, and wherever they sit.
  const std::string cycle = refusal(R"({"$defs":{"x":{"$ref":"#/$defs/x"}},"anyOf":[{"$ref":"#/$defs/x"},{"type":"string"}]})");
  EXPECT_NE(cycle.find("leads back to #/$defs/x"), std::string::npos) << cycle;
  EXPECT_NE(refusal(R"({"oneOf":[{"allOf":[{"$ref":"#"},{"type":"integer"},{"type":"array"}]},{"type":"number"}]})"), "");
  // Refused keywords inside parts that merging makes unsatisfiable still count.
  const std::string hidden = refusal(R"({"allOf":[{"type":"array","items":{"minProperties":3}},{"type":"null"}]})");
  EXPECT_NE(hidden.find("#/allOf/0/items/minProperties"), std::string::npos) << hidden;
}

TEST(JsonSchemaGrammar, ToolCallSchemas) {
  const std::string tools = R"({"anyOf":[
    {"type":"object","properties":{"name":{"const":"get_weather"},"arguments":{"type":"object",
       "properties":{"city":{"type":"string","minLength":1},"unit":{"enum":["celsius","fahrenheit"]}},
       "required":["city"],"additionalProperties":false}},"required":["name","arguments"],"additionalProperties":false},
    {"type":"object","properties":{"name":{"const":"add"},"arguments":{"type":"object",
       "properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"]}},
       "required":["name","arguments"],"additionalProperties":false}]})";
  const auto g = schema_grammar(tools);
  EXPECT_TRUE(accepts(g, R"({"name":"get_weather","arguments":{"city":"Oslo","unit":"celsius"}})"));
  EXPECT_TRUE(accepts(g, R"({"name": "add", "arguments": {"a": 1, "b": 2}})"));
  EXPECT_FALSE(accepts(g, R"({"name":"add","arguments":{"city":"Oslo"}})"));
  EXPECT_FALSE(accepts(g, R"({"name":"get_time","arguments":{}})"));
  const auto texts = walk_outputs(tools, 100, 15);
  std::set<std::string> names;
  for (const auto& t : texts) names.insert(Json::parse(t)["name"].get<std::string>());
  EXPECT_EQ(names.size(), 2u);
}

// ---- refusals ----

TEST(JsonSchemaGrammar, RefusedKeywordsNameThemselvesAndTheirPath) {
  for (const char* kw : {"\"pattern\":\"^a\"", "\"multipleOf\":2", "\"uniqueItems\":true", "\"contains\":{}",
                         "\"minProperties\":1", "\"maxProperties\":1", "\"patternProperties\":{}", "\"propertyNames\":{}",
                         "\"dependentRequired\":{}", "\"if\":{}", "\"not\":{}", "\"unevaluatedProperties\":false",
                         "\"minContains\":1", "\"dependencies\":{}", "\"$dynamicRef\":\"#a\""}) {
    const std::string keyword = std::string(kw).substr(1, std::string(kw).find('"', 1) - 1);
    const std::string schema = std::string(R"({"$defs":{"d":{"type":"string"}},"type":"object","properties":{"outer":{"type":"array","items":{)") +
                               kw + "}}}}";
    const std::string why = refusal(schema);
    EXPECT_NE(why.find("\"" + keyword + "\""), std::string::npos) << why;
    EXPECT_NE(why.find("#/properties/outer/items/" + keyword), std::string::npos) << why;
  }
  // Keywords in definitions nothing refers to do not matter.
  EXPECT_EQ(refusal(R"({"$defs":{"unused":{"pattern":"x"}},"type":"integer"})"), "");
  // Keyword values of the wrong shape are named too.
  const std::string why = refusal(R"({"properties":{"a":{"minLength":-1}}})");
  EXPECT_NE(why.find("#/properties/a/minLength"), std::string::npos) << why;
  EXPECT_NE(refusal(R"({"type":"strin"})").find("#/type"), std::string::npos);
  EXPECT_NE(refusal(R"({"required":"a"})").find("#/required"), std::string::npos);
  EXPECT_NE(refusal("[1]").find("#"), std::string::npos);
  EXPECT_NE(refusal("false").find("admits no"), std::string::npos);
  // Descriptive keywords are ignored.
  EXPECT_EQ(refusal(R"({"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"x","title":"t",
      "description":"d","examples":[1],"default":1,"$comment":"c","type":"integer","deprecated":true})"), "");
}

// ---- the validator ----

TEST(JsonSchemaValidate, ReportsWhereAndWhy) {
  const Json schema = Json::parse(R"({"type":"object","properties":{"xs":{"type":"array","items":{"type":"integer","maximum":5}}},
                                     "required":["xs"],"additionalProperties":false})");
  EXPECT_FALSE(json_schema_validate(schema, Json::parse(R"({"xs":[1,2]})")).has_value());
  const auto bad = json_schema_validate(schema, Json::parse(R"({"xs":[1,7]})"));
  ASSERT_TRUE(bad.has_value());
  EXPECT_NE(bad->find("/xs/1"), std::string::npos) << *bad;
  EXPECT_NE(bad->find("#/properties/xs/items"), std::string::npos) << *bad;
  EXPECT_TRUE(json_schema_validate(schema, Json::parse(R"({"xs":[],"y":1})")).has_value());
  EXPECT_TRUE(json_schema_validate(schema, Json::parse(R"({})")).has_value());
  EXPECT_TRUE(json_schema_validate(schema, Json::parse(R"([])")).has_value());
  // 1.0 is an integer; oneOf needs exactly one.
  EXPECT_FALSE(json_schema_validate(Json::parse(R"({"type":"integer"})"), Json::parse("1.0")).has_value());
  const Json one = Json::parse(R"({"oneOf":[{"type":"number"},{"type":"integer"}]})");
  EXPECT_TRUE(json_schema_validate(one, Json::parse("1")).has_value());
  EXPECT_FALSE(json_schema_validate(one, Json::parse("1.5")).has_value());
  EXPECT_THROW(json_schema_validate(Json::parse(R"({"pattern":"a"})"), Json("a")), Error);
}

// ---- random schemas ----

// Schemas built from the supported keywords (and some refused or malformed
// ones): compiling never crashes, and whatever compiles walks to values that
// parse and validate.
Json random_schema(std::mt19937& rng, int depth) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* types[] = {"string", "integer", "number", "boolean", "null", "object", "array"};
  if (depth > 3 || pick(6) == 0) {
    switch (pick(4)) {
      case 0: return Json{{"type", types[pick(7)]}};
      case 1: return Json{{"enum", Json::array({pick(5), "a", nullptr})}};
      case 2: return Json(pick(5) != 0);
      default: return Json::object();
    }
  }
  Json s = Json::object();
  switch (pick(9)) {
    case 0: s["type"] = "string";
      if (pick(2)) s["minLength"] = pick(4);
      if (pick(2)) s["maxLength"] = pick(8);
      if (pick(4) == 0) s["format"] = std::vector<const char*>{"date", "uuid", "email", "time", "color"}[pick(5)];
      break;
    case 1: s["type"] = pick(2) ? "integer" : "number";
      if (pick(2)) s["minimum"] = pick(40) - 20;
      if (pick(2)) s["exclusiveMaximum"] = pick(40) - 10;
      if (pick(5) == 0) s["maximum"] = 0.5;
      break;
    case 2: {
      s["type"] = "object";
      Json props = Json::object();
      Json req = Json::array();
      for (int i = pick(4); i > 0; --i) {
        const std::string name = std::string(1, static_cast<char>('a' + pick(5)));
        props[name] = random_schema(rng, depth + 1);
        if (pick(2)) req.push_back(name);
      }
      s["properties"] = props;
      if (pick(2)) s["required"] = req;
      if (pick(3) == 0) s["additionalProperties"] = pick(2) ? Json(false) : random_schema(rng, depth + 1);
      break;
    }
    case 3:
      s["type"] = "array";
      if (pick(2)) s["items"] = random_schema(rng, depth + 1);
      if (pick(3) == 0) s["prefixItems"] = Json::array({random_schema(rng, depth + 1)});
      if (pick(2)) s["minItems"] = pick(3);
      if (pick(2)) s["maxItems"] = pick(5);
      break;
    case 4: case 5: {
      Json branches = Json::array();
      for (int i = 1 + pick(3); i > 0; --i) branches.push_back(random_schema(rng, depth + 1));
      s[std::vector<const char*>{"anyOf", "oneOf", "allOf"}[pick(3)]] = branches;
      break;
    }
    case 6: s["$ref"] = pick(2) ? "#" : "#/$defs/x"; break;
    case 7: s["const"] = random_schema(rng, 4); break;
    default: s[std::vector<const char*>{"pattern", "minProperties", "type", "items", "multipleOf"}[pick(5)]] = pick(2) ? Json(3) : Json("x");
  }
  return s;
}

TEST(JsonSchemaGrammar, RandomSchemasCompileOrRefuseCleanly) {
  std::mt19937 rng(2024);
  int compiled = 0, refused = 0;
  for (int i = 0; i < 400; ++i) {
    Json schema = random_schema(rng, 0);
    if (schema.is_object() && rng() % 2) schema["$defs"] = Json{{"x", random_schema(rng, 2)}};
    // Byte-level mutations of the text as well, when they still parse.
    std::string text = schema.dump();
    if (rng() % 4 == 0 && text.size() > 2) {
      text[rng() % text.size()] = "{}[]\":,0a-"[rng() % 10];
      const Json mutated = Json::parse(text, nullptr, false);
      if (mutated.is_discarded()) continue;
      schema = mutated;
    }
    std::shared_ptr<const Grammar> g;
    try {
      g = std::make_shared<const Grammar>(grammar_from_json_schema(schema));
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << schema.dump() << ": " << e.what();
      ++refused;
      continue;
    }
    ++compiled;
    std::mt19937 walk_rng(i);
    for (int w = 0; w < 5; ++w) {
      GrammarMatcher m(g);
      const std::string out = test_walk::random_walk(m, walk_rng, 40);
      const Json value = Json::parse(out, nullptr, false);
      ASSERT_FALSE(value.is_discarded()) << schema.dump() << " gave " << out;
      const auto why = json_schema_validate(schema, value);
      ASSERT_FALSE(why.has_value()) << schema.dump() << " gave " << out << ": " << *why;
    }
  }
  EXPECT_GT(compiled, 100);
  EXPECT_GT(refused, 20);
}

}  // namespace
}  // namespace hearth::runtime
