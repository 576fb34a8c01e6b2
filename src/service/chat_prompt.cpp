#include "service/chat_prompt.h"

#include "core/error.h"
#include "runtime/chat.h"
#include "service/tool_calls.h"

namespace hearth::service {
namespace {

using ojson = nlohmann::ordered_json;

ojson arguments_value(const ojson& arguments) {
  if (!arguments.is_string()) return arguments;
  try {
    return ojson::parse(arguments.get<std::string>());
  } catch (const ojson::exception&) {
    return arguments;
  }
}

// Messages as the template sees them. Without native tool support, calls and
// results become text in the Hermes convention.
ojson template_messages(const ChatCompletionRequest& r, bool offer_tools, bool native) {
  ojson list = ojson::array();
  if (offer_tools && !native) {
    const std::string tools = tools_system_prompt(r.tools);
    if (!r.messages.empty() && r.messages[0].role == "system") {
      list.push_back({{"role", "system"}, {"content", r.messages[0].content + "\n\n" + tools}});
    } else {
      list.push_back({{"role", "system"}, {"content", tools}});
    }
  }
  for (size_t i = 0; i < r.messages.size(); ++i) {
    const Message& m = r.messages[i];
    if (i == 0 && offer_tools && !native && m.role == "system") continue;  // merged above
    ojson out = {{"role", m.role}, {"content", m.content}};
    if (m.name) out["name"] = *m.name;
    if (m.role == "assistant" && m.tool_calls.is_array()) {
      if (native) {
        ojson calls = ojson::array();
        for (const auto& c : m.tool_calls) {
          ojson call = c;
          call["function"]["arguments"] = arguments_value(c["function"]["arguments"]);
          calls.push_back(call);
        }
        out["tool_calls"] = calls;
      } else {
        std::string text = m.content;
        for (const auto& c : m.tool_calls) {
          if (!text.empty()) text += "\n";
          text += std::string(kToolCallOpen) + "\n" +
                  tool_call_text(c["function"]["name"].get<std::string>(),
                                 c["function"]["arguments"].get<std::string>()) +
                  "\n" + kToolCallClose;
        }
        out["content"] = text;
      }
    }
    if (m.role == "tool") {
      if (native) {
        out["tool_call_id"] = *m.tool_call_id;
      } else {
        out = {{"role", "user"}, {"content", "<tool_response>\n" + m.content + "\n</tool_response>"}};
      }
    }
    list.push_back(std::move(out));
  }
  return list;
}

}  // namespace

ChatPrompt build_chat_prompt(const models::Model& model, const ChatCompletionRequest& r) {
  const runtime::ChatFormatter formatter(model);
  const bool offer_tools = !r.tools.empty() && r.tool_choice.mode != ToolChoice::Mode::kNone;
  const bool native = formatter.handles_tools();
  ChatPrompt prompt;
  prompt.forced_tool_call =
      offer_tools && (r.tool_choice.mode == ToolChoice::Mode::kRequired || r.tool_choice.mode == ToolChoice::Mode::kFunction);
  std::string text;
  try {
    text = formatter.render_json(template_messages(r, offer_tools, native), offer_tools && native ? tools_json(r.tools) : ojson(),
                                 /*add_generation_prompt=*/true);
  } catch (const Error& e) {
    throw ApiException(ApiError::invalid("The chat template of this model refused the messages: " +
                                             std::string(e.what()),
                                         "messages", "invalid_value"));
  }
  if (prompt.forced_tool_call) text += std::string(kToolCallOpen) + "\n";
  prompt.tokens = formatter.tokenize_rendered(text);
  return prompt;
}

}  // namespace hearth::service
