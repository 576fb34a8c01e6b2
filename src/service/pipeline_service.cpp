#include "service/pipeline_service.h"

#include <cctype>
#include <map>
#include <memory>

#include "core/base64.h"
#include "core/error.h"
#include "service/pipeline_catalog.h"
#include "service/pipeline_runner.h"
#include "service/pipeline_spec.h"

namespace hearth::service {
namespace {

using ojson = nlohmann::ordered_json;

PipelineSpec load_spec(const std::string& file) {
  try {
    return load_pipeline_file(file);
  } catch (const Error& e) {
    throw ApiException(ApiError::server(std::string("The pipeline's file is broken: ") + e.what()));
  }
}

ApiError invalid_input(const std::string& name, const std::string& what, const char* code = "invalid_value") {
  return ApiError::invalid("Invalid value for 'inputs." + name + "': " + what, "inputs." + name, code);
}

// Every declared input present (or defaulted), none unknown, files as files.
void check_against(const PipelineSpec& spec, const ojson& inputs) {
  for (const auto& [name, value] : inputs.items()) {
    const PipelineInput* in = spec.find_input(name);
    if (!in)
      throw ApiException(ApiError::invalid("Unknown input " + quote_for_error(name) + " for pipeline '" + spec.name +
                                               "' (its inputs: " + [&] {
                                                 std::string all;
                                                 for (const auto& i : spec.inputs) all += (all.empty() ? "" : ", ") + i.name;
                                                 return all;
                                               }() + ").",
                                           "inputs." + name, "unknown_parameter"));
    if (is_path_kind(in->kind) && !value.is_object())
      throw ApiException(invalid_input(name, std::string("this input takes a file (") + input_kind_name(in->kind) +
                                                 "): upload it (a multipart file part, or {\"filename\", \"data\": base64} in JSON); "
                                                 "the server does not read paths.", "invalid_type"));
    if (!is_path_kind(in->kind) && !value.is_string())
      throw ApiException(invalid_input(name, "expected a string.", "invalid_type"));
  }
  for (const PipelineInput& in : spec.inputs)
    if (in.required && !in.default_value && !inputs.contains(in.name))
      throw ApiException(ApiError::invalid("Missing required input '" + in.name + "' (" + input_kind_name(in.kind) +
                                               ") for pipeline '" + spec.name + "'.",
                                           "inputs." + in.name, "missing_required_parameter"));
}

ojson file_input(const std::string& name, const ojson& v) {
  if (!v.is_object()) throw ApiException(invalid_input(name, "expected {\"filename\", \"data\"}.", "invalid_type"));
  const auto data = v.find("data");
  if (data == v.end() || !data->is_string())
    throw ApiException(invalid_input(name, "expected \"data\": the file as a base64 string.", "invalid_type"));
  const auto decoded = base64_decode(data->get<std::string>());
  if (!decoded) throw ApiException(invalid_input(name, "\"data\" is not valid base64."));
  if (decoded->empty()) throw ApiException(invalid_input(name, "the file is empty."));
  std::string filename = name;
  if (const auto f = v.find("filename"); f != v.end()) {
    if (!f->is_string() || f->get<std::string>().size() > 255)
      throw ApiException(invalid_input(name, "\"filename\" must be a string of at most 255 bytes.", "invalid_type"));
    filename = f->get<std::string>();
  }
  return {{"filename", filename}, {"data", data->get<std::string>()}};
}

// A served model's answer to one LLM step, through the same engine (and
// continuous batching) as the chat endpoint.
LlmStepResult answer_step(Scheduler& scheduler, const std::string& model, const LlmStepRequest& req,
                          const CompletionRun::Finished& on_finished, const std::atomic<bool>* stop) {
  ChatCompletionRequest c;
  c.model = model;
  if (!req.system.empty()) c.messages.push_back({"system", req.system, {}, {}, nullptr});
  c.messages.push_back({"user", req.prompt, {}, {}, nullptr});
  c.sampling.temperature = req.temperature;
  c.seed = 0;
  c.sampling.seed = 0;
  c.max_tokens = req.max_tokens;
  std::shared_ptr<CompletionRun> run;
  try {
    run = CompletionRun::start(plan_chat(scheduler, c), on_finished);
  } catch (const ApiException& e) {
    throw Error(e.status() == 404 ? ErrorCode::kNotFound : e.status() >= 500 || e.status() == 429 ? ErrorCode::kBusy
                                                                                                  : ErrorCode::kInvalidArgument,
                e.error().message);
  }
  while (!run->wait(std::chrono::milliseconds(100)))
    if (stop && stop->load()) {
      run->cancel();
      throw Error(ErrorCode::kCancelled, "the run was cancelled");
    }
  const runtime::EngineResult& r = run->result();
  if (const auto error = run_error(r)) throw Error(ErrorCode::kBusy, error->message);
  std::string text = run->take_text(std::chrono::milliseconds(0));
  const ojson response = completion_response(run->plan(), r);
  const ojson& message = response["choices"][0]["message"];
  if (message.contains("content") && message["content"].is_string()) text = message["content"].get<std::string>();
  return {text, static_cast<int64_t>(run->plan().prompt.size()), response["usage"]["completion_tokens"].get<int64_t>(),
          response["choices"][0]["finish_reason"].get<std::string>()};
}

void replace_paths(ojson& j, const std::map<std::string, std::string>& names) {
  if (j.is_string()) {
    std::string s = j.get<std::string>();
    bool changed = false;
    for (const auto& [path, name] : names)
      for (size_t at = s.find(path); at != std::string::npos; at = s.find(path, at + name.size())) {
        s.replace(at, path.size(), name);
        changed = true;
      }
    if (changed) j = s;
  } else if (j.is_structured()) {
    for (auto& v : j) replace_paths(v, names);
  }
}

}  // namespace

PipelineService::PipelineService(Scheduler& scheduler, PluginAccess plugins, std::string default_model,
                                 std::vector<std::string> pipeline_dirs, CompletionRun::Finished on_finished)
    : scheduler_(scheduler),
      plugins_(std::move(plugins)),
      default_model_(std::move(default_model)),
      pipeline_dirs_(pipeline_search_dirs(pipeline_dirs)),
      on_finished_(std::move(on_finished)) {}

std::string PipelineService::pipeline_file(const std::string& name) const {
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      throw ApiException(ApiError::not_found("No pipeline named " + quote_for_error(name) + "."));
  try {
    return find_pipeline(name, pipeline_dirs_);
  } catch (const Error&) {
    throw ApiException(ApiError::not_found("No pipeline named " + quote_for_error(name) +
                                           " (GET /v1/pipelines lists them)."));
  }
}

bool PipelineService::wants_async(const ojson& body) {
  const auto a = body.find("async");
  if (a == body.end() || a->is_null()) return false;
  if (!a->is_boolean()) throw ApiException(ApiError::invalid("Invalid type for 'async': expected a boolean.", "async", "invalid_type"));
  return a->get<bool>();
}

ojson PipelineService::canonical_request(const std::string& name, const ojson& body) const {
  const PipelineSpec spec = load_spec(pipeline_file(name));
  ojson out = {{"inputs", ojson::object()}};
  const auto inputs = body.find("inputs");
  if (inputs != body.end() && !inputs->is_null()) {
    if (!inputs->is_object())
      throw ApiException(ApiError::invalid("Invalid type for 'inputs': expected an object of input name to value.",
                                           "inputs", "invalid_type"));
    for (const auto& [key, v] : inputs->items()) {
      const PipelineInput* in = spec.find_input(key);
      out["inputs"][key] = in && is_path_kind(in->kind) && v.is_object() ? file_input(key, v) : v;
    }
  }
  if (const auto m = body.find("model"); m != body.end() && !m->is_null()) {
    if (!m->is_string()) throw ApiException(ApiError::invalid("Invalid type for 'model': expected a string.", "model", "invalid_type"));
    if (!scheduler_.knows(m->get<std::string>())) throw ApiException(ApiError::model_not_found(m->get<std::string>()));
    out["model"] = *m;
  }
  check_against(spec, out["inputs"]);
  return out;
}

ojson PipelineService::canonical_request(const std::string& name, const std::vector<FormField>& fields) const {
  const PipelineSpec spec = load_spec(pipeline_file(name));
  ojson body = {{"inputs", ojson::object()}};
  for (const FormField& f : fields) {
    if (f.name == "model" && !spec.find_input("model")) {
      body["model"] = f.content;
    } else if (f.name == "async" && !spec.find_input("async")) {
      if (f.content != "true" && f.content != "false")
        throw ApiException(ApiError::invalid("Invalid value for 'async': expected true or false.", "async", "invalid_value"));
    } else if (f.filename.empty()) {
      body["inputs"][f.name] = f.content;
    } else {
      body["inputs"][f.name] = {{"filename", f.filename}, {"data", base64_encode(f.content)}};
    }
  }
  return canonical_request(name, body);
}

ojson PipelineService::run(const std::string& name, const ojson& canonical, const std::atomic<bool>* stop) const {
  const PipelineSpec spec = load_spec(pipeline_file(name));
  check_against(spec, canonical.at("inputs"));
  std::vector<std::unique_ptr<TempUpload>> uploads;
  std::map<std::string, std::string> given, names;
  for (const auto& [key, v] : canonical.at("inputs").items()) {
    if (v.is_string()) {
      given[key] = v.get<std::string>();
      continue;
    }
    const auto bytes = base64_decode(v.at("data").get<std::string>());
    uploads.push_back(std::make_unique<TempUpload>(bytes.value_or(""), v.at("filename").get<std::string>()));
    given[key] = uploads.back()->path();
    names[uploads.back()->path()] = uploads.back()->client_filename();
  }
  const std::string model = canonical.contains("model") ? canonical["model"].get<std::string>() : default_model_;
  std::unique_ptr<plugins::PluginHost> host = plugins_.host();
  PipelineRunner runner(*host, [&](const LlmStepRequest& r) {
    return answer_step(scheduler_, r.model.empty() ? model : r.model, r, on_finished_, stop);
  });
  std::vector<const TempUpload*> raw;
  for (const auto& u : uploads) raw.push_back(u.get());
  try {
    const PipelineResult result = runner.run(spec, given, [stop](const StepResult&) {
      if (stop && stop->load()) throw Error(ErrorCode::kCancelled, "the run was cancelled");
    });
    ojson j = result.to_json();
    replace_paths(j, names);
    ojson out = {{"object", "pipeline.run"}};
    for (auto& [k, v] : j.items()) out[k] = v;
    return out;
  } catch (const PipelineStepError& e) {
    ApiError a = plugin_api_error(e, raw);
    a.param = e.step_id().empty() ? "" : "steps." + e.step_id();
    throw ApiException(a);
  } catch (const Error& e) {
    throw ApiException(plugin_api_error(e, raw));
  }
}

ojson PipelineService::list() const {
  ojson data = ojson::array();
  for (const std::string& file : list_pipeline_files(pipeline_dirs_)) {
    try {
      const PipelineSpec spec = load_pipeline_file(file);
      const ojson d = describe_pipeline(spec);
      data.push_back({{"id", spec.name}, {"object", "pipeline"}, {"description", spec.description},
                      {"inputs", d.value("inputs", ojson::array())}, {"outputs", d.value("outputs", ojson::array())}});
    } catch (const Error&) {
      // A broken file is reported by `hearth pipeline check`; it is not offered.
    }
  }
  return {{"object", "list"}, {"data", data}};
}

}  // namespace hearth::service
