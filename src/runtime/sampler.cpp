#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "runtime/token_constraint.h"

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
  const size_t n = logits.size();
  if (n == 0) return 0;
  // The largest value first, in eight independent lanes the compiler keeps in
  // registers (a greedy step of 16 sequences scans 16 vocabularies), then the
  // first index holding it: the first maximum, as a plain scan finds it.
  // NaN never wins (std::max keeps the left value), unless it comes first.
  if (std::isnan(logits[0])) return 0;
  float lane[8];
  for (float& l : lane) l = logits[0];
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) lane[k] = std::max(lane[k], logits[i + k]);
  float best = lane[0];
  for (int k = 1; k < 8; ++k) best = std::max(best, lane[k]);
  for (; i < n; ++i) best = std::max(best, logits[i]);
  for (size_t j = 0; j < n; ++j)
    if (logits[j] == best) return static_cast<int32_t>(j);
  return 0;
}

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) { validate(params); }

std::span<const float> Sampler::penalise(std::span<const float> logits, std::span<const int32_t> history) {
  const auto n_vocab = static_cast<int32_t>(logits.size());
  const bool penalise = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                        params_.frequency_penalty != 0.0f;
  if (!penalise || params_.repeat_last_n <= 0 || history.empty()) return logits;
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
  return penalised_;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history,
                        const TokenConstraint* constraint) {
  const auto n_vocab = static_cast<int32_t>(logits.size());
  const std::span<const float> scores = penalise(logits, history);

  if (params_.temperature <= 0.0f) return constraint ? greedy_allowed(scores, *constraint) : argmax(scores);

  if (constraint && params_.top_k <= 0 && params_.top_p >= 1.0f && params_.min_p <= 0.0f)
    return sample_by_rejection(scores, *constraint);
  if (constraint) {
    const size_t want = params_.top_k > 0 ? static_cast<size_t>(params_.top_k) : scores.size();
    allowed_candidates(scores, *constraint, want);
    // Every allowed token at -inf: no distribution to draw from, take the first.
    if (std::isinf(candidates_.front().logit)) return candidates_.front().id;
    return draw();
  }

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
  return draw();
}

int32_t Sampler::draw() {
  size_t keep = candidates_.size();
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

namespace {

// Candidates checked one by one before the whole mask is cheaper.
constexpr size_t kChunk = 64;
constexpr size_t kLazyBudget = 512;
constexpr int kMaxRejections = 16;

// Descending logit, then ascending id (argmax's tie order); NaN sorts last.
struct ByLogitThenId {
  template <typename C>
  bool operator()(const C& a, const C& b) const {
    if (a.logit != b.logit) return a.logit > b.logit;
    return a.id < b.id;
  }
};

float sortable(float v) { return std::isnan(v) ? -INFINITY : v; }

[[noreturn]] void nothing_allowed() {
  throw Error(ErrorCode::kInvalidArgument,
              "sampler: the grammar constraint allows no token here (the grammar ended and the vocabulary has no "
              "end-of-generation token, or the output nests past the matcher's depth limit)");
}

}  // namespace

void Sampler::allowed_candidates(std::span<const float> scores, const TokenConstraint& constraint, size_t want) {
  const size_t n = scores.size();
  candidates_.resize(n);
  for (size_t id = 0; id < n; ++id) candidates_[id] = {static_cast<int32_t>(id), sortable(scores[id])};
  const ByLogitThenId order;
  std::vector<Candidate>& picked = picked_;
  picked.clear();
  // The best candidates chunk by chunk, each checked alone: usually the top
  // few are allowed and the mask is never needed.
  size_t start = 0;
  if (want <= kLazyBudget / 2) {
    while (picked.size() < want && start < n && start < kLazyBudget) {
      const size_t end = std::min(n, start + kChunk);
      const auto first = candidates_.begin() + static_cast<std::ptrdiff_t>(start);
      const auto last = candidates_.begin() + static_cast<std::ptrdiff_t>(end);
      std::partial_sort(first, last, candidates_.end(), order);
      for (size_t i = start; i < end && picked.size() < want; ++i)
        if (constraint.allows(candidates_[i].id)) picked.push_back(candidates_[i]);
      start = end;
    }
  }
  if (picked.size() < want && start < n) {
    picked.clear();
    mask_.resize(n);
    constraint.fill_mask(mask_);
    for (size_t id = 0; id < n; ++id)
      if (mask_[id]) picked.push_back({static_cast<int32_t>(id), sortable(scores[id])});
    if (picked.size() > want) {
      std::partial_sort(picked.begin(), picked.begin() + static_cast<std::ptrdiff_t>(want), picked.end(), order);
      picked.resize(want);
    } else {
      std::sort(picked.begin(), picked.end(), order);
    }
  }
  if (picked.empty()) nothing_allowed();
  candidates_.swap(picked);
}

// Drawing from the whole softmax and, on a disallowed token, removing it and
// drawing again gives each allowed token p / (sum of allowed p): the masked
// distribution. Only valid without truncation (top-k, top-p, min-p), whose cuts
// would depend on which tokens are masked.
int32_t Sampler::sample_by_rejection(std::span<const float> scores, const TokenConstraint& constraint) {
  const size_t n = scores.size();
  float max_logit = -INFINITY;
  for (const float s : scores)
    if (s > max_logit) max_logit = s;
  if (std::isfinite(max_logit)) {
    probs_.resize(n);
    double total = 0;
    for (size_t i = 0; i < n; ++i)
      total += probs_[i] = std::isnan(scores[i]) ? 0.0
                                                 : std::exp(static_cast<double>(scores[i] - max_logit) / params_.temperature);
    for (int attempt = 0; attempt < kMaxRejections && total > 0; ++attempt) {
      std::uniform_real_distribution<double> uniform(0.0, total);
      double r = uniform(rng_);
      size_t pick = n;
      for (size_t i = 0; i < n; ++i) {
        if (probs_[i] == 0) continue;
        pick = i;
        r -= probs_[i];
        if (r <= 0) break;
      }
      if (pick == n) break;
      if (constraint.allows(static_cast<int32_t>(pick))) return static_cast<int32_t>(pick);
      total -= probs_[pick];
      probs_[pick] = 0;
    }
  }
  allowed_candidates(scores, constraint, n);
  if (std::isinf(candidates_.front().logit)) return candidates_.front().id;
  return draw();
}

int32_t Sampler::greedy_allowed(std::span<const float> scores, const TokenConstraint& constraint) {
  const int32_t best = argmax(scores);
  if (constraint.allows(best)) return best;
  allowed_candidates(scores, constraint, 1);
  return candidates_.front().id;
}

}  // namespace hearth::runtime
