#include "runtime/chat.h"

#include "core/error.h"

namespace hearth::runtime {
namespace {

std::string builtin_for_arch(const std::string& arch) {
  if (arch.rfind("gemma", 0) == 0) return "gemma";
  return "chatml";
}

}  // namespace

ChatFormatter::ChatFormatter(const models::Model& model) : model_(model) {
  std::string text = model.chat_template();
  source_ = "gguf";
  if (text.empty()) {
    const std::string name = builtin_for_arch(model.hparams().arch);
    auto builtin = builtin_chat_template(name);
    if (!builtin) throw Error(ErrorCode::kInternal, "built-in chat template '" + name + "' is missing");
    text = *builtin;
    source_ = "builtin:" + name;
  }
  template_ = ChatTemplate::parse(text);
  handles_tools_ = text.find("tools") != std::string::npos;
}

std::string ChatFormatter::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
  return render_json(list, nullptr, add_generation_prompt);
}

std::string ChatFormatter::render_json(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                                       bool add_generation_prompt) const {
  const models::Tokenizer& tok = model_.tokenizer();
  ChatRenderOptions options;
  options.add_generation_prompt = add_generation_prompt;
  options.tools = tools;
  if (tok.bos_id() >= 0) options.bos_token = tok.token_text(tok.bos_id());
  if (tok.eos_id() >= 0) options.eos_token = tok.token_text(tok.eos_id());
  return template_->render(messages, options);
}

std::vector<int32_t> ChatFormatter::tokenize_rendered(const std::string& text) const {
  const models::Tokenizer& tok = model_.tokenizer();
  // Templates that write the BOS text themselves must not get a second one.
  const bool has_bos_text = tok.bos_id() >= 0 && text.rfind(tok.token_text(tok.bos_id()), 0) == 0;
  return tok.encode(text, /*add_special=*/!has_bos_text, /*parse_special=*/true);
}

std::vector<int32_t> ChatFormatter::tokenize(const std::vector<ChatMessage>& messages,
                                             bool add_generation_prompt) const {
  return tokenize_rendered(render(messages, add_generation_prompt));
}

}  // namespace hearth::runtime
