// OpenAI request parsing: the bodies of POST /v1/chat/completions and
// /v1/completions turned into validated structs. Anything a client got wrong
// throws ApiException (400, or 413 for an oversized body) naming the parameter
// by its path ("messages[2].content"); nothing past this point sees raw JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/sampler.h"
#include "service/api_error.h"

namespace hearth::service {

constexpr size_t kMaxBodyBytes = size_t{8} << 20;  // larger bodies: 413
constexpr int kMaxJsonDepth = 64;                  // deeper nesting of arrays/objects: 400
constexpr int32_t kMaxTokensCap = 1 << 20;         // max_tokens hard cap (the model's context is checked later)
constexpr size_t kMaxStopStrings = 4;

// A body that is a JSON object, or ApiException: 413 over kMaxBodyBytes, 400
// for nesting deeper than kMaxJsonDepth (refused before parsing), malformed
// JSON (the message says where), or a top-level value that is not an object.
nlohmann::ordered_json parse_json_body(std::string_view body);

// Sampling as OpenAI means it: temperature 1, top_p 1, no penalties, and
// top-k / min-p off (OpenAI has neither).
runtime::SamplerParams openai_sampling_defaults();

struct Message {
  std::string role;     // system (also for "developer"), user, assistant or tool
  std::string content;  // text parts concatenated; empty for an assistant turn of only tool calls
  std::optional<std::string> name;
  std::optional<std::string> tool_call_id;  // tool messages (required there)
  nlohmann::ordered_json tool_calls;                // assistant messages: [{id, type: "function", function: {name, arguments}}] or null
};

struct ResponseFormat {
  enum class Type { kText, kJsonObject, kJsonSchema };
  Type type = Type::kText;
  // kJsonSchema only:
  std::string name;         // [a-zA-Z0-9_-]{1,64}
  std::string description;
  nlohmann::ordered_json schema = nlohmann::ordered_json::object();  // {} (anything) when not given
  bool strict = false;
};

struct Tool {  // {"type": "function", "function": {...}}
  std::string name;  // [a-zA-Z0-9_-]{1,64}, unique among the tools
  std::string description;
  nlohmann::ordered_json parameters;  // a JSON Schema object; {"type":"object","properties":{}} when not given
  bool strict = false;
};

// A Hearth extension: {"type": "plugin", "plugin": NAME, "capability"?: NAME}
// in "tools" offers an installed plugin's tool to the model; the server runs
// the calls the model makes and answers with its reply to their results.
struct PluginToolRef {
  std::string plugin;
  std::string capability;  // empty: the plugin's first tool capability
  std::string path;        // "tools[3]", for errors
};

struct ToolChoice {
  enum class Mode { kNone, kAuto, kRequired, kFunction };
  Mode mode = Mode::kNone;  // default: kAuto when tools are given, else kNone
  std::string function;     // kFunction: one of the tools' names
};

struct ChatCompletionRequest {
  std::string model;
  std::vector<Message> messages;  // at least one
  runtime::SamplerParams sampling = openai_sampling_defaults();
  std::optional<int64_t> seed;       // also in sampling.seed; absent: the server picks one
  std::optional<int32_t> max_tokens; // max_tokens or max_completion_tokens; absent: until the context is full
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;        // stream_options.include_usage
  ResponseFormat response_format;
  std::vector<Tool> tools;
  std::vector<PluginToolRef> plugin_tools;  // resolved into tools by the server (their names are not known here)
  ToolChoice tool_choice;  // with plugin_tools, a kFunction name is checked once they are resolved
  bool parallel_tool_calls = true;
};

struct CompletionRequest {
  std::string model;
  std::string prompt;                 // the prompt as text, or
  std::vector<int32_t> prompt_tokens; // the prompt as token ids (then prompt is empty)
  runtime::SamplerParams sampling = openai_sampling_defaults();
  std::optional<int64_t> seed;
  int32_t max_tokens = 16;            // OpenAI's default for completions
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;
};

// Both throw ApiException; unknown top-level fields are ignored, and null
// counts as absent for optional fields.
ChatCompletionRequest parse_chat_completion(std::string_view body);
CompletionRequest parse_completion(std::string_view body);

}  // namespace hearth::service
