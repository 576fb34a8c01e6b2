#include "service/service_metrics.h"

namespace hearth::service {
namespace {

// Latencies from a few milliseconds (a cached short answer) to minutes (a long
// generation on a slow machine).
std::vector<double> latency_buckets() { return exponential_buckets(0.005, 2.0, 16); }

GaugeCallback per_model(const Scheduler& scheduler, double (*value)(const ModelStatus&)) {
  return [&scheduler, value] {
    std::vector<GaugeSample> samples;
    for (const ModelStatus& m : scheduler.status()) samples.push_back({{m.id}, value(m)});
    return samples;
  };
}

}  // namespace

ServiceMetrics::ServiceMetrics(const Scheduler& scheduler)
    : requests_(registry_.counter("hearth_http_requests_total", "HTTP requests answered, by endpoint and status",
                                  {"endpoint", "status"})),
      request_seconds_(registry_.histogram("hearth_http_request_duration_seconds",
                                           "Time from a request's arrival to the end of its answer", {"endpoint"},
                                           latency_buckets())),
      completions_(registry_.counter("hearth_completions_total", "Completions finished, by model and finish reason",
                                     {"model", "finish_reason"})),
      prompt_tokens_(registry_.counter("hearth_prompt_tokens_total", "Prompt tokens of finished completions",
                                       {"model"})),
      generated_tokens_(registry_.counter("hearth_generated_tokens_total", "Tokens generated", {"model"})),
      first_token_seconds_(registry_.histogram("hearth_time_to_first_token_seconds",
                                               "Time from submission to the first generated token", {"model"},
                                               latency_buckets())),
      queue_seconds_(registry_.histogram("hearth_queue_wait_seconds",
                                         "Time a request waited for a free sequence", {"model"}, latency_buckets())),
      tokens_per_second_(registry_.histogram("hearth_generation_tokens_per_second",
                                             "Generation speed of one completion after its first token", {"model"},
                                             exponential_buckets(1, 2, 12))) {
  registry_.gauge_callback("hearth_queue_depth", "Requests waiting for a free sequence", {"model"},
                           per_model(scheduler, [](const ModelStatus& m) { return double(m.engine.waiting); }));
  registry_.gauge_callback("hearth_active_sequences", "Sequences being decoded", {"model"},
                           per_model(scheduler, [](const ModelStatus& m) { return double(m.engine.active); }));
  registry_.gauge_callback("hearth_model_resident", "1 while the model is loaded", {"model"},
                           per_model(scheduler, [](const ModelStatus& m) { return m.resident ? 1.0 : 0.0; }));
  registry_.gauge_callback("hearth_model_memory_bytes", "Memory a resident model counts against the budget",
                           {"model"}, per_model(scheduler, [](const ModelStatus& m) { return double(m.bytes); }));
  registry_.gauge_callback("hearth_kv_blocks_in_use", "KV cache blocks holding positions", {"model"},
                           per_model(scheduler, [](const ModelStatus& m) { return double(m.engine.kv_blocks_in_use); }));
  registry_.gauge_callback("hearth_kv_blocks", "KV cache blocks in the model's pool", {"model"},
                           per_model(scheduler, [](const ModelStatus& m) { return double(m.engine.kv_blocks); }));
  registry_.gauge_callback("hearth_model_loads_total", "Times the model was loaded", {"model"},
                           per_model(scheduler, [](const ModelStatus& m) { return double(m.loads); }));
  registry_.gauge_callback("hearth_model_evictions_total", "Times the model was unloaded", {"model"},
                           per_model(scheduler, [](const ModelStatus& m) { return double(m.evictions); }));
  registry_.gauge_callback("hearth_memory_budget_bytes", "Memory budget for resident models",
                           [&scheduler] { return double(scheduler.memory_budget()); });
}

void ServiceMetrics::watch(const JobRunner& jobs) {
  registry_.gauge_callback("hearth_jobs", "Async jobs in this process, by state", {"state"}, [&jobs] {
    return std::vector<GaugeSample>{{{"queued"}, double(jobs.queued())}, {{"running"}, double(jobs.running())}};
  });
}

void ServiceMetrics::request_done(const std::string& endpoint, int status, double seconds) {
  requests_.with({endpoint, std::to_string(status)}).inc();
  request_seconds_.with({endpoint}).observe(seconds);
}

CompletionRun::Finished ServiceMetrics::completion_observer() {
  return [this](const std::string& model, int64_t prompt_tokens, const runtime::EngineResult& r) {
    completion_done(model, prompt_tokens, r);
  };
}

void ServiceMetrics::completion_done(const std::string& model, int64_t prompt_tokens, const runtime::EngineResult& r) {
  completions_.with({model, r.finish_reason}).inc();
  prompt_tokens_.with({model}).inc(static_cast<double>(prompt_tokens));
  generated_tokens_.with({model}).inc(static_cast<double>(r.tokens.size()));
  queue_seconds_.with({model}).observe(r.queued_ms / 1000.0);
  if (!r.tokens.empty()) {
    first_token_seconds_.with({model}).observe(r.first_token_ms / 1000.0);
    const double gen_ms = r.total_ms - r.first_token_ms;
    if (r.tokens.size() > 1 && gen_ms > 0)
      tokens_per_second_.with({model}).observe(static_cast<double>(r.tokens.size() - 1) * 1000.0 / gen_ms);
  }
}

}  // namespace hearth::service
