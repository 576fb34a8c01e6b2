// Mixed CPU + OpenCL execution (graph::DeviceExecutor through Session): the
// same logits and greedy tokens as the CPU alone, for generated models under
// many placements and for the default model under the partitioner's plan.
// Without an OpenCL device (PoCL is installed by the setup script) these skip.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <vector>

#include "backends/opencl/opencl_device.h"
#include "core/error.h"
#include "devices/device_profile.h"
#include "graph/device_executor.h"
#include "runtime/device_placement.h"
#include "runtime/session.h"
#include "../models/hearth_home.h"
#include "temp_model.h"

namespace hearth::runtime {
namespace {

std::shared_ptr<opencl::Device> shared_device() {
  static std::shared_ptr<opencl::Device> device = []() -> std::shared_ptr<opencl::Device> {
    if (opencl::list_devices().empty()) return nullptr;
    return opencl::Device::open();
  }();
  return device;
}

#define REQUIRE_OPENCL()                                                                                       \
  do {                                                                                                         \
    if (!opencl::built_with_opencl()) GTEST_SKIP() << "this build has no OpenCL (ocl-icd-opencl-dev missing)"; \
    if (!shared_device()) GTEST_SKIP() << "no OpenCL device here (install pocl-opencl-icd)";                   \
  } while (0)

// Which nodes go to the device: every one it can run, or a random subset (so
// that values cross in every direction, between any two ops).
std::vector<uint8_t> choose_nodes(const graph::Graph& g, int mode, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> on(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    on[i] = graph::device_runs(g, g.nodes[i]) && (mode == 0 || rng() % 2 == 0) ? 1 : 0;
  return on;
}

std::vector<std::vector<float>> run_logits(const std::shared_ptr<const models::Model>& model, graph::Offload offload,
                                           const std::vector<int32_t>& prompt, const std::vector<int32_t>& more) {
  SessionOptions o;
  o.n_ctx = 64;
  o.n_threads = 2;
  o.n_batch = 8;  // the 11-token prompt takes two passes
  o.offload = std::move(offload);
  Session s(model, o);
  std::vector<std::vector<float>> out;
  std::span<const float> l = s.decode(prompt);
  out.emplace_back(l.begin(), l.end());
  for (int32_t t : more) {
    l = s.decode(std::span(&t, 1));
    out.emplace_back(l.begin(), l.end());
  }
  return out;
}

struct Case {
  const char* arch;
  DType type;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.arch << " " << dtype_name(c.type); }

class OffloadSynthetic : public ::testing::TestWithParam<Case> {};

TEST_P(OffloadSynthetic, LogitsMatchTheCpuUnderEveryPlacement) {
  REQUIRE_OPENCL();
  models::SynthSpec spec = test_env::small_spec(GetParam().type);
  spec.arch = GetParam().arch;
  spec.rope_freqs = spec.arch == "llama";
  test_env::TempModel tm(spec, std::string("offload_") + spec.arch + "_" + std::string(dtype_name(spec.weight_type)));
  const std::vector<int32_t> prompt = {1, 17, 99, 250, 3, 42, 7, 8, 120, 64, 5};
  const std::vector<int32_t> more = {11, 200, 31};
  const auto cpu = run_logits(tm.model(), {}, prompt, more);
  const graph::Graph& g = tm.model()->graph();
  for (int mode = 0; mode < 4; ++mode) {
    const std::vector<uint8_t> on = choose_nodes(g, mode, 100 + mode);
    const auto mixed = run_logits(tm.model(), {shared_device(), on}, prompt, more);
    ASSERT_EQ(mixed.size(), cpu.size());
    for (size_t step = 0; step < cpu.size(); ++step) {
      double rms = 0, worst = 0;
      for (size_t i = 0; i < cpu[step].size(); ++i) {
        rms += cpu[step][i] * cpu[step][i];
        worst = std::max(worst, static_cast<double>(std::fabs(cpu[step][i] - mixed[step][i])));
      }
      rms = std::sqrt(rms / static_cast<double>(cpu[step].size()));
      // Both sides quantize activations (q8) and round the cache to f16: a last-bit
      // difference upstream moves a rounding step, so logits differ by up to a
      // few percent of their RMS. A wrong copy or a stale value is far beyond it.
      EXPECT_LT(worst, 0.05 * rms) << spec.arch << " " << dtype_name(spec.weight_type) << " placement " << mode
                                          << " step " << step;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, OffloadSynthetic,
                         ::testing::Values(Case{"llama", DType::kQ8_0}, Case{"llama", DType::kQ4_1},
                                           Case{"llama", DType::kQ4_0}, Case{"llama", DType::kF16},
                                           Case{"qwen2", DType::kQ5_0}, Case{"gemma3", DType::kQ8_0},
                                           Case{"llama", DType::kQ4_K}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.arch) + "_" + std::string(dtype_name(info.param.type));
                         });

TEST(Offload, BadOffloadsAreRefused) {
  REQUIRE_OPENCL();
  test_env::TempModel tm(test_env::small_spec(DType::kQ8_0), "offload_bad");
  const graph::Graph& g = tm.model()->graph();
  SessionOptions o;
  o.n_ctx = 32;
  o.offload = {shared_device(), std::vector<uint8_t>(g.nodes.size() + 1, 0)};
  EXPECT_THROW(Session(tm.model(), o), Error);
  std::vector<uint8_t> on(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].op == graph::OpKind::kAttention) on[i] = 1;
  o.offload = {shared_device(), on};
  try {
    Session s(tm.model(), o);
    FAIL() << "attention on the device should be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot run on the OpenCL device"), std::string::npos) << e.what();
  }
}

TEST(Offload, KQuantMatmulsStayOnTheCpu) {
  test_env::TempModel tm(test_env::small_spec(DType::kQ4_K), "offload_kquant");
  const graph::Graph& g = tm.model()->graph();
  int64_t kquant_matmuls = 0;
  for (const graph::Node& n : g.nodes) {
    if (n.op != graph::OpKind::kMatMul || g.weights[static_cast<size_t>(n.weight)].type != DType::kQ4_K) continue;
    ++kquant_matmuls;
    EXPECT_FALSE(graph::device_runs(g, n));
  }
  EXPECT_GT(kquant_matmuls, 0);
}

// ---- the default model under the partitioner's plan ----

TEST(OffloadDefaultModel, GreedyTokensMatchTheCpuForFivePrompts) {
  REQUIRE_OPENCL();
  const std::string path = test_env::default_model_path();
  if (!std::ifstream(path).good()) GTEST_SKIP() << "the default model is not at " << path << " (run scripts/setup.sh)";
  auto model = models::Model::load(path);
  const devices::ParsedProfile profile =
      devices::load_device_profile(std::string(HEARTH_TEST_DATA) + "/devices/opencl_offload.json");
  DevicePlacement placement = place_on_devices(*model, profile.profile, 256);
  ASSERT_TRUE(placement.offload.device) << "the test profile should send nodes to the OpenCL device";
  std::printf("placement: %s\n", describe_placement(placement, model->graph()).c_str());
  int64_t matmuls = 0, matmuls_on_device = 0;
  for (size_t i = 0; i < model->graph().nodes.size(); ++i)
    if (model->graph().nodes[i].op == graph::OpKind::kMatMul) {
      ++matmuls;
      matmuls_on_device += placement.offload.on_device[i];
    }
  EXPECT_GT(matmuls_on_device, 0);
  std::printf("%lld of %lld matmuls on the device\n", static_cast<long long>(matmuls_on_device),
              static_cast<long long>(matmuls));

  const std::vector<std::string> prompts = {
      "The capital of France is", "Water boils at a temperature of", "def fibonacci(n):",
      "Once upon a time, in a small village,", "The three primary colors are"};
  // Both runs follow the CPU's greedy tokens step by step, so that every step
  // compares the two on the same history. A step whose picks differ must be a
  // near tie: the CPU's margin between the two picks below twice the RMS
  // difference of the two runs' logits at that step. Otherwise the mixed run
  // picked differently with no numerical excuse: a wrong result.
  constexpr int kTokens = 32;
  int same_steps = 0, near_ties = 0, steps = 0;
  double worst_rms = 0, worst_rel = 0;
  for (const std::string& text : prompts) {
    const std::vector<int32_t> prompt = model->tokenizer().encode(text, true, false);
    SessionOptions o;
    o.n_ctx = 256;
    o.n_threads = 2;
    Session cpu(model, o);
    o.offload = placement.offload;
    Session mixed(model, o);
    std::span<const float> a = cpu.decode(prompt), b = mixed.decode(prompt);
    std::string log;
    for (int t = 0; t < kTokens; ++t, ++steps) {
      const auto pick_a = static_cast<int32_t>(std::max_element(a.begin(), a.end()) - a.begin());
      const auto pick_b = static_cast<int32_t>(std::max_element(b.begin(), b.end()) - b.begin());
      double diff = 0, sq = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
        sq += static_cast<double>(a[i] - b[i]) * (a[i] - b[i]);
      }
      double norm = 0;
      for (float v : a) norm += static_cast<double>(v) * v;
      const double rms_diff = std::sqrt(sq / static_cast<double>(a.size()));
      const double rel = rms_diff / std::sqrt(norm / static_cast<double>(a.size()));
      worst_rms = std::max(worst_rms, rms_diff);
      worst_rel = std::max(worst_rel, rel);
      // The CPU's own SIMD levels differ from each other this much (AVX-512 vs
      // AVX2 vs scalar: 0.12-0.18 RMS on logits of RMS 4.1); a wrong op is far above.
      EXPECT_LT(rel, 0.25) << text << ": token " << t << ": logits differ by " << rms_diff << " RMS";
      if (pick_a == pick_b) {
        ++same_steps;
      } else {
        const double margin = a[static_cast<size_t>(pick_a)] - a[static_cast<size_t>(pick_b)];
        char line[160];
        std::snprintf(line, sizeof line, " [token %d: margin %.4f; logits differ by %.4f RMS, %.4f at most]", t, margin,
                      rms_diff, diff);
        log += line;
        EXPECT_LE(margin, 2 * rms_diff) << text << ": token " << t << " differs with no near tie";
        ++near_ties;
      }
      a = cpu.decode(std::span(&pick_a, 1));
      b = mixed.decode(std::span(&pick_a, 1));
    }
    std::printf("%-40s%s\n", text.c_str(), log.empty() ? " every pick identical" : log.c_str());
  }
  std::printf("greedy picks, CPU alone vs CPU+OpenCL on the same history: %d of %d identical, %d near ties; "
              "logit differences up to %.4f RMS (%.1f%% of the logits' RMS)\n",
              same_steps, steps, near_ties, worst_rms, 100 * worst_rel);
  // Most steps are no tie at all.
  EXPECT_GE(same_steps, steps * 9 / 10);
}

}  // namespace
}  // namespace hearth::runtime
