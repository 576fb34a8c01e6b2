#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace hearth::runtime {
namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw Error(ErrorCode::kInvalidArgument, what);
}

}  // namespace

void validate(const SamplerParams& p) {
  require(std::isfinite(p.temperature) && p.temperature <= 100, "temperature must be a number within 0..100");
  require(p.top_k >= 0, "top-k must be zero (off) or positive");
  require(std::isfinite(p.top_p) && p.top_p > 0 && p.top_p <= 1, "top-p must be within (0, 1]");
  require(std::isfinite(p.min_p) && p.min_p >= 0 && p.min_p <= 1, "min-p must be within [0, 1]");
  require(std::isfinite(p.repeat_penalty) && p.repeat_penalty > 0 && p.repeat_penalty <= 100,
          "repeat penalty must be within (0, 100]");
  require(p.repeat_last_n >= 0, "repeat-last-n must not be negative");
  require(std::isfinite(p.presence_penalty) && std::fabs(p.presence_penalty) <= 100,
          "presence penalty must be within -100..100");
  require(std::isfinite(p.frequency_penalty) && std::fabs(p.frequency_penalty) <= 100,
          "frequency penalty must be within -100..100");
}

int32_t argmax(std::span<const float> logits) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
  return best;
}

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) { validate(params); }

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const auto n_vocab = static_cast<int32_t>(logits.size());
  std::span<const float> scores = logits;

  const bool penalise = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                        params_.frequency_penalty != 0.0f;
  if (penalise && params_.repeat_last_n > 0 && !history.empty()) {
    penalised_.assign(logits.begin(), logits.end());
    counts_.assign(static_cast<size_t>(n_vocab), 0);
    const size_t window = std::min(history.size(), static_cast<size_t>(params_.repeat_last_n));
    for (size_t i = history.size() - window; i < history.size(); ++i)
      if (history[i] >= 0 && history[i] < n_vocab) ++counts_[history[i]];
    for (int32_t id = 0; id < n_vocab; ++id) {
      if (counts_[id] == 0) continue;
      float& l = penalised_[id];
      l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
      l -= static_cast<float>(counts_[id]) * params_.frequency_penalty + params_.presence_penalty;
    }
    scores = penalised_;
  }

  if (params_.temperature <= 0.0f) return argmax(scores);

  candidates_.resize(static_cast<size_t>(n_vocab));
  for (int32_t id = 0; id < n_vocab; ++id) candidates_[id] = {id, scores[id]};
  auto by_logit = [](const Candidate& a, const Candidate& b) { return a.logit > b.logit; };

  size_t keep = candidates_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
    keep = static_cast<size_t>(params_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(keep),
                      candidates_.end(), by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  candidates_.resize(keep);

  // Probabilities at temperature 1 decide top-p and min-p; temperature then
  // reshapes what is left.
  const float max_logit = candidates_.front().logit;
  std::vector<double>& probs = probs_;
  probs.resize(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += probs[i] = std::exp(static_cast<double>(candidates_[i].logit - max_logit));
  if (params_.top_p < 1.0f) {
    double cumulative = 0;
    size_t cut = keep;
    for (size_t i = 0; i < keep; ++i) {
      cumulative += probs[i] / sum;
      if (cumulative >= params_.top_p) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
  }
  if (params_.min_p > 0.0f) {
    const double floor = params_.min_p * probs[0];
    size_t cut = 1;
    while (cut < keep && probs[cut] >= floor) ++cut;
    keep = cut;
  }

  double total = 0;
  for (size_t i = 0; i < keep; ++i)
    total += probs[i] = std::exp(static_cast<double>(candidates_[i].logit - max_logit) / params_.temperature);
  std::uniform_real_distribution<double> uniform(0.0, total);
  double r = uniform(rng_);
  for (size_t i = 0; i < keep; ++i) {
    r -= probs[i];
    if (r <= 0) return candidates_[i].id;
  }
  return candidates_[keep - 1].id;
}

}  // namespace hearth::runtime
