// Softmax of the CPU backend: scalar reference and Highway vector path, with the
// denominator summed in double and applied as one f32 reciprocal, as in llama.cpp.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/softmax.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "backends/cpu/simd_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hearth::cpu::HWY_NAMESPACE {

void SoftmaxImpl(float* x, size_t n) {
  const float max = MaxOf(x, n);
  const double sum = MapSumF64(x, x, n, [max](auto d, auto v) { return ExpF(d, hn::Sub(v, hn::Set(d, max))); });
  const float inv = static_cast<float>(1.0 / sum);
  Map1(x, x, n, [inv](auto d, auto v) { return hn::Mul(v, hn::Set(d, inv)); });
}

}  // namespace hearth::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <cmath>

#include "backends/cpu/exp_f32.h"
#include "backends/cpu/ops.h"
#include "backends/cpu/ops_dispatch.h"

namespace hearth::cpu {

HWY_EXPORT(SoftmaxImpl);

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  if (detail::use_ref_ops()) return ref::softmax(x, n);
  HWY_DYNAMIC_DISPATCH(SoftmaxImpl)(x, static_cast<size_t>(n));
}

namespace ref {

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  float max = x[0];
  for (int64_t i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = exp_f32(x[i] - max);
    sum += static_cast<double>(x[i]);
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace ref
}  // namespace hearth::cpu

#endif  // HWY_ONCE
