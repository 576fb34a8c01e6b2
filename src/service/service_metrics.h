// ServiceMetrics: what GET /metrics reports about the server — requests by
// endpoint and status, tokens and latencies per model, and, read at scrape
// time, queue depth, running sequences, resident models and their memory, jobs.
#pragma once

#include <string>

#include "runtime/engine.h"
#include "service/completion.h"
#include "service/job_runner.h"
#include "service/metrics.h"
#include "service/scheduler.h"

namespace hearth::service {

class ServiceMetrics {
 public:
  explicit ServiceMetrics(const Scheduler& scheduler);
  // Adds the job runner's queue to what is reported.
  void watch(const JobRunner& jobs);

  void request_done(const std::string& endpoint, int status, double seconds);
  void completion_done(const std::string& model, int64_t prompt_tokens, const runtime::EngineResult& result);
  // What CompletionRun::start calls when a run ends.
  CompletionRun::Finished completion_observer();
  std::string render() const { return registry_.render(); }

 private:
  MetricsRegistry registry_;
  CounterFamily& requests_;
  HistogramFamily& request_seconds_;
  CounterFamily& completions_;
  CounterFamily& prompt_tokens_;
  CounterFamily& generated_tokens_;
  HistogramFamily& first_token_seconds_;
  HistogramFamily& queue_seconds_;
  HistogramFamily& tokens_per_second_;
};

}  // namespace hearth::service
