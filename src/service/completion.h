// A chat or text completion between the parsed request and the OpenAI
// response: its prompt, limits and constraint resolved against the resident
// model (plan), submitted to the model's engine (run), its output gathered for
// the thread that answers the client or stores the job.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/engine.h"
#include "service/openai_request.h"
#include "service/scheduler.h"

namespace hearth::runtime {
class Grammar;
}

namespace hearth::service {

enum class CompletionKind { kChat, kText };

// How the reply may carry tool calls: not at all, when the model chooses to
// (parsed from its text), or as one call it is constrained to make.
enum class ToolMode { kNone, kAuto, kForced };

struct CompletionPlan {
  CompletionKind kind = CompletionKind::kChat;
  std::string id;       // chatcmpl-... or cmpl-...
  int64_t created = 0;  // unix seconds
  std::string model;
  std::shared_ptr<Scheduler::Lease> lease;
  std::vector<int32_t> prompt;
  runtime::GenerateOptions options;
  std::shared_ptr<const runtime::Grammar> grammar;  // null: unconstrained
  std::string grammar_after;  // non-empty: the grammar applies once the reply contains this (see EngineRequest)
  std::vector<Tool> tools;
  ToolMode tool_mode = ToolMode::kNone;
  bool stream = false;
  bool include_usage = false;
};

// Throw ApiException: 404 for a model not served, 400 for a prompt that does
// not fit the context (or a schema the grammar cannot enforce), 503 when the
// model cannot be loaded now.
CompletionPlan plan_chat(Scheduler& scheduler, const ChatCompletionRequest& request);
CompletionPlan plan_text(Scheduler& scheduler, const CompletionRequest& request);

// One plan submitted to its engine.
class CompletionRun {
 public:
  // Called once when the engine is done with a run, however it ended (on the
  // engine's thread: keep it quick): the model, the prompt's length, the result.
  using Finished = std::function<void(const std::string& model, int64_t prompt_tokens, const runtime::EngineResult&)>;

  // Throws ApiException: 429 (with Retry-After) when the model's queue is full,
  // 503 when the server is stopping.
  static std::shared_ptr<CompletionRun> start(CompletionPlan plan, Finished on_finished = {});
  ~CompletionRun();  // cancels a run that has not finished

  // Text that became final since the last call; waits up to timeout for some
  // (returns early when the run ends).
  std::string take_text(std::chrono::milliseconds timeout);
  bool done() const;
  // Waits for the end; false on timeout.
  bool wait(std::chrono::milliseconds timeout);
  void cancel();
  const runtime::EngineResult& result() const;  // valid once done()
  const CompletionPlan& plan() const { return plan_; }

 private:
  struct State;
  explicit CompletionRun(CompletionPlan plan);
  CompletionPlan plan_;
  std::shared_ptr<State> state_;
  uint64_t engine_id_ = 0;
};

// The response object of a finished run (chat.completion or text_completion).
nlohmann::ordered_json completion_response(const CompletionPlan& plan, const runtime::EngineResult& result);

// The error a run that did not finish normally answers with (finish_reason
// "error" or "cancelled"); nullopt for a normal end.
std::optional<ApiError> run_error(const runtime::EngineResult& result);

// Server-sent events of a streaming response: chunks as OpenAI sends them,
// each "data: {json}\n\n", ending with "data: [DONE]\n\n".
class StreamEncoder {
 public:
  explicit StreamEncoder(const CompletionPlan& plan);
  std::string begin();                          // the assistant-role chunk (chat)
  std::string text(const std::string& piece);   // new content (tool-call text is held back)
  std::string end(const runtime::EngineResult& result);  // held text or tool calls, finish, usage, [DONE]
  static std::string error_event(const ApiError& error);  // an error object, then [DONE]

 private:
  nlohmann::ordered_json chunk(nlohmann::ordered_json choice) const;
  std::string content_event(const std::string& text) const;
  static std::string event(const nlohmann::ordered_json& payload);

  const CompletionPlan& plan_;
  std::string held_;      // text that may be the start of a tool call
  bool holding_ = false;  // every further piece is held (a tool call began)
  bool decided_ = false;  // the reply is known to be plain content
};

}  // namespace hearth::service
