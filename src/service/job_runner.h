// JobRunner: the asynchronous jobs of POST /v1/jobs. A job is a chat or text
// completion request, stored in the JobStore, run in the background on the
// model's engine (as many at once as workers), its response stored as the
// result; DELETE cancels it, queued or running.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "service/completion.h"
#include "service/job_store.h"
#include "service/scheduler.h"

namespace hearth::service {

class JobRunner {
 public:
  // on_finished is passed to every run (metrics).
  JobRunner(JobStore& store, Scheduler& scheduler, int workers, CompletionRun::Finished on_finished = {});
  ~JobRunner();  // drains with no grace
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // The body is {"endpoint": "/v1/chat/completions" or "/v1/completions",
  // "body": <that endpoint's request, without streaming>}. Throws ApiException
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
  void worker();
  void run_job(const std::string& id);

  JobStore& store_;
  Scheduler& scheduler_;
  CompletionRun::Finished on_finished_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  std::map<std::string, std::shared_ptr<CompletionRun>> running_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace hearth::service
