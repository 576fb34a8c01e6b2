// Mixed CPU + OpenCL execution (graph::DeviceExecutor through Session): the
// CPU's logits bit for bit and its greedy tokens, for generated models under
// many placements and for the default model under the partitioner's plan and
// with every node the device can run.
// Without an OpenCL device (PoCL is installed by the setup script) these skip.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
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
#include "logits_steps.h"
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

struct Case {
  const char* arch;
  DType type;
  // Every op the device may run here reproduces the CPU's bits (block-format
  // matmuls, norms, rope, SwiGLU, GeGLU; not the f16 matmul).
  bool bit_exact;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.arch << " " << dtype_name(c.type); }

class OffloadSynthetic : public ::testing::TestWithParam<Case> {};

TEST_P(OffloadSynthetic, LogitsMatchTheCpuUnderEveryPlacement) {
  REQUIRE_OPENCL();
  models::SynthSpec spec = test_env::small_spec(GetParam().type);
  spec.arch = GetParam().arch;
  spec.rope_freqs = spec.arch == "llama";
  test_env::TempModel tm(spec, std::string("offload_") + spec.arch + "_" + std::string(dtype_name(spec.weight_type)));
  const auto cpu = test_env::logits_steps(tm.model());
  const graph::Graph& g = tm.model()->graph();
  for (int mode = 0; mode < 4; ++mode) {
    const std::vector<uint8_t> on = choose_nodes(g, mode, 100 + mode);
    const auto mixed = test_env::logits_steps(tm.model(), {shared_device(), on});
    ASSERT_EQ(mixed.size(), cpu.size());
    for (size_t step = 0; step < cpu.size(); ++step) {
      const test_env::LogitsGap gap = test_env::logits_gap(cpu[step], mixed[step]);
      if (GetParam().bit_exact && shared_device()->info().fp64) {
        EXPECT_EQ(0, std::memcmp(cpu[step].data(), mixed[step].data(), cpu[step].size() * sizeof(float)))
            << spec.arch << " " << dtype_name(spec.weight_type) << " placement " << mode << " step " << step
            << ": logits differ by up to " << gap.worst;
        continue;
      }
      // Both sides quantize activations (q8) and round the cache to f16: a last-bit
      // difference upstream moves a rounding step, so logits differ by up to a
      // few percent of their RMS. A wrong copy or a stale value is far beyond it.
      EXPECT_LT(gap.worst, 0.05 * gap.rms) << spec.arch << " " << dtype_name(spec.weight_type) << " placement " << mode
                                          << " step " << step;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, OffloadSynthetic,
                         ::testing::Values(Case{"llama", DType::kQ8_0, true}, Case{"llama", DType::kQ4_1, true},
                                           Case{"llama", DType::kQ4_0, true}, Case{"llama", DType::kF16, false},
                                           Case{"qwen2", DType::kQ5_0, true}, Case{"gemma3", DType::kQ8_0, true},
                                           Case{"llama", DType::kQ4_K, true}),
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

TEST(OffloadDefaultModel, GreedyTokensAreTheCpusForFivePrompts) {
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

  // Every node the device can run, as well as the partitioner's choice.
  std::vector<uint8_t> every(model->graph().nodes.size(), 0);
  for (size_t i = 0; i < every.size(); ++i) every[i] = graph::device_runs(model->graph(), model->graph().nodes[i]);
  const std::vector<std::string> prompts = {
      "The capital of France is", "Water boils at a temperature of", "def fibonacci(n):",
      "Once upon a time, in a small village,", "The three primary colors are"};
  // Free-running greedy decoding, each run on its own tokens. Every op the
  // device runs for this model reproduces the CPU's bits (core/sum_order.h,
  // kernels.cl), so the tokens must be the same and, where the device sums the
  // norms in double as the CPU does, every step's logits too.
  constexpr int kTokens = 32;
  const bool bits = placement.offload.device->info().fp64;
  for (const graph::Offload& offload : {placement.offload, graph::Offload{placement.offload.device, every}}) {
    std::printf("%lld nodes on the device:\n", static_cast<long long>(offload.nodes_on_device()));
    for (const std::string& text : prompts) {
      const std::vector<int32_t> prompt = model->tokenizer().encode(text, true, false);
      SessionOptions o;
      o.n_ctx = 256;
      o.n_threads = 2;
      Session cpu(model, o);
      o.offload = offload;
      Session mixed(model, o);
      std::vector<int32_t> cpu_tokens, mixed_tokens;
      std::span<const float> a = cpu.decode(prompt), b = mixed.decode(prompt);
      int same_logits = 0;
      for (int t = 0; t < kTokens; ++t) {
        same_logits += a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
        cpu_tokens.push_back(static_cast<int32_t>(std::max_element(a.begin(), a.end()) - a.begin()));
        mixed_tokens.push_back(static_cast<int32_t>(std::max_element(b.begin(), b.end()) - b.begin()));
        a = cpu.decode(std::span(&cpu_tokens.back(), 1));
        b = mixed.decode(std::span(&mixed_tokens.back(), 1));
      }
      EXPECT_EQ(cpu_tokens, mixed_tokens) << text;
      if (bits) {
        EXPECT_EQ(same_logits, kTokens) << text << ": logits not bit-identical at every step";
      }
      std::string out = model->tokenizer().decode(cpu_tokens);
      for (char& c : out)
        if (c == '\n') c = ' ';
      std::printf("  %-40s %s %d/%d steps with bit-identical logits: %s\n", text.c_str(),
                  cpu_tokens == mixed_tokens ? "same tokens," : "DIFFERENT tokens,", same_logits, kTokens,
                  out.substr(0, 60).c_str());
    }
  }
}

}  // namespace
}  // namespace hearth::runtime
