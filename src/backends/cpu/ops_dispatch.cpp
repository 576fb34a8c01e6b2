// Run-time choice of implementation for the ops of ops.h: HEARTH_ISA, Highway's
// target dispatch, and the overrides tests and benchmarks use.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/ops_dispatch.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace hearth::cpu::HWY_NAMESPACE {

// Which compiled target a dynamic dispatch lands on, so tests can check that
// forcing a path really took effect.
const char* DispatchedTargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace hearth::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <hwy/targets.h>

#include "backends/cpu/ops.h"
#include "backends/cpu/ops_dispatch.h"
#include "core/cpu_features.h"

namespace hearth::cpu {
HWY_EXPORT(DispatchedTargetName);

namespace {

enum Forced : int { kAuto = 0, kRef = 1, kTarget = 2 };
std::atomic<int> g_forced{kAuto};

// Reads HEARTH_ISA once. best_isa() applies the same cap to the hand-written
// matmul kernels; the Highway targets below are kept in step with it.
bool init_from_environment() {
  const char* cap = std::getenv("HEARTH_ISA");
  const bool scalar = cap && std::strcmp(cap, "scalar") == 0;
#if HWY_ARCH_X86
  const Isa best = best_isa();
  int64_t disabled = 0;
  if (best < Isa::kAvx512) disabled |= HWY_AVX3 | HWY_AVX3_DL;
  if (best < Isa::kAvx2) disabled |= HWY_AVX2;
  if (disabled) hwy::DisableTargets(disabled);
#elif HWY_ARCH_ARM_A64
  // HEARTH_ISA=neon: Advanced SIMD only, no SVE.
  if (best_isa() < Isa::kNeonDot) hwy::DisableTargets(HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128);
#endif
  return scalar;
}

bool environment_wants_ref() {
  static const bool scalar = init_from_environment();
  return scalar;
}

// Targets compiled in this library (HWY_TARGETS is the same in every kernel file:
// CMake sets HWY_DISABLED_TARGETS for the whole library) and runnable here. Fixed
// at the first call, before any test override narrows SupportedTargets().
const std::vector<std::pair<std::string, int64_t>>& runnable_targets() {
  static const std::vector<std::pair<std::string, int64_t>> targets = [] {
    environment_wants_ref();
    std::vector<std::pair<std::string, int64_t>> list;
    for (int64_t bits = hwy::SupportedTargets() & HWY_TARGETS; bits != 0; bits &= bits - 1) {
      const int64_t target = bits & -bits;  // lowest bit first: best first
      list.emplace_back(hwy::TargetName(target), target);
    }
    return list;
  }();
  return targets;
}

}  // namespace

namespace detail {
bool use_ref_ops() {
  const int forced = g_forced.load(std::memory_order_relaxed);
  if (forced == kRef) return true;
  if (forced == kTarget) return false;
  return environment_wants_ref();
}
}  // namespace detail

std::vector<std::string> ops_vector_targets() {
  std::vector<std::string> names;
  for (const auto& [name, bit] : runnable_targets()) names.push_back(name);
  return names;
}

bool set_ops_path(const std::string& name) {
  const auto& targets = runnable_targets();
  if (name.empty() || name == "ref") {
    hwy::SetSupportedTargetsForTest(0);
    g_forced.store(name.empty() ? kAuto : kRef);
    return true;
  }
  for (const auto& [target_name, bit] : targets) {
    if (target_name != name) continue;
    hwy::SetSupportedTargetsForTest(bit);
    g_forced.store(kTarget);
    return true;
  }
  return false;
}

std::string ops_active_path() {
  if (detail::use_ref_ops()) return "ref";
  return HWY_DYNAMIC_DISPATCH(DispatchedTargetName)();
}

}  // namespace hearth::cpu

#endif  // HWY_ONCE
