// Element-wise arithmetic of the CPU backend (add, mul, scale, bias add, f16
// rounding): scalar references and Highway vector paths.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/elementwise.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "backends/cpu/simd_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hearth::cpu::HWY_NAMESPACE {

void AddImpl(const float* a, const float* b, float* y, size_t n) {
  Map2(a, b, y, n, [](auto, auto va, auto vb) { return hn::Add(va, vb); });
}

void MulImpl(const float* a, const float* b, float* y, size_t n) {
  Map2(a, b, y, n, [](auto, auto va, auto vb) { return hn::Mul(va, vb); });
}

void ScaleImpl(const float* x, float s, float* y, size_t n) {
  Map1(x, y, n, [s](auto d, auto v) { return hn::Mul(v, hn::Set(d, s)); });
}

void RoundToF16Impl(const float* x, float* y, size_t n) {
  Map1(x, y, n, [](auto d, auto v) { return RoundToF16(d, v); });
}

}  // namespace hearth::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include "backends/cpu/ops.h"
#include "backends/cpu/ops_dispatch.h"
#include "core/half.h"

namespace hearth::cpu {

HWY_EXPORT(AddImpl);
HWY_EXPORT(MulImpl);
HWY_EXPORT(ScaleImpl);
HWY_EXPORT(RoundToF16Impl);

void add(const float* a, const float* b, float* y, int64_t n) {
  if (n <= 0) return;
  if (detail::use_ref_ops()) return ref::add(a, b, y, n);
  HWY_DYNAMIC_DISPATCH(AddImpl)(a, b, y, static_cast<size_t>(n));
}

void mul(const float* a, const float* b, float* y, int64_t n) {
  if (n <= 0) return;
  if (detail::use_ref_ops()) return ref::mul(a, b, y, n);
  HWY_DYNAMIC_DISPATCH(MulImpl)(a, b, y, static_cast<size_t>(n));
}

void scale(const float* x, float s, float* y, int64_t n) {
  if (n <= 0) return;
  if (detail::use_ref_ops()) return ref::scale(x, s, y, n);
  HWY_DYNAMIC_DISPATCH(ScaleImpl)(x, s, y, static_cast<size_t>(n));
}

void add_row_broadcast(const float* x, const float* b, float* y, int64_t n_rows, int64_t n) {
  if (n <= 0 || n_rows <= 0) return;
  if (detail::use_ref_ops()) return ref::add_row_broadcast(x, b, y, n_rows, n);
  for (int64_t r = 0; r < n_rows; ++r) HWY_DYNAMIC_DISPATCH(AddImpl)(x + r * n, b, y + r * n, static_cast<size_t>(n));
}

void round_to_f16(const float* x, float* y, int64_t n) {
  if (n <= 0) return;
  if (detail::use_ref_ops()) return ref::round_to_f16(x, y, n);
  HWY_DYNAMIC_DISPATCH(RoundToF16Impl)(x, y, static_cast<size_t>(n));
}

namespace ref {

void add(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void mul(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

void scale(const float* x, float s, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s;
}

void add_row_broadcast(const float* x, const float* b, float* y, int64_t n_rows, int64_t n) {
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t i = 0; i < n; ++i) y[r * n + i] = x[r * n + i] + b[i];
}

void round_to_f16(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = f16_to_f32(f32_to_f16(x[i]));
}

}  // namespace ref
}  // namespace hearth::cpu

#endif  // HWY_ONCE
