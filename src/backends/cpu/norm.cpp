// RMS normalisation of the CPU backend: scalar reference and Highway vector path.
// Sums of squares are kept in double, as in the reference runtime, in one fixed
// order (sum_of_squares) that the OpenCL kernel follows too.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/norm.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <cmath>
#include <cstdint>

#include "backends/cpu/simd_math-inl.h"

#ifndef HEARTH_BACKENDS_CPU_NORM_SUM
#define HEARTH_BACKENDS_CPU_NORM_SUM
namespace hearth::cpu {
namespace {
// The sum of x[i]^2, each square rounded to f32, in double: element i goes to
// running sum i % 8, and the eight are added as ((s0 + s4) + (s2 + s6)) +
// ((s1 + s5) + (s3 + s7)). The order is the same whatever the SIMD level (the
// compiler may vectorise the independent sums, not reorder them), so every path
// and the OpenCL rms_norm give the same bits.
inline double sum_of_squares(const float* x, int64_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int m = 0; m < 8; ++m) s[m] += static_cast<double>(x[i + m] * x[i + m]);
  for (int m = 0; i < n; ++i, ++m) s[m] += static_cast<double>(x[i] * x[i]);
  return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}
}  // namespace
}  // namespace hearth::cpu
#endif

HWY_BEFORE_NAMESPACE();
namespace hearth::cpu::HWY_NAMESPACE {

void RmsNormImpl(const float* x, const float* weight, float* y, size_t n_rows, size_t n, float eps) {
  for (size_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    const double sum = sum_of_squares(xr, static_cast<int64_t>(n));
    const float mean = static_cast<float>(sum / static_cast<double>(n));
    const float s = 1.0f / std::sqrt(mean + eps);
    if (weight) {
      Map2(xr, weight, yr, n, [s](auto d, auto v, auto w) { return hn::Mul(hn::Mul(v, hn::Set(d, s)), w); });
    } else {
      Map1(xr, yr, n, [s](auto d, auto v) { return hn::Mul(v, hn::Set(d, s)); });
    }
  }
}

}  // namespace hearth::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include "backends/cpu/ops.h"
#include "backends/cpu/ops_dispatch.h"

namespace hearth::cpu {

HWY_EXPORT(RmsNormImpl);

void rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t n, float eps) {
  if (n <= 0 || n_rows <= 0) return;
  if (detail::use_ref_ops()) return ref::rms_norm(x, weight, y, n_rows, n, eps);
  HWY_DYNAMIC_DISPATCH(RmsNormImpl)(x, weight, y, static_cast<size_t>(n_rows), static_cast<size_t>(n), eps);
}

namespace ref {

// y = (x * s) * w with s = 1/sqrt(mean + eps) in f32: the reference runtime scales
// first and multiplies by the weight as a separate op, so the roundings match it.
void rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t n, float eps) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    const double sum = sum_of_squares(xr, n);
    const float mean = static_cast<float>(sum / static_cast<double>(n));
    const float s = 1.0f / std::sqrt(mean + eps);
    if (weight) {
      for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] * s) * weight[i];
    } else {
      for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * s;
    }
  }
}

}  // namespace ref
}  // namespace hearth::cpu

#endif  // HWY_ONCE
