// hearth run: one prompt in, one completion out (streamed, or one JSON object).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "core/error.h"
#include "runtime/chat.h"
#include "runtime/generator.h"
#include "runtime/memory_report.h"

namespace hearth::cli {
namespace {

struct RunFlags {
  GenerationFlags gen;
  std::string prompt;
  std::string system;
  bool chat = false;
  bool json = false;
  bool no_bos = false;
  bool memory_report = false;
  std::string logits_file;
  std::vector<std::string> stop;
};

double per_second(size_t n, double ms) { return ms > 0 ? static_cast<double>(n) * 1000.0 / ms : 0.0; }

int run(const RunFlags& f) {
  uint64_t seed = 0;
  runtime::GenerateOptions options;
  options.sampling = sampler_params(f.gen, &seed);
  options.max_tokens = static_cast<int32_t>(std::min<int64_t>(f.gen.n_predict, INT32_MAX));
  options.stop = f.stop;

  const auto t0 = std::chrono::steady_clock::now();
  auto session = open_session(f.gen);
  const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const models::Model& model = session->model();

  std::vector<int32_t> prompt;
  if (f.chat) {
    std::vector<runtime::ChatMessage> messages;
    if (!f.system.empty()) messages.push_back({"system", f.system});
    messages.push_back({"user", f.prompt});
    prompt = runtime::ChatFormatter(model).tokenize(messages);
  } else {
    prompt = model.tokenizer().encode(f.prompt, /*add_special=*/!f.no_bos, /*parse_special=*/true);
  }
  if (prompt.empty()) throw Error(ErrorCode::kInvalidArgument, "the prompt is empty: give some text with -p");

  runtime::TextCallback stream;
  if (!f.json) stream = [](const std::string& piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  };
  runtime::GenerateResult r = runtime::generate(*session, prompt, options, stream, !f.logits_file.empty());

  if (!f.logits_file.empty()) {
    std::ofstream out(f.logits_file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(r.prompt_logits.data()),
              static_cast<std::streamsize>(r.prompt_logits.size() * sizeof(float)));
    if (!out) throw Error(ErrorCode::kIo, f.logits_file + ": cannot write the logits");
  }

  if (f.json) {
    nlohmann::ordered_json j;
    j["model"] = model.path();
    j["prompt_tokens"] = r.prompt_tokens;
    j["tokens"] = r.tokens;
    j["text"] = r.text;
    j["finish_reason"] = r.finish_reason;
    j["seed"] = seed;
    j["timings"] = {{"load_ms", load_ms},
                    {"prompt_ms", r.prompt_ms},
                    {"prompt_tokens_per_s", per_second(r.prompt_tokens.size(), r.prompt_ms)},
                    {"generate_ms", r.generate_ms},
                    {"generate_tokens_per_s", per_second(r.tokens.size(), r.generate_ms)}};
    j["timings"]["time_to_first_token_ms"] = load_ms + r.prompt_ms;
    j["threads"] = session->n_threads();
    if (const graph::DeviceExecutor* d = session->executor().device())
      j["offload"] = {{"device", d->device_info().name},
                      {"platform", d->device_info().platform},
                      {"nodes_on_device", d->nodes_on_device()},
                      {"nodes", session->executor().graph().nodes.size()},
                      {"uploads_per_pass", d->uploads_per_pass()},
                      {"downloads_per_pass", d->downloads_per_pass()},
                      {"device_weight_bytes", d->memory().weights}};
    if (f.memory_report) j["memory"] = runtime::memory_report_json(runtime::memory_report(*session));
    // Generated text may end inside a UTF-8 sequence (the token budget ran out
    // mid-character): JSON gets U+FFFD there instead of an exception.
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << "\n";
    std::fprintf(stderr,
                 "[%zu prompt tokens at %.1f tok/s, %zu generated at %.1f tok/s, load %.0f ms, first token after "
                 "%.0f ms]\n",
                 r.prompt_tokens.size(), per_second(r.prompt_tokens.size(), r.prompt_ms), r.tokens.size(),
                 per_second(r.tokens.size(), r.generate_ms), load_ms, load_ms + r.prompt_ms);
    if (f.memory_report)
      std::fputs(runtime::format_memory_report(runtime::memory_report(*session)).c_str(), stderr);
  }
  return 0;
}

}  // namespace

Command add_run_command(CLI::App& root) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* app = root.add_subcommand("run", "Generate text from a prompt");
  add_generation_flags(app, flags->gen);
  app->add_option("-p,--prompt", flags->prompt, "the prompt")->required();
  app->add_option("--system", flags->system, "system message (with --chat)");
  app->add_flag("--chat", flags->chat, "format the prompt as a user turn with the model's chat template");
  app->add_flag("--json", flags->json, "print one JSON object: token ids, text, timings");
  app->add_flag("--no-bos", flags->no_bos, "do not add the BOS token the vocabulary asks for");
  app->add_option("--stop", flags->stop, "stop before this string (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app->add_flag("--memory-report", flags->memory_report,
                "report where the memory went (weights, arena, KV pool, peak RSS) on stderr, or in the JSON");
  app->add_option("--logits", flags->logits_file, "write the logits at the last prompt position (f32) to FILE");
  return {app, [flags] { return run(*flags); }};
}

}  // namespace hearth::cli
