// hearth pipeline: declarative pipelines of plugin calls and LLM prompts
// (docs/pipelines.md): list the built-ins, show or check one, run one with
// --input KEY=VALUE. LLM steps run on the model here, one session per model,
// reused from step to step.
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "core/error.h"
#include "plugins/plugin_host.h"
#include "runtime/chat.h"
#include "runtime/generator.h"
#include "service/pipeline_catalog.h"
#include "service/pipeline_runner.h"
#include "service/pipeline_spec.h"

namespace hearth::cli {
namespace {

struct PipelineFlags {
  std::string pipeline;  // NAME or FILE
  std::vector<std::string> inputs;  // KEY=VALUE
  std::vector<std::string> plugin_dirs;
  double timeout = 300;
  bool json = false;
  bool check_plugins = false;
  GenerationFlags gen;  // model, context, threads, seed; sampling comes from each step
};

std::vector<std::string> search_dirs() { return service::pipeline_search_dirs(); }

service::PipelineSpec load(const std::string& name_or_path) {
  return service::load_pipeline_file(service::find_pipeline(name_or_path, search_dirs()));
}

plugins::HostOptions host_options(const PipelineFlags& f) {
  if (!(f.timeout > 0 && f.timeout <= 86400))
    throw Error(ErrorCode::kInvalidArgument, "--timeout must be within (0, 86400] seconds");
  plugins::HostOptions o;
  o.plugin_dirs = f.plugin_dirs;
  o.call_timeout = std::chrono::milliseconds(static_cast<long long>(f.timeout * 1000));
  return o;
}

std::string inputs_line(const service::PipelineSpec& spec) {
  std::string line;
  for (const service::PipelineInput& in : spec.inputs) {
    line += (line.empty() ? "" : " ") + in.name + "=" + service::input_kind_name(in.kind);
    if (in.default_value) line += " (default \"" + *in.default_value + "\")";
    else if (!in.required) line += " (optional)";
  }
  return line.empty() ? "(no inputs)" : line;
}

int list(const PipelineFlags& f) {
  const std::vector<std::string> dirs = search_dirs();
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  int bad = 0;
  for (const std::string& file : service::list_pipeline_files(dirs)) {
    try {
      const service::PipelineSpec spec = service::load_pipeline_file(file);
      all.push_back(service::describe_pipeline(spec));
      if (!f.json)
        std::printf("%-24s %s\n%-24s inputs: %s\n", spec.name.c_str(), spec.description.c_str(), "",
                    inputs_line(spec).c_str());
    } catch (const Error& e) {
      ++bad;
      all.push_back({{"file", file}, {"error", e.what()}});
      std::fprintf(stderr, "hearth pipeline list: %s\n", e.what());
    }
  }
  if (f.json) {
    nlohmann::ordered_json out;
    out["search_dirs"] = dirs;
    out["pipelines"] = all;
    std::cout << out.dump(2) << "\n";
  } else {
    if (all.empty()) std::printf("no pipelines found\n");
    std::printf("searched:");
    for (const std::string& d : dirs) std::printf(" %s", d.c_str());
    std::printf("\n");
  }
  return bad ? 1 : 0;
}

int show(const PipelineFlags& f) {
  const service::PipelineSpec spec = load(f.pipeline);
  const nlohmann::ordered_json j = service::describe_pipeline(spec);
  if (f.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("%s: %s\nfile: %s\ninputs: %s\nsteps, in the order they run (one at a time):\n", spec.name.c_str(),
              spec.description.c_str(), spec.file.c_str(), inputs_line(spec).c_str());
  for (const auto& s : j["steps"]) {
    std::string what = s["kind"].get<std::string>();
    if (s.contains("capability_kind")) what += " (first " + s["capability_kind"].get<std::string>() + " plugin)";
    if (s.contains("plugin")) what += " (" + s["plugin"].get<std::string>() + "/" + s["capability"].get<std::string>() + ")";
    if (s.contains("max_tokens")) what += " (max_tokens " + std::to_string(s["max_tokens"].get<int>()) + ")";
    std::string deps;
    for (const auto& d : s["depends_on"]) deps += (deps.empty() ? "" : ", ") + d.get<std::string>();
    std::printf("  %-16s %s%s\n", s["id"].get<std::string>().c_str(), what.c_str(),
                deps.empty() ? "" : ("  after " + deps).c_str());
  }
  std::string outs;
  for (const auto& o : j["outputs"]) outs += (outs.empty() ? "" : ", ") + o.get<std::string>();
  std::printf("outputs: %s\n", outs.c_str());
  return 0;
}

int check(const PipelineFlags& f) {
  const service::PipelineSpec spec = load(f.pipeline);
  if (f.check_plugins) {
    plugins::PluginHost host(host_options(f));
    service::PipelineRunner(host, {}).check_plugins(spec);
  }
  std::printf("%s: ok (pipeline '%s', %zu inputs, %zu steps, %zu outputs%s)\n", f.pipeline.c_str(), spec.name.c_str(),
              spec.inputs.size(), spec.steps.size(), spec.outputs.size(), f.check_plugins ? ", plugins found" : "");
  return 0;
}

// The model behind LLM steps: a session per model name, loaded on first use.
class DirectLlm {
 public:
  explicit DirectLlm(const GenerationFlags& gen) : gen_(gen) {}

  service::LlmStepResult operator()(const service::LlmStepRequest& req) {
    runtime::Session& session = session_for(req.model);
    session.truncate(0);
    std::vector<runtime::ChatMessage> messages;
    if (!req.system.empty()) messages.push_back({"system", req.system});
    messages.push_back({"user", req.prompt});
    const std::vector<int32_t> prompt = runtime::ChatFormatter(session.model()).tokenize(messages);
    runtime::GenerateOptions options;
    GenerationFlags g = gen_;
    g.temperature = req.temperature;
    if (!g.seed) g.seed = 0;  // same inputs, same outputs unless --seed says otherwise
    options.sampling = sampler_params(g, nullptr);
    options.max_tokens = req.max_tokens;
    const runtime::GenerateResult r = runtime::generate(session, prompt, options);
    return {r.text, static_cast<int64_t>(r.prompt_tokens.size()), static_cast<int64_t>(r.tokens.size()), r.finish_reason};
  }

 private:
  runtime::Session& session_for(const std::string& step_model) {
    const std::string name = step_model.empty() ? gen_.model : step_model;
    auto it = sessions_.find(name);
    if (it != sessions_.end()) return *it->second;
    GenerationFlags g = gen_;
    g.model = name;
    return *sessions_.emplace(name, open_session(g)).first->second;
  }

  GenerationFlags gen_;
  std::map<std::string, std::unique_ptr<runtime::Session>> sessions_;
};

std::map<std::string, std::string> parse_inputs(const std::vector<std::string>& raw) {
  std::map<std::string, std::string> inputs;
  for (const std::string& kv : raw) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error(ErrorCode::kInvalidArgument, "--input '" + kv + "' must be KEY=VALUE (a path or a text)");
    if (!inputs.emplace(kv.substr(0, eq), kv.substr(eq + 1)).second)
      throw Error(ErrorCode::kInvalidArgument, "--input " + kv.substr(0, eq) + " is given twice");
  }
  return inputs;
}

std::string trimmed(const nlohmann::json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump(2);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  size_t b = 0;
  while (b < s.size() && (s[b] == '\n' || s[b] == ' ')) ++b;
  return s.substr(b);
}

int run(const PipelineFlags& f) {
  const std::map<std::string, std::string> inputs = parse_inputs(f.inputs);
  const service::PipelineSpec spec = load(f.pipeline);
  sampler_params(f.gen, nullptr);  // the flags' values checked before any work
  plugins::PluginHost host(host_options(f));
  DirectLlm llm(f.gen);
  service::PipelineRunner runner(host, [&llm](const service::LlmStepRequest& r) { return llm(r); });
  const service::PipelineResult result = runner.run(spec, inputs);
  if (f.json) {
    std::cout << result.to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  const bool one = result.outputs.size() == 1;
  for (const auto& [name, value] : result.outputs.items()) {
    if (!one) std::printf("[%s]\n", name.c_str());
    std::printf("%s\n", trimmed(value).c_str());
  }
  std::string timing;
  for (const service::StepResult& s : result.steps) timing += (timing.empty() ? "" : ", ") + s.id + " " + std::to_string(static_cast<long long>(s.ms)) + " ms";
  std::fprintf(stderr, "[%s: %s; total %lld ms]\n", spec.name.c_str(), timing.c_str(), static_cast<long long>(result.total_ms));
  return 0;
}

}  // namespace

Command add_pipeline_command(CLI::App& root) {
  auto f = std::make_shared<PipelineFlags>();
  CLI::App* app = root.add_subcommand("pipeline", "pipelines of plugin calls and LLM prompts (docs/pipelines.md)");
  app->require_subcommand(1);
  CLI::App* ls = app->add_subcommand("list", "the built-in and installed pipelines and their inputs");
  ls->add_flag("--json", f->json, "print them as JSON");
  CLI::App* sh = app->add_subcommand("show", "one pipeline's inputs, steps (in run order) and outputs");
  sh->add_option("PIPELINE", f->pipeline, "a pipeline name or a JSON file")->required();
  sh->add_flag("--json", f->json, "print it as JSON");
  CLI::App* ck = app->add_subcommand("check", "validate a pipeline file (or a pipeline by name) without running it");
  ck->add_option("FILE", f->pipeline, "the pipeline's JSON file, or a pipeline name")->required();
  ck->add_flag("--plugins", f->check_plugins, "also find each step's plugin and check the output fields used");
  ck->add_option("--plugin-dir", f->plugin_dirs, "also search this directory for plugins (first; repeatable)");
  CLI::App* rn = app->add_subcommand("run", "run a pipeline and print its outputs");
  rn->add_option("PIPELINE", f->pipeline, "a pipeline name or a JSON file")->required();
  rn->add_option("-i,--input", f->inputs, "KEY=VALUE: a path for image/audio/file inputs, text for text inputs (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  rn->add_option("-m,--model", f->gen.model, "the model for LLM steps that name none (default: the default model)");
  rn->add_option("-c,--ctx-size", f->gen.n_ctx, "context size in tokens (0: model's, at most 4096)")->capture_default_str();
  rn->add_option("-t,--threads", f->gen.n_threads, "threads (0: all cores)")->capture_default_str();
  rn->add_option("--seed", f->gen.seed, "random seed for steps with a temperature above 0 (default 0)");
  rn->add_option("--plugin-dir", f->plugin_dirs, "also search this directory for plugins (first; repeatable)");
  rn->add_option("--timeout", f->timeout, "seconds before a plugin call is killed")->capture_default_str();
  rn->add_flag("--json", f->json, "print the whole result: inputs, each step's output and ms, outputs");
  return {app, [f, ls, sh, ck] {
            if (ls->parsed()) return list(*f);
            if (sh->parsed()) return show(*f);
            if (ck->parsed()) return check(*f);
            return run(*f);
          }};
}

}  // namespace hearth::cli
