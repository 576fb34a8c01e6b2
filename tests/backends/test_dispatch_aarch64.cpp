// What the run-time dispatcher picks on aarch64: the Advanced SIMD or
// dot-product row kernel of every weight type (never the scalar one where a
// vector level runs), and a Highway vector path for the element-wise ops. The
// kernels themselves are checked against the scalar references in
// test_dot_legacy.cpp and test_dot_kquants.cpp. Only an aarch64 build has
// these tests (test_dot_legacy.cpp's dispatch test covers every build).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "backends/cpu/ops.h"
#include "backends/cpu/vec_dot.h"

namespace hearth::cpu {
namespace {

#if defined(__aarch64__)

constexpr DType kFloatTypes[] = {DType::kF32, DType::kF16, DType::kBF16};
constexpr DType kBlockTypes[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                 DType::kQ8_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

bool capped() { return std::getenv("HEARTH_ISA") != nullptr; }

TEST(DispatchAarch64, DetectsTheCpuLevels) {
  EXPECT_TRUE(cpu_features().neon);
  EXPECT_TRUE(isa_supported(Isa::kNeon));
  EXPECT_EQ(isa_supported(Isa::kNeonDot), cpu_features().dotprod);
  for (Isa x86 : {Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni}) EXPECT_FALSE(isa_supported(x86)) << isa_name(x86);
  if (capped()) GTEST_SKIP() << "HEARTH_ISA is set: the best level is capped";
  EXPECT_EQ(best_isa(), cpu_features().dotprod ? Isa::kNeonDot : Isa::kNeon);
  std::printf("aarch64 level here: %s\n", isa_name(best_isa()));
}

TEST(DispatchAarch64, PicksTheVectorKernelOfEveryType) {
  if (capped()) GTEST_SKIP() << "HEARTH_ISA is set: the best level is capped";
  const Isa best = best_isa();
  for (DType t : kBlockTypes) {
    const WeightKernels k = weight_kernels(t);
    EXPECT_EQ(k.isa, best) << dtype_name(t);
    EXPECT_NE(k.vec_dot, weight_kernels(t, Isa::kScalar).vec_dot) << dtype_name(t);
    EXPECT_EQ(weight_kernels(t, Isa::kNeon).isa, Isa::kNeon) << dtype_name(t);
  }
  for (DType t : kFloatTypes) {  // no dot-product variant: Advanced SIMD at either level
    const WeightKernels k = weight_kernels(t);
    EXPECT_EQ(k.isa, Isa::kNeon) << dtype_name(t);
    EXPECT_NE(k.vec_dot, weight_kernels(t, Isa::kScalar).vec_dot) << dtype_name(t);
  }
  if (best == Isa::kNeonDot) {
    for (DType t : kBlockTypes) EXPECT_NE(weight_kernels(t).vec_dot, weight_kernels(t, Isa::kNeon).vec_dot);
  }
}

TEST(DispatchAarch64, ElementwiseOpsRunAVectorPath) {
  if (capped()) GTEST_SKIP() << "HEARTH_ISA is set: the best level is capped";
  const std::string path = ops_active_path();
  EXPECT_NE(path, "ref");
  EXPECT_NE(path, "EMU128");
  EXPECT_NE(path, "SCALAR");
  std::printf("element-wise ops path here: %s\n", path.c_str());
}

#endif

}  // namespace
}  // namespace hearth::cpu
