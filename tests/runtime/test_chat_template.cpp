// Chat templates: real and published model templates rendered for several
// conversations, compared with transformers-style Python jinja2 renderings
// (tests/data/chat_templates/golden.json from tests/runtime/gen_chat_golden.py).
#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "runtime/chat_template.h"

namespace hearth::runtime {
namespace {

using json = nlohmann::ordered_json;

std::string data_path(const std::string& name) { return std::string(HEARTH_TEST_DATA) + "/chat_templates/" + name; }

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct GoldenCase {
  std::string name;
  std::string template_file;
  json messages;
  ChatRenderOptions options;
  std::optional<std::string> expected;
  std::string error_kind;
  std::string error_message;
};

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.name; }

std::string test_name(size_t index, const std::string& file, const std::string& conversation, bool agp) {
  std::string name =
      std::to_string(index) + "_" + file.substr(0, file.rfind('.')) + "_" + conversation + (agp ? "_gen" : "");
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

std::vector<GoldenCase> load_golden() {
  std::vector<GoldenCase> cases;
  const auto text = read_file(data_path("golden.json"));
  if (!text) {
    GoldenCase missing;
    missing.name = "missing_golden_json";
    missing.expected = "data file not found: " + data_path("golden.json");
    cases.push_back(missing);
    return cases;
  }
  const json data = json::parse(*text);
  for (size_t i = 0; i < data.size(); ++i) {
    const json& c = data[i];
    GoldenCase g;
    g.template_file = c.at("template").get<std::string>();
    g.messages = c.at("messages");
    g.options.add_generation_prompt = c.at("add_generation_prompt").get<bool>();
    g.options.bos_token = c.at("bos_token").get<std::string>();
    g.options.eos_token = c.at("eos_token").get<std::string>();
    g.options.tools = c.at("tools");
    g.options.extra_context = c.at("extra_context");
    g.name = test_name(i, g.template_file, c.at("conversation").get<std::string>(), g.options.add_generation_prompt);
    if (c.contains("expected")) {
      g.expected = c.at("expected").get<std::string>();
    } else {
      g.error_kind = c.at("error").get<std::string>();
      g.error_message = c.at("message").get<std::string>();
    }
    cases.push_back(std::move(g));
  }
  return cases;
}

// Each template is parsed once and rendered for all its conversations, the way
// the runtime uses it.
const ChatTemplate& template_for(const std::string& file) {
  static std::map<std::string, ChatTemplate> cache;
  auto it = cache.find(file);
  if (it == cache.end()) {
    const auto text = read_file(data_path(file));
    if (!text) throw Error(ErrorCode::kNotFound, "missing template file " + data_path(file));
    it = cache.emplace(file, ChatTemplate::parse(*text)).first;
  }
  return it->second;
}

class ChatGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(ChatGolden, MatchesTransformersRendering) {
  const GoldenCase& c = GetParam();
  ASSERT_FALSE(c.template_file.empty()) << *c.expected;
  const ChatTemplate& t = template_for(c.template_file);
  if (c.expected) {
    EXPECT_EQ(t.render(c.messages, c.options), *c.expected);
    return;
  }
  try {
    t.render(c.messages, c.options);
    ADD_FAILURE() << "jinja2 failed with '" << c.error_message << "' but Hearth rendered";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    if (c.error_kind == "raised") {
      EXPECT_EQ(std::string(e.what()).rfind(c.error_message, 0), 0u) << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Templates, ChatGolden, ::testing::ValuesIn(load_golden()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

TEST(ChatTemplate, GoldenDataCoversEveryTemplate) {
  std::map<std::string, int> renderings;
  for (const GoldenCase& c : load_golden()) ++renderings[c.template_file];
  for (const char* file :
       {"smollm2.jinja", "llama2.jinja", "llama3.jinja", "llama3.1.jinja", "qwen2.5.jinja", "qwen3.jinja",
        "mistral-v0.1.jinja", "mistral-v0.3.jinja", "gemma3.jinja", "phi3.jinja", "deepseek-r1.jinja",
        "builtin_chatml.jinja", "builtin_llama3.jinja", "builtin_gemma.jinja", "builtin_mistral.jinja"}) {
    EXPECT_GE(renderings[file], 12) << file;
  }
}

TEST(ChatTemplate, BuiltinsMatchTheirGoldenTestedText) {
  for (const char* name : {"chatml", "llama3", "gemma", "mistral"}) {
    const auto builtin = builtin_chat_template(name);
    ASSERT_TRUE(builtin.has_value()) << name;
    const auto file = read_file(data_path(std::string("builtin_") + name + ".jinja"));
    ASSERT_TRUE(file.has_value()) << name;
    EXPECT_EQ(*builtin, *file) << name;
  }
  EXPECT_FALSE(builtin_chat_template("no-such-template").has_value());
  EXPECT_FALSE(builtin_chat_template("").has_value());
}

TEST(ChatTemplate, BuiltinChatmlRendersNullContentAsEmpty) {
  const json messages = json::parse(R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": null}])");
  ChatRenderOptions options;
  options.add_generation_prompt = false;
  EXPECT_EQ(render_chat_template(*builtin_chat_template("chatml"), messages, options),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n");
}

TEST(ChatTemplate, BuiltinGemmaFoldsSystemIntoFirstUserTurn) {
  const json messages =
      json::parse(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": " Hi "}])");
  ChatRenderOptions options;
  options.bos_token = "<bos>";
  EXPECT_EQ(render_chat_template(*builtin_chat_template("gemma"), messages, options),
            "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
}

TEST(ChatTemplate, BuiltinMistralRejectsToolRole) {
  const json messages = json::parse(R"([{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}])");
  try {
    render_chat_template(*builtin_chat_template("mistral"), messages, ChatRenderOptions{});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("Only user and assistant roles are supported"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplate, ToolsAreNoneWhenNotGivenAndPassThroughWhenGiven) {
  const auto t = ChatTemplate::parse("{{ tools is defined }} {{ tools is none }} {{ tools|length if tools else 0 }}");
  ChatRenderOptions options;
  EXPECT_EQ(t.render(json::array(), options), "True True 0");
  options.tools = json::parse(R"([{"type": "function", "function": {"name": "f"}}])");
  EXPECT_EQ(t.render(json::array(), options), "True False 1");
}

TEST(ChatTemplate, PassesMessageFieldsAndExtraContext) {
  const auto t = ChatTemplate::parse(
      "{% for m in messages %}{{ m.role }}:{{ m.name }}:{{ m.tool_call_id }}:{{ m.tool_calls[0].function.name }};"
      "{% endfor %}{{ enable_thinking }} {{ add_generation_prompt }} {{ bos_token }}{{ eos_token }}");
  const json messages = json::parse(
      R"([{"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "add", "arguments": {}}}]},
          {"role": "tool", "content": "5", "tool_call_id": "abc", "name": "add"}])");
  ChatRenderOptions options;
  options.add_generation_prompt = false;
  options.bos_token = "<s>";
  options.eos_token = "</s>";
  options.extra_context = json{{"enable_thinking", false}};
  EXPECT_EQ(t.render(messages, options), "assistant:::add;tool:add:abc:;False False <s></s>");
}

TEST(ChatTemplate, RejectsMalformedMessages) {
  const auto t = ChatTemplate::parse("{{ messages|length }}");
  EXPECT_THROW(t.render(json::object(), ChatRenderOptions{}), Error);
  EXPECT_THROW(t.render(json::parse(R"(["just a string"])"), ChatRenderOptions{}), Error);
  ChatRenderOptions bad_extra;
  bad_extra.extra_context = json::array();
  EXPECT_THROW(t.render(json::array(), bad_extra), Error);
}

TEST(ChatTemplate, SyntaxErrorNamesLineAndColumn) {
  try {
    ChatTemplate::parse("{% for m in messages %}\n{{ m.content + }}\n{% endfor %}");
    FAIL() << "expected a syntax error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFormat);
    EXPECT_EQ(std::string(e.what()).rfind("template line 2, column 16:", 0), 0u) << e.what();
  }
}

TEST(ChatTemplate, Llama31UsesStrftimeNowWithoutDateString) {
  const auto text = read_file(data_path("llama3.1.jinja"));
  ASSERT_TRUE(text.has_value());
  const std::time_t fixed = 1700000000;  // 14 Nov 2023 (UTC)
  ChatRenderOptions options;
  options.clock = [&] { return fixed; };
  std::tm tm{};
  localtime_r(&fixed, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%d %b %Y", &tm);
  const std::string out = render_chat_template(*text, json::parse(R"([{"role": "user", "content": "hi"}])"), options);
  EXPECT_NE(out.find(std::string("Today Date: ") + date + "\n"), std::string::npos) << out;
}

TEST(ChatTemplate, RenderLimitsApply) {
  const auto t = ChatTemplate::parse("{% for m in messages %}{{ m.content }}{% endfor %}");
  json messages = json::array();
  for (int i = 0; i < 50; ++i) messages.push_back({{"role", "user"}, {"content", std::string(100, 'x')}});
  ChatRenderOptions options;
  EXPECT_EQ(t.render(messages, options).size(), 5000u);
  options.limits.max_output_bytes = 1000;
  EXPECT_THROW(t.render(messages, options), Error);
  options.limits = {};
  options.limits.max_loop_iterations = 10;
  EXPECT_THROW(t.render(messages, options), Error);
}

}  // namespace
}  // namespace hearth::runtime
