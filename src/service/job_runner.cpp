#include "service/job_runner.h"

#include <utility>

#include "core/error.h"

namespace hearth::service {
namespace {

using ojson = nlohmann::ordered_json;

constexpr const char* kChatEndpoint = "/v1/chat/completions";
constexpr const char* kTextEndpoint = "/v1/completions";
constexpr int64_t kMaxQueuedJobs = 10000;
constexpr const char* kShutdownMessage = "the server shut down before this job finished";

struct JobRequest {
  std::string kind;
  std::string body;  // the endpoint's request body
};

JobRequest parse_job_request(std::string_view text) {
  const ojson root = parse_json_body(text);
  const auto endpoint = root.find("endpoint");
  if (endpoint == root.end() || endpoint->is_null())
    throw ApiException(ApiError::invalid("Missing required parameter: 'endpoint'.", "endpoint",
                                         "missing_required_parameter"));
  if (!endpoint->is_string() ||
      (endpoint->get<std::string>() != kChatEndpoint && endpoint->get<std::string>() != kTextEndpoint))
    throw ApiException(ApiError::invalid("Invalid value for 'endpoint': supported values are '" +
                                             std::string(kChatEndpoint) + "' and '" + kTextEndpoint + "'.",
                                         "endpoint", "invalid_value"));
  const auto body = root.find("body");
  if (body == root.end() || !body->is_object())
    throw ApiException(ApiError::invalid("Invalid value for 'body': expected the request object of the endpoint.",
                                         "body", body == root.end() ? "missing_required_parameter" : "invalid_type"));
  JobRequest r;
  r.kind = endpoint->get<std::string>() == kChatEndpoint ? "chat.completion" : "text_completion";
  r.body = body->dump();
  return r;
}

}  // namespace

JobRunner::JobRunner(JobStore& store, Scheduler& scheduler, int workers, CompletionRun::Finished on_finished)
    : store_(store), scheduler_(scheduler), on_finished_(std::move(on_finished)) {
  for (int i = 0; i < std::max(1, workers); ++i) workers_.emplace_back([this] { worker(); });
}

JobRunner::~JobRunner() { drain(std::chrono::seconds(0)); }

Job JobRunner::submit(std::string_view text) {
  const JobRequest r = parse_job_request(text);
  // The request is checked now, so that a job that could never run is refused
  // with the error a direct request would get.
  std::string model;
  bool stream = false;
  if (r.kind == "chat.completion") {
    const ChatCompletionRequest c = parse_chat_completion(r.body);
    model = c.model;
    stream = c.stream;
  } else {
    const CompletionRequest c = parse_completion(r.body);
    model = c.model;
    stream = c.stream;
  }
  if (stream)
    throw ApiException(ApiError::invalid("Invalid value for 'body.stream': a job cannot stream; leave it out.",
                                         "body.stream", "invalid_value"));
  if (!scheduler_.knows(model)) throw ApiException(ApiError::model_not_found(model));
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) throw ApiException(ApiError::unavailable("The server is shutting down.", 5));
  if (static_cast<int64_t>(queue_.size()) >= kMaxQueuedJobs)
    throw ApiException(ApiError::rate_limited("Too many jobs are queued (" + std::to_string(queue_.size()) + ").", 30));
  Job job = store_.create(r.kind, std::string(text));
  queue_.push_back(job.id);
  wake_.notify_one();
  return job;
}

bool JobRunner::cancel(const std::string& id) {
  bool changed = false;
  try {
    changed = store_.cancel(id);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kNotFound) throw ApiException(ApiError::not_found("No job with id '" + id + "'."));
    throw;
  }
  std::shared_ptr<CompletionRun> run;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (const auto it = running_.find(id); it != running_.end()) run = it->second;
  }
  if (run) run->cancel();  // its KV blocks are free before the engine's next step
  return changed;
}

int64_t JobRunner::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(queue_.size());
}

int64_t JobRunner::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(running_.size());
}

void JobRunner::drain(std::chrono::steady_clock::duration deadline) {
  std::deque<std::string> never_started;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (workers_.empty()) return;
    stopping_ = true;
    never_started.swap(queue_);
  }
  wake_.notify_all();
  for (const std::string& id : never_started) store_.fail(id, kShutdownMessage);
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    std::vector<std::shared_ptr<CompletionRun>> runs;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& [id, run] : running_) runs.push_back(run);
    }
    if (runs.empty()) break;
    if (std::chrono::steady_clock::now() >= until) {
      for (const auto& run : runs) run->cancel();
      break;
    }
    runs.front()->wait(std::chrono::milliseconds(50));
  }
  for (auto& w : workers_) w.join();
  workers_.clear();
}

void JobRunner::worker() {
  for (;;) {
    std::string id;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      id = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      run_job(id);
    } catch (const std::exception& e) {
      try {
        store_.fail(id, std::string("internal error: ") + e.what());
      } catch (const std::exception&) {
        // The store itself failed; the job is failed as interrupted when it reopens.
      }
    }
  }
}

void JobRunner::run_job(const std::string& id) {
  if (!store_.mark_running(id)) return;  // cancelled while queued
  const std::optional<Job> job = store_.get(id);
  if (!job) return;
  const JobRequest r = parse_job_request(job->request_json);
  std::shared_ptr<CompletionRun> run;
  try {
    CompletionPlan plan = r.kind == "chat.completion" ? plan_chat(scheduler_, parse_chat_completion(r.body))
                                                      : plan_text(scheduler_, parse_completion(r.body));
    run = CompletionRun::start(std::move(plan), on_finished_);
  } catch (const ApiException& e) {
    store_.fail(id, e.error().message);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_[id] = run;
  }
  // A DELETE between mark_running and here found no run to cancel.
  if (const auto now = store_.get(id); now && now->status == JobStatus::kCancelled) run->cancel();
  run->wait(std::chrono::hours(24 * 365));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_.erase(id);
  }
  const runtime::EngineResult& result = run->result();
  if (result.finish_reason == "cancelled") {
    store_.fail(id, kShutdownMessage);  // a no-op when a DELETE cancelled it
  } else if (const auto error = run_error(result)) {
    store_.fail(id, error->message);
  } else {
    store_.succeed(id, completion_response(run->plan(), result).dump(-1, ' ', false, ojson::error_handler_t::replace));
  }
}

}  // namespace hearth::service
