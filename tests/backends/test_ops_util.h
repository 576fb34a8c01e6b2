// Shared pieces of the ops tests: a fixture that runs a test once per Highway
// target of the vector paths, and random inputs.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/ops.h"

namespace hearth::cpu::testing {

// Every target the library may be compiled for; those this CPU cannot run skip.
inline const std::vector<std::string>& all_vector_paths() {
#if defined(__aarch64__)
  static const std::vector<std::string> paths = {"SVE2_128", "SVE_256", "SVE2", "SVE", "NEON", "EMU128", "SCALAR"};
#else
  static const std::vector<std::string> paths = {"AVX3", "AVX2", "SSE4", "SCALAR"};
#endif
  return paths;
}

// Runs each test with the public ops forced onto one vector path (the parameter),
// and checks that the forcing took effect, since a silent fallback would make
// every comparison with ref:: pass against the same code.
class VectorPathTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::vector<std::string> runnable = ops_vector_targets();
    if (std::find(runnable.begin(), runnable.end(), GetParam()) == runnable.end())
      GTEST_SKIP() << "this CPU (or HEARTH_ISA) does not allow the " << GetParam() << " path";
    ASSERT_TRUE(set_ops_path(GetParam()));
    ASSERT_EQ(ops_active_path(), GetParam());
  }
  void TearDown() override { set_ops_path(""); }
};

inline std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Lengths that leave every kind of tail after full vectors of 4, 8 or 16 lanes.
inline const std::vector<size_t>& awkward_sizes() {
  static const std::vector<size_t> sizes = {1, 2, 3, 7, 8, 15, 16, 17, 31, 64, 100, 1000, 4099};
  return sizes;
}

inline std::string path_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace hearth::cpu::testing
