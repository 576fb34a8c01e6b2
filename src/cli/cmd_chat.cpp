// hearth chat: an interactive, streaming, multi-turn conversation. Reads one
// user message per line from stdin (a terminal or a pipe); /reset and /exit.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "core/error.h"
#include "runtime/chat.h"
#include "runtime/generator.h"

namespace hearth::cli {
namespace {

struct ChatFlags {
  GenerationFlags gen;
  std::string system;
};

int chat(const ChatFlags& f) {
  runtime::GenerateOptions options;
  options.sampling = sampler_params(f.gen, nullptr);
  options.max_tokens = static_cast<int32_t>(std::min<int64_t>(f.gen.n_predict, INT32_MAX));
  auto session = open_session(f.gen);
  const runtime::ChatFormatter formatter(session->model());
  const bool interactive = isatty(STDIN_FILENO);

  std::vector<runtime::ChatMessage> messages;
  if (!f.system.empty()) messages.push_back({"system", f.system});
  const size_t base = messages.size();
  if (interactive)
    std::fprintf(stderr, "hearth chat with %s: type a message, /reset to start over, /exit or Ctrl-D to quit\n",
                 session->model().path().c_str());

  std::string line;
  for (;;) {
    if (interactive) std::fputs("> ", stdout), std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      messages.resize(base);
      session->truncate(0);
      continue;
    }
    if (line.empty()) continue;
    messages.push_back({"user", line});
    std::vector<int32_t> tokens = formatter.tokenize(messages);
    // Keep the cached part of the conversation that the new rendering shares.
    const std::vector<int32_t>& cached = session->history();
    size_t common = 0;
    while (common < cached.size() && common < tokens.size() && cached[common] == tokens[common]) ++common;
    if (common == tokens.size()) --common;  // decode needs at least one new token
    session->truncate(static_cast<int64_t>(common));
    const std::vector<int32_t> fresh(tokens.begin() + static_cast<std::ptrdiff_t>(common), tokens.end());
    if (session->n_past() + static_cast<int64_t>(fresh.size()) >= session->n_ctx()) {
      std::fprintf(stderr, "hearth chat: the conversation no longer fits the context (%lld tokens); use /reset or -c\n",
                   static_cast<long long>(session->n_ctx()));
      messages.pop_back();
      continue;
    }
    runtime::GenerateResult r = runtime::generate(*session, fresh, options, [](const std::string& piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::fputs("\n", stdout);
    std::fflush(stdout);
    messages.push_back({"assistant", r.text});
  }
  return 0;
}

}  // namespace

Command add_chat_command(CLI::App& root) {
  auto flags = std::make_shared<ChatFlags>();
  CLI::App* app = root.add_subcommand("chat", "Chat with a model (interactive; stdin may be a pipe)");
  add_generation_flags(app, flags->gen);
  app->add_option("--system", flags->system, "system message");
  return {app, [flags] { return chat(*flags); }};
}

}  // namespace hearth::cli
