// OpenAI request parsing: valid chat and text completion bodies become the
// right structs (defaults included); every rule's violation is a 400 (413 for
// size) naming its parameter; the error body has OpenAI's shape; and random
// mutations of valid bodies only ever parse or throw ApiException with a 4xx.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "runtime/sampler.h"
#include "service/api_error.h"
#include "service/openai_request.h"

namespace hearth::service {
namespace {

using json = nlohmann::json;

json chat_base() {
  return json::parse(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}]})");
}
json completion_base() { return json::parse(R"({"model": "m", "prompt": "Once upon a time"})"); }

// The error parsing `body` throws (a failure when it parses).
ApiError error_of(const std::function<void(std::string_view)>& parse, const std::string& body) {
  try {
    parse(body);
  } catch (const ApiException& e) {
    return e.error();
  }
  ADD_FAILURE() << "parsed without an error: " << body.substr(0, 300);
  return {};
}
ApiError chat_error(const std::string& body) {
  return error_of([](std::string_view b) { parse_chat_completion(b); }, body);
}
ApiError completion_error(const std::string& body) {
  return error_of([](std::string_view b) { parse_completion(b); }, body);
}

struct Rejection {
  const char* patch;  // merged into the valid base body (RFC 7386: null removes)
  const char* param;
  const char* code;
};

void expect_rejections(const json& base, const std::vector<Rejection>& cases,
                       ApiError (*error)(const std::string&)) {
  for (const Rejection& c : cases) {
    json body = base;
    body.merge_patch(json::parse(c.patch));
    SCOPED_TRACE(body.dump());
    const ApiError e = error(body.dump());
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_EQ(e.param, c.param);
    EXPECT_EQ(e.code, c.code);
    EXPECT_FALSE(e.message.empty());
    EXPECT_NE(e.message.find(c.param), std::string::npos) << e.message;  // the message names it too
  }
}

// ---- ApiError -----------------------------------------------------------

TEST(ApiError, HasOpenAisShape) {
  EXPECT_EQ(ApiError::invalid("Bad.", "messages[0].role", "invalid_value").to_json().dump(),
            R"({"error":{"message":"Bad.","type":"invalid_request_error","param":"messages[0].role",)"
            R"("code":"invalid_value"}})");
  EXPECT_EQ(ApiError::server("Boom.").to_json().dump(),
            R"({"error":{"message":"Boom.","type":"server_error","param":null,"code":null}})");
  EXPECT_EQ(ApiError::server("Boom.").body(), ApiError::server("Boom.").to_json().dump());
}

TEST(ApiError, ConstructorsSetStatusTypeAndCode) {
  struct Case {
    ApiError e;
    int status;
    const char* type;
    const char* code;
  };
  const Case cases[] = {
      {ApiError::invalid("x"), 400, "invalid_request_error", ""},
      {ApiError::unauthorized("x"), 401, "authentication_error", "invalid_api_key"},
      {ApiError::model_not_found("llama"), 404, "invalid_request_error", "model_not_found"},
      {ApiError::not_found("x"), 404, "not_found_error", ""},
      {ApiError::too_large(kMaxBodyBytes), 413, "invalid_request_error", "request_too_large"},
      {ApiError::rate_limited("x"), 429, "rate_limit_error", "rate_limit_exceeded"},
      {ApiError::unavailable("x"), 503, "server_error", "service_unavailable"},
      {ApiError::server("x"), 500, "server_error", ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.e.status, c.status);
    EXPECT_EQ(c.e.type, c.type);
    EXPECT_EQ(c.e.code, c.code);
    EXPECT_FALSE(c.e.message.empty());
  }
  EXPECT_NE(ApiError::model_not_found("llama").message.find("'llama'"), std::string::npos);
  const ApiException ex(ApiError::rate_limited("slow down", 7));
  EXPECT_EQ(ex.status(), 429);
  EXPECT_EQ(ex.error().retry_after, 7);
  EXPECT_STREQ(ex.what(), "slow down");
}

TEST(ApiError, QuotesAreCappedOnCharacterBoundaries) {
  EXPECT_EQ(quote_for_error("abc"), "'abc'");
  EXPECT_EQ(quote_for_error(std::string(200, 'a')), "'" + std::string(80, 'a') + "...'");
  EXPECT_EQ(quote_for_error("ab\xc3\xa9", 3), "'ab...'");  // never half of 'é'
  EXPECT_NO_THROW(ApiError::invalid("bad \xff byte").body());
}

// ---- the body -----------------------------------------------------------

TEST(JsonBody, MalformedJsonSaysWhere) {
  const ApiError e = chat_error("{\"model\": \"m\",\n  \"messages\": [}\n");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.param, "");
  EXPECT_EQ(e.code, "invalid_json");
  EXPECT_NE(e.message.find("line 2, column 16"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("near '"), std::string::npos) << e.message;
  EXPECT_EQ(e.to_json()["error"]["param"], nullptr);
}

TEST(JsonBody, HugeMalformedBodiesAreNotEchoed) {
  const std::string body = R"({"model": "m", "messages": ")" + std::string(1 << 20, 'x');  // unterminated
  const ApiError e = chat_error(body);
  EXPECT_EQ(e.code, "invalid_json");
  EXPECT_LT(e.message.size(), 400u) << e.message;
  const ApiError overflow = chat_error(R"({"model": "m", "temperature": 1)" + std::string(5000, '0') + "}");
  EXPECT_EQ(overflow.code, "invalid_json");
  EXPECT_LT(overflow.message.size(), 400u) << overflow.message;
}

TEST(JsonBody, InvalidUtf8IsA400WithASendableMessage) {
  const ApiError e = chat_error("{\"model\": \"m\xff\", \"messages\": []}");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.code, "invalid_json");
  EXPECT_NO_THROW(e.to_json().dump());  // strict: the message is valid UTF-8
}

TEST(JsonBody, MustBeAnObject) {
  for (const char* body : {"", "   ", "[1]", "\"text\"", "null", "42", "{} {}"}) {
    SCOPED_TRACE(body);
    const ApiError e = chat_error(body);
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.code, "invalid_json");
  }
}

TEST(JsonBody, DeepNestingIsRefusedBeforeParsing) {
  const ApiError e = chat_error(std::string(100000, '['));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.code, "invalid_json");
  EXPECT_NE(e.message.find("64"), std::string::npos);
  EXPECT_EQ(chat_error(std::string(100000, '{')).code, "invalid_json");

  auto nested = [](int depth) {  // the root object, messages[0].content, then arrays
    return R"({"model": "m", "messages": [{"role": "user", "content": )" + std::string(depth - 3, '[') +
           std::string(depth - 3, ']') + "}]}";
  };
  EXPECT_EQ(chat_error(nested(kMaxJsonDepth + 1)).code, "invalid_json");
  EXPECT_EQ(chat_error(nested(kMaxJsonDepth)).code, "invalid_type");  // parsed; a content of arrays is wrong
  // Brackets inside strings are text, not nesting.
  json ok = chat_base();
  ok["messages"][0]["content"] = std::string(1000, '[') + "\"\\" + std::string(1000, '{');
  EXPECT_NO_THROW(parse_chat_completion(ok.dump()));
}

TEST(JsonBody, OversizedBodiesAre413) {
  const std::string body = R"({"model": "m", "messages": [{"role": "user", "content": ")" + std::string(9 << 20, 'a') +
                           "\"}]}";
  const ApiError e = chat_error(body);
  EXPECT_EQ(e.status, 413);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.code, "request_too_large");
  EXPECT_EQ(completion_error(body).status, 413);

  std::string at_limit = chat_base().dump();
  at_limit += std::string(kMaxBodyBytes - at_limit.size(), ' ');
  EXPECT_NO_THROW(parse_chat_completion(at_limit));
  EXPECT_EQ(chat_error(at_limit + " ").status, 413);
}

// ---- chat completions: valid ----------------------------------------------

TEST(ChatCompletion, MinimalRequestGetsOpenAiDefaults) {
  const ChatCompletionRequest r = parse_chat_completion(chat_base().dump());
  EXPECT_EQ(r.model, "m");
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].role, "user");
  EXPECT_EQ(r.messages[0].content, "hi");
  EXPECT_FALSE(r.messages[0].name);
  EXPECT_FALSE(r.messages[0].tool_call_id);
  EXPECT_TRUE(r.messages[0].tool_calls.is_null());
  EXPECT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_EQ(r.sampling.top_p, 1.0f);
  EXPECT_EQ(r.sampling.top_k, 0);
  EXPECT_EQ(r.sampling.min_p, 0.0f);
  EXPECT_EQ(r.sampling.repeat_penalty, 1.0f);
  EXPECT_EQ(r.sampling.presence_penalty, 0.0f);
  EXPECT_EQ(r.sampling.frequency_penalty, 0.0f);
  EXPECT_FALSE(r.seed);
  EXPECT_FALSE(r.max_tokens);
  EXPECT_TRUE(r.stop.empty());
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(r.include_usage);
  EXPECT_EQ(r.response_format.type, ResponseFormat::Type::kText);
  EXPECT_TRUE(r.tools.empty());
  EXPECT_EQ(r.tool_choice.mode, ToolChoice::Mode::kNone);
  EXPECT_TRUE(r.parallel_tool_calls);
  EXPECT_NO_THROW(runtime::validate(r.sampling));
}

TEST(ChatCompletion, FullRequestParsesEveryField) {
  const ChatCompletionRequest r = parse_chat_completion(R"({
    "model": "qwen2.5-0.5b",
    "messages": [
      {"role": "developer", "content": "Be brief."},
      {"role": "user", "name": "ann", "content": [{"type": "text", "text": "Weather in "}, {"type": "text", "text": "Oslo?"}]},
      {"role": "assistant", "content": null,
       "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "12 C"},
      {"role": "assistant", "content": "It is 12 C."},
      {"role": "system", "content": []}
    ],
    "temperature": 0.5, "top_p": 0.9, "seed": -7, "presence_penalty": 0.25, "frequency_penalty": -1.5,
    "max_tokens": 200, "max_completion_tokens": 200, "stop": ["\n\n", "END"], "n": 1,
    "stream": true, "stream_options": {"include_usage": true},
    "response_format": {"type": "json_schema", "json_schema": {"name": "weather-v1", "description": "A report",
                        "schema": {"type": "object", "properties": {"c": {"type": "number"}}}, "strict": true}},
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Looks it up",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true}},
              {"type": "function", "function": {"name": "now"}}],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": false, "user": "u-1", "logprobs": false, "logit_bias": {},
    "metadata": {"anything": [1, 2]}, "store": false
  })");
  EXPECT_EQ(r.model, "qwen2.5-0.5b");
  ASSERT_EQ(r.messages.size(), 6u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[0].content, "Be brief.");
  EXPECT_EQ(r.messages[1].content, "Weather in Oslo?");
  EXPECT_EQ(r.messages[1].name, "ann");
  EXPECT_EQ(r.messages[2].role, "assistant");
  EXPECT_EQ(r.messages[2].content, "");
  ASSERT_TRUE(r.messages[2].tool_calls.is_array());
  EXPECT_EQ(r.messages[2].tool_calls[0]["function"]["name"], "get_weather");
  EXPECT_EQ(r.messages[3].role, "tool");
  EXPECT_EQ(r.messages[3].tool_call_id, "call_1");
  EXPECT_EQ(r.messages[3].content, "12 C");
  EXPECT_TRUE(r.messages[4].tool_calls.is_null());
  EXPECT_EQ(r.messages[5].content, "");

  EXPECT_EQ(r.sampling.temperature, 0.5f);
  EXPECT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.presence_penalty, 0.25f);
  EXPECT_EQ(r.sampling.frequency_penalty, -1.5f);
  EXPECT_EQ(r.sampling.top_k, 0);
  EXPECT_EQ(r.seed, -7);
  EXPECT_EQ(r.sampling.seed, static_cast<uint64_t>(int64_t{-7}));
  EXPECT_EQ(r.max_tokens, 200);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);

  EXPECT_EQ(r.response_format.type, ResponseFormat::Type::kJsonSchema);
  EXPECT_EQ(r.response_format.name, "weather-v1");
  EXPECT_EQ(r.response_format.description, "A report");
  EXPECT_EQ(r.response_format.schema["properties"]["c"]["type"], "number");
  EXPECT_TRUE(r.response_format.strict);

  ASSERT_EQ(r.tools.size(), 2u);
  EXPECT_EQ(r.tools[0].name, "get_weather");
  EXPECT_EQ(r.tools[0].description, "Looks it up");
  EXPECT_EQ(r.tools[0].parameters["properties"]["city"]["type"], "string");
  EXPECT_TRUE(r.tools[0].strict);
  EXPECT_EQ(r.tools[1].name, "now");
  EXPECT_EQ(r.tools[1].parameters, nlohmann::ordered_json::parse(R"({"type": "object", "properties": {}})"));
  EXPECT_FALSE(r.tools[1].strict);
  EXPECT_EQ(r.tool_choice.mode, ToolChoice::Mode::kFunction);
  EXPECT_EQ(r.tool_choice.function, "get_weather");
  EXPECT_FALSE(r.parallel_tool_calls);
  EXPECT_NO_THROW(runtime::validate(r.sampling));
}

TEST(ChatCompletion, SmallerForms) {
  auto parse = [](const char* patch) {
    json body = chat_base();
    body.merge_patch(json::parse(patch));
    return parse_chat_completion(body.dump());
  };
  EXPECT_EQ(parse(R"({"stop": "###"})").stop, std::vector<std::string>{"###"});
  EXPECT_TRUE(parse(R"({"stop": []})").stop.empty());
  EXPECT_EQ(parse(R"({"max_completion_tokens": 7})").max_tokens, 7);
  EXPECT_EQ(parse(R"({"max_tokens": 1048576})").max_tokens, kMaxTokensCap);
  EXPECT_EQ(parse(R"({"temperature": 0, "top_p": 1})").sampling.temperature, 0.0f);
  EXPECT_EQ(parse(R"({"temperature": 2})").sampling.temperature, 2.0f);
  EXPECT_EQ(parse(R"({"seed": 9223372036854775807})").seed, INT64_MAX);
  EXPECT_EQ(parse(R"({"response_format": {"type": "json_object"}})").response_format.type,
            ResponseFormat::Type::kJsonObject);
  const auto schema_only_named = parse(R"({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}})");
  EXPECT_EQ(schema_only_named.response_format.schema, nlohmann::ordered_json::object());
  EXPECT_FALSE(schema_only_named.response_format.strict);
  // Schemas keep the client's key order: constrained decoding writes properties in it.
  const auto ordered = parse_chat_completion(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}],
      "response_format": {"type": "json_schema", "json_schema": {"name": "x",
      "schema": {"type": "object", "properties": {"zeta": {}, "alpha": {}, "mid": {}}}}}})");
  std::vector<std::string> keys;
  for (const auto& [k, v] : ordered.response_format.schema["properties"].items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"zeta", "alpha", "mid"}));
  const char* tools = R"({"tools": [{"type": "function", "function": {"name": "f"}}]})";
  EXPECT_EQ(parse(tools).tool_choice.mode, ToolChoice::Mode::kAuto);
  for (const auto& [choice, mode] : {std::pair{"none", ToolChoice::Mode::kNone}, std::pair{"auto", ToolChoice::Mode::kAuto},
                                     std::pair{"required", ToolChoice::Mode::kRequired}}) {
    json body = chat_base();
    body.merge_patch(json::parse(tools));
    body["tool_choice"] = choice;
    EXPECT_EQ(parse_chat_completion(body.dump()).tool_choice.mode, mode) << choice;
  }
  // Null is absent for optional fields; unknown fields are ignored.
  const auto nulls = parse(R"({"temperature": null, "stop": null, "stream": null, "stream_options": null,
                               "tools": null, "tool_choice": null, "frobnicate": {"deep": [1]}})");
  EXPECT_EQ(nulls.sampling.temperature, 1.0f);
  EXPECT_FALSE(nulls.stream);
  // An assistant turn with tool calls and no content key at all.
  const auto calls = parse(R"({"messages": [{"role": "assistant", "tool_calls": [
      {"id": "c", "function": {"name": "f", "arguments": "{}"}}]}]})");
  EXPECT_EQ(calls.messages[0].content, "");
}

// ---- chat completions: rejected -------------------------------------------

TEST(ChatCompletion, RejectsBadTopLevelFields) {
  expect_rejections(chat_base(), {
      {R"({"model": null})", "model", "missing_required_parameter"},
      {R"({"model": ""})", "model", "invalid_value"},
      {R"({"model": 5})", "model", "invalid_type"},
      {R"({"messages": null})", "messages", "missing_required_parameter"},
      {R"({"messages": []})", "messages", "invalid_value"},
      {R"({"messages": "hi"})", "messages", "invalid_type"},
      {R"({"temperature": 2.5})", "temperature", "invalid_value"},
      {R"({"temperature": -0.1})", "temperature", "invalid_value"},
      {R"({"temperature": "1"})", "temperature", "invalid_type"},
      {R"({"top_p": 0})", "top_p", "invalid_value"},
      {R"({"top_p": 1.5})", "top_p", "invalid_value"},
      {R"({"presence_penalty": 3})", "presence_penalty", "invalid_value"},
      {R"({"frequency_penalty": -2.5})", "frequency_penalty", "invalid_value"},
      {R"({"frequency_penalty": true})", "frequency_penalty", "invalid_type"},
      {R"({"seed": "1"})", "seed", "invalid_type"},
      {R"({"seed": 1.5})", "seed", "invalid_type"},
      {R"({"seed": 18446744073709551615})", "seed", "invalid_value"},
      {R"({"max_tokens": -1})", "max_tokens", "invalid_value"},
      {R"({"max_tokens": 0})", "max_tokens", "invalid_value"},
      {R"({"max_tokens": 1000000000})", "max_tokens", "invalid_value"},
      {R"({"max_tokens": 1048577})", "max_tokens", "invalid_value"},
      {R"({"max_tokens": 10.5})", "max_tokens", "invalid_type"},
      {R"({"max_completion_tokens": 0})", "max_completion_tokens", "invalid_value"},
      {R"({"max_completion_tokens": "5"})", "max_completion_tokens", "invalid_type"},
      {R"({"max_tokens": 10, "max_completion_tokens": 20})", "max_completion_tokens", "invalid_value"},
      {R"({"stop": ""})", "stop", "invalid_value"},
      {R"({"stop": 5})", "stop", "invalid_type"},
      {R"({"stop": ["a", "b", "c", "d", "e"]})", "stop", "invalid_value"},
      {R"({"stop": ["a", 1]})", "stop[1]", "invalid_type"},
      {R"({"stop": ["a", ""]})", "stop[1]", "invalid_value"},
      {R"({"n": 2})", "n", "unsupported_value"},
      {R"({"n": 0})", "n", "unsupported_value"},
      {R"({"n": "1"})", "n", "invalid_type"},
      {R"({"stream": "yes"})", "stream", "invalid_type"},
      {R"({"stream_options": {"include_usage": true}})", "stream_options", "invalid_value"},
      {R"({"stream": false, "stream_options": {"include_usage": true}})", "stream_options", "invalid_value"},
      {R"({"stream": true, "stream_options": []})", "stream_options", "invalid_type"},
      {R"({"stream": true, "stream_options": {"include_usage": 1}})", "stream_options.include_usage", "invalid_type"},
      {R"({"user": 5})", "user", "invalid_type"},
      {R"({"logprobs": true})", "logprobs", "unsupported_value"},
      {R"({"logprobs": "no"})", "logprobs", "invalid_type"},
      {R"({"top_logprobs": 2})", "top_logprobs", "unsupported_value"},
      {R"({"logit_bias": {"50256": -100}})", "logit_bias", "unsupported_value"},
      {R"({"functions": [{"name": "f"}]})", "functions", "unsupported_value"},
      {R"({"function_call": "auto"})", "function_call", "unsupported_value"},
      {R"({"parallel_tool_calls": "yes"})", "parallel_tool_calls", "invalid_type"},
  }, chat_error);
}

TEST(ChatCompletion, RejectsBadMessages) {
  expect_rejections(chat_base(), {
      {R"({"messages": [5]})", "messages[0]", "invalid_type"},
      {R"({"messages": [{"content": "hi"}]})", "messages[0].role", "missing_required_parameter"},
      {R"({"messages": [{"role": "wizard", "content": "hi"}]})", "messages[0].role", "invalid_value"},
      {R"({"messages": [{"role": "function", "content": "hi"}]})", "messages[0].role", "invalid_value"},
      {R"({"messages": [{"role": 1, "content": "hi"}]})", "messages[0].role", "invalid_type"},
      {R"({"messages": [{"role": "user"}]})", "messages[0].content", "missing_required_parameter"},
      {R"({"messages": [{"role": "user", "content": null}]})", "messages[0].content", "missing_required_parameter"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": null}]})",
       "messages[1].content", "missing_required_parameter"},
      {R"({"messages": [{"role": "assistant", "content": null, "tool_calls": []}]})", "messages[0].content",
       "missing_required_parameter"},
      {R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content", "invalid_type"},
      {R"({"messages": [{"role": "user", "content": {"text": "hi"}}]})", "messages[0].content", "invalid_type"},
      {R"({"messages": [{"role": "user", "content": ["hi"]}]})", "messages[0].content[0]", "invalid_type"},
      {R"({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"},
          {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]})", "messages[0].content[1]",
       "unsupported_value"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": [
          {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}]})", "messages[1].content[0]",
       "unsupported_value"},
      {R"({"messages": [{"role": "user", "content": [{"text": "a"}]}]})", "messages[0].content[0].type",
       "missing_required_parameter"},
      {R"({"messages": [{"role": "user", "content": [{"type": "text"}]}]})", "messages[0].content[0].text",
       "missing_required_parameter"},
      {R"({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]})", "messages[0].content[0].text",
       "invalid_type"},
      {R"({"messages": [{"role": "user", "content": "a", "name": 5}]})", "messages[0].name", "invalid_type"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "tool", "content": "12"}]})",
       "messages[1].tool_call_id", "missing_required_parameter"},
      {R"({"messages": [{"role": "tool", "content": "12", "tool_call_id": 3}]})", "messages[0].tool_call_id",
       "invalid_type"},
      {R"({"messages": [{"role": "user", "content": "a", "tool_calls": []}]})", "messages[0].tool_calls",
       "invalid_value"},
      {R"({"messages": [{"role": "assistant", "tool_calls": {}}]})", "messages[0].tool_calls", "invalid_type"},
      {R"({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f"}}]}]})",
       "messages[0].tool_calls[0].function.arguments", "missing_required_parameter"},
      {R"({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}]})",
       "messages[0].tool_calls[0].id", "missing_required_parameter"},
      {R"({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "code",
          "function": {"name": "f", "arguments": "{}"}}]}]})", "messages[0].tool_calls[0].type", "invalid_value"},
  }, chat_error);
}

TEST(ChatCompletion, RejectsBadResponseFormats) {
  expect_rejections(chat_base(), {
      {R"({"response_format": "json"})", "response_format", "invalid_type"},
      {R"({"response_format": {}})", "response_format.type", "missing_required_parameter"},
      {R"({"response_format": {"type": "xml"}})", "response_format.type", "invalid_value"},
      {R"({"response_format": {"type": "json_schema"}})", "response_format.json_schema", "missing_required_parameter"},
      {R"({"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}})",
       "response_format.json_schema.name", "missing_required_parameter"},
      {R"({"response_format": {"type": "json_schema", "json_schema": {"name": "has space"}}})",
       "response_format.json_schema.name", "invalid_value"},
      {R"({"response_format": {"type": "json_schema", "json_schema": {"name": ""}}})",
       "response_format.json_schema.name", "invalid_value"},
      {R"({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": "object"}}})",
       "response_format.json_schema.schema", "invalid_type"},
      {R"({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "strict": "yes"}}})",
       "response_format.json_schema.strict", "invalid_type"},
  }, chat_error);
  json body = chat_base();
  body["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"name", std::string(65, 'a')}}}};
  EXPECT_EQ(chat_error(body.dump()).param, "response_format.json_schema.name");
  body["response_format"]["json_schema"]["name"] = std::string(64, 'a');
  EXPECT_NO_THROW(parse_chat_completion(body.dump()));
}

TEST(ChatCompletion, RejectsBadToolsAndToolChoices) {
  json base = chat_base();
  base["tools"] = json::parse(R"([{"type": "function", "function": {"name": "get_weather"}}])");
  expect_rejections(base, {
      {R"({"tools": {}})", "tools", "invalid_type"},
      {R"({"tools": []})", "tools", "invalid_value"},
      {R"({"tools": ["f"]})", "tools[0]", "invalid_type"},
      {R"({"tools": [{"function": {"name": "f"}}]})", "tools[0].type", "missing_required_parameter"},
      {R"({"tools": [{"type": "retrieval", "function": {"name": "f"}}]})", "tools[0].type", "invalid_value"},
      {R"({"tools": [{"type": "function"}]})", "tools[0].function", "missing_required_parameter"},
      {R"({"tools": [{"type": "function", "function": {"description": "d"}}]})", "tools[0].function.name",
       "missing_required_parameter"},
      {R"({"tools": [{"type": "function", "function": {"name": "get weather"}}]})", "tools[0].function.name",
       "invalid_value"},
      {R"({"tools": [{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "f"}}]})",
       "tools[1].function.name", "invalid_value"},
      {R"({"tools": [{"type": "function", "function": {"name": "f", "description": 5}}]})",
       "tools[0].function.description", "invalid_type"},
      {R"({"tools": [{"type": "function", "function": {"name": "f", "parameters": "none"}}]})",
       "tools[0].function.parameters", "invalid_type"},
      {R"({"tools": [{"type": "function", "function": {"name": "f", "strict": 1}}]})", "tools[0].function.strict",
       "invalid_type"},
      {R"({"tools": null, "tool_choice": "auto"})", "tool_choice", "invalid_value"},
      {R"({"tools": null, "tool_choice": "none"})", "tool_choice", "invalid_value"},
      {R"({"tool_choice": "sometimes"})", "tool_choice", "invalid_value"},
      {R"({"tool_choice": 5})", "tool_choice", "invalid_type"},
      {R"({"tool_choice": {"type": "function"}})", "tool_choice.function", "missing_required_parameter"},
      {R"({"tool_choice": {"type": "tool", "function": {"name": "get_weather"}}})", "tool_choice.type",
       "invalid_value"},
      {R"({"tool_choice": {"type": "function", "function": {"name": "get_time"}}})", "tool_choice.function.name",
       "invalid_value"},
      {R"({"tool_choice": {"type": "function", "function": {}}})", "tool_choice.function.name",
       "missing_required_parameter"},
  }, chat_error);
  json missing = base;
  missing["tool_choice"] = {{"type", "function"}, {"function", {{"name", "get_time"}}}};
  EXPECT_NE(chat_error(missing.dump()).message.find("'get_time'"), std::string::npos);
}

TEST(ChatCompletion, TypeErrorsSayWhatWasExpected) {
  json body = chat_base();
  body["messages"].push_back({{"role", "user"}, {"content", "x"}});
  body["messages"].push_back({{"role", "user"}, {"content", 3.5}});
  const ApiError e = chat_error(body.dump());
  EXPECT_EQ(e.param, "messages[2].content");
  EXPECT_EQ(e.message,
            "Invalid type for 'messages[2].content': expected a string or an array of content parts, but got a "
            "decimal number instead.");
  body = chat_base();
  body["temperature"] = "hot";
  EXPECT_EQ(chat_error(body.dump()).message,
            "Invalid type for 'temperature': expected a number, but got a string instead.");
  body["temperature"] = 7;
  EXPECT_EQ(chat_error(body.dump()).message,
            "Invalid value for 'temperature': expected a number within [0, 2], but got 7.");
  body = chat_base();
  body["messages"][0]["role"] = std::string(5000, 'r');  // a huge value is not echoed
  EXPECT_LT(chat_error(body.dump()).message.size(), 300u);
}

// ---- text completions -------------------------------------------------------

TEST(Completion, MinimalRequestGetsDefaults) {
  const CompletionRequest r = parse_completion(completion_base().dump());
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.prompt, "Once upon a time");
  EXPECT_TRUE(r.prompt_tokens.empty());
  EXPECT_EQ(r.max_tokens, 16);
  EXPECT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_EQ(r.sampling.top_p, 1.0f);
  EXPECT_EQ(r.sampling.top_k, 0);
  EXPECT_EQ(r.sampling.min_p, 0.0f);
  EXPECT_FALSE(r.seed);
  EXPECT_TRUE(r.stop.empty());
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(r.include_usage);
}

TEST(Completion, FullRequestAndPromptForms) {
  const CompletionRequest r = parse_completion(R"({"model": "m", "prompt": ["The sky is"], "max_tokens": 5,
      "temperature": 0, "top_p": 0.5, "seed": 42, "stop": "\n", "presence_penalty": 1, "frequency_penalty": 2,
      "n": 1, "stream": true, "stream_options": {"include_usage": true}, "echo": false, "suffix": null,
      "logprobs": null, "best_of": 1, "user": "u"})");
  EXPECT_EQ(r.prompt, "The sky is");
  EXPECT_EQ(r.max_tokens, 5);
  EXPECT_EQ(r.sampling.temperature, 0.0f);
  EXPECT_EQ(r.sampling.top_p, 0.5f);
  EXPECT_EQ(r.sampling.presence_penalty, 1.0f);
  EXPECT_EQ(r.sampling.frequency_penalty, 2.0f);
  EXPECT_EQ(r.seed, 42);
  EXPECT_EQ(r.sampling.seed, 42u);
  EXPECT_EQ(r.stop, std::vector<std::string>{"\n"});
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);

  const CompletionRequest tokens = parse_completion(R"({"model": "m", "prompt": [1, 15043, 2147483647]})");
  EXPECT_TRUE(tokens.prompt.empty());
  EXPECT_EQ(tokens.prompt_tokens, (std::vector<int32_t>{1, 15043, 2147483647}));
}

TEST(Completion, RejectsBadFields) {
  expect_rejections(completion_base(), {
      {R"({"model": null})", "model", "missing_required_parameter"},
      {R"({"prompt": null})", "prompt", "missing_required_parameter"},
      {R"({"prompt": ""})", "prompt", "invalid_value"},
      {R"({"prompt": []})", "prompt", "invalid_value"},
      {R"({"prompt": [""]})", "prompt", "invalid_value"},
      {R"({"prompt": ["a", "b"]})", "prompt", "unsupported_value"},
      {R"({"prompt": 5})", "prompt", "invalid_type"},
      {R"({"prompt": {"text": "a"}})", "prompt", "invalid_type"},
      {R"({"prompt": [1, "a"]})", "prompt[1]", "invalid_type"},
      {R"({"prompt": [[1, 2]]})", "prompt[0]", "invalid_type"},
      {R"({"prompt": [1, 2.5]})", "prompt[1]", "invalid_type"},
      {R"({"prompt": [-1]})", "prompt[0]", "invalid_value"},
      {R"({"prompt": [2147483648]})", "prompt[0]", "invalid_value"},
      {R"({"max_tokens": 0})", "max_tokens", "invalid_value"},
      {R"({"max_tokens": -1})", "max_tokens", "invalid_value"},
      {R"({"max_tokens": 1000000000})", "max_tokens", "invalid_value"},
      {R"({"temperature": 3})", "temperature", "invalid_value"},
      {R"({"top_p": 0})", "top_p", "invalid_value"},
      {R"({"seed": "x"})", "seed", "invalid_type"},
      {R"({"stop": ["a", "b", "c", "d", "e"]})", "stop", "invalid_value"},
      {R"({"n": 3})", "n", "unsupported_value"},
      {R"({"stream": 1})", "stream", "invalid_type"},
      {R"({"stream_options": {"include_usage": true}})", "stream_options", "invalid_value"},
      {R"({"echo": true})", "echo", "unsupported_value"},
      {R"({"echo": "no"})", "echo", "invalid_type"},
      {R"({"suffix": "end"})", "suffix", "unsupported_value"},
      {R"({"suffix": ""})", "suffix", "unsupported_value"},
      {R"({"logprobs": 0})", "logprobs", "unsupported_value"},
      {R"({"logprobs": 5})", "logprobs", "unsupported_value"},
      {R"({"best_of": 2})", "best_of", "unsupported_value"},
      {R"({"best_of": "1"})", "best_of", "invalid_type"},
      {R"({"logit_bias": {"1": 1}})", "logit_bias", "unsupported_value"},
  }, completion_error);
}

// ---- random mutations ---------------------------------------------------------

json deep_array(int depth) {
  json v = json::array();
  for (int i = 1; i < depth; ++i) v = json::array({std::move(v)});
  return v;
}

// Every mutation of a valid body either parses (into something sane) or is an
// ApiException with a 4xx and a sendable body; never another exception.
TEST(RandomMutations, ParseOrFailWithA4xx) {
  const std::vector<std::pair<bool, std::string>> seeds = {  // (chat?, body)
      {true, chat_base().dump()},
      {true, R"({"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"}]}],"temperature":0.7,"top_p":0.9,"max_tokens":64,"stop":["x","y"],"seed":3})"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"r"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}],"tool_choice":"auto"})"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"q"}],"stream":true,"stream_options":{"include_usage":true},"n":1,"presence_penalty":0.5,"frequency_penalty":-0.5,"user":"u"})"},
      {true, R"({"model":"m","messages":[{"role":"developer","content":"d"},{"role":"user","content":"q","name":"n"}],"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"},"strict":true}}})"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b","description":"d"}}],"tool_choice":{"type":"function","function":{"name":"b"}},"max_completion_tokens":10,"response_format":{"type":"json_object"}})"},
      {false, completion_base().dump()},
      {false, R"({"model":"m","prompt":["p"],"max_tokens":8,"temperature":0,"stop":"\n","seed":1,"echo":false,"best_of":1})"},
      {false, R"({"model":"m","prompt":[1,2,3,4],"stream":true,"stream_options":{"include_usage":false},"suffix":null,"logprobs":null})"},
      {false, R"({"model":"m","prompt":"p","top_p":0.5,"presence_penalty":1,"frequency_penalty":1,"n":1,"user":"x"})"},
  };
  const std::vector<json> values = {
      nullptr, true, false, 0, -1, 1, 2, 0.5, -1e308, 1e308, 18446744073709551615ull, INT64_MIN, 1048577,
      "NaN", "Infinity", "-inf", "1e999", "", "x", "user", "function", "text", std::string(300, 'a'),
      json::array(), json::object(), json::array({1, 2}), json::array({"a"}), json{{"type", "text"}},
      json{{"type", "function"}}, deep_array(40), deep_array(70)};
  const std::vector<std::string> keys = {
      "model", "messages", "role", "content", "name", "tool_calls", "tool_call_id", "temperature", "top_p", "seed",
      "max_tokens", "max_completion_tokens", "stop", "n", "stream", "stream_options", "include_usage",
      "response_format", "type", "json_schema", "schema", "strict", "tools", "function", "parameters", "tool_choice",
      "logprobs", "top_logprobs", "prompt", "echo", "suffix", "best_of", "text", "arguments", "id", "logit_bias"};
  const std::vector<std::string> splices = {"\xff", "\xc3\x28", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82",
                                            "1e999999", "123456789012345678901234567890", "\"", "\\", "{", "]",
                                            ",", ":", "null", "\\u0000", "\\ud800"};

  std::mt19937_64 rng(20240611);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };

  auto mutate_tree = [&](json& root) {
    std::vector<json*> nodes;
    std::function<void(json&)> collect = [&](json& v) {
      nodes.push_back(&v);
      if (v.is_structured())
        for (auto& child : v) collect(child);
    };
    collect(root);
    json& node = *nodes[pick(nodes.size())];
    const json& value = values[pick(values.size())];
    switch (pick(5)) {
      case 0:  // delete a key or element
        if (node.is_object() && !node.empty()) node.erase(std::next(node.begin(), long(pick(node.size()))).key());
        else if (node.is_array() && !node.empty()) node.erase(pick(node.size()));
        break;
      case 1:  // add or overwrite a known key
        if (node.is_object()) node[keys[pick(keys.size())]] = value;
        break;
      case 2:  // duplicate an element
        if (node.is_array() && !node.empty()) {
          json copy = node[pick(node.size())];
          node.push_back(std::move(copy));
        }
        break;
      default:  // swap the value's type
        if (&node != &root || pick(8) == 0) node = value;
    }
  };
  auto mutate_bytes = [&](std::string& s) {
    switch (pick(5)) {
      case 0:
        if (!s.empty()) s[pick(s.size())] ^= char(1 << pick(8));
        break;
      case 1: s.resize(pick(s.size() + 1)); break;
      case 2: s.insert(pick(s.size() + 1), splices[pick(splices.size())]); break;
      case 3: {  // duplicate a slice (often a key)
        const size_t a = pick(s.size() + 1), b = std::min(s.size(), a + pick(40));
        s.insert(b, s.substr(a, b - a));
        break;
      }
      default: s.insert(pick(s.size() + 1), std::string(pick(8) == 0 ? 100000 : 1 + pick(100), '['));
    }
  };

  int parsed = 0, rejected = 0;
  for (int round = 0; round < 400; ++round) {
    for (const auto& [is_chat, seed] : seeds) {
      json tree = json::parse(seed);
      for (size_t i = 0, n = pick(3); i < n; ++i) mutate_tree(tree);
      std::string body = tree.dump();
      if (pick(2) == 0)
        for (size_t i = 0, n = 1 + pick(3); i < n; ++i) mutate_bytes(body);
      try {
        if (is_chat) {
          const ChatCompletionRequest r = parse_chat_completion(body);
          EXPECT_FALSE(r.model.empty());
          EXPECT_FALSE(r.messages.empty());
          EXPECT_TRUE(!r.max_tokens || (*r.max_tokens >= 1 && *r.max_tokens <= kMaxTokensCap));
          EXPECT_LE(r.stop.size(), kMaxStopStrings);
        } else {
          const CompletionRequest r = parse_completion(body);
          EXPECT_NE(r.prompt.empty(), r.prompt_tokens.empty());
          EXPECT_TRUE(r.max_tokens >= 1 && r.max_tokens <= kMaxTokensCap);
        }
        ++parsed;
      } catch (const ApiException& e) {
        ++rejected;
        EXPECT_GE(e.status(), 400);
        EXPECT_LT(e.status(), 500);
        EXPECT_FALSE(e.error().type.empty());
        EXPECT_FALSE(e.error().message.empty());
        EXPECT_LT(e.error().message.size(), 600u);
        EXPECT_NO_THROW(e.error().to_json().dump()) << body.substr(0, 200);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "unexpected exception " << e.what() << " for " << body.substr(0, 300);
      } catch (...) {
        ADD_FAILURE() << "unexpected non-std exception for " << body.substr(0, 300);
      }
    }
  }
  EXPECT_GT(parsed, 0);
  EXPECT_GT(rejected, 0);
  std::cout << "random mutations: " << parsed << " parsed, " << rejected << " rejected\n";
}

}  // namespace
}  // namespace hearth::service
