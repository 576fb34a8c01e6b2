// generate(): the token loop — evaluate the prompt, then sample, stream and
// stop on an end-of-generation token, a stop string or the token limit.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/sampler.h"
#include "runtime/session.h"
#include "runtime/text_stream.h"

namespace hearth::runtime {

struct GenerateOptions {
  int32_t max_tokens = 128;
  SamplerParams sampling;
  std::vector<std::string> stop;  // generation ends before any of these strings
  bool stop_at_end_of_generation = true;
};

struct GenerateResult {
  std::vector<int32_t> prompt_tokens;
  std::vector<int32_t> tokens;   // generated ids (a stopping eog token is not included)
  std::string text;              // decoded, stop string removed
  std::string finish_reason;     // "stop" or "length"
  double prompt_ms = 0;
  double generate_ms = 0;        // from the first sampled token to the last
  std::vector<float> prompt_logits;  // logits at the last prompt position (when asked for)
};

// on_text receives text as it becomes final (complete UTF-8, not a possible
// stop-string prefix); returning false stops generation early ("stop").
using TextCallback = std::function<bool(const std::string& piece)>;

GenerateResult generate(Session& session, const std::vector<int32_t>& prompt, const GenerateOptions& options,
                        const TextCallback& on_text = {}, bool keep_prompt_logits = false);

}  // namespace hearth::runtime
