// RMS normalisation of the CPU backend: scalar reference and Highway vector path.
// Sums of squares are kept in double, as in the reference runtime.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/norm.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <cmath>

#include "backends/cpu/simd_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hearth::cpu::HWY_NAMESPACE {

void RmsNormImpl(const float* x, const float* weight, float* y, size_t n_rows, size_t n, float eps) {
  for (size_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    // Squares are rounded to f32 before the double sum, like the reference.
    const double sum = MapSumF64(xr, nullptr, n, [](auto, auto v) { return hn::Mul(v, v); });
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
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(xr[i] * xr[i]);
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
