// Chat: turns a conversation into prompt tokens with the model's chat template
// (or a built-in one when the GGUF carries none).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/model.h"
#include "runtime/chat_template.h"

namespace hearth::runtime {

struct ChatMessage {
  std::string role;  // system, user, assistant, tool
  std::string content;
};

class ChatFormatter {
 public:
  explicit ChatFormatter(const models::Model& model);
  // The template's text rendered for messages (ending with the assistant's
  // turn opener when add_generation_prompt).
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt = true) const;
  // render() tokenized, special tokens parsed, BOS added once.
  std::vector<int32_t> tokenize(const std::vector<ChatMessage>& messages, bool add_generation_prompt = true) const;

  // The same for messages as JSON objects (role, content, and tool_calls,
  // tool_call_id, name passed through to the template) and tools in OpenAI's
  // shape (null: none).
  std::string render_json(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                          bool add_generation_prompt = true) const;
  // Rendered text to tokens: special tokens parsed, BOS added unless the text
  // already begins with it.
  std::vector<int32_t> tokenize_rendered(const std::string& text) const;
  // Whether the template reads the `tools` variable (renders tool lists itself).
  bool handles_tools() const { return handles_tools_; }
  const std::string& template_source() const { return source_; }  // "gguf" or "builtin:<name>"

 private:
  const models::Model& model_;
  std::optional<ChatTemplate> template_;  // parsed once, rendered per turn
  std::string source_;
  bool handles_tools_ = false;
};

}  // namespace hearth::runtime
