// Runs a checked pipeline: each step in topological order, one at a time,
// plugin steps through the PluginHost (each call in its own child process),
// LLM steps through a callback the caller provides (the CLI runs the model
// directly, the server goes through its scheduler), template steps in place.
// The first failing step stops the run; nothing after it runs.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "plugins/plugin_host.h"
#include "service/pipeline_spec.h"

namespace hearth::service {

// What an LLM step asks of the model: a chat of an optional system message
// and one user message, greedy when temperature is 0.
struct LlmStepRequest {
  std::string step_id;
  std::string model;  // empty: the caller's default model
  std::string system;
  std::string prompt;
  int max_tokens = 256;
  float temperature = 0.0f;
};

struct LlmStepResult {
  std::string text;
  int64_t prompt_tokens = 0;
  int64_t tokens = 0;
  std::string finish_reason;  // "stop" or "length"
};

// Throws hearth::Error when generation fails; the runner reports it as the
// step's failure.
using LlmCallback = std::function<LlmStepResult(const LlmStepRequest&)>;

struct StepResult {
  std::string id;
  std::string kind;       // plugin, llm, template
  std::string plugin;     // plugin steps: the plugin and capability that ran
  std::string capability;
  nlohmann::json output;  // plugin: its JSON; llm: {text, prompt_tokens, tokens, finish_reason}; template: {text}
  double ms = 0;
};

struct PipelineResult {
  std::string pipeline;
  nlohmann::json inputs;         // the resolved inputs (absolute paths, defaults)
  std::vector<StepResult> steps; // in the order they ran
  nlohmann::ordered_json outputs;  // output name -> value, in the order the file lists them
  double total_ms = 0;

  // {"pipeline", "inputs", "steps": [{"id", "kind", ["plugin", "capability"], "ms", "output"}], "outputs", "total_ms"}
  nlohmann::ordered_json to_json() const;
};

// A step that failed at run time: the message names the step and the cause
// (the plugin's or the model's own message). Its code is the cause's.
class PipelineStepError : public Error {
 public:
  PipelineStepError(ErrorCode code, std::string step_id, const std::string& message)
      : Error(code, message), step_id_(std::move(step_id)) {}
  const std::string& step_id() const { return step_id_; }

 private:
  std::string step_id_;
};

class PipelineRunner {
 public:
  PipelineRunner(plugins::PluginHost& host, LlmCallback llm) : host_(host), llm_(std::move(llm)) {}

  // Resolves every plugin step to a plugin and capability (Error(kNotFound)
  // naming the step when none fits) and checks references into plugin outputs
  // against the capability's output schema, without running anything.
  void check_plugins(const PipelineSpec& spec);

  // check_plugins, resolve_inputs(spec, inputs), then every step. Validation
  // errors are hearth::Error; a failing step is a PipelineStepError.
  // `on_step` (optional) hears about each step as it finishes.
  PipelineResult run(const PipelineSpec& spec, const std::map<std::string, std::string>& inputs,
                     const std::function<void(const StepResult&)>& on_step = {});

 private:
  struct Resolved {
    std::string plugin;
    std::string capability;
    const plugins::CapabilityInfo* info = nullptr;
  };
  Resolved resolve(const PipelineStep& step);

  plugins::PluginHost& host_;
  LlmCallback llm_;
};

}  // namespace hearth::service
