// POST /v1/pipelines/{name}: a built-in or installed pipeline run for an HTTP
// client. The request (JSON with base64 files, or multipart/form-data with
// one part per input) is first made canonical JSON, which is also what an
// async job stores; a run writes the files to temporary uploads, runs the
// steps with LLM prompts answered by the served models, and removes them.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/completion.h"
#include "service/media_request.h"
#include "service/plugin_access.h"
#include "service/scheduler.h"

namespace hearth::service {

class PipelineService {
 public:
  // default_model: the one LLM steps without a "model" use.
  PipelineService(Scheduler& scheduler, PluginAccess plugins, std::string default_model,
                  std::vector<std::string> pipeline_dirs = {}, CompletionRun::Finished on_finished = {});

  // The request as canonical JSON: {"inputs": {name: text | {"filename", "data": base64}}, "model"?}, checked
  // against the pipeline (unknown or missing inputs, a file input given as text). Throws ApiException:
  // 404 for an unknown pipeline, 400 naming the field.
  nlohmann::ordered_json canonical_request(const std::string& name, const nlohmann::ordered_json& body) const;
  nlohmann::ordered_json canonical_request(const std::string& name, const std::vector<FormField>& fields) const;
  // Whether a JSON body asks for an async job ("async": true); 400 for a non-boolean.
  static bool wants_async(const nlohmann::ordered_json& body);

  // Runs a canonical request; the result is PipelineResult::to_json() with the
  // temporary paths replaced by the client's file names, plus "object":
  // "pipeline.run". `stop` is checked between steps (cancelled jobs, shutdown).
  // Throws ApiException (a failing step: its status and the step in "param").
  nlohmann::ordered_json run(const std::string& name, const nlohmann::ordered_json& canonical,
                             const std::atomic<bool>* stop = nullptr) const;

  // {"object": "list", "data": [{"id", "description", "inputs": [...], "outputs": [...]}]}
  nlohmann::ordered_json list() const;

 private:
  std::string pipeline_file(const std::string& name) const;

  Scheduler& scheduler_;
  PluginAccess plugins_;
  std::string default_model_;
  std::vector<std::string> pipeline_dirs_;
  CompletionRun::Finished on_finished_;
};

}  // namespace hearth::service
