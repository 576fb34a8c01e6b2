#include "service/http_server.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <thread>

#include "core/error.h"
#include "plugins/plugin_calls.h"
#include "service/media_request.h"

namespace hearth::service {
namespace {

using ojson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long a non-streaming request is answered as one plain response before
// the server commits to a chunked one (whose whitespace keep-alives find out
// that a client has gone, so that its generation is cancelled).
constexpr milliseconds kPlainResponseWait{1000};
constexpr milliseconds kKeepAliveEvery{1000};
constexpr milliseconds kPoll{100};

thread_local Clock::time_point request_started;

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

void send_json(httplib::Response& res, int status, const ojson& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  if (e.retry_after > 0) res.set_header("Retry-After", std::to_string(e.retry_after));
  res.set_content(e.body(), "application/json");
}

// The route a path belongs to, for metrics labels (ids folded away).
std::string endpoint_label(const std::string& path) {
  static constexpr std::string_view kExact[] = {"/v1/chat/completions", "/v1/completions", "/v1/models",
                                                "/v1/jobs", "/health", "/metrics", "/v1/audio/transcriptions",
                                                "/v1/ocr", "/v1/pipelines"};
  for (std::string_view e : kExact)
    if (path == e) return std::string(e);
  if (path.rfind("/v1/models/", 0) == 0) return "/v1/models/{model}";
  if (path.rfind("/v1/jobs/", 0) == 0) return "/v1/jobs/{id}";
  if (path.rfind("/v1/pipelines/", 0) == 0) return "/v1/pipelines/{name}";
  return "other";
}

bool equal_constant_time(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % std::max<size_t>(1, b.size())]);
  return diff == 0;
}

ojson model_object(const ModelStatus& m) {
  return {{"id", m.id}, {"object", "model"}, {"created", m.created}, {"owned_by", "hearth"}};
}

int64_t query_int(const httplib::Request& req, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  if (!req.has_param(key)) return fallback;
  const std::string v = req.get_param_value(key);
  int64_t x = 0;
  size_t used = 0;
  try {
    x = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || used == 0 || x < lo || x > hi)
    throw ApiException(ApiError::invalid("Invalid value for '" + std::string(key) + "': expected an integer within [" +
                                             std::to_string(lo) + ", " + std::to_string(hi) + "].",
                                         key, "invalid_value"));
  return x;
}

bool is_multipart(const httplib::Request& req) {
  return req.get_header_value("Content-Type").rfind("multipart/form-data", 0) == 0;
}

// The parts of a multipart/form-data body, in the order sent; 400 when the
// body is not one.
std::vector<FormField> form_fields(const httplib::Request& req) {
  if (!is_multipart(req))
    throw ApiException(ApiError::invalid("This endpoint takes multipart/form-data (a 'file' part and text fields); "
                                         "the request's Content-Type is " +
                                             quote_for_error(req.get_header_value("Content-Type").empty()
                                                                 ? std::string("missing")
                                                                 : req.get_header_value("Content-Type")) + ".",
                                         "", "invalid_content_type"));
  std::vector<FormField> fields;
  for (const auto& [name, part] : req.files) fields.push_back({name, part.filename, part.content_type, part.content});
  return fields;
}

}  // namespace

HttpServer::HttpServer(Scheduler& scheduler, JobRunner& jobs, ServiceMetrics& metrics, HttpOptions options)
    : scheduler_(scheduler),
      jobs_(jobs),
      metrics_(metrics),
      options_(std::move(options)),
      plugins_(options_.plugins),
      pipelines_(scheduler, plugins_, options_.default_model, options_.pipeline_dirs, metrics.completion_observer()),
      tool_chat_(scheduler, plugins_, metrics.completion_observer()),
      server_(std::make_unique<httplib::Server>()) {
  const int threads = std::max(4, options_.threads);
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // Uploads may be larger than JSON bodies (parse_json_body holds those to kMaxBodyBytes).
  server_->set_payload_max_length(kMaxUploadBytes + (size_t{1} << 20));
  jobs_.enable_pipelines({[this](const std::string& name, const ojson& body) {
                            return pipelines_.canonical_request(name, body);
                          },
                          [this](const std::string& name, const ojson& canonical, const std::atomic<bool>* stop) {
                            return pipelines_.run(name, canonical, stop);
                          }});
  server_->set_keep_alive_max_count(1000);
  server_->set_read_timeout(30, 0);
  server_->set_write_timeout(30, 0);
  routes();
}

HttpServer::~HttpServer() = default;

bool HttpServer::authorized(const httplib::Request& req) const {
  if (options_.api_key.empty() || req.path == "/health") return true;
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0) return false;
  return equal_constant_time(header.substr(kBearer.size()), options_.api_key);
}

void HttpServer::routes() {
  httplib::Server& s = *server_;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    request_started = Clock::now();
    if (authorized(req)) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError::unauthorized(req.has_header("Authorization")
                                               ? "Incorrect API key provided."
                                               : "You didn't provide an API key. Send it as 'Authorization: Bearer KEY'."));
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const double seconds = std::chrono::duration<double>(Clock::now() - request_started).count();
    metrics_.request_done(endpoint_label(req.path), res.status, seconds);
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    ApiError e;
    if (res.status == 413) {
      e = ApiError::too_large(kMaxUploadBytes);
    } else if (res.status == 404) {
      e = ApiError::not_found("Unknown request URL: " + req.method + " " + quote_for_error(req.path) + ".");
    } else if (res.status >= 500) {
      e = ApiError::server("The server failed to answer.");
      e.status = res.status;
    } else {
      e = ApiError::invalid("The HTTP request could not be understood.");
      e.status = res.status;
    }
    send_error(res, e);
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, ApiError::server("The server had an error while processing your request: " + what));
  });

  s.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (stopping_) return send_json(res, 503, {{"status", "shutting_down"}});
    send_json(res, 200, {{"status", "ok"}});
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(), std::string(kMetricsContentType));
  });
  s.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    ojson data = ojson::array();
    for (const ModelStatus& m : scheduler_.status()) data.push_back(model_object(m));
    send_json(res, 200, {{"object", "list"}, {"data", data}});
  });
  s.Get(R"(/v1/models/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    for (const ModelStatus& m : scheduler_.status())
      if (m.id == id) return send_json(res, 200, model_object(m));
    send_error(res, ApiError::model_not_found(id));
  });
  s.Post("/v1/chat/completions",
         [this](const httplib::Request& req, httplib::Response& res) { completion(req, res, /*chat=*/true); });
  s.Post("/v1/completions",
         [this](const httplib::Request& req, httplib::Response& res) { completion(req, res, /*chat=*/false); });

  plugin_routes();

  s.Post("/v1/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    if (stopping_) return send_error(res, ApiError::unavailable("The server is shutting down.", 5));
    try {
      send_json(res, 200, to_json(jobs_.submit(req.body)));
    } catch (const ApiException& e) {
      send_error(res, e.error());
    }
  });
  s.Get("/v1/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    try {
      const auto limit = static_cast<size_t>(query_int(req, "limit", 20, 1, 100));
      std::optional<std::string> after;
      if (req.has_param("after")) after = req.get_param_value("after");
      std::vector<Job> page;
      try {
        page = jobs_.store().list(limit + 1, after);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kNotFound) throw;
        throw ApiException(ApiError::invalid("Invalid value for 'after': no job with that id.", "after", "invalid_value"));
      }
      const bool more = page.size() > limit;
      if (more) page.pop_back();
      ojson data = ojson::array();
      for (const Job& j : page) data.push_back(to_json(j));
      send_json(res, 200,
                {{"object", "list"},
                 {"data", data},
                 {"first_id", page.empty() ? ojson(nullptr) : ojson(page.front().id)},
                 {"last_id", page.empty() ? ojson(nullptr) : ojson(page.back().id)},
                 {"has_more", more}});
    } catch (const ApiException& e) {
      send_error(res, e.error());
    }
  });
  s.Get(R"(/v1/jobs/([A-Za-z0-9_\-]+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    if (const auto job = jobs_.store().get(id)) return send_json(res, 200, to_json(*job));
    send_error(res, ApiError::not_found("No job with id " + quote_for_error(id) + "."));
  });
  s.Delete(R"(/v1/jobs/([A-Za-z0-9_\-]+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    try {
      jobs_.cancel(id);
      // Retention may delete a finished job between the two calls.
      const auto job = jobs_.store().get(id);
      if (!job) return send_error(res, ApiError::not_found("No job with id " + quote_for_error(id) + "."));
      send_json(res, 200, to_json(*job));
    } catch (const ApiException& e) {
      send_error(res, e.error());
    }
  });
}

void HttpServer::completion(const httplib::Request& req, httplib::Response& res, bool chat) {
  if (stopping_) return send_error(res, ApiError::unavailable("The server is shutting down.", 5));
  std::shared_ptr<CompletionRun> run;
  try {
    if (chat) {
      ChatCompletionRequest r = parse_chat_completion(req.body);
      if (!r.plugin_tools.empty()) {
        // Answered whole: the plugin calls happen between the model's turns.
        // A shutdown's drain of the scheduler ends the generation under way.
        return send_json(res, 200, tool_chat_.complete(std::move(r)));
      }
      run = CompletionRun::start(plan_chat(scheduler_, r), metrics_.completion_observer());
    } else {
      run = CompletionRun::start(plan_text(scheduler_, parse_completion(req.body)), metrics_.completion_observer());
    }
  } catch (const ApiException& e) {
    return send_error(res, e.error());
  }
  // Counted while its response is open, so that stop() lets it write its end.
  open_responses_.fetch_add(1);
  auto release = [this, run](bool) {
    if (!run->done()) run->cancel();  // the client went away: its KV blocks are freed now
    open_responses_.fetch_sub(1);
  };

  if (run->plan().stream) {
    auto encoder = std::make_shared<StreamEncoder>(run->plan());
    auto began = std::make_shared<bool>(false);
    auto last_write = std::make_shared<Clock::time_point>(Clock::now());
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [run, encoder, began, last_write](size_t, httplib::DataSink& sink) {
          std::string out;
          if (!*began) {
            out = encoder->begin();
            *began = true;
          }
          std::string text = run->take_text(kPoll);
          const bool done = run->done();
          if (done) text += run->take_text(milliseconds(0));
          out += encoder->text(text);
          if (done) {
            const auto error = run_error(run->result());
            out += error ? StreamEncoder::error_event(*error) : encoder->end(run->result());
          } else if (out.empty() && Clock::now() - *last_write >= kKeepAliveEvery) {
            out = ": keep-alive\n\n";  // an SSE comment: finds out whether the client is still there
          }
          if (!out.empty()) {
            if (!sink.write(out.data(), out.size())) {
              run->cancel();
              return false;
            }
            *last_write = Clock::now();
          }
          if (done) sink.done();
          return true;
        },
        release);
    return;
  }

  auto answer = [run](int& status) {
    if (const auto error = run_error(run->result())) {
      status = error->status;
      return error->body();
    }
    status = 200;
    return dump(completion_response(run->plan(), run->result()));
  };
  if (run->wait(kPlainResponseWait)) {
    int status = 200;
    res.set_content(answer(status), "application/json");
    res.status = status;
    release(true);
    return;
  }
  // Leading whitespace is valid JSON: it keeps the connection checked while the
  // status line (200) is already sent.
  auto last_write = std::make_shared<Clock::time_point>(Clock::now());
  res.set_chunked_content_provider(
      "application/json",
      [run, answer, last_write](size_t, httplib::DataSink& sink) {
        if (run->wait(kPoll)) {
          int status = 200;
          const std::string body = answer(status);
          if (!sink.write(body.data(), body.size())) return false;
          sink.done();
          return true;
        }
        if (Clock::now() - *last_write >= kKeepAliveEvery) {
          if (!sink.write(" ", 1)) {
            run->cancel();
            return false;
          }
          *last_write = Clock::now();
        }
        return true;
      },
      release);
}

void HttpServer::plugin_routes() {
  httplib::Server& s = *server_;
  s.Post("/v1/audio/transcriptions",
         [this](const httplib::Request& req, httplib::Response& res) { transcription(req, res); });
  s.Post("/v1/ocr", [this](const httplib::Request& req, httplib::Response& res) { ocr(req, res); });
  s.Get("/v1/pipelines", [this](const httplib::Request&, httplib::Response& res) { send_json(res, 200, pipelines_.list()); });
  s.Post(R"(/v1/pipelines/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) { pipeline(req, res); });
}

void HttpServer::transcription(const httplib::Request& req, httplib::Response& res) {
  if (stopping_) return send_error(res, ApiError::unavailable("The server is shutting down.", 5));
  std::unique_ptr<TempUpload> upload;
  try {
    const std::vector<FormField> fields = form_fields(req);
    const TranscriptionRequest r = parse_transcription_request(fields);
    upload = std::make_unique<TempUpload>(r.file->content, r.file->filename);
    std::unique_ptr<plugins::PluginHost> host = plugins_.host();
    plugins::TranscribeOptions o;
    // "whisper-1" and other OpenAI names mean the first ASR plugin; a plugin's own name picks it.
    for (const auto& f : host->found())
      if (f.manifest && f.manifest->name == r.model) o.plugin = r.model;
    o.language = r.language;
    o.word_timestamps = r.word_timestamps;
    const plugins::Transcript t = plugins::transcribe_audio(*host, upload->path(), o);
    const std::string body = plugins::render_transcript(t, r.format, r.word_timestamps);
    res.status = 200;
    res.set_content(body, plugins::transcript_content_type(r.format));
  } catch (const ApiException& e) {
    send_error(res, e.error());
  } catch (const Error& e) {
    send_error(res, plugin_api_error(e, {upload.get()}));
  }
}

void HttpServer::ocr(const httplib::Request& req, httplib::Response& res) {
  if (stopping_) return send_error(res, ApiError::unavailable("The server is shutting down.", 5));
  std::unique_ptr<TempUpload> upload;
  try {
    const std::vector<FormField> fields = form_fields(req);
    const OcrRequest r = parse_ocr_request(fields);
    upload = std::make_unique<TempUpload>(r.file->content, r.file->filename);
    std::unique_ptr<plugins::PluginHost> host = plugins_.host();
    plugins::OcrOptions o;
    o.plugin = r.plugin;
    o.language = r.language;
    o.dpi = r.dpi;
    std::string plugin;
    const nlohmann::json out = plugins::ocr_image(*host, upload->path(), o, &plugin);
    ojson body = {{"object", "ocr"}, {"plugin", plugin}, {"filename", upload->client_filename()}};
    for (const auto& [k, v] : out.items()) body[k] = v;
    send_json(res, 200, body);
  } catch (const ApiException& e) {
    send_error(res, e.error());
  } catch (const Error& e) {
    send_error(res, plugin_api_error(e, {upload.get()}));
  }
}

void HttpServer::pipeline(const httplib::Request& req, httplib::Response& res) {
  if (stopping_) return send_error(res, ApiError::unavailable("The server is shutting down.", 5));
  const std::string name = req.matches[1];
  try {
    ojson canonical;
    bool async = false;
    if (is_multipart(req)) {
      const std::vector<FormField> fields = form_fields(req);
      canonical = pipelines_.canonical_request(name, fields);
      for (const FormField& f : fields) async = async || (f.name == "async" && f.content == "true" && f.filename.empty());
    } else {
      const ojson body = parse_json_body(req.body);
      async = PipelineService::wants_async(body);
      canonical = pipelines_.canonical_request(name, body);
    }
    if (async) {
      const ojson job = {{"endpoint", "/v1/pipelines/" + name}, {"body", canonical}};
      return send_json(res, 200, to_json(jobs_.submit(job.dump())));
    }
    send_json(res, 200, pipelines_.run(name, canonical));
  } catch (const ApiException& e) {
    send_error(res, e.error());
  }
}

int HttpServer::bind() {
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
    if (port_ <= 0) throw Error(ErrorCode::kIo, "cannot listen on " + options_.host + " (any port)");
  } else {
    if (!server_->bind_to_port(options_.host, options_.port))
      throw Error(ErrorCode::kIo, "cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                                      " (is the port in use, or the address not this machine's?)");
    port_ = options_.port;
  }
  return port_;
}

void HttpServer::serve() { server_->listen_after_bind(); }

void HttpServer::stop(std::chrono::steady_clock::duration grace) {
  stopping_ = true;
  // Runs are finished (or cut off) by now, but a response may still be
  // between polls: closing the listener first would truncate its stream.
  const auto until = Clock::now() + grace;
  while (open_responses_.load() > 0 && Clock::now() < until) std::this_thread::sleep_for(milliseconds(5));
  server_->stop();
}

}  // namespace hearth::service
