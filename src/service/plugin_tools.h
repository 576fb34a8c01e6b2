// Chat completions that offer installed plugins' tools to the model
// ({"type": "plugin"} entries in "tools"): the tools are described to the
// model with their input schemas, the calls it makes to them are run in the
// plugin host, their results go back as tool messages, and the reply to them
// is the answer. Calls to the client's own functions end the loop as usual.
#pragma once

#include <atomic>

#include <nlohmann/json.hpp>

#include "service/completion.h"
#include "service/openai_request.h"
#include "service/plugin_access.h"
#include "service/scheduler.h"

namespace hearth::service {

constexpr int kMaxPluginToolRounds = 3;  // rounds of calls before the model must answer

class PluginToolChat {
 public:
  PluginToolChat(Scheduler& scheduler, PluginAccess plugins, CompletionRun::Finished on_finished = {})
      : scheduler_(scheduler), plugins_(std::move(plugins)), on_finished_(std::move(on_finished)) {}

  // The chat.completion response of the final round, its usage summed over
  // the rounds, and "tool_runs": [{"id", "name", "plugin", "capability",
  // "arguments", "output" | "error", "ms"}]. Throws ApiException: 400 for an
  // unknown plugin, one without a tool capability, a name taken twice, a
  // streaming request; the completion errors otherwise. `stop` (optional)
  // cancels between rounds and during generation (the client went away).
  nlohmann::ordered_json complete(ChatCompletionRequest request, const std::atomic<bool>* stop = nullptr) const;

 private:
  Scheduler& scheduler_;
  PluginAccess plugins_;
  CompletionRun::Finished on_finished_;
};

}  // namespace hearth::service
