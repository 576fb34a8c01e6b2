// Chat templates: turn a conversation into a model's prompt text with the Jinja
// template its GGUF carries, rendered the way transformers renders it, or with a
// built-in template for models that carry none.
#pragma once

#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/jinja_interpreter.h"

namespace hearth::runtime {

struct ChatRenderOptions {
  bool add_generation_prompt = true;
  std::string bos_token, eos_token;
  nlohmann::ordered_json tools;  // null = none (the template still sees `tools`, as none)
  // More template variables, e.g. date_string or enable_thinking; an object or null.
  nlohmann::ordered_json extra_context;
  jinja::RenderLimits limits;
  std::function<std::time_t()> clock;  // for strftime_now(); null: the system clock
};

// A chat template parsed once, rendered for many conversations.
class ChatTemplate {
 public:
  // Throws hearth::Error(kFormat) naming the line and column of a syntax error.
  static ChatTemplate parse(std::string_view template_text);

  // messages: an array of {"role", "content"} objects (content may be a string,
  // null or a list of parts; tool_calls, tool_call_id, name pass through).
  // Throws hearth::Error(kInvalidArgument) for malformed messages, a template
  // error (with its line and column) or the template's raise_exception message.
  std::string render(const nlohmann::ordered_json& messages, const ChatRenderOptions& options) const;

 private:
  jinja::Template template_;
};

// Parses and renders in one go; keep a ChatTemplate to render many times.
std::string render_chat_template(const std::string& template_text, const nlohmann::ordered_json& messages,
                                 const ChatRenderOptions& options);

// Built-in templates for models whose GGUF has no tokenizer.chat_template:
// "chatml", "llama3", "gemma", "mistral"; nullopt if unknown.
std::optional<std::string> builtin_chat_template(std::string_view name);

}  // namespace hearth::runtime
