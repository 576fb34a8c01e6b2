#include "service/job_runner.h"

#include <optional>
#include <utility>

#include "core/error.h"

namespace hearth::service {
namespace {

using ojson = nlohmann::ordered_json;

constexpr const char* kChatEndpoint = "/v1/chat/completions";
constexpr const char* kTextEndpoint = "/v1/completions";
constexpr std::string_view kPipelinePrefix = "/v1/pipelines/";
constexpr const char* kPipelineKind = "pipeline.run";
constexpr int64_t kMaxQueuedJobs = 10000;
constexpr const char* kShutdownMessage = "the server shut down before this job finished";

struct JobRequest {
  std::string kind;
  std::string pipeline;  // pipeline jobs: its name
  std::string body;      // the endpoint's request body
};

JobRequest parse_job_request(std::string_view text) {
  const ojson root = parse_json_body(text);
  const auto endpoint = root.find("endpoint");
  if (endpoint == root.end() || endpoint->is_null())
    throw ApiException(ApiError::invalid("Missing required parameter: 'endpoint'.", "endpoint",
                                         "missing_required_parameter"));
  const std::string e = endpoint->is_string() ? endpoint->get<std::string>() : "";
  const bool pipeline = e.size() > kPipelinePrefix.size() && e.compare(0, kPipelinePrefix.size(), kPipelinePrefix) == 0;
  if (e != kChatEndpoint && e != kTextEndpoint && !pipeline)
    throw ApiException(ApiError::invalid("Invalid value for 'endpoint': supported values are '" +
                                             std::string(kChatEndpoint) + "', '" + kTextEndpoint +
                                             "' and '/v1/pipelines/NAME'.",
                                         "endpoint", "invalid_value"));
  const auto body = root.find("body");
  if (body == root.end() || !body->is_object())
    throw ApiException(ApiError::invalid("Invalid value for 'body': expected the request object of the endpoint.",
                                         "body", body == root.end() ? "missing_required_parameter" : "invalid_type"));
  JobRequest r;
  r.kind = pipeline ? kPipelineKind : e == kChatEndpoint ? "chat.completion" : "text_completion";
  if (pipeline) r.pipeline = e.substr(kPipelinePrefix.size());
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
  if (r.kind == kPipelineKind) {
    if (!pipelines_.canonical) throw ApiException(ApiError::not_found("This server runs no pipelines."));
    // Stored canonical: uploads as base64, checked against the pipeline now.
    const ojson canonical = pipelines_.canonical(r.pipeline, ojson::parse(r.body));
    return enqueue(r.kind, ojson{{"endpoint", std::string(kPipelinePrefix) + r.pipeline}, {"body", canonical}}.dump());
  }
  // The request is checked now, so that a job that could never run is refused
  // with the error a direct request would get.
  std::string model;
  bool stream = false;
  if (r.kind == "chat.completion") {
    const ChatCompletionRequest c = parse_chat_completion(r.body);
    model = c.model;
    stream = c.stream;
    if (!c.plugin_tools.empty())
      throw ApiException(ApiError::invalid("Invalid value for 'body." + c.plugin_tools.front().path +
                                               "': a job cannot run plugin tools; send the request to "
                                               "/v1/chat/completions.",
                                           "body." + c.plugin_tools.front().path, "invalid_value"));
  } else {
    const CompletionRequest c = parse_completion(r.body);
    model = c.model;
    stream = c.stream;
  }
  if (stream)
    throw ApiException(ApiError::invalid("Invalid value for 'body.stream': a job cannot stream; leave it out.",
                                         "body.stream", "invalid_value"));
  if (!scheduler_.knows(model)) throw ApiException(ApiError::model_not_found(model));
  return enqueue(r.kind, std::string(text));
}

Job JobRunner::enqueue(const std::string& kind, const std::string& request_json) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) throw ApiException(ApiError::unavailable("The server is shutting down.", 5));
  if (static_cast<int64_t>(queue_.size()) >= kMaxQueuedJobs)
    throw ApiException(ApiError::rate_limited("Too many jobs are queued (" + std::to_string(queue_.size()) + ").", 30));
  Job job = store_.create(kind, request_json);
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
    if (const auto it = running_pipelines_.find(id); it != running_pipelines_.end()) it->second->store(true);
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
  return static_cast<int64_t>(running_.size() + running_pipelines_.size());
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
    bool pipelines = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& [id, run] : running_) runs.push_back(run);
      pipelines = !running_pipelines_.empty();
      if (std::chrono::steady_clock::now() >= until)
        for (const auto& [id, stop] : running_pipelines_) stop->store(true);  // they end after the step running now
    }
    if (runs.empty() && !pipelines) break;
    if (std::chrono::steady_clock::now() >= until) {
      for (const auto& run : runs) run->cancel();
      break;
    }
    if (runs.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    else runs.front()->wait(std::chrono::milliseconds(50));
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
  if (r.kind == kPipelineKind) return run_pipeline_job(id, r.pipeline, r.body);
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

void JobRunner::run_pipeline_job(const std::string& id, const std::string& name, const std::string& body) {
  if (!pipelines_.run) {
    store_.fail(id, "this server runs no pipelines");
    return;
  }
  auto stop = std::make_shared<std::atomic<bool>>(false);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_pipelines_[id] = stop;
  }
  if (const auto now = store_.get(id); now && now->status == JobStatus::kCancelled) stop->store(true);
  std::optional<std::string> result, error;
  try {
    result = pipelines_.run(name, ojson::parse(body), stop.get()).dump(-1, ' ', false, ojson::error_handler_t::replace);
  } catch (const ApiException& e) {
    error = e.error().message;
  } catch (const std::exception& e) {
    error = std::string("internal error: ") + e.what();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_pipelines_.erase(id);
  }
  if (stop->load() && !result) error = kShutdownMessage;  // a no-op when a DELETE cancelled it
  if (result) store_.succeed(id, *result);
  else store_.fail(id, *error);
}

}  // namespace hearth::service
