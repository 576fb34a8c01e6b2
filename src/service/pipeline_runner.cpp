#include "service/pipeline_runner.h"

#include <chrono>

#include "plugins/utf8.h"

namespace hearth::service {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string as_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Generated text can end inside a UTF-8 sequence (the token limit fell there);
// later steps and JSON output need well-formed text, so bad bytes become U+FFFD.
std::string well_formed(std::string text) {
  size_t bad = 0;
  for (size_t tries = 0; tries < text.size() && !plugins::valid_utf8(text, &bad); ++tries)
    text.replace(bad, 1, "\xEF\xBF\xBD");
  return text;
}

}  // namespace

nlohmann::ordered_json PipelineResult::to_json() const {
  nlohmann::ordered_json j;
  j["pipeline"] = pipeline;
  j["inputs"] = inputs;
  j["steps"] = nlohmann::ordered_json::array();
  for (const StepResult& s : steps) {
    nlohmann::ordered_json st = {{"id", s.id}, {"kind", s.kind}};
    if (!s.plugin.empty()) st["plugin"] = s.plugin, st["capability"] = s.capability;
    st["ms"] = s.ms;
    st["output"] = s.output;
    j["steps"].push_back(st);
  }
  j["outputs"] = outputs;
  j["total_ms"] = total_ms;
  return j;
}

PipelineRunner::Resolved PipelineRunner::resolve(const PipelineStep& step) {
  Resolved r;
  try {
    if (!step.capability_kind.empty()) {
      const plugins::PluginInfo& info = host_.first_with_kind(step.capability_kind, &r.capability);
      r.plugin = info.manifest.name;
      r.info = info.find(r.capability);
    } else {
      const plugins::PluginInfo& info = host_.plugin(step.plugin);
      r.plugin = step.plugin;
      r.capability = step.capability;
      r.info = info.find(step.capability);
      if (!r.info) {
        std::string list;
        for (const auto& c : info.capabilities) list += (list.empty() ? "" : ", ") + c.name;
        throw Error(ErrorCode::kNotFound, "plugin '" + step.plugin + "' has no capability '" + step.capability +
                                              "' (it has " + list + ")");
      }
    }
  } catch (const Error& e) {
    throw Error(e.code(), "step '" + step.id + "' (" + step.key + "): " + e.what());
  }
  return r;
}

void PipelineRunner::check_plugins(const PipelineSpec& spec) {
  std::map<std::string, Resolved> resolved;
  for (const PipelineStep& s : spec.steps)
    if (s.kind == StepKind::kPlugin) resolved.emplace(s.id, resolve(s));
  auto check = [&](const SpecTemplate& t) {
    for (const TemplateRef& r : t.parsed.refs) {
      if (r.source != TemplateRef::Source::kStep || r.path.empty()) continue;
      auto it = resolved.find(r.name);
      if (it == resolved.end() || !it->second.info) continue;
      const json& props = it->second.info->output_schema.value("properties", json());
      if (!props.is_object() || props.contains(r.path[0])) continue;
      std::string list;
      for (const auto& [k, v] : props.items()) list += (list.empty() ? "" : ", ") + k;
      throw Error(ErrorCode::kInvalidArgument, spec.file + ": " + t.key + ": {{" + r.text + "}}: the output of " +
                                                   it->second.plugin + "'s " + it->second.capability + " has no '" +
                                                   r.path[0] + "' (it has " + list + ")");
    }
  };
  for (const PipelineStep& s : spec.steps)
    for (const SpecTemplate* t : s.templates()) check(*t);
  for (const PipelineOutput& o : spec.outputs) check(o.value);
}

PipelineResult PipelineRunner::run(const PipelineSpec& spec, const std::map<std::string, std::string>& given,
                                   const std::function<void(const StepResult&)>& on_step) {
  const auto t_start = Clock::now();
  PipelineResult result;
  result.pipeline = spec.name;
  result.inputs = resolve_inputs(spec, given);
  check_plugins(spec);

  json outputs_by_step = json::object();
  const TemplateScope scope{&result.inputs, &outputs_by_step};
  for (size_t idx : spec.order) {
    const PipelineStep& step = spec.steps[idx];
    StepResult sr;
    sr.id = step.id;
    sr.kind = step_kind_name(step.kind);
    const auto t0 = Clock::now();
    try {
      switch (step.kind) {
        case StepKind::kPlugin: {
          const Resolved r = resolve(step);
          sr.plugin = r.plugin;
          sr.capability = r.capability;
          json input = step.input.value;
          for (const auto& [pointer, t] : step.input.templates)
            input[json::json_pointer(pointer)] = render_template(t.parsed, scope);
          sr.output = host_.call(r.plugin, r.capability, input);
          break;
        }
        case StepKind::kLlm: {
          if (!llm_) throw Error(ErrorCode::kUnsupported, "this runner has no language model");
          LlmStepRequest req;
          req.step_id = step.id;
          req.model = step.model;
          if (step.system) req.system = as_text(render_template(step.system->parsed, scope));
          req.prompt = as_text(render_template(step.prompt->parsed, scope));
          req.max_tokens = step.max_tokens;
          req.temperature = step.temperature;
          const LlmStepResult out = llm_(req);
          sr.output = {{"text", well_formed(out.text)},
                       {"prompt_tokens", out.prompt_tokens},
                       {"tokens", out.tokens},
                       {"finish_reason", out.finish_reason}};
          break;
        }
        case StepKind::kTemplate:
          sr.output = {{"text", as_text(render_template(step.text->parsed, scope))}};
          break;
      }
    } catch (const PipelineStepError&) {
      throw;
    } catch (const Error& e) {
      std::string what = std::string(step_kind_name(step.kind));
      if (!sr.plugin.empty()) what += " " + sr.plugin + "/" + sr.capability;
      throw PipelineStepError(e.code(), step.id, "step '" + step.id + "' (" + what + ") failed: " + e.what());
    }
    sr.ms = ms_since(t0);
    outputs_by_step[step.id] = sr.output;
    if (on_step) on_step(sr);
    result.steps.push_back(std::move(sr));
  }

  result.outputs = nlohmann::ordered_json::object();
  for (const PipelineOutput& o : spec.outputs) {
    try {
      result.outputs[o.name] = render_template(o.value.parsed, scope);
    } catch (const Error& e) {
      throw PipelineStepError(e.code(), "", "output '" + o.name + "': " + e.what());
    }
  }
  result.total_ms = ms_since(t_start);
  return result;
}

}  // namespace hearth::service
