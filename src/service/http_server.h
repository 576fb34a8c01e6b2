// HttpServer: the OpenAI-compatible HTTP API on cpp-httplib — chat and text
// completions (streamed as server-sent events or whole, with plugin tools),
// models, audio transcriptions, OCR, pipelines, async jobs, health and
// Prometheus metrics — with bearer-key authentication and a graceful shutdown.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "service/job_runner.h"
#include "service/pipeline_service.h"
#include "service/plugin_access.h"
#include "service/plugin_tools.h"
#include "service/scheduler.h"
#include "service/service_metrics.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace hearth::service {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;        // 0: any free port (see port())
  std::string api_key;    // non-empty: every endpoint but /health needs "Authorization: Bearer <key>"
  int threads = 64;       // connections served at once (each streaming client holds one)
  std::string default_model;       // the model of pipeline LLM steps that name none
  PluginAccessOptions plugins;     // where plugins are found, how long a call may take
  std::vector<std::string> pipeline_dirs;  // searched before the default ones
};

class HttpServer {
 public:
  HttpServer(Scheduler& scheduler, JobRunner& jobs, ServiceMetrics& metrics, HttpOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the address; throws Error(kIo) naming it when that fails. Returns the port.
  int bind();
  // Serves until stop(); returns once every connection has closed.
  void serve();
  // Refuses new work from now on (503; /health says shutting_down); requests
  // already running go on (the scheduler's drain decides how long).
  void refuse_new_work() { stopping_ = true; }
  // Stops accepting connections and ends serve() once every connection has
  // closed. Completion responses still open get up to `grace` to write their
  // end first (a stream still running then is cut off, so drain first).
  void stop(std::chrono::steady_clock::duration grace = std::chrono::seconds(2));
  int port() const { return port_; }

 private:
  void routes();
  bool authorized(const httplib::Request& req) const;
  void completion(const httplib::Request& req, httplib::Response& res, bool chat);
  void plugin_routes();
  void transcription(const httplib::Request& req, httplib::Response& res);
  void ocr(const httplib::Request& req, httplib::Response& res);
  void pipeline(const httplib::Request& req, httplib::Response& res);

  Scheduler& scheduler_;
  JobRunner& jobs_;
  ServiceMetrics& metrics_;
  HttpOptions options_;
  PluginAccess plugins_;
  PipelineService pipelines_;
  PluginToolChat tool_chat_;
  std::unique_ptr<httplib::Server> server_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> open_responses_{0};  // completion responses not yet released
  int port_ = 0;
};

}  // namespace hearth::service
