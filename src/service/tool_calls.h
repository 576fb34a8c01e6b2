// Tool calls in the model's words: how the tools are offered in the prompt when
// the chat template has no place for them, the JSON Schema a forced call must
// match (for constrained decoding), and reading calls back out of a reply.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/openai_request.h"

namespace hearth::service {

// Where a reply's tool call begins and ends (the Hermes/Qwen convention that
// many instruction-tuned models were trained on).
constexpr const char* kToolCallOpen = "<tool_call>";
constexpr const char* kToolCallClose = "</tool_call>";

// The tools in OpenAI's request shape ([{"type":"function","function":{...}}]),
// for templates that render tools themselves.
nlohmann::ordered_json tools_json(const std::vector<Tool>& tools);

// A system-prompt section describing the tools and how to call them, for
// templates that do not render tools.
std::string tools_system_prompt(const std::vector<Tool>& tools);

// One call as the model writes it between the tags: {"name", "arguments"}.
std::string tool_call_text(const std::string& name, const std::string& arguments_json);

// The schema of one call the model must make: {"name": <one of the allowed
// tools>, "arguments": <that tool's parameters>}; kFunction allows only the
// named tool, kRequired any of them.
nlohmann::ordered_json forced_tool_call_schema(const std::vector<Tool>& tools, const ToolChoice& choice);

struct ToolCall {
  std::string id;         // "call_" + random
  std::string name;
  std::string arguments;  // JSON text of an object
};

// The calls in a reply: every <tool_call>{...}</tool_call> block (or the whole
// reply when it is one bare call object), each naming a known tool with
// object arguments. nullopt when the reply holds none or any is malformed (it
// is then ordinary content).
std::optional<std::vector<ToolCall>> parse_tool_calls(const std::string& reply, const std::vector<Tool>& tools);

// Parses one call object {"name", "arguments"} (arguments an object, or a
// string holding one); nullopt when it is not one of tools.
std::optional<ToolCall> parse_tool_call_object(const std::string& json_text, const std::vector<Tool>& tools);

std::string new_tool_call_id();

}  // namespace hearth::service
