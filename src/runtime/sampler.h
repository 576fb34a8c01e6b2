// Sampler: picks the next token from logits — greedy, or temperature with
// top-k, top-p and min-p filtering, after repetition/presence/frequency
// penalties, optionally among the tokens a grammar constraint allows. The same
// seed gives the same choices.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace hearth::runtime {

class TokenConstraint;

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
  // history: the tokens so far (for the penalties). With a constraint the
  // choice is as if every token it does not allow had logit -inf before the
  // pipeline; without one, the same as before constraints existed. Cheap on
  // average: greedy and top-k check only the best candidates one by one;
  // plain temperature sampling (no top-k, top-p or min-p) draws and rejects
  // disallowed tokens (exact: the softmax conditioned on the allowed set); the
  // full mask is computed when those do not settle it, and for top-p or min-p
  // without top-k. Throws Error(kInvalidArgument) when the constraint allows
  // no token at all.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history,
                 const TokenConstraint* constraint = nullptr);
  const SamplerParams& params() const { return params_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };
  std::span<const float> penalise(std::span<const float> logits, std::span<const int32_t> history);
  // Draws from candidates_ (sorted by descending logit): top-p, min-p, temperature.
  int32_t draw();
  // candidates_ = the allowed tokens by descending logit, at most `want`.
  void allowed_candidates(std::span<const float> scores, const TokenConstraint& constraint, size_t want);
  int32_t greedy_allowed(std::span<const float> scores, const TokenConstraint& constraint);
  int32_t sample_by_rejection(std::span<const float> scores, const TokenConstraint& constraint);

  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<uint8_t> mask_;
  std::vector<Candidate> candidates_;
  std::vector<Candidate> picked_;  // allowed candidates, swapped into candidates_
  std::vector<double> probs_;
  std::vector<float> penalised_;
  std::vector<int32_t> counts_;
};

int32_t argmax(std::span<const float> logits);

}  // namespace hearth::runtime
