// The runtime tests' way of comparing two ways of running a model: the logits
// of a few decoding steps, and how far apart two runs' logits are.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "graph/device_executor.h"
#include "models/model.h"
#include "runtime/session.h"

namespace hearth::test_env {

// The logits after an 11-token prompt (two passes of 8 tokens) and after each
// of 3 more tokens, in a 64-token session on 2 threads, with `offload`.
inline std::vector<std::vector<float>> logits_steps(const std::shared_ptr<const models::Model>& model,
                                                    graph::Offload offload = {}) {
  runtime::SessionOptions o;
  o.n_ctx = 64;
  o.n_threads = 2;
  o.n_batch = 8;
  o.offload = std::move(offload);
  runtime::Session s(model, o);
  const std::vector<int32_t> prompt = {1, 17, 99, 250, 3, 42, 7, 8, 120, 64, 5};
  std::vector<std::vector<float>> out;
  std::span<const float> l = s.decode(prompt);
  out.emplace_back(l.begin(), l.end());
  for (int32_t t : {11, 200, 31}) {
    l = s.decode(std::span(&t, 1));
    out.emplace_back(l.begin(), l.end());
  }
  return out;
}

struct LogitsGap {
  double worst = 0;  // largest |reference - other|
  double rms = 0;    // RMS of the reference logits
};

inline LogitsGap logits_gap(const std::vector<float>& reference, const std::vector<float>& other) {
  LogitsGap g;
  for (size_t i = 0; i < reference.size(); ++i) {
    g.rms += static_cast<double>(reference[i]) * reference[i];
    g.worst = std::max(g.worst, static_cast<double>(std::fabs(reference[i] - other[i])));
  }
  g.rms = std::sqrt(g.rms / static_cast<double>(reference.size()));
  return g;
}

}  // namespace hearth::test_env
