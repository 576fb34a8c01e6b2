// A pipeline file parsed and checked: its inputs, its steps (plugin calls, LLM
// prompts, text templates) with the references between them, and its outputs.
// Every problem is found before anything runs and reported as one line naming
// the file and the key (docs/pipelines.md).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/pipeline_template.h"

namespace hearth::service {

enum class InputKind { kImage, kAudio, kFile, kText };
const char* input_kind_name(InputKind kind);
// Image, audio and file inputs are paths that must exist when the pipeline runs.
inline bool is_path_kind(InputKind kind) { return kind != InputKind::kText; }

struct PipelineInput {
  std::string name;
  InputKind kind = InputKind::kText;
  bool required = true;
  std::optional<std::string> default_value;
  std::string description;
};

enum class StepKind { kPlugin, kLlm, kTemplate };
const char* step_kind_name(StepKind kind);

// A template with where it came from, for messages.
struct SpecTemplate {
  std::string key;  // JSON path in the file, e.g. steps[1].prompt
  ParsedTemplate parsed;
};

// A plugin step's input: the JSON object of the file with each string parsed
// as a template (by its JSON pointer inside the object).
struct PluginInputTemplate {
  nlohmann::json value;                             // the object as written
  std::map<std::string, SpecTemplate> templates;    // JSON pointer -> template
};

struct PipelineStep {
  std::string id;
  StepKind kind = StepKind::kTemplate;
  std::string key;                  // steps[i], for messages
  std::vector<std::string> after;   // explicit dependencies
  std::vector<std::string> depends_on;  // after + every step referenced, deduplicated, in file order

  // kPlugin: a named plugin and capability, or the first plugin with a capability of this kind.
  std::string plugin;
  std::string capability;
  std::string capability_kind;  // ocr, asr, tool
  PluginInputTemplate input;

  // kLlm
  std::optional<SpecTemplate> system;
  std::optional<SpecTemplate> prompt;
  int max_tokens = 256;
  float temperature = 0.0f;
  std::string model;  // empty: the runner's default

  // kTemplate
  std::optional<SpecTemplate> text;

  // Every template of the step, in file order.
  std::vector<const SpecTemplate*> templates() const;
};

struct PipelineOutput {
  std::string name;
  SpecTemplate value;
};

struct PipelineSpec {
  std::string file;  // where it was read from ("<memory>" for parse_pipeline_text without one)
  std::string name;
  std::string description;
  std::vector<PipelineInput> inputs;
  std::vector<PipelineStep> steps;   // as written
  std::vector<size_t> order;         // indexes into steps, a topological order
  std::vector<PipelineOutput> outputs;

  const PipelineStep* find_step(const std::string& id) const;
  const PipelineInput* find_input(const std::string& name) const;
};

constexpr int kMaxLlmTokens = 4096;

// Throws Error(kInvalidArgument) "FILE: KEY: what is wrong" for unknown keys,
// wrong types, bad names, duplicate step ids, references to an unknown input,
// step or field, a step referencing itself or a later cycle ("a -> b -> a"),
// absurd max_tokens or temperature; Error(kFormat) for text that is not JSON.
PipelineSpec parse_pipeline_text(const std::string& text, const std::string& file = "<memory>");
// Reads the file first: Error(kNotFound) when it does not exist.
PipelineSpec load_pipeline_file(const std::string& path);

// The input values a run gets: each given value checked against the spec
// (unknown names, missing required ones, path kinds that do not exist), paths
// made absolute (plugins run in a child whose directory may differ) and
// defaults filled in. Throws Error(kInvalidArgument / kNotFound) naming the
// input. Returns an object: name -> string.
nlohmann::json resolve_inputs(const PipelineSpec& spec, const std::map<std::string, std::string>& given);

// The spec back as JSON (what `hearth pipeline show` prints, with the order).
nlohmann::ordered_json describe_pipeline(const PipelineSpec& spec);

}  // namespace hearth::service
