// Per-target Highway helpers shared by the vector paths of ops.h: exp, f16 rounding,
// loops over arrays with one-lane tails, and sums kept in double. Re-included per target.
#if defined(HEARTH_BACKENDS_CPU_SIMD_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HEARTH_BACKENDS_CPU_SIMD_MATH_INL_H_
#undef HEARTH_BACKENDS_CPU_SIMD_MATH_INL_H_
#else
#define HEARTH_BACKENDS_CPU_SIMD_MATH_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include "backends/cpu/exp_f32.h"

HWY_BEFORE_NAMESPACE();
namespace hearth::cpu::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Tails run on one-lane vectors rather than a scalar copy of the formula, so every
// element gets exactly the same arithmetic wherever it sits in the array.
using Tail = hn::CappedTag<float, 1>;

// e^x in f32: exp_f32 of exp_f32.h lane by lane, the same operations in the same
// order (no MulAdd), so every target gives the scalar function's bits.
template <class D, class V>
HWY_INLINE V ExpF(D d, V x) {
  namespace e = exp_detail;
  const hn::RebindToSigned<D> di;
  const V xc = hn::Min(hn::Max(x, hn::Set(d, e::kLowest)), hn::Set(d, e::kHighest));
  const V k = hn::Round(hn::Mul(xc, hn::Set(d, e::kLog2e)));
  const V r = hn::Sub(hn::Sub(xc, hn::Mul(k, hn::Set(d, e::kLn2Hi))), hn::Mul(k, hn::Set(d, e::kLn2Lo)));
  V p = hn::Set(d, e::kPoly[0]);
  for (int i = 1; i < 8; ++i) p = hn::Add(hn::Mul(p, r), hn::Set(d, e::kPoly[i]));
  const auto ki = hn::ConvertTo(di, k);
  const auto k1 = hn::ShiftRight<1>(ki);  // arithmetic: floor(k / 2)
  const auto bias = hn::Set(di, 127);
  const V s1 = hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(k1, bias)));
  const V s2 = hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(hn::Sub(ki, k1), bias)));
  const V y = hn::Mul(hn::Mul(p, s1), s2);
  const V zeroed = hn::IfThenZeroElse(hn::Lt(x, hn::Set(d, e::kZeroBelow)), y);
  return hn::IfThenElse(hn::IsNaN(x), x, zeroed);
}

// Each lane rounded to the nearest f16 value (ties to even) and widened back to f32,
// bit-identical to f16_to_f32(f32_to_f16(x)) of core/half.h. Highway's own f16
// demotion truncates on targets without F16C, so this is done with integer and
// float arithmetic that every target has.
template <class D, class V>
HWY_INLINE V RoundToF16(D d, V x) {
  const hn::RebindToSigned<D> di;
  const auto bits = hn::BitCast(di, x);
  const auto abs = hn::And(bits, hn::Set(di, 0x7fffffff));
  const auto sign = hn::Xor(bits, abs);
  // Normal f16 range: keep 11 significant bits by adding just under half of the
  // dropped range plus the lowest kept bit (ties to even), then clearing the 13
  // dropped bits. A carry into the exponent is the correct result.
  const auto lsb = hn::And(hn::ShiftRight<13>(abs), hn::Set(di, 1));
  const auto normal =
      hn::And(hn::Add(abs, hn::Add(hn::Set(di, 0xfff), lsb)), hn::Set(di, ~0x1fff));
  // Below 2^-14 the f16 spacing is a fixed 2^-24: round |x| * 2^24 to an integer by
  // adding and subtracting 2^23 (exact below 2^23, ties to even).
  const auto big = hn::Set(d, 8388608.0f);
  const auto scaled = hn::Mul(hn::BitCast(d, abs), hn::Set(d, 16777216.0f));
  const auto tiny = hn::Mul(hn::Sub(hn::Add(scaled, big), big), hn::Set(d, 5.9604644775390625e-8f));
  auto r = hn::IfThenElse(hn::Lt(abs, hn::Set(di, 0x38800000)), hn::BitCast(di, tiny), normal);
  // From 65520 up the nearest f16 is infinity; NaN stays NaN (made quiet).
  r = hn::IfThenElse(hn::Gt(abs, hn::Set(di, 0x477fefff)), hn::Set(di, 0x7f800000), r);
  r = hn::IfThenElse(hn::Gt(abs, hn::Set(di, 0x7f800000)), hn::Or(abs, hn::Set(di, 0x00400000)), r);
  return hn::BitCast(d, hn::Or(r, sign));
}

// y[i] = f(d, x[i]) over n floats; y may be x.
template <class F>
HWY_INLINE void Map1(const float* x, float* y, size_t n, F f) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(f(d, hn::LoadU(d, x + i)), d, y + i);
  const Tail d1;
  for (; i < n; ++i) hn::StoreU(f(d1, hn::LoadU(d1, x + i)), d1, y + i);
}

// y[i] = f(d, a[i], b[i]) over n floats; y may be a or b.
template <class F>
HWY_INLINE void Map2(const float* a, const float* b, float* y, size_t n, F f) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(f(d, hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, y + i);
  const Tail d1;
  for (; i < n; ++i) hn::StoreU(f(d1, hn::LoadU(d1, a + i), hn::LoadU(d1, b + i)), d1, y + i);
}

// Returns the sum, in double, of f(d, x[i]) over n floats, and stores the f32 values
// of f to y unless y is null (y may be x). Double sums keep long rows (norms,
// softmax denominators) as exact as the reference runtime's.
template <class F>
HWY_INLINE double MapSumF64(const float* x, float* y, size_t n, F f) {
  size_t i = 0;
  double total = 0.0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const hn::Repartition<double, decltype(d)> dd;
  const hn::Half<decltype(d)> dh;
  auto lo = hn::Zero(dd);
  auto hi = hn::Zero(dd);
  for (; i + N <= n; i += N) {
    const auto v = f(d, hn::LoadU(d, x + i));
    if (y) hn::StoreU(v, d, y + i);
    lo = hn::Add(lo, hn::PromoteTo(dd, hn::LowerHalf(dh, v)));
    hi = hn::Add(hi, hn::PromoteTo(dd, hn::UpperHalf(dh, v)));
  }
  total = hn::GetLane(hn::SumOfLanes(dd, hn::Add(lo, hi)));
#endif
  const Tail d1;
  for (; i < n; ++i) {
    const auto v = f(d1, hn::LoadU(d1, x + i));
    if (y) hn::StoreU(v, d1, y + i);
    total += static_cast<double>(hn::GetLane(v));
  }
  return total;
}

// Largest of n >= 1 floats.
HWY_INLINE float MaxOf(const float* x, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  float best = x[0];
  if (n >= N) {
    auto m = hn::LoadU(d, x);
    for (i = N; i + N <= n; i += N) m = hn::Max(m, hn::LoadU(d, x + i));
    best = hn::GetLane(hn::MaxOfLanes(d, m));
  }
  for (; i < n; ++i) best = x[i] > best ? x[i] : best;
  return best;
}

}  // namespace hearth::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard toggled per target
