// JobRunner: the asynchronous jobs of POST /v1/jobs. A job is a chat or text
// completion request (run on the model's engine) or a pipeline run, stored in
// the JobStore, run in the background (as many at once as workers), its
// response stored as the result; DELETE cancels it, queued or running.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/completion.h"
#include "service/job_store.h"
#include "service/scheduler.h"

namespace hearth::service {

// How pipeline jobs are checked and run (the HTTP layer's PipelineService):
// both take the pipeline's name and the request body, and throw ApiException.
struct PipelineJobs {
  std::function<nlohmann::ordered_json(const std::string& name, const nlohmann::ordered_json& body)> canonical;
  std::function<nlohmann::ordered_json(const std::string& name, const nlohmann::ordered_json& canonical,
                                       const std::atomic<bool>* stop)> run;
};

class JobRunner {
 public:
  // on_finished is passed to every run (metrics).
  JobRunner(JobStore& store, Scheduler& scheduler, int workers, CompletionRun::Finished on_finished = {});
  ~JobRunner();  // drains with no grace
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Pipeline jobs are refused until this is called (before serving).
  void enable_pipelines(PipelineJobs pipelines) { pipelines_ = std::move(pipelines); }

  // The body is {"endpoint": "/v1/chat/completions", "/v1/completions" or
  // "/v1/pipelines/NAME", "body": <that endpoint's request (JSON), without
  // streaming>}. Throws ApiException
  // (400 naming the parameter, 404 for a model not served, 503 when stopping);
  // returns the queued job.
  Job submit(std::string_view body);
  // Cancels a queued or running job; false when it had already finished.
  // Throws ApiException 404 for an unknown id.
  bool cancel(const std::string& id);
  // Stops taking jobs, lets running ones finish until the deadline (then they
  // fail as interrupted), and fails the ones still queued; returns when the
  // workers have stopped.
  void drain(std::chrono::steady_clock::duration deadline);

  int64_t queued() const;
  int64_t running() const;
  JobStore& store() { return store_; }

 private:
  Job enqueue(const std::string& kind, const std::string& request_json);
  void worker();
  void run_job(const std::string& id);
  void run_pipeline_job(const std::string& id, const std::string& name, const std::string& body);

  JobStore& store_;
  Scheduler& scheduler_;
  CompletionRun::Finished on_finished_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  std::map<std::string, std::shared_ptr<CompletionRun>> running_;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> running_pipelines_;  // their stop flags
  PipelineJobs pipelines_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace hearth::service
