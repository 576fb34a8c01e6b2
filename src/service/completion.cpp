#include "service/completion.h"

#include <algorithm>
#include <ctime>
#include <utility>

#include "core/error.h"
#include "runtime/json_schema_grammar.h"
#include "runtime/token_constraint.h"
#include "service/chat_prompt.h"
#include "service/ids.h"
#include "service/tool_calls.h"

namespace hearth::service {
namespace {

using ojson = nlohmann::ordered_json;

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

std::shared_ptr<Scheduler::Lease> acquire(Scheduler& scheduler, const std::string& model) {
  if (!scheduler.knows(model)) throw ApiException(ApiError::model_not_found(model));
  try {
    return scheduler.acquire(model);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kBusy) throw ApiException(ApiError::unavailable(e.what(), 5));
    if (e.code() == ErrorCode::kOutOfMemory) throw ApiException(ApiError::unavailable(e.what(), 10));
    throw ApiException(ApiError::server("the model '" + model + "' could not be loaded: " + e.what()));
  }
}

// The prompt must fit the context; an explicit max_tokens must fit beside it
// (as OpenAI answers), an absent one runs to the end of the context.
int32_t token_limit(const std::vector<int32_t>& prompt, std::optional<int32_t> requested, int64_t n_ctx,
                    const char* prompt_name) {
  const auto n = static_cast<int64_t>(prompt.size());
  if (n > n_ctx)
    throw ApiException(ApiError::invalid("This model's maximum context length is " + std::to_string(n_ctx) +
                                             " tokens. However, your " + prompt_name + " resulted in " +
                                             std::to_string(n) + " tokens. Please reduce the length of the " +
                                             prompt_name + ".",
                                         prompt_name, "context_length_exceeded"));
  if (!requested) return static_cast<int32_t>(n_ctx - n + 1);
  if (n + *requested > n_ctx + 1)
    throw ApiException(ApiError::invalid(
        "This model's maximum context length is " + std::to_string(n_ctx) + " tokens. However, you requested " +
            std::to_string(n + *requested) + " tokens (" + std::to_string(n) + " in the " + prompt_name + ", " +
            std::to_string(*requested) + " in the completion). Please reduce the length of the " + prompt_name +
            " or completion.",
        "max_tokens", "context_length_exceeded"));
  return *requested;
}

std::shared_ptr<const runtime::Grammar> schema_grammar(const ojson& schema, const std::string& param) {
  try {
    return std::make_shared<const runtime::Grammar>(runtime::grammar_from_json_schema(schema));
  } catch (const Error& e) {
    throw ApiException(ApiError::invalid("The JSON schema in '" + param + "' cannot be enforced: " + e.what(), param,
                                         "invalid_schema"));
  }
}

std::string finish_reason(const runtime::EngineResult& r, bool has_tool_calls) {
  if (has_tool_calls) return "tool_calls";
  return r.finish_reason == "length" ? "length" : "stop";
}

std::optional<std::vector<ToolCall>> reply_tool_calls(const CompletionPlan& plan, const runtime::EngineResult& r) {
  if (plan.tool_mode == ToolMode::kNone) return std::nullopt;
  if (plan.tool_mode == ToolMode::kForced) {
    if (auto call = parse_tool_call_object(r.text, plan.tools)) return std::vector<ToolCall>{*call};
    return std::nullopt;
  }
  return parse_tool_calls(r.text, plan.tools);
}

ojson tool_calls_json(const std::vector<ToolCall>& calls, bool with_index) {
  ojson list = ojson::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    ojson c = ojson::object();
    if (with_index) c["index"] = i;
    c["id"] = calls[i].id;
    c["type"] = "function";
    c["function"] = {{"name", calls[i].name}, {"arguments", calls[i].arguments}};
    list.push_back(std::move(c));
  }
  return list;
}

ojson usage_json(const CompletionPlan& plan, const runtime::EngineResult& r) {
  const auto prompt = static_cast<int64_t>(plan.prompt.size());
  const auto completion = static_cast<int64_t>(r.tokens.size());
  return {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
}

// Whether text (after leading whitespace) could still become, or already is, a tool call's opening tag.
bool may_open_tool_call(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r')) ++i;
  const std::string open = kToolCallOpen;
  const size_t n = std::min(open.size(), text.size() - i);
  return text.compare(i, n, open, 0, n) == 0;
}

CompletionPlan plan_for(CompletionKind kind, const std::string& model, bool stream, bool include_usage) {
  CompletionPlan plan;
  plan.kind = kind;
  plan.id = random_id(kind == CompletionKind::kChat ? "chatcmpl-" : "cmpl-");
  plan.created = unix_now();
  plan.model = model;
  plan.stream = stream;
  plan.include_usage = include_usage;
  return plan;
}

}  // namespace

CompletionPlan plan_chat(Scheduler& scheduler, const ChatCompletionRequest& r) {
  if (!r.plugin_tools.empty())
    throw ApiException(ApiError::invalid("Invalid value for '" + r.plugin_tools.front().path +
                                             "': plugin tools are run by POST /v1/chat/completions without "
                                             "streaming; give them there.",
                                         r.plugin_tools.front().path, "invalid_value"));
  CompletionPlan plan = plan_for(CompletionKind::kChat, r.model, r.stream, r.include_usage);
  plan.tools = r.tools;
  plan.lease = acquire(scheduler, r.model);
  const models::Model& model = *plan.lease->model();
  const ChatPrompt prompt = build_chat_prompt(model, r);
  plan.prompt = prompt.tokens;
  plan.options.max_tokens = token_limit(plan.prompt, r.max_tokens, plan.lease->engine().shape().n_ctx, "messages");
  plan.options.sampling = r.sampling;
  plan.options.stop = r.stop;
  if (prompt.forced_tool_call) {
    plan.tool_mode = ToolMode::kForced;
    plan.grammar = schema_grammar(forced_tool_call_schema(r.tools, r.tool_choice), "tools");
  } else if (r.response_format.type == ResponseFormat::Type::kJsonObject) {
    plan.grammar = std::make_shared<const runtime::Grammar>(runtime::json_object_grammar());
  } else if (r.response_format.type == ResponseFormat::Type::kJsonSchema) {
    plan.grammar = schema_grammar(r.response_format.schema, "response_format.json_schema.schema");
  }
  if (!r.tools.empty() && r.tool_choice.mode == ToolChoice::Mode::kAuto) {
    plan.tool_mode = ToolMode::kAuto;
    // The model may answer freely; once it opens a call, the call must be one
    // of the tools with valid arguments.
    if (!plan.grammar) {
      plan.grammar = schema_grammar(forced_tool_call_schema(r.tools, {ToolChoice::Mode::kRequired, ""}), "tools");
      plan.grammar_after = kToolCallOpen;
    }
  }
  return plan;
}

CompletionPlan plan_text(Scheduler& scheduler, const CompletionRequest& r) {
  CompletionPlan plan = plan_for(CompletionKind::kText, r.model, r.stream, r.include_usage);
  plan.lease = acquire(scheduler, r.model);
  const models::Tokenizer& tok = plan.lease->model()->tokenizer();
  if (!r.prompt_tokens.empty()) {
    for (size_t i = 0; i < r.prompt_tokens.size(); ++i)
      if (r.prompt_tokens[i] >= tok.n_vocab())
        throw ApiException(ApiError::invalid("Invalid value for 'prompt[" + std::to_string(i) + "]': token id " +
                                                 std::to_string(r.prompt_tokens[i]) +
                                                 " is outside this model's vocabulary of " +
                                                 std::to_string(tok.n_vocab()) + ".",
                                             "prompt[" + std::to_string(i) + "]", "invalid_value"));
    plan.prompt = r.prompt_tokens;
  } else {
    plan.prompt = tok.encode(r.prompt, /*add_special=*/true, /*parse_special=*/false);
  }
  if (plan.prompt.empty())
    throw ApiException(ApiError::invalid("Invalid value for 'prompt': it has no tokens.", "prompt", "invalid_value"));
  plan.options.max_tokens = token_limit(plan.prompt, r.max_tokens, plan.lease->engine().shape().n_ctx, "prompt");
  plan.options.sampling = r.sampling;
  plan.options.stop = r.stop;
  return plan;
}

// ---- the run -------------------------------------------------------------

struct CompletionRun::State {
  std::mutex mutex;
  std::condition_variable changed;
  std::string pending;  // final text not yet taken
  bool done = false;
  bool cancelled = false;
  runtime::EngineResult result;
};

CompletionRun::CompletionRun(CompletionPlan plan) : plan_(std::move(plan)), state_(std::make_shared<State>()) {}

std::shared_ptr<CompletionRun> CompletionRun::start(CompletionPlan plan, Finished on_finished) {
  std::shared_ptr<CompletionRun> run(new CompletionRun(std::move(plan)));
  runtime::EngineRequest request;
  request.prompt = run->plan_.prompt;
  request.options = run->plan_.options;
  if (run->plan_.grammar) {
    request.constraint =
        std::make_unique<runtime::TokenConstraint>(run->plan_.grammar, run->plan_.lease->vocabulary());
    request.constraint_after = run->plan_.grammar_after;
  }
  std::shared_ptr<State> state = run->state_;
  request.on_event = [state](const runtime::EngineEvent& e) {
    std::lock_guard<std::mutex> lock(state->mutex);
    if (!e.text.empty()) {
      state->pending += e.text;
      state->changed.notify_all();
    }
    return !state->cancelled;
  };
  request.on_done = [state, on_finished = std::move(on_finished), model = run->plan_.model,
                     prompt_tokens = static_cast<int64_t>(run->plan_.prompt.size())](runtime::EngineResult&& result) {
    if (on_finished) on_finished(model, prompt_tokens, result);
    std::lock_guard<std::mutex> lock(state->mutex);
    state->result = std::move(result);
    state->done = true;
    state->changed.notify_all();
  };
  runtime::Engine& engine = run->plan_.lease->engine();
  try {
    run->engine_id_ = engine.submit(std::move(request));
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kBusy) {
      const runtime::EngineStats st = engine.stats();
      const int wait = static_cast<int>(1 + st.waiting / std::max(1, engine.shape().max_sequences));
      throw ApiException(ApiError::rate_limited(std::string("The model's queue is full: ") + e.what() +
                                                    ". Retry after a while.",
                                                wait));
    }
    throw ApiException(ApiError::invalid(e.what()));
  }
  return run;
}

CompletionRun::~CompletionRun() {
  if (!done()) cancel();
}

std::string CompletionRun::take_text(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(state_->mutex);
  state_->changed.wait_for(lock, timeout, [&] { return state_->done || !state_->pending.empty(); });
  std::string out;
  out.swap(state_->pending);
  return out;
}

bool CompletionRun::done() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->done;
}

bool CompletionRun::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(state_->mutex);
  return state_->changed.wait_for(lock, timeout, [&] { return state_->done; });
}

void CompletionRun::cancel() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->done) return;
    state_->cancelled = true;
  }
  plan_.lease->engine().cancel(engine_id_);
}

const runtime::EngineResult& CompletionRun::result() const { return state_->result; }

std::optional<ApiError> run_error(const runtime::EngineResult& r) {
  if (r.finish_reason == "error") return ApiError::server("The model failed while generating: " + r.error);
  if (r.finish_reason == "cancelled")
    return ApiError::unavailable("The request was cancelled before it finished (the server is shutting down).");
  return std::nullopt;
}

// ---- responses -------------------------------------------------------------

ojson completion_response(const CompletionPlan& plan, const runtime::EngineResult& r) {
  ojson choice = ojson::object();
  choice["index"] = 0;
  const auto calls = reply_tool_calls(plan, r);
  if (plan.kind == CompletionKind::kChat) {
    ojson message = ojson::object();
    message["role"] = "assistant";
    message["content"] = calls ? ojson(nullptr) : ojson(r.text);
    message["refusal"] = nullptr;
    if (calls) message["tool_calls"] = tool_calls_json(*calls, false);
    choice["message"] = std::move(message);
  } else {
    choice["text"] = r.text;
  }
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = finish_reason(r, calls.has_value());
  ojson out = ojson::object();
  out["id"] = plan.id;
  out["object"] = plan.kind == CompletionKind::kChat ? "chat.completion" : "text_completion";
  out["created"] = plan.created;
  out["model"] = plan.model;
  out["choices"] = ojson::array({std::move(choice)});
  out["usage"] = usage_json(plan, r);
  return out;
}

StreamEncoder::StreamEncoder(const CompletionPlan& plan) : plan_(plan) {
  holding_ = plan.tool_mode == ToolMode::kForced;
  decided_ = plan.tool_mode == ToolMode::kNone;
}

std::string StreamEncoder::event(const ojson& payload) {
  return "data: " + payload.dump(-1, ' ', false, ojson::error_handler_t::replace) + "\n\n";
}

ojson StreamEncoder::chunk(ojson choice) const {
  ojson out = ojson::object();
  out["id"] = plan_.id;
  out["object"] = plan_.kind == CompletionKind::kChat ? "chat.completion.chunk" : "text_completion";
  out["created"] = plan_.created;
  out["model"] = plan_.model;
  out["choices"] = ojson::array({std::move(choice)});
  if (plan_.include_usage) out["usage"] = nullptr;
  return out;
}

std::string StreamEncoder::content_event(const std::string& text) const {
  if (text.empty()) return {};
  ojson choice = ojson::object();
  choice["index"] = 0;
  if (plan_.kind == CompletionKind::kChat) {
    choice["delta"] = {{"content", text}};
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = nullptr;
  return event(chunk(std::move(choice)));
}

std::string StreamEncoder::begin() {
  if (plan_.kind != CompletionKind::kChat) return {};
  ojson choice = ojson::object();
  choice["index"] = 0;
  choice["delta"] = {{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}};
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = nullptr;
  return event(chunk(std::move(choice)));
}

std::string StreamEncoder::text(const std::string& piece) {
  if (holding_) {
    held_ += piece;
    return {};
  }
  if (decided_) return content_event(piece);
  held_ += piece;
  // A reply that may still open a tool call is held until it does or cannot.
  if (may_open_tool_call(held_)) {
    if (held_.find(kToolCallOpen) != std::string::npos) holding_ = true;
    return {};
  }
  decided_ = true;
  std::string out = content_event(held_);
  held_.clear();
  return out;
}

std::string StreamEncoder::end(const runtime::EngineResult& r) {
  std::string out;
  const auto calls = reply_tool_calls(plan_, r);
  if (calls) {
    ojson choice = ojson::object();
    choice["index"] = 0;
    choice["delta"] = {{"tool_calls", tool_calls_json(*calls, true)}};
    choice["logprobs"] = nullptr;
    choice["finish_reason"] = nullptr;
    out += event(chunk(std::move(choice)));
  } else {
    out += content_event(held_);
  }
  held_.clear();
  ojson last = ojson::object();
  last["index"] = 0;
  if (plan_.kind == CompletionKind::kChat) {
    last["delta"] = ojson::object();
  } else {
    last["text"] = "";
  }
  last["logprobs"] = nullptr;
  last["finish_reason"] = finish_reason(r, calls.has_value());
  out += event(chunk(std::move(last)));
  if (plan_.include_usage) {
    ojson usage = chunk(ojson::object());
    usage["choices"] = ojson::array();
    usage["usage"] = usage_json(plan_, r);
    out += event(usage);
  }
  out += "data: [DONE]\n\n";
  return out;
}

std::string StreamEncoder::error_event(const ApiError& error) {
  return event(error.to_json()) + "data: [DONE]\n\n";
}

}  // namespace hearth::service
