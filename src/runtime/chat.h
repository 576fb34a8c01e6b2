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
  const std::string& template_source() const { return source_; }  // "gguf" or "builtin:<name>"

 private:
  const models::Model& model_;
  std::optional<ChatTemplate> template_;  // parsed once, rendered per turn
  std::string source_;
};

}  // namespace hearth::runtime
