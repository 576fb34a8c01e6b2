#include "runtime/generator.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace hearth::runtime {
namespace {

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

GenerateResult generate(Session& session, const std::vector<int32_t>& prompt, const GenerateOptions& options,
                        const TextCallback& on_text, bool keep_prompt_logits) {
  if (prompt.empty()) throw Error(ErrorCode::kInvalidArgument, "the prompt is empty (no tokens)");
  if (options.max_tokens < 0) throw Error(ErrorCode::kInvalidArgument, "the token limit must not be negative");
  if (session.n_past() + static_cast<int64_t>(prompt.size()) > session.n_ctx())
    throw Error(ErrorCode::kInvalidArgument, "the prompt (" + std::to_string(prompt.size()) +
                                                 " tokens) does not fit the context of " +
                                                 std::to_string(session.n_ctx()) + " tokens (raise -c)");
  const models::Tokenizer& tok = session.model().tokenizer();
  Sampler sampler(options.sampling);
  TextStream stream(options.stop);
  GenerateResult r;
  r.prompt_tokens = prompt;
  r.finish_reason = "length";

  auto t0 = std::chrono::steady_clock::now();
  std::span<const float> logits = session.decode(prompt);
  r.prompt_ms = ms_since(t0);
  if (keep_prompt_logits) r.prompt_logits.assign(logits.begin(), logits.end());

  auto t1 = std::chrono::steady_clock::now();
  for (int32_t i = 0; i < options.max_tokens; ++i) {
    const int32_t id = sampler.sample(logits, session.history());
    if (options.stop_at_end_of_generation && tok.is_end_of_generation(id)) {
      r.finish_reason = "stop";
      break;
    }
    r.tokens.push_back(id);
    const bool stopped = stream.append(tok.token_to_piece(id));
    if (stopped) r.finish_reason = "stop";
    if (on_text) {
      const std::string ready = stream.take_ready();
      if (!ready.empty() && !on_text(ready)) {
        r.finish_reason = "stop";
        break;
      }
    }
    if (stopped) break;
    if (i + 1 < options.max_tokens) {
      if (session.n_past() >= session.n_ctx()) break;  // context full: finish as "length"
      const int32_t next[1] = {id};
      logits = session.decode(next);
    }
  }
  r.generate_ms = ms_since(t1);
  r.text = stream.text();
  if (on_text) {
    const std::string rest = stream.take_ready(/*end=*/true);
    if (!rest.empty()) on_text(rest);
  }
  return r;
}

}  // namespace hearth::runtime
