// The pipeline template language: parsing placeholders, resolving references
// into inputs and step outputs, and rendering text or typed values.
#include <gtest/gtest.h>

#include "core/error.h"
#include "service/pipeline_template.h"

namespace hearth::service {
namespace {

using nlohmann::json;

TEST(PipelineTemplate, SplitsTextAndReferences) {
  const ParsedTemplate t = parse_template("Read: {{ steps.read.text }} from {{inputs.image}}.");
  ASSERT_EQ(t.refs.size(), 2u);
  ASSERT_EQ(t.pieces.size(), 3u);
  EXPECT_EQ(t.pieces[0], "Read: ");
  EXPECT_EQ(t.pieces[1], " from ");
  EXPECT_EQ(t.pieces[2], ".");
  EXPECT_EQ(t.refs[0].source, TemplateRef::Source::kStep);
  EXPECT_EQ(t.refs[0].name, "read");
  EXPECT_EQ(t.refs[0].path, std::vector<std::string>{"text"});
  EXPECT_EQ(t.refs[1].source, TemplateRef::Source::kInput);
  EXPECT_EQ(t.refs[1].name, "image");
  EXPECT_FALSE(t.single_ref());
}

TEST(PipelineTemplate, OutputMeansTheWholeValue) {
  const ParsedTemplate t = parse_template("{{steps.read.output}}");
  ASSERT_TRUE(t.single_ref());
  EXPECT_TRUE(t.refs[0].whole_output());
}

TEST(PipelineTemplate, EscapedBracesStayLiteral) {
  const ParsedTemplate t = parse_template("a \\{{b}} c");
  EXPECT_TRUE(t.refs.empty());
  EXPECT_EQ(t.pieces[0], "a {{b}} c");
}

TEST(PipelineTemplate, MalformedPlaceholdersAreRefused) {
  for (const char* bad : {"{{inputs.image", "{{}}", "{{ }}", "{{inputs}}", "{{inputs.a.b}}", "{{steps.read}}",
                          "{{steps..text}}", "{{env.HOME}}", "{{inputs.a b}}"}) {
    EXPECT_THROW(parse_template(bad), Error) << bad;
  }
}

TEST(PipelineTemplate, RendersStringsAsTheyAreAndOtherValuesAsJson) {
  const json inputs = {{"image", "/tmp/a.png"}};
  const json steps = {{"read", {{"text", "Hello"}, {"words", json::array({{{"text", "Hello"}, {"confidence", 91}}})}}}};
  const TemplateScope scope{&inputs, &steps};
  EXPECT_EQ(render_template(parse_template("[{{steps.read.text}}] {{inputs.image}}"), scope), "[Hello] /tmp/a.png");
  EXPECT_EQ(render_template(parse_template("n={{steps.read.words.0.confidence}}"), scope), "n=91");
  // A lone placeholder keeps the value's type.
  EXPECT_EQ(render_template(parse_template("{{steps.read.words.0.confidence}}"), scope), json(91));
  EXPECT_EQ(render_template(parse_template("{{steps.read.output}}"), scope), steps["read"]);
  EXPECT_EQ(render_template(parse_template("all: {{steps.read.words}}"), scope),
            "all: " + steps["read"]["words"].dump());
}

TEST(PipelineTemplate, MissingValuesAtRunTimeNameTheReference) {
  const json inputs = json::object();
  const json steps = {{"read", {{"text", "x"}, {"words", json::array()}}}};
  const TemplateScope scope{&inputs, &steps};
  try {
    render_template(parse_template("{{steps.read.words.3.text}}"), scope);
    FAIL() << "an index past the end resolved";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("steps.read.words.3.text"), std::string::npos) << e.what();
  }
  EXPECT_THROW(render_template(parse_template("{{inputs.image}}"), scope), Error);
  EXPECT_THROW(render_template(parse_template("{{steps.other.text}}"), scope), Error);
}

}  // namespace
}  // namespace hearth::service
