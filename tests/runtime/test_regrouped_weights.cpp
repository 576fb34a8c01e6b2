// q4_K weights read in 8-row groups (graph/regrouped_weight.h): which weights
// are regrouped, that a model's logits stay those of the row-major kernels,
// that the copy is made on first use, counted, and foreseen by the memory
// estimate, and HEARTH_REGROUP=0.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "backends/cpu/q4k_x8.h"
#include "graph/regrouped_weight.h"
#include "runtime/memory_budget.h"
#include "runtime/memory_report.h"
#include "runtime/session.h"
#include "../models/hearth_home.h"
#include "logits_steps.h"
#include "temp_model.h"

namespace hearth::runtime {
namespace {

int marked(const graph::Graph& g) {
  int n = 0;
  for (const graph::Weight& w : g.weights) n += w.regrouped != nullptr;
  return n;
}

void expect_same_logits_with_and_without(const models::SynthSpec& spec, const std::string& tag) {
  test_env::TempModel grouped(spec, tag + "_on");
  const graph::Graph& g = grouped.model()->graph();
  std::vector<uint8_t> read_by_matmul(g.weights.size(), 0);
  for (const graph::Node& n : g.nodes)
    if (n.op == graph::OpKind::kMatMul) read_by_matmul[static_cast<size_t>(n.weight)] = 1;
  int fitting = 0;
  for (size_t i = 0; i < g.weights.size(); ++i) {
    const graph::Weight& w = g.weights[i];
    fitting += w.type == DType::kQ4_K && read_by_matmul[i] && cpu::q4k_x8_fits(w.rows, w.cols);
  }
  EXPECT_GT(fitting, 0);
  EXPECT_EQ(marked(g), fitting);
  EXPECT_EQ(graph::regrouped_bytes(g), 0);   // nothing made before a matmul reads it

  // The memory estimate counts what the copies will add: their growth plus the
  // largest original, resident beside its copy while it is made.
  int64_t growth = 0, largest = 0;
  for (const graph::Weight& w : g.weights) {
    if (!w.regrouped) continue;
    const int64_t original = graph::weight_bytes(w);
    growth += static_cast<int64_t>(cpu::q4k_x8_bytes(w.rows, w.cols)) - original;
    largest = std::max(largest, original);
  }
  EXPECT_GT(growth, 0);
  SessionOptions estimate_options;
  estimate_options.n_ctx = 64;
  const MemoryEstimate estimate = estimate_memory(*grouped.model(), estimate_options);
  EXPECT_EQ(estimate.repacked, growth + largest);
  EXPECT_EQ(estimate.total(), estimate.weights + estimate.repacked + estimate.arena + estimate.scratch + estimate.kv +
                                  estimate.overhead);

  ::setenv("HEARTH_REGROUP", "0", 1);
  test_env::TempModel plain(spec, tag + "_off");
  ::unsetenv("HEARTH_REGROUP");
  EXPECT_EQ(marked(plain.model()->graph()), 0);
  EXPECT_EQ(estimate_memory(*plain.model(), estimate_options).repacked, 0);

  const auto a = test_env::logits_steps(grouped.model());
  int64_t expected_bytes = 0;
  for (const graph::Weight& w : g.weights)
    if (w.regrouped) expected_bytes += static_cast<int64_t>(cpu::q4k_x8_bytes(w.rows, w.cols));
  EXPECT_EQ(graph::regrouped_bytes(g), expected_bytes);
  SessionOptions small;
  small.n_ctx = 64;
  EXPECT_EQ(memory_report(Session(grouped.model(), small)).repacked, expected_bytes);  // the model's copies
  const auto b = test_env::logits_steps(plain.model());
  ASSERT_EQ(a.size(), b.size());
  for (size_t step = 0; step < a.size(); ++step) {
    const test_env::LogitsGap gap = test_env::logits_gap(b[step], a[step]);
    // Only the float order of each row's sum differs; where that moves an
    // activation's q8 rounding the logits move a little further.
    EXPECT_LT(gap.worst, 0.02 * gap.rms) << tag << " step " << step;
  }
}

TEST(RegroupedWeights, Q4KMatmulWeightsReadInGroupsGiveTheSameLogits) {
  if (!cpu::q4k_x8_available()) GTEST_SKIP() << "this CPU (or HEARTH_ISA) has no grouped q4_K kernel (it needs AVX2): nothing is regrouped";
  expect_same_logits_with_and_without(test_env::small_spec(DType::kQ4_K), "regroup");
}

// A tied q4_K embedding is both the LM head (regrouped) and looked up row by
// row in the file's layout, whose pages were dropped after the copy was made.
TEST(RegroupedWeights, ATiedQ4KEmbeddingIsStillLookedUpFromTheFile) {
  if (!cpu::q4k_x8_available()) GTEST_SKIP() << "this CPU (or HEARTH_ISA) has no grouped q4_K kernel (it needs AVX2): nothing is regrouped";
  // The default model's vocabulary (49152 rows, whole 8-row groups).
  const std::string vocab = test_env::default_model_path();
  if (!std::ifstream(vocab).good()) GTEST_SKIP() << "the default model is not at " << vocab << " (run scripts/setup.sh)";
  models::SynthSpec spec = test_env::small_spec(DType::kQ4_K);
  spec.embedding_type = DType::kQ4_K;
  spec.tokenizer_from = vocab;
  spec.row_pool = 64;
  {
    test_env::TempModel probe(spec, "regroup_tied_probe");
    bool embedding_marked = false;
    for (const graph::Weight& w : probe.model()->graph().weights)
      embedding_marked = embedding_marked || (w.name == "token_embd.weight" && w.regrouped);
    EXPECT_TRUE(embedding_marked);
  }
  expect_same_logits_with_and_without(spec, "regroup_tied");
}

}  // namespace
}  // namespace hearth::runtime
