// Running pipelines: steps in dependency order, values flowing through
// templates, and a failing step stopping the run with its cause. Plugin steps
// call the real plugins of the build (word_count, and ocr_tesseract where
// Tesseract was found); LLM steps go to a fake model that records its prompts.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "service/pipeline_runner.h"

namespace hearth::service {
namespace {

using nlohmann::json;

#ifdef HEARTH_TEST_PLUGIN_DIR
constexpr const char* kPluginDir = HEARTH_TEST_PLUGIN_DIR;
#else
constexpr const char* kPluginDir = "";
#endif

class PipelineRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!*kPluginDir || !std::filesystem::is_directory(std::string(kPluginDir) + "/word_count"))
      GTEST_SKIP() << "the build's plugins are not at '" << kPluginDir << "' (tests/pipelines/tests.cmake sets it)";
    plugins::HostOptions o;
    o.plugin_dirs = {kPluginDir};
    o.call_timeout = std::chrono::milliseconds(60000);
    host_ = std::make_unique<plugins::PluginHost>(o);
  }

  // The fake model: answers "ANSWER(<prompt>)" and records every request.
  LlmCallback fake_llm() {
    return [this](const LlmStepRequest& r) {
      requests_.push_back(r);
      return LlmStepResult{"ANSWER(" + r.prompt + ")", 7, 3, "stop"};
    };
  }

  bool has_ocr() const { return std::filesystem::is_directory(std::string(kPluginDir) + "/ocr_tesseract"); }

  std::unique_ptr<plugins::PluginHost> host_;
  std::vector<LlmStepRequest> requests_;
};

const char* kCountAndAsk = R"({
  "name": "count-and-ask",
  "inputs": {"text": {"kind": "text"}, "tone": {"kind": "text", "default": "plain"}},
  "steps": [
    {"id": "ask", "kind": "llm", "system": "Be {{inputs.tone}}.", "max_tokens": 16,
     "prompt": "The text has {{steps.count.words}} words and {{steps.count.lines}} lines: {{inputs.text}}"},
    {"id": "count", "kind": "plugin", "plugin": "word_count", "capability": "word_count",
     "input": {"text": "{{inputs.text}}"}},
    {"id": "wrap", "kind": "template", "text": "<{{steps.ask.text}}>"}
  ],
  "outputs": {"answer": "{{steps.wrap.text}}", "counts": "{{steps.count.output}}", "words": "{{steps.count.words}}"}
})";

TEST_F(PipelineRunnerTest, RunsStepsInDependencyOrderAndCollectsOutputs) {
  const PipelineSpec spec = parse_pipeline_text(kCountAndAsk, "count.json");
  PipelineRunner runner(*host_, fake_llm());
  std::vector<std::string> heard;
  const PipelineResult r = runner.run(spec, {{"text", "one two three\nfour"}},
                                      [&](const StepResult& s) { heard.push_back(s.id); });
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_EQ(r.steps[0].id, "count");
  EXPECT_EQ(r.steps[0].plugin, "word_count");
  EXPECT_EQ(r.steps[1].id, "ask");
  EXPECT_EQ(r.steps[2].id, "wrap");
  EXPECT_EQ(heard, (std::vector<std::string>{"count", "ask", "wrap"}));
  EXPECT_EQ(r.steps[0].output["words"], 4);
  ASSERT_EQ(requests_.size(), 1u);
  EXPECT_EQ(requests_[0].step_id, "ask");
  EXPECT_EQ(requests_[0].system, "Be plain.");
  EXPECT_EQ(requests_[0].prompt, "The text has 4 words and 2 lines: one two three\nfour");
  EXPECT_EQ(requests_[0].max_tokens, 16);
  EXPECT_EQ(requests_[0].temperature, 0.0f);
  EXPECT_EQ(r.outputs["answer"], "<ANSWER(" + requests_[0].prompt + ")>");
  EXPECT_EQ(r.outputs["words"], json(4));  // a lone reference keeps the integer
  EXPECT_EQ(r.outputs["counts"]["lines"], 2);  // word_count counts an unterminated last line
  for (const StepResult& s : r.steps) EXPECT_GE(s.ms, 0.0);
  const nlohmann::ordered_json j = r.to_json();
  EXPECT_EQ(j["steps"][0]["output"]["characters"], r.steps[0].output["characters"]);
  EXPECT_TRUE(j["steps"][1].contains("ms"));
  EXPECT_EQ(j["outputs"]["words"], 4);
}

TEST_F(PipelineRunnerTest, AFailingPluginStepStopsTheRunNamingStepAndCause) {
  // word_count's input schema wants a string; a lone reference passes the integer through.
  const char* text = R"({
    "name": "bad-input",
    "inputs": {"text": {"kind": "text"}},
    "steps": [
      {"id": "first", "kind": "plugin", "plugin": "word_count", "capability": "word_count", "input": {"text": "{{inputs.text}}"}},
      {"id": "second", "kind": "plugin", "plugin": "word_count", "capability": "word_count", "input": {"text": "{{steps.first.words}}"}},
      {"id": "later", "kind": "llm", "prompt": "{{steps.second.words}}"}
    ],
    "outputs": {"n": "{{steps.later.text}}"}
  })";
  const PipelineSpec spec = parse_pipeline_text(text, "bad.json");
  PipelineRunner runner(*host_, fake_llm());
  std::vector<std::string> heard;
  try {
    runner.run(spec, {{"text", "a b"}}, [&](const StepResult& s) { heard.push_back(s.id); });
    FAIL() << "the run succeeded";
  } catch (const PipelineStepError& e) {
    EXPECT_EQ(e.step_id(), "second");
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("step 'second' (plugin word_count/word_count) failed: ", 0), 0u) << m;
    EXPECT_NE(m.find("text"), std::string::npos) << m;  // the schema check names the field
  }
  EXPECT_EQ(heard, std::vector<std::string>{"first"});
  EXPECT_TRUE(requests_.empty()) << "a step after the failure ran";
}

TEST_F(PipelineRunnerTest, AFailingLlmStepStopsTheRun) {
  const PipelineSpec spec = parse_pipeline_text(kCountAndAsk, "count.json");
  int calls = 0;
  PipelineRunner runner(*host_, [&](const LlmStepRequest&) -> LlmStepResult {
    ++calls;
    throw Error(ErrorCode::kInvalidArgument, "the prompt (5000 tokens) does not fit");
  });
  try {
    runner.run(spec, {{"text", "x"}});
    FAIL();
  } catch (const PipelineStepError& e) {
    EXPECT_EQ(e.step_id(), "ask");
    EXPECT_NE(std::string(e.what()).find("step 'ask' (llm) failed: the prompt (5000 tokens) does not fit"),
              std::string::npos) << e.what();
  }
  EXPECT_EQ(calls, 1);
}

TEST_F(PipelineRunnerTest, UnknownPluginsAndCapabilitiesAreRefusedBeforeAnythingRuns) {
  json j = json::parse(kCountAndAsk);
  j["steps"][1]["plugin"] = "no_such_plugin";
  PipelineRunner runner(*host_, fake_llm());
  try {
    runner.run(parse_pipeline_text(j.dump(), "count.json"), {{"text", "x"}});
    FAIL();
  } catch (const PipelineStepError&) {
    FAIL() << "reported as a step failure, not a check";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("step 'count' (steps[1]): no plugin named 'no_such_plugin'"), std::string::npos)
        << e.what();
  }
  j = json::parse(kCountAndAsk);
  j["steps"][1]["capability"] = "count_words";
  EXPECT_THROW(runner.run(parse_pipeline_text(j.dump(), "count.json"), {{"text", "x"}}), Error);
  // A field the plugin's output schema does not have.
  j = json::parse(kCountAndAsk);
  j["outputs"]["words"] = "{{steps.count.paragraphs}}";
  try {
    runner.check_plugins(parse_pipeline_text(j.dump(), "count.json"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("count.json: outputs.words: {{steps.count.paragraphs}}: the output of word_count's "
                                         "word_count has no 'paragraphs'"),
              std::string::npos) << e.what();
  }
  EXPECT_TRUE(requests_.empty());
}

TEST_F(PipelineRunnerTest, TextCutInsideACharacterIsMadeWellFormed) {
  const PipelineSpec spec = parse_pipeline_text(kCountAndAsk, "count.json");
  // "café" cut after the first byte of é: the last step's template and the JSON must still work.
  PipelineRunner runner(*host_, [](const LlmStepRequest&) { return LlmStepResult{"caf\xC3", 1, 4, "length"}; });
  const PipelineResult r = runner.run(spec, {{"text", "x"}});
  EXPECT_EQ(r.steps[1].output["text"], "caf\xEF\xBF\xBD");
  EXPECT_EQ(r.outputs["answer"], "<caf\xEF\xBF\xBD>");
  EXPECT_NO_THROW(r.to_json().dump());
}

TEST_F(PipelineRunnerTest, MissingRequiredInputStopsBeforeAnyStep) {
  PipelineRunner runner(*host_, fake_llm());
  EXPECT_THROW(runner.run(parse_pipeline_text(kCountAndAsk, "count.json"), {}), Error);
  EXPECT_TRUE(requests_.empty());
}

TEST_F(PipelineRunnerTest, NoPluginOfAKindIsNamed) {
  const char* text = R"({"name": "listen", "inputs": {"audio": {"kind": "text"}},
    "steps": [{"id": "hear", "kind": "plugin", "capability_kind": "asr", "input": {"audio_path": "{{inputs.audio}}"}}],
    "outputs": {"t": "{{steps.hear.text}}"}})";
  // Only the sample plugin's directory: no asr plugin there, whatever is installed.
  plugins::HostOptions o;
  o.plugin_dirs = {std::string(kPluginDir) + "/word_count"};
  o.default_dirs = false;
  plugins::PluginHost host(o);
  PipelineRunner runner(host, fake_llm());
  try {
    runner.run(parse_pipeline_text(text, "listen.json"), {{"audio", "x.wav"}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("step 'hear' (steps[0]): no asr plugin found"), std::string::npos) << e.what();
  }
}

TEST_F(PipelineRunnerTest, OcrStepFailureCarriesThePluginsMessage) {
  if (!has_ocr()) GTEST_SKIP() << "no ocr_tesseract in this build (Tesseract not found)";
  const std::string not_image = ::testing::TempDir() + "pipeline_not_an_image.png";
  std::ofstream(not_image) << "plain text, not an image";
  const char* text = R"({"name": "read", "inputs": {"image": {"kind": "image"}},
    "steps": [{"id": "read", "kind": "plugin", "capability_kind": "ocr", "input": {"image_path": "{{inputs.image}}"}},
              {"id": "sum", "kind": "llm", "prompt": "{{steps.read.text}}"}],
    "outputs": {"s": "{{steps.sum.text}}"}})";
  PipelineRunner runner(*host_, fake_llm());
  try {
    runner.run(parse_pipeline_text(text, "read.json"), {{"image", not_image}});
    FAIL();
  } catch (const PipelineStepError& e) {
    EXPECT_EQ(e.step_id(), "read");
    EXPECT_NE(std::string(e.what()).find("step 'read' (plugin ocr_tesseract/ocr) failed: "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("pipeline_not_an_image.png"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(requests_.empty());
  std::remove(not_image.c_str());
}

}  // namespace
}  // namespace hearth::service
