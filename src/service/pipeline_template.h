// The template language of pipeline files: text with {{ reference }}
// placeholders naming a pipeline input or a value in an earlier step's output
// (docs/pipelines.md). Parsing is separate from rendering so that a pipeline's
// references can be checked before anything runs.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::service {

// One {{ ... }} placeholder: inputs.NAME, or steps.ID followed by a path into
// that step's output ("output" alone means the whole output).
struct TemplateRef {
  enum class Source { kInput, kStep };
  Source source = Source::kInput;
  std::string name;               // the input's name or the step's id
  std::vector<std::string> path;  // keys and array indexes below the step's output; empty: all of it
  std::string text;               // as written, without the braces, trimmed

  bool whole_output() const { return source == Source::kStep && path.empty(); }
};

// A template cut into literal text and references: pieces[i] is literal text,
// refs[i] follows it, and pieces has one more entry than refs.
struct ParsedTemplate {
  std::vector<std::string> pieces;
  std::vector<TemplateRef> refs;

  // The template is exactly one placeholder (no text around it): its value is
  // inserted as JSON, keeping its type.
  bool single_ref() const { return refs.size() == 1 && pieces[0].empty() && pieces[1].empty(); }
};

// Throws Error(kInvalidArgument) with a message (no location; the caller adds
// file and key) for an unclosed {{, an empty or malformed reference.
ParsedTemplate parse_template(const std::string& text);

// What references resolve against: inputs (name -> string) and step outputs
// (id -> JSON) of the steps that ran.
struct TemplateScope {
  const nlohmann::json* inputs = nullptr;  // an object of strings
  const nlohmann::json* steps = nullptr;   // an object: step id -> output
};

// The value a reference names; Error(kNotFound) naming the reference when a
// key or index is missing at run time.
const nlohmann::json& resolve_ref(const TemplateRef& ref, const TemplateScope& scope);

// The template rendered: a single placeholder gives the value itself, anything
// else a string (strings inserted as they are, other values as compact JSON).
nlohmann::json render_template(const ParsedTemplate& parsed, const TemplateScope& scope);

}  // namespace hearth::service
