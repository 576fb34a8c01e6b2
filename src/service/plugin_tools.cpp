#include "service/plugin_tools.h"

#include <chrono>
#include <map>
#include <memory>

#include "core/error.h"
#include "plugins/plugin_host.h"

namespace hearth::service {
namespace {

using ojson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

struct OfferedTool {
  std::string plugin;
  std::string capability;
};

// The request's plugin tools as functions the model can call, by name.
std::map<std::string, OfferedTool> offer(plugins::PluginHost& host, ChatCompletionRequest& r) {
  std::map<std::string, OfferedTool> offered;
  for (const PluginToolRef& ref : r.plugin_tools) {
    const plugins::PluginInfo* info = nullptr;
    try {
      info = &host.plugin(ref.plugin);
    } catch (const Error& e) {
      throw ApiException(ApiError::invalid("Invalid value for '" + ref.path + ".plugin': " + e.what(),
                                           ref.path + ".plugin", e.code() == ErrorCode::kNotFound ? "plugin_not_found"
                                                                                                  : "plugin_failed"));
    }
    const plugins::CapabilityInfo* cap = nullptr;
    for (const auto& c : info->capabilities)
      if ((ref.capability.empty() && c.kind == "tool") || c.name == ref.capability) {
        cap = &c;
        break;
      }
    if (!cap)
      throw ApiException(ApiError::invalid("Invalid value for '" + ref.path + "': plugin '" + ref.plugin + "' has no " +
                                               (ref.capability.empty() ? std::string("tool capability")
                                                                       : "capability '" + ref.capability + "'") + ".",
                                           ref.path, "invalid_value"));
    // ocr and asr take a file path: a model must not choose which server file is read.
    if (cap->kind != "tool")
      throw ApiException(ApiError::invalid("Invalid value for '" + ref.path + "': capability '" + cap->name + "' is an " +
                                               cap->kind + " capability, which reads files; only tool capabilities "
                                               "can be offered to the model (use /v1/ocr, /v1/audio/transcriptions or a pipeline).",
                                           ref.path, "invalid_value"));
    Tool tool;
    tool.name = cap->name;
    for (const Tool& t : r.tools)
      if (t.name == tool.name)
        throw ApiException(ApiError::invalid("Invalid value for '" + ref.path + "': another tool is already named '" +
                                                 tool.name + "'.", ref.path, "invalid_value"));
    tool.description = cap->description.empty() ? info->description : cap->description;
    tool.parameters = cap->input_schema.is_object() ? ojson(cap->input_schema)
                                                    : ojson{{"type", "object"}, {"properties", ojson::object()}};
    r.tools.push_back(std::move(tool));
    offered[cap->name] = {info->manifest.name, cap->name};
  }
  r.plugin_tools.clear();
  if (r.tool_choice.mode == ToolChoice::Mode::kFunction) {
    bool known = false;
    for (const Tool& t : r.tools) known = known || t.name == r.tool_choice.function;
    if (!known)
      throw ApiException(ApiError::invalid("Invalid value for 'tool_choice.function.name': no tool in 'tools' is named " +
                                               quote_for_error(r.tool_choice.function) + ".",
                                           "tool_choice.function.name", "invalid_value"));
  }
  return offered;
}

std::shared_ptr<CompletionRun> run_round(Scheduler& scheduler, const ChatCompletionRequest& r,
                                         const CompletionRun::Finished& on_finished, const std::atomic<bool>* stop) {
  std::shared_ptr<CompletionRun> run = CompletionRun::start(plan_chat(scheduler, r), on_finished);
  while (!run->wait(std::chrono::milliseconds(100)))
    if (stop && stop->load()) {
      run->cancel();
      run->wait(std::chrono::seconds(5));
      throw ApiException(ApiError::server("The request was cancelled."));
    }
  if (const auto error = run_error(run->result())) throw ApiException(*error);
  return run;
}

}  // namespace

ojson PluginToolChat::complete(ChatCompletionRequest r, const std::atomic<bool>* stop) const {
  if (r.stream)
    throw ApiException(ApiError::invalid("Invalid value for 'stream': a request with plugin tools cannot stream yet; "
                                         "leave 'stream' out.", "stream", "invalid_value"));
  std::unique_ptr<plugins::PluginHost> host = plugins_.host();
  const std::map<std::string, OfferedTool> offered = offer(*host, r);

  ojson runs = ojson::array();
  int64_t prompt_tokens = 0, completion_tokens = 0;
  for (int round = 0;; ++round) {
    const std::shared_ptr<CompletionRun> run = run_round(scheduler_, r, on_finished_, stop);
    ojson response = completion_response(run->plan(), run->result());
    prompt_tokens += response["usage"]["prompt_tokens"].get<int64_t>();
    completion_tokens += response["usage"]["completion_tokens"].get<int64_t>();
    const ojson& message = response["choices"][0]["message"];
    const ojson calls = message.contains("tool_calls") ? message["tool_calls"] : ojson();
    bool all_ours = calls.is_array() && !calls.empty();
    if (all_ours)
      for (const ojson& c : calls) all_ours = all_ours && offered.count(c["function"]["name"].get<std::string>());
    if (!all_ours) {
      // An answer, or calls for the client's own functions: the client's turn.
      response["usage"] = {{"prompt_tokens", prompt_tokens},
                           {"completion_tokens", completion_tokens},
                           {"total_tokens", prompt_tokens + completion_tokens}};
      response["tool_runs"] = runs;
      return response;
    }
    r.messages.push_back({"assistant", "", {}, {}, calls});
    for (const ojson& c : calls) {
      const std::string name = c["function"]["name"].get<std::string>();
      const OfferedTool& t = offered.at(name);
      ojson record = {{"id", c["id"]}, {"name", name}, {"plugin", t.plugin}, {"capability", t.capability}};
      nlohmann::json arguments = nlohmann::json::parse(c["function"]["arguments"].get<std::string>(), nullptr, false);
      record["arguments"] = arguments;
      std::string content;
      const auto t0 = Clock::now();
      try {
        const nlohmann::json out = host->call(t.plugin, t.capability, arguments);
        record["output"] = out;
        content = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      } catch (const Error& e) {
        record["error"] = e.what();
        content = ojson{{"error", e.what()}}.dump(-1, ' ', false, ojson::error_handler_t::replace);
      }
      record["ms"] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      runs.push_back(record);
      r.messages.push_back({"tool", content, name, c["id"].get<std::string>(), nullptr});
    }
    if (stop && stop->load()) throw ApiException(ApiError::server("The request was cancelled."));
    // A forced call is made once; afterwards the model may call again (auto)
    // until the last round, where it must answer.
    r.tool_choice.mode = round + 1 >= kMaxPluginToolRounds ? ToolChoice::Mode::kNone : ToolChoice::Mode::kAuto;
    r.tool_choice.function.clear();
  }
}

}  // namespace hearth::service
