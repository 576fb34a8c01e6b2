// One test per Jinja language feature, each checked against the rendering Python
// jinja2 produced (tests/data/chat_templates/jinja_cases.json, written by
// tests/runtime/gen_chat_golden.py).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/error.h"
#include "runtime/jinja_interpreter.h"

namespace hearth::runtime::jinja {
namespace {

struct FeatureCase {
  std::string name;
  std::string template_text;
  nlohmann::ordered_json context;
  bool trim = true;
  std::optional<std::string> expected;  // nullopt: jinja2 failed, so must Hearth
  std::string error_kind;               // "raised" (raise_exception), "render", "syntax"
  std::string error_message;
};

void PrintTo(const FeatureCase& c, std::ostream* os) { *os << c.name << ": " << c.template_text; }

std::vector<FeatureCase> load_cases() {
  const std::string path = std::string(HEARTH_TEST_DATA) + "/chat_templates/jinja_cases.json";
  std::ifstream in(path);
  std::vector<FeatureCase> cases;
  if (!in) {
    // An impossible expectation, so a missing file fails loudly instead of running nothing.
    cases.push_back(FeatureCase{"missing_jinja_cases_json", "", nlohmann::ordered_json::object(), true,
                                std::string("data file not found: ") + path, "", ""});
    return cases;
  }
  const auto data = nlohmann::ordered_json::parse(in);
  for (const auto& c : data) {
    FeatureCase fc;
    fc.name = c.at("name").get<std::string>();
    fc.template_text = c.at("template").get<std::string>();
    fc.context = c.at("context");
    fc.trim = c.at("trim").get<bool>();
    if (c.contains("expected")) {
      fc.expected = c.at("expected").get<std::string>();
    } else {
      fc.error_kind = c.at("error").get<std::string>();
      fc.error_message = c.at("message").get<std::string>();
    }
    cases.push_back(std::move(fc));
  }
  return cases;
}

class JinjaFeature : public ::testing::TestWithParam<FeatureCase> {};

TEST_P(JinjaFeature, RendersLikeJinja2) {
  const FeatureCase& c = GetParam();
  ParseOptions options;
  options.trim_blocks = c.trim;
  options.lstrip_blocks = c.trim;
  ValueDict context;
  for (const auto& [k, v] : c.context.items()) context.set(Value(k), Value::from_json(v));
  if (c.expected) {
    EXPECT_EQ(Template::parse(c.template_text, options).render(context), *c.expected);
    return;
  }
  try {
    Template::parse(c.template_text, options).render(context);
    ADD_FAILURE() << "jinja2 failed with '" << c.error_message << "' but Hearth rendered";
  } catch (const Error& e) {
    const std::string what = e.what();
    if (c.error_kind == "raised") {
      EXPECT_EQ(what.rfind(c.error_message, 0), 0u) << what;  // the template's own words come first
      EXPECT_NE(what.find("(raised by the template at line 1, column "), std::string::npos) << what;
    } else {
      EXPECT_EQ(what.rfind("template line ", 0), 0u) << what;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Jinja2, JinjaFeature, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<FeatureCase>& info) { return info.param.name; });

}  // namespace
}  // namespace hearth::runtime::jinja
