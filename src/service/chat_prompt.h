// The prompt of a chat completion: the request's messages rendered with the
// model's chat template, tools offered the way the template can take them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/model.h"
#include "service/openai_request.h"

namespace hearth::service {

struct ChatPrompt {
  std::vector<int32_t> tokens;
  // The prompt ends inside an opened tool call (tool_choice required or a
  // named function): the reply is the call's JSON object.
  bool forced_tool_call = false;
};

// Throws ApiException (400) when the template refuses the conversation (its
// raise_exception, e.g. roles that do not alternate).
ChatPrompt build_chat_prompt(const models::Model& model, const ChatCompletionRequest& request);

}  // namespace hearth::service
