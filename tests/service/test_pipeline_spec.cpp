// Pipeline files: what parses, and every kind of mistake refused before a run
// with a message naming the file and the key.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/error.h"
#include "service/pipeline_spec.h"

namespace hearth::service {
namespace {

using nlohmann::json;

json good() {
  return json::parse(R"({
    "name": "demo",
    "description": "read then summarise",
    "inputs": {"image": {"kind": "image"}, "style": {"kind": "text", "default": "brief"}},
    "steps": [
      {"id": "summary", "kind": "llm", "prompt": "{{inputs.style}}: {{steps.read.text}}", "max_tokens": 64},
      {"id": "read", "kind": "plugin", "capability_kind": "ocr", "input": {"image_path": "{{inputs.image}}"}},
      {"id": "count", "kind": "plugin", "plugin": "word_count", "capability": "word_count",
       "input": {"text": "{{steps.read.text}}"}},
      {"id": "report", "kind": "template", "text": "{{steps.count.words}} words: {{steps.summary.text}}",
       "after": ["read"]}
    ],
    "outputs": {"summary": "{{steps.summary.text}}", "report": "{{steps.report.text}}"}
  })");
}

// The message of the Error parsing `j` throws ("" when it parses).
std::string error_of(const json& j) {
  try {
    parse_pipeline_text(j.dump(), "demo.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

::testing::AssertionResult refused_naming(const json& j, const std::string& key, const std::string& what) {
  const std::string e = error_of(j);
  if (e.empty()) return ::testing::AssertionFailure() << "parsed, but should have been refused";
  if (e.rfind("demo.json: " + key, 0) != 0)
    return ::testing::AssertionFailure() << "'" << e << "' does not start with demo.json: " << key;
  if (e.find(what) == std::string::npos) return ::testing::AssertionFailure() << "'" << e << "' does not say " << what;
  return ::testing::AssertionSuccess();
}

TEST(PipelineSpec, ParsesAGoodFileWithDependenciesInOrder) {
  const PipelineSpec s = parse_pipeline_text(good().dump(), "demo.json");
  EXPECT_EQ(s.name, "demo");
  ASSERT_EQ(s.inputs.size(), 2u);
  EXPECT_EQ(s.inputs[0].name, "image");
  EXPECT_TRUE(s.inputs[0].required);
  EXPECT_FALSE(s.inputs[1].required);
  EXPECT_EQ(*s.inputs[1].default_value, "brief");
  ASSERT_EQ(s.steps.size(), 4u);
  EXPECT_EQ(s.steps[0].depends_on, std::vector<std::string>{"read"});
  EXPECT_EQ(s.steps[3].depends_on, (std::vector<std::string>{"read", "count", "summary"}));
  EXPECT_EQ(s.steps[0].max_tokens, 64);
  EXPECT_EQ(s.steps[0].temperature, 0.0f);
  // read first (nothing before it), then summary and count in file order, report last.
  std::vector<std::string> order;
  for (size_t i : s.order) order.push_back(s.steps[i].id);
  EXPECT_EQ(order, (std::vector<std::string>{"read", "summary", "count", "report"}));
  ASSERT_EQ(s.outputs.size(), 2u);
}

TEST(PipelineSpec, InputsAndOutputsKeepTheOrderWritten) {
  const PipelineSpec s = parse_pipeline_text(R"({"name": "o",
    "inputs": {"zeta": {"kind": "text"}, "alpha": {"kind": "text"}},
    "steps": [{"id": "t", "kind": "template", "text": "{{inputs.zeta}}{{inputs.alpha}}"}],
    "outputs": {"second": "{{steps.t.text}}", "first": "{{inputs.alpha}}"}})");
  ASSERT_EQ(s.inputs.size(), 2u);
  EXPECT_EQ(s.inputs[0].name, "zeta");
  ASSERT_EQ(s.outputs.size(), 2u);
  EXPECT_EQ(s.outputs[0].name, "second");
}

TEST(PipelineSpec, TopologicalOrderHonoursEveryEdge) {
  json j = good();
  // A chain written backwards: d needs c needs b needs a.
  j["steps"] = json::parse(R"([
    {"id": "d", "kind": "template", "text": "{{steps.c.text}}"},
    {"id": "c", "kind": "template", "text": "{{steps.b.text}}"},
    {"id": "b", "kind": "template", "text": "x", "after": ["a"]},
    {"id": "a", "kind": "template", "text": "{{inputs.style}}"}
  ])");
  j["outputs"] = {{"d", "{{steps.d.text}}"}};
  const PipelineSpec s = parse_pipeline_text(j.dump(), "demo.json");
  std::vector<std::string> order;
  for (size_t i : s.order) order.push_back(s.steps[i].id);
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST(PipelineSpec, NotJsonIsAFormatError) {
  try {
    parse_pipeline_text("{\"name\": ", "broken.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFormat);
    EXPECT_EQ(std::string(e.what()).rfind("broken.json: not valid JSON", 0), 0u) << e.what();
  }
}

TEST(PipelineSpec, UnknownKeysAreNamed) {
  json j = good();
  j["stpes"] = json::array();
  EXPECT_TRUE(refused_naming(j, "stpes", "unknown key"));
  j = good();
  j["steps"][0]["max_token"] = 5;
  EXPECT_TRUE(refused_naming(j, "steps[0].max_token", "unknown key"));
  j = good();
  j["inputs"]["image"]["kind "] = "image";
  EXPECT_TRUE(refused_naming(j, "inputs.image.kind ", "unknown key"));
}

TEST(PipelineSpec, WrongTypesAreNamed) {
  json j = good();
  j["name"] = 3;
  EXPECT_TRUE(refused_naming(j, "name", "must be a string, got an integer"));
  j = good();
  j["steps"] = json::object();
  EXPECT_TRUE(refused_naming(j, "steps", "must be an array"));
  j = good();
  j["steps"][0]["max_tokens"] = "64";
  EXPECT_TRUE(refused_naming(j, "steps[0].max_tokens", "must be an integer, got a string"));
  j = good();
  j["steps"][1]["input"] = "x";
  EXPECT_TRUE(refused_naming(j, "steps[1].input", "must be an object"));
  j = good();
  j["inputs"]["image"]["required"] = "yes";
  EXPECT_TRUE(refused_naming(j, "inputs.image.required", "true or false"));
  j = good();
  j["outputs"]["summary"] = 1;
  EXPECT_TRUE(refused_naming(j, "outputs.summary", "must be a template string"));
}

TEST(PipelineSpec, MissingPartsAreNamed) {
  json j = good();
  j.erase("steps");
  EXPECT_TRUE(refused_naming(j, "steps", "is missing"));
  j = good();
  j["steps"] = json::array();
  EXPECT_TRUE(refused_naming(j, "steps", "is empty"));
  j = good();
  j.erase("outputs");
  EXPECT_TRUE(refused_naming(j, "outputs", "is missing"));
  j = good();
  j["steps"][0].erase("prompt");
  EXPECT_TRUE(refused_naming(j, "steps[0].prompt", "is missing"));
  j = good();
  j["steps"][2].erase("capability");
  EXPECT_TRUE(refused_naming(j, "steps[2].capability", "is missing"));
}

TEST(PipelineSpec, BadKindsAndChoicesAreNamed) {
  json j = good();
  j["steps"][0]["kind"] = "shell";
  EXPECT_TRUE(refused_naming(j, "steps[0].kind", "unknown step kind 'shell'"));
  j = good();
  j["inputs"]["image"]["kind"] = "video";
  EXPECT_TRUE(refused_naming(j, "inputs.image.kind", "unknown input kind 'video'"));
  j = good();
  j["steps"][1]["capability_kind"] = "tts";
  EXPECT_TRUE(refused_naming(j, "steps[1].capability_kind", "unknown capability kind 'tts'"));
  j = good();
  j["steps"][1]["plugin"] = "ocr_tesseract";
  EXPECT_TRUE(refused_naming(j, "steps[1]", "not both"));
  j = good();
  j["inputs"]["style"]["required"] = true;
  EXPECT_TRUE(refused_naming(j, "inputs.style.required", "cannot have a default"));
}

TEST(PipelineSpec, DuplicateStepIdsAreNamed) {
  json j = good();
  j["steps"][2]["id"] = "read";
  EXPECT_TRUE(refused_naming(j, "steps[2].id", "duplicate step id 'read'"));
}

TEST(PipelineSpec, BadIdsAreNamed) {
  json j = good();
  j["steps"][0]["id"] = "has space";
  EXPECT_TRUE(refused_naming(j, "steps[0].id", "letters, digits"));
}

TEST(PipelineSpec, ReferencesToUnknownThingsAreNamed) {
  json j = good();
  j["steps"][0]["prompt"] = "{{steps.reed.text}}";
  EXPECT_TRUE(refused_naming(j, "steps[0].prompt", "names no step of this pipeline ('reed')"));
  j = good();
  j["steps"][1]["input"]["image_path"] = "{{inputs.picture}}";
  EXPECT_TRUE(refused_naming(j, "steps[1].input.image_path", "names no input of this pipeline ('picture')"));
  j = good();
  j["outputs"]["summary"] = "{{steps.summary.txt}}";
  EXPECT_TRUE(refused_naming(j, "outputs.summary", "has no 'txt'"));
  j = good();
  j["steps"][3]["after"] = {"nowhere"};
  EXPECT_TRUE(refused_naming(j, "steps[3].after[0]", "names no step"));
  j = good();
  j["steps"][0]["prompt"] = "{{steps.summary.text}}";
  EXPECT_TRUE(refused_naming(j, "steps[0].prompt", "its own output"));
  j = good();
  j["steps"][0]["prompt"] = "{{ steps.read }}";
  EXPECT_TRUE(refused_naming(j, "steps[0].prompt", "malformed reference"));
  j = good();
  j["outputs"]["summary"] = "plain text";
  EXPECT_TRUE(refused_naming(j, "outputs.summary", "references nothing"));
}

TEST(PipelineSpec, CyclesNameTheirSteps) {
  json j = good();
  j["steps"] = json::parse(R"([
    {"id": "a", "kind": "template", "text": "{{inputs.style}}"},
    {"id": "b", "kind": "template", "text": "{{steps.d.text}}"},
    {"id": "c", "kind": "template", "text": "{{steps.b.text}} {{steps.a.text}}"},
    {"id": "d", "kind": "template", "text": "x", "after": ["c"]}
  ])");
  j["outputs"] = {{"a", "{{steps.a.text}}"}};
  const std::string e = error_of(j);
  EXPECT_EQ(e.rfind("demo.json: steps: the steps form a cycle: ", 0), 0u) << e;
  // b -> c -> d -> b in some rotation; a is not part of it.
  EXPECT_NE(e.find("b -> c -> d -> b"), std::string::npos) << e;
  EXPECT_EQ(e.find("a ->"), std::string::npos) << e;
}

TEST(PipelineSpec, AbsurdLimitsAreNamed) {
  for (const json& bad : {json(0), json(-5), json(100000), json(kMaxLlmTokens + 1)}) {
    json j = good();
    j["steps"][0]["max_tokens"] = bad;
    EXPECT_TRUE(refused_naming(j, "steps[0].max_tokens", "must be within 1..4096")) << bad;
  }
  json j = good();
  j["steps"][0]["temperature"] = 7;
  EXPECT_TRUE(refused_naming(j, "steps[0].temperature", "within 0..2"));
}

TEST(PipelineSpec, InputsAreCheckedResolvedAndDefaulted) {
  const PipelineSpec s = parse_pipeline_text(good().dump(), "demo.json");
  const std::string image = ::testing::TempDir() + "pipeline_spec_image.png";
  std::ofstream(image) << "not really a png, but it exists";
  const json v = resolve_inputs(s, {{"image", image}});
  EXPECT_EQ(v["style"], "brief");
  EXPECT_EQ(v["image"].get<std::string>().front(), '/');

  auto message = [&](const std::map<std::string, std::string>& given) -> std::string {
    try {
      resolve_inputs(s, given);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message({}).find("needs input 'image'"), std::string::npos) << message({});
  const std::string missing = message({{"image", "/no/such/picture.png"}});
  EXPECT_NE(missing.find("input 'image': /no/such/picture.png: no such image file"), std::string::npos) << missing;
  const std::string not_utf8 = message({{"image", image}, {"style", "caf\xC3"}});
  EXPECT_NE(not_utf8.find("input 'style': the value is not valid UTF-8"), std::string::npos) << not_utf8;
  const std::string unknown = message({{"image", image}, {"colour", "red"}});
  EXPECT_NE(unknown.find("has no input 'colour'"), std::string::npos) << unknown;
  std::remove(image.c_str());
}

TEST(PipelineSpec, MutatedFilesParseOrFailWithHearthErrors) {
  const std::string base = good().dump(1);
  const std::string alphabet = "{}[]\":,.0123456789-e truefalsnul{{}}steps.inputs\\\xC3\x80\xFF";
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<size_t>(state >> 33);
  };
  int parsed = 0, refused = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = next() % text.size();
      switch (next() % 4) {
        case 0: text[at] = alphabet[next() % alphabet.size()]; break;
        case 1: text.erase(at, 1 + next() % 8); break;
        case 2: text.insert(at, 1, alphabet[next() % alphabet.size()]); break;
        case 3: text.resize(at); break;
      }
    }
    try {
      parse_pipeline_text(text, "m.json");
      ++parsed;
    } catch (const Error& e) {
      ++refused;
      EXPECT_EQ(std::string(e.what()).rfind("m.json: ", 0), 0u) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a hearth::Error: " << e.what() << "\n" << text;
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(parsed + refused, 2999);
}

TEST(PipelineSpec, MissingFileIsNotFound) {
  try {
    load_pipeline_file("/no/such/pipeline.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/no/such/pipeline.json: no such pipeline file"), std::string::npos);
  }
}

}  // namespace
}  // namespace hearth::service
