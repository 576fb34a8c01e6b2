#include "runtime/generator.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace hearth::runtime {
namespace {

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// How many trailing bytes of text could begin one of the stop strings.
size_t stop_prefix_overlap(const std::string& text, const std::vector<std::string>& stop) {
  size_t hold = 0;
  for (const auto& s : stop) {
    for (size_t len = std::min(s.size() - 1, text.size()); len > hold; --len)
      if (text.compare(text.size() - len, len, s, 0, len) == 0) {
        hold = len;
        break;
      }
  }
  return hold;
}

}  // namespace

size_t complete_utf8_prefix(const std::string& s) {
  const size_t n = s.size();
  // Look back at most 3 bytes for the start of a sequence that runs past the end.
  for (size_t back = 1; back <= std::min<size_t>(3, n); ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xc0) == 0x80) continue;  // continuation byte: keep looking
    size_t need = 1;
    if ((c & 0xe0) == 0xc0) need = 2;
    else if ((c & 0xf0) == 0xe0) need = 3;
    else if ((c & 0xf8) == 0xf0) need = 4;
    return need > back ? n - back : n;
  }
  return n;
}

GenerateResult generate(Session& session, const std::vector<int32_t>& prompt, const GenerateOptions& options,
                        const TextCallback& on_text, bool keep_prompt_logits) {
  if (prompt.empty()) throw Error(ErrorCode::kInvalidArgument, "the prompt is empty (no tokens)");
  if (options.max_tokens < 0) throw Error(ErrorCode::kInvalidArgument, "the token limit must not be negative");
  for (const auto& s : options.stop)
    if (s.empty()) throw Error(ErrorCode::kInvalidArgument, "a stop string must not be empty");
  if (session.n_past() + static_cast<int64_t>(prompt.size()) > session.n_ctx())
    throw Error(ErrorCode::kInvalidArgument, "the prompt (" + std::to_string(prompt.size()) +
                                                 " tokens) does not fit the context of " +
                                                 std::to_string(session.n_ctx()) + " tokens (raise -c)");
  const models::Tokenizer& tok = session.model().tokenizer();
  Sampler sampler(options.sampling);
  GenerateResult r;
  r.prompt_tokens = prompt;
  r.finish_reason = "length";

  auto t0 = std::chrono::steady_clock::now();
  std::span<const float> logits = session.decode(prompt);
  r.prompt_ms = ms_since(t0);
  if (keep_prompt_logits) r.prompt_logits.assign(logits.begin(), logits.end());

  size_t emitted = 0;   // bytes of r.text already handed to on_text
  auto t1 = std::chrono::steady_clock::now();
  bool stopped = false;
  for (int32_t i = 0; i < options.max_tokens && !stopped; ++i) {
    const int32_t id = sampler.sample(logits, session.history());
    if (options.stop_at_end_of_generation && tok.is_end_of_generation(id)) {
      r.finish_reason = "stop";
      break;
    }
    r.tokens.push_back(id);
    r.text += tok.token_to_piece(id);
    for (const auto& s : options.stop) {
      const size_t at = r.text.find(s, emitted > s.size() ? emitted - s.size() : 0);
      if (at != std::string::npos) {
        r.text.resize(at);
        r.finish_reason = "stop";
        stopped = true;
      }
    }
    if (on_text) {
      size_t ready = complete_utf8_prefix(r.text);
      if (!stopped) ready -= std::min(ready, stop_prefix_overlap(r.text.substr(0, ready), options.stop));
      if (ready > emitted) {
        if (!on_text(r.text.substr(emitted, ready - emitted))) {
          r.finish_reason = "stop";
          stopped = true;
        }
        emitted = ready;
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
  if (on_text && r.text.size() > emitted) on_text(r.text.substr(emitted));
  return r;
}

}  // namespace hearth::runtime
