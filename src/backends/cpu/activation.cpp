// Activation functions of the CPU backend (silu, gelu and their gated forms):
// scalar references and Highway vector paths, bit-identical to each other (both
// use exp_f32's arithmetic; see exp_f32.h).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/activation.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "backends/cpu/simd_math-inl.h"

#ifndef HEARTH_BACKENDS_CPU_ACTIVATION_CONSTANTS
#define HEARTH_BACKENDS_CPU_ACTIVATION_CONSTANTS
namespace hearth::cpu {
namespace {
constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
constexpr float kGeluCoef = 0.044715f;
}  // namespace
}  // namespace hearth::cpu
#endif

HWY_BEFORE_NAMESPACE();
namespace hearth::cpu::HWY_NAMESPACE {

template <class D, class V>
HWY_INLINE V Silu(D d, V x) {
  return hn::Div(x, hn::Add(hn::Set(d, 1.0f), ExpF(d, hn::Neg(x))));
}

// Same operation order as the reference: x / (1 + e^(-2 u)), u = (c x)(1 + (a x) x).
template <class D, class V>
HWY_INLINE V Gelu(D d, V x) {
  const V one = hn::Set(d, 1.0f);
  const V poly = hn::Add(one, hn::Mul(hn::Mul(hn::Set(d, kGeluCoef), x), x));
  const V inner = hn::Mul(hn::Mul(hn::Set(d, kSqrt2OverPi), x), poly);
  return hn::Div(x, hn::Add(one, ExpF(d, hn::Mul(inner, hn::Set(d, -2.0f)))));
}

void SiluImpl(const float* x, float* y, size_t n) {
  Map1(x, y, n, [](auto d, auto v) { return Silu(d, v); });
}

void GeluImpl(const float* x, float* y, size_t n) {
  Map1(x, y, n, [](auto d, auto v) { return Gelu(d, v); });
}

void SwigluImpl(const float* gate, const float* up, float* y, size_t n) {
  Map2(gate, up, y, n, [](auto d, auto g, auto u) { return hn::Mul(Silu(d, g), u); });
}

void GegluImpl(const float* gate, const float* up, float* y, size_t n) {
  Map2(gate, up, y, n, [](auto d, auto g, auto u) { return hn::Mul(Gelu(d, g), u); });
}

}  // namespace hearth::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <cmath>

#include "backends/cpu/exp_f32.h"
#include "backends/cpu/ops.h"
#include "backends/cpu/ops_dispatch.h"

namespace hearth::cpu {

HWY_EXPORT(SiluImpl);
HWY_EXPORT(GeluImpl);
HWY_EXPORT(SwigluImpl);
HWY_EXPORT(GegluImpl);

void silu(const float* x, float* y, int64_t n) {
  if (n <= 0) return;
  if (detail::use_ref_ops()) return ref::silu(x, y, n);
  HWY_DYNAMIC_DISPATCH(SiluImpl)(x, y, static_cast<size_t>(n));
}

void gelu(const float* x, float* y, int64_t n) {
  if (n <= 0) return;
  if (detail::use_ref_ops()) return ref::gelu(x, y, n);
  HWY_DYNAMIC_DISPATCH(GeluImpl)(x, y, static_cast<size_t>(n));
}

void swiglu(const float* gate, const float* up, float* y, int64_t n) {
  if (n <= 0) return;
  if (detail::use_ref_ops()) return ref::swiglu(gate, up, y, n);
  HWY_DYNAMIC_DISPATCH(SwigluImpl)(gate, up, y, static_cast<size_t>(n));
}

void geglu(const float* gate, const float* up, float* y, int64_t n) {
  if (n <= 0) return;
  if (detail::use_ref_ops()) return ref::geglu(gate, up, y, n);
  HWY_DYNAMIC_DISPATCH(GegluImpl)(gate, up, y, static_cast<size_t>(n));
}

namespace ref {
namespace {
inline float silu1(float x) { return x / (1.0f + exp_f32(-x)); }
// The tanh approximation of GeLU, 0.5 x (1 + tanh(u)), written as the equal
// x / (1 + e^(-2u)): no cancellation for negative x, and the exp is exp_f32, so
// every path and the OpenCL kernel give the same bits.
inline float gelu1(float x) {
  const float u = (kSqrt2OverPi * x) * (1.0f + (kGeluCoef * x) * x);
  return x / (1.0f + exp_f32(u * -2.0f));
}
}  // namespace

void silu(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = silu1(x[i]);
}

void gelu(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = gelu1(x[i]);
}

void swiglu(const float* gate, const float* up, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = silu1(gate[i]) * up[i];
}

void geglu(const float* gate, const float* up, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = gelu1(gate[i]) * up[i];
}

}  // namespace ref
}  // namespace hearth::cpu

#endif  // HWY_ONCE
