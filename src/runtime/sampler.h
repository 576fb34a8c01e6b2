// Sampler: picks the next token from logits — greedy, or temperature with
// top-k, top-p and min-p filtering, after repetition/presence/frequency
// penalties. The same seed gives the same choices.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace hearth::runtime {

struct SamplerParams {
  float temperature = 0.8f;  // <= 0: greedy
  int32_t top_k = 40;        // <= 0: off
  float top_p = 0.95f;       // >= 1: off
  float min_p = 0.05f;       // <= 0: off
  float repeat_penalty = 1.0f;   // 1: off
  int32_t repeat_last_n = 64;    // how many recent tokens the penalties look at
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0xdecafbadULL;
};

// Throws Error(kInvalidArgument) naming the parameter that is out of range.
void validate(const SamplerParams& p);

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);
  // history: the tokens so far (for the penalties).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);
  const SamplerParams& params() const { return params_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };
  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<Candidate> candidates_;
  std::vector<double> probs_;
  std::vector<float> penalised_;
  std::vector<int32_t> counts_;
};

int32_t argmax(std::span<const float> logits);

}  // namespace hearth::runtime
