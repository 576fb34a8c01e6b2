// hearth serve: the OpenAI-compatible HTTP server. Models are loaded on first
// use and kept within the memory budget; SIGTERM or SIGINT shuts it down
// gracefully (no new connections, running requests finish or are cancelled at
// the deadline, the job store is closed).
#include <pthread.h>
#include <signal.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/memory_flags.h"
#include "cli/model_path.h"
#include "core/byte_size.h"
#include "core/error.h"
#include "runtime/kv_pool.h"
#include "plugins/plugin_dirs.h"
#include "service/http_server.h"

namespace hearth::cli {
namespace {

struct ServeFlags {
  std::vector<std::string> models;
  std::string host = "127.0.0.1";
  int port = 8080;
  MemoryFlags memory;
  int parallel = 4;
  int64_t n_ctx = 0;
  int64_t kv_size = 0;
  int64_t batch = 128;
  int threads = 0;
  int64_t queue = 64;
  double keep_alive = 300;
  std::string api_key;
  std::string jobs_db;
  int job_workers = 0;
  double shutdown_timeout = 30;
  int http_threads = 64;
  std::vector<std::string> plugin_dirs;
  std::vector<std::string> pipeline_dirs;
  double plugin_timeout = 600;
};

// "id=path" names a model; otherwise the id is the file name without .gguf.
service::ModelEntry model_entry(const std::string& spec) {
  std::string id, where = spec;
  if (const size_t eq = spec.find('='); eq != std::string::npos && eq > 0) {
    id = spec.substr(0, eq);
    where = spec.substr(eq + 1);
  }
  const std::string path = resolve_model(where);
  if (id.empty()) {
    id = std::filesystem::path(path).filename().string();
    if (id.size() > 5 && id.compare(id.size() - 5, 5, ".gguf") == 0) id.resize(id.size() - 5);
  }
  return {id, path};
}

std::chrono::milliseconds seconds_flag(double s) {
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000.0));
}

int serve(const ServeFlags& f) {
  if (f.port < 0 || f.port > 65535) throw Error(ErrorCode::kInvalidArgument, "--port must be within 0..65535");
  if (f.queue < 0 || f.queue > 1000000) throw Error(ErrorCode::kInvalidArgument, "--queue must be within 0..1000000");
  if (f.shutdown_timeout < 0 || f.shutdown_timeout > 3600)
    throw Error(ErrorCode::kInvalidArgument, "--shutdown-timeout must be within 0..3600 seconds");
  if (f.keep_alive > 1e7) throw Error(ErrorCode::kInvalidArgument, "--keep-alive is absurdly long");
  if (f.http_threads < 1 || f.http_threads > 4096)
    throw Error(ErrorCode::kInvalidArgument, "--http-threads must be within 1..4096");
  if (f.job_workers < 0 || f.job_workers > 256)
    throw Error(ErrorCode::kInvalidArgument, "--job-workers must be within 0..256");
  if (!(f.plugin_timeout > 0 && f.plugin_timeout <= 86400))
    throw Error(ErrorCode::kInvalidArgument, "--plugin-timeout must be within (0, 86400] seconds");
  for (const auto& d : f.plugin_dirs) plugins::plugin_search_dirs({d});        // each must exist
  for (const auto& d : f.pipeline_dirs)
    if (std::error_code ec; !std::filesystem::is_directory(d, ec))
      throw Error(ErrorCode::kNotFound, d + ": no such pipeline directory");

  std::vector<service::ModelEntry> models;
  if (f.models.empty()) models.push_back(model_entry(""));
  for (const std::string& m : f.models) models.push_back(model_entry(m));

  service::SchedulerOptions so;
  so.memory_budget = f.memory.max_memory.empty() ? 0 : parse_byte_size(f.memory.max_memory);
  so.engine.max_sequences = f.parallel;
  so.engine.n_ctx = f.n_ctx;
  so.engine.kv_positions = f.kv_size;
  so.engine.step_tokens = f.batch;
  so.engine.n_threads = f.threads;
  so.engine.kv_type = runtime::parse_kv_type(f.memory.kv_type);
  so.engine.max_waiting = f.queue;
  so.load.read_into_heap = f.memory.no_mmap;
  so.load.lock = f.memory.mlock;
  so.keep_alive = f.keep_alive < 0 ? std::chrono::milliseconds(-1) : seconds_flag(f.keep_alive);

  // Signals go to one thread that waits for them; every other thread (created
  // below, and inheriting this mask) has them blocked.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that goes away is a failed write, not the end of the server

  service::Scheduler scheduler(models, so);
  // Check every model up front (a wrong path or a model over the budget
  // should fail now, not at the first request), without keeping any loaded.
  for (const auto& m : models) runtime::engine_shape(*models::Model::load(m.path, so.load), so.engine);

  const std::string db = f.jobs_db.empty() ? hearth_home() + "/jobs.sqlite" : f.jobs_db;
  service::JobStore store(db);
  if (store.interrupted_on_open() > 0)
    std::fprintf(stderr, "hearth serve: %lld job(s) left unfinished by the last run are marked failed\n",
                 static_cast<long long>(store.interrupted_on_open()));
  service::ServiceMetrics metrics(scheduler);
  service::JobRunner jobs(store, scheduler, f.job_workers > 0 ? f.job_workers : f.parallel,
                          metrics.completion_observer());
  metrics.watch(jobs);
  service::HttpOptions ho;
  ho.host = f.host;
  ho.port = f.port;
  ho.api_key = f.api_key;
  if (ho.api_key.empty())
    if (const char* key = std::getenv("HEARTH_API_KEY"); key && *key) ho.api_key = key;
  ho.threads = f.http_threads;
  ho.default_model = models.front().id;
  ho.plugins.plugin_dirs = f.plugin_dirs;
  ho.plugins.call_timeout = std::chrono::milliseconds(static_cast<long long>(f.plugin_timeout * 1000));
  ho.pipeline_dirs = f.pipeline_dirs;
  service::HttpServer server(scheduler, jobs, metrics, ho);
  const int port = server.bind();

  std::atomic<bool> signalled{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    signalled = true;
    std::fprintf(stderr, "hearth serve: %s: shutting down (up to %.0f s for running requests)\n",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT", f.shutdown_timeout);
    // New work is refused at once; running requests get the deadline; only
    // then does the listener close (closing it cuts off streaming responses).
    server.refuse_new_work();
    const auto deadline = seconds_flag(f.shutdown_timeout);
    std::thread engines([&] { scheduler.drain(deadline); });
    jobs.drain(deadline);
    engines.join();
    server.stop();
  });

  std::string names;
  for (const auto& m : models) names += (names.empty() ? "" : ", ") + m.id;
  std::fprintf(stderr, "hearth serve: listening on http://%s:%d (models: %s; memory budget %s)\n", f.host.c_str(),
               port, names.c_str(), format_bytes(scheduler.memory_budget()).c_str());
  std::printf("listening on http://%s:%d\n", f.host.c_str(), port);
  std::fflush(stdout);
  server.serve();
  if (!signalled) kill(getpid(), SIGTERM);  // serving ended on its own: let the waiter shut the rest down
  waiter.join();
  std::fprintf(stderr, "hearth serve: stopped\n");
  return 0;
}

}  // namespace

Command add_serve_command(CLI::App& root) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* app = root.add_subcommand("serve", "OpenAI-compatible HTTP server (chat, completions, jobs, metrics)");
  app->add_option("-m,--model", f->models,
                  "a model to serve: a GGUF path or store name, optionally as ID=PATH; repeat for several "
                  "(default: the default model)");
  app->add_option("--host", f->host, "address to listen on (loopback by default)")->capture_default_str();
  app->add_option("--port", f->port, "port (0: any free one, printed on stdout)")->capture_default_str();
  add_memory_flags(app, f->memory);
  app->add_option("--parallel", f->parallel, "sequences of one model decoded together")->capture_default_str();
  app->add_option("-c,--ctx-size", f->n_ctx, "context of one request (0: the model's, at most 4096)")
      ->capture_default_str();
  app->add_option("--kv-size", f->kv_size, "positions in each model's shared KV pool (0: ctx-size x parallel)")
      ->capture_default_str();
  app->add_option("-b,--batch", f->batch, "most tokens in one forward pass (prompt chunks + decoding rows)")
      ->capture_default_str();
  app->add_option("-t,--threads", f->threads, "threads per model (0: all)")->capture_default_str();
  app->add_option("--queue", f->queue, "requests waiting per model before 429")->capture_default_str();
  app->add_option("--keep-alive", f->keep_alive, "seconds an idle model stays loaded (negative: until evicted)")
      ->capture_default_str();
  app->add_option("--api-key", f->api_key, "require 'Authorization: Bearer KEY' (also $HEARTH_API_KEY)");
  app->add_option("--jobs-db", f->jobs_db, "SQLite file of async jobs (default: $HEARTH_HOME/jobs.sqlite)");
  app->add_option("--job-workers", f->job_workers, "jobs run at once (0: --parallel)")->capture_default_str();
  app->add_option("--shutdown-timeout", f->shutdown_timeout, "seconds running requests get on SIGTERM")
      ->capture_default_str();
  app->add_option("--http-threads", f->http_threads, "connections served at once")->capture_default_str();
  app->add_option("--plugin-dir", f->plugin_dirs, "also search this directory for plugins (first; repeatable)");
  app->add_option("--pipeline-dir", f->pipeline_dirs, "also search this directory for pipelines (first; repeatable)");
  app->add_option("--plugin-timeout", f->plugin_timeout, "seconds before one plugin call is killed")
      ->capture_default_str();
  return {app, [f] { return serve(*f); }};
}

}  // namespace hearth::cli
