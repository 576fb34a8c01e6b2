// Tool calls: the schema a forced call must match, reading calls back out of a
// reply, and how a streamed reply holds back what may become a call.
#include <gtest/gtest.h>

#include "runtime/json_schema_validate.h"
#include "service/completion.h"
#include "service/tool_calls.h"

namespace hearth::service {
namespace {

using ojson = nlohmann::ordered_json;

std::vector<Tool> tools() {
  Tool weather;
  weather.name = "get_weather";
  weather.parameters = ojson::parse(R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})");
  Tool time;
  time.name = "get_time";
  time.parameters = ojson::parse(R"({"type":"object","properties":{}})");
  return {weather, time};
}

TEST(ToolCalls, ForcedSchemaAllowsOnlyTheChosenTools) {
  ToolChoice named{ToolChoice::Mode::kFunction, "get_weather"};
  const ojson one = forced_tool_call_schema(tools(), named);
  EXPECT_FALSE(runtime::json_schema_validate(one, ojson::parse(R"({"name":"get_weather","arguments":{"city":"Oslo"}})")));
  EXPECT_TRUE(runtime::json_schema_validate(one, ojson::parse(R"({"name":"get_time","arguments":{}})")));
  EXPECT_TRUE(runtime::json_schema_validate(one, ojson::parse(R"({"name":"get_weather","arguments":{}})")));
  EXPECT_TRUE(runtime::json_schema_validate(one, ojson::parse(R"({"name":"get_weather"})")));

  ToolChoice any{ToolChoice::Mode::kRequired, ""};
  const ojson either = forced_tool_call_schema(tools(), any);
  EXPECT_FALSE(runtime::json_schema_validate(either, ojson::parse(R"({"name":"get_time","arguments":{}})")));
  EXPECT_FALSE(runtime::json_schema_validate(either, ojson::parse(R"({"name":"get_weather","arguments":{"city":"x"}})")));
  EXPECT_TRUE(runtime::json_schema_validate(either, ojson::parse(R"({"name":"other","arguments":{}})")));
}

TEST(ToolCalls, ParsesTaggedAndBareCalls) {
  const auto t = tools();
  auto calls = parse_tool_calls("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>", t);
  ASSERT_TRUE(calls);
  ASSERT_EQ(calls->size(), 1u);
  EXPECT_EQ((*calls)[0].name, "get_weather");
  EXPECT_EQ(ojson::parse((*calls)[0].arguments), ojson::parse(R"({"city":"Oslo"})"));
  EXPECT_EQ((*calls)[0].id.rfind("call_", 0), 0u);

  calls = parse_tool_calls(
      " <tool_call>{\"name\":\"get_time\",\"arguments\":{}}</tool_call>\n<tool_call>{\"name\":\"get_weather\","
      "\"arguments\":\"{\\\"city\\\":\\\"Rome\\\"}\"}",  // the last unclosed, arguments as a string
      t);
  ASSERT_TRUE(calls);
  ASSERT_EQ(calls->size(), 2u);
  EXPECT_EQ((*calls)[1].name, "get_weather");
  EXPECT_EQ(ojson::parse((*calls)[1].arguments)["city"], "Rome");
  EXPECT_NE((*calls)[0].id, (*calls)[1].id);

  calls = parse_tool_calls(R"({"name": "get_time", "arguments": {}})", t);  // bare object
  ASSERT_TRUE(calls);
  EXPECT_EQ((*calls)[0].name, "get_time");

  // Not calls: plain text, an unknown tool, broken JSON, arguments not an object.
  EXPECT_FALSE(parse_tool_calls("The weather is fine.", t));
  EXPECT_FALSE(parse_tool_calls(R"(<tool_call>{"name": "launch", "arguments": {}}</tool_call>)", t));
  EXPECT_FALSE(parse_tool_calls(R"(<tool_call>{"name": "get_time", "argu</tool_call>)", t));
  EXPECT_FALSE(parse_tool_calls(R"(<tool_call>{"name": "get_time", "arguments": [1]}</tool_call>)", t));
  EXPECT_FALSE(parse_tool_calls(R"(<tool_call>{"name":"get_time","arguments":{}}</tool_call> and more)", t));
}

TEST(ToolCalls, PromptSectionListsEveryTool) {
  const std::string text = tools_system_prompt(tools());
  EXPECT_NE(text.find("\"get_weather\""), std::string::npos);
  EXPECT_NE(text.find("\"get_time\""), std::string::npos);
  EXPECT_NE(text.find(kToolCallOpen), std::string::npos);
  EXPECT_EQ(ojson::parse(tool_call_text("f", R"({"a":1})")), ojson::parse(R"({"name":"f","arguments":{"a":1}})"));
  EXPECT_EQ(ojson::parse(tool_call_text("f", "not json")), ojson::parse(R"({"name":"f","arguments":"not json"})"));
}

// ---- streaming ------------------------------------------------------------

CompletionPlan chat_plan(ToolMode mode) {
  CompletionPlan plan;
  plan.kind = CompletionKind::kChat;
  plan.id = "chatcmpl-test";
  plan.model = "m";
  plan.prompt = {1, 2, 3};
  plan.tools = tools();
  plan.tool_mode = mode;
  plan.include_usage = true;
  return plan;
}

runtime::EngineResult result_of(const std::string& text, size_t tokens, const char* finish = "stop") {
  runtime::EngineResult r;
  r.text = text;
  r.tokens.assign(tokens, 7);
  r.finish_reason = finish;
  return r;
}

// The JSON payloads of "data: ..." events (without [DONE]).
std::vector<ojson> events(const std::string& sse) {
  std::vector<ojson> out;
  size_t at = 0;
  while ((at = sse.find("data: ", at)) != std::string::npos) {
    const size_t end = sse.find("\n\n", at);
    const std::string data = sse.substr(at + 6, end - at - 6);
    if (data != "[DONE]") out.push_back(ojson::parse(data));
    at = end;
  }
  return out;
}

TEST(StreamEncoder, PlainContentStreamsAsItComes) {
  const CompletionPlan plan = chat_plan(ToolMode::kAuto);
  StreamEncoder enc(plan);
  const auto start = events(enc.begin());
  ASSERT_EQ(start.size(), 1u);
  EXPECT_EQ(start[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(start[0]["usage"].is_null());
  // "<t" could still open a tool call, so it is held until the text says otherwise.
  EXPECT_TRUE(enc.text(" <t").empty());
  const auto flushed = events(enc.text("oo many"));
  ASSERT_EQ(flushed.size(), 1u);
  EXPECT_EQ(flushed[0]["choices"][0]["delta"]["content"], " <too many");
  EXPECT_EQ(events(enc.text(" cooks"))[0]["choices"][0]["delta"]["content"], " cooks");
  const std::string end = enc.end(result_of(" <too many cooks", 4));
  const auto tail = events(end);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0]["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(tail[1]["choices"].empty());
  EXPECT_EQ(tail[1]["usage"]["completion_tokens"], 4);
  EXPECT_EQ(tail[1]["usage"]["total_tokens"], 7);
  EXPECT_EQ(end.substr(end.size() - 14), "data: [DONE]\n\n");
}

TEST(StreamEncoder, ToolCallsAreHeldAndSentWhole) {
  const std::string reply = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>";
  for (ToolMode mode : {ToolMode::kAuto, ToolMode::kForced}) {
    const CompletionPlan plan = chat_plan(mode);
    StreamEncoder enc(plan);
    enc.begin();
    const std::string body = mode == ToolMode::kForced ? "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}" : reply;
    for (size_t i = 0; i < body.size(); i += 5) EXPECT_TRUE(enc.text(body.substr(i, 5)).empty());
    const auto tail = events(enc.end(result_of(body, 20)));
    ASSERT_EQ(tail.size(), 3u);
    const ojson& call = tail[0]["choices"][0]["delta"]["tool_calls"][0];
    EXPECT_EQ(call["index"], 0);
    EXPECT_EQ(call["type"], "function");
    EXPECT_EQ(call["function"]["name"], "get_weather");
    EXPECT_EQ(ojson::parse(call["function"]["arguments"].get<std::string>())["city"], "Oslo");
    EXPECT_EQ(tail[1]["choices"][0]["finish_reason"], "tool_calls");
  }
}

TEST(StreamEncoder, AHeldReplyThatIsNoCallIsSentAsContent) {
  const CompletionPlan plan = chat_plan(ToolMode::kAuto);
  StreamEncoder enc(plan);
  enc.begin();
  EXPECT_TRUE(enc.text("<tool_call>{\"name\": \"nope\"").empty());
  const auto tail = events(enc.end(result_of("<tool_call>{\"name\": \"nope\"", 9, "length")));
  ASSERT_EQ(tail.size(), 3u);
  EXPECT_EQ(tail[0]["choices"][0]["delta"]["content"], "<tool_call>{\"name\": \"nope\"");
  EXPECT_EQ(tail[1]["choices"][0]["finish_reason"], "length");
}

TEST(CompletionResponse, ChatAndTextShapes) {
  CompletionPlan plan = chat_plan(ToolMode::kNone);
  const ojson chat = completion_response(plan, result_of("Hello", 2));
  EXPECT_EQ(chat["object"], "chat.completion");
  EXPECT_EQ(chat["choices"][0]["message"]["content"], "Hello");
  EXPECT_EQ(chat["choices"][0]["finish_reason"], "stop");
  EXPECT_FALSE(chat["choices"][0]["message"].contains("tool_calls"));
  EXPECT_EQ(chat["usage"]["prompt_tokens"], 3);

  plan.tool_mode = ToolMode::kForced;
  const ojson call = completion_response(plan, result_of(R"({"name":"get_time","arguments":{}})", 9));
  EXPECT_TRUE(call["choices"][0]["message"]["content"].is_null());
  EXPECT_EQ(call["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "get_time");
  EXPECT_EQ(call["choices"][0]["finish_reason"], "tool_calls");
  // A forced call cut short by max_tokens is no call: its text comes back as content.
  const ojson cut = completion_response(plan, result_of(R"({"name":"get_ti)", 9, "length"));
  EXPECT_EQ(cut["choices"][0]["message"]["content"], R"({"name":"get_ti)");
  EXPECT_EQ(cut["choices"][0]["finish_reason"], "length");

  plan.kind = CompletionKind::kText;
  plan.tool_mode = ToolMode::kNone;
  const ojson text = completion_response(plan, result_of(" world", 1, "length"));
  EXPECT_EQ(text["object"], "text_completion");
  EXPECT_EQ(text["choices"][0]["text"], " world");
  EXPECT_EQ(text["choices"][0]["finish_reason"], "length");

  EXPECT_TRUE(run_error(result_of("", 0, "cancelled")));
  EXPECT_EQ(run_error(result_of("", 0, "error"))->status, 500);
  EXPECT_FALSE(run_error(result_of("x", 1, "stop")));
}

}  // namespace
}  // namespace hearth::service
