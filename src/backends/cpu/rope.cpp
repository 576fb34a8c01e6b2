// Rotary position embedding of the CPU backend: scalar reference and Highway
// vector path, both bit-identical to each other.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/rope.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "backends/cpu/simd_math-inl.h"

#ifndef HEARTH_BACKENDS_CPU_ROPE_COMMON
#define HEARTH_BACKENDS_CPU_ROPE_COMMON
namespace hearth::cpu {
namespace {
// Pairs whose cos/sin one pass keeps on the stack; longer rotations take passes.
constexpr int64_t kPairsPerPass = 256;

// The angle of pair i at position p is freq_scale * (p * r^i) with
// r = freq_base^(-2/n_rot), and p * r^i is built by repeated f32 multiplication,
// which is how llama.cpp computes it: an exact power would move large angles by
// an ulp or two and the token-for-token parity with it.
inline float rope_ratio(float freq_base, int64_t n_rot) {
  return std::pow(freq_base, -2.0f / static_cast<float>(n_rot));
}

// cos and sin of pair i's angle, theta being p * r^i: the one formula of every path.
inline void pair_cos_sin(float theta, int64_t i, float freq_scale, const float* freq_factors, float* c, float* s) {
  const float angle = freq_factors ? freq_scale * theta / freq_factors[i] : freq_scale * theta;
  *c = std::cos(angle);
  *s = std::sin(angle);
}
}  // namespace
}  // namespace hearth::cpu
#endif

HWY_BEFORE_NAMESPACE();
namespace hearth::cpu::HWY_NAMESPACE {

// Rotates the adjacent pairs of x[0 .. 2*count): with cc = (c0, c0, c1, c1, ...) and
// ss = (-s0, s0, -s1, s1, ...), y = x*cc + swap_pairs(x)*ss, which rounds exactly
// like the reference's x0*c - x1*s and x0*s + x1*c.
HWY_INLINE void RotateAdjacent(float* x, const float* cc, const float* ss, size_t count) {
  const size_t n = 2 * count;
  size_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  for (; i + N <= n; i += N) {
    const auto v = hn::LoadU(d, x + i);
    const auto y = hn::Add(hn::Mul(v, hn::LoadU(d, cc + i)), hn::Mul(hn::Reverse2(d, v), hn::LoadU(d, ss + i)));
    hn::StoreU(y, d, x + i);
  }
  const hn::CappedTag<float, 2> d2;
  for (; i < n; i += 2) {
    const auto v = hn::LoadU(d2, x + i);
    const auto y = hn::Add(hn::Mul(v, hn::LoadU(d2, cc + i)), hn::Mul(hn::Reverse2(d2, v), hn::LoadU(d2, ss + i)));
    hn::StoreU(y, d2, x + i);
  }
#else
  for (; i < n; i += 2) {
    const float x0 = x[i], x1 = x[i + 1];
    x[i] = x0 * cc[i] + x1 * ss[i];
    x[i + 1] = x1 * cc[i + 1] + x0 * ss[i + 1];
  }
#endif
}

// Rotates (a[i], b[i]) pairs: a' = a*c - b*s, b' = a*s + b*c.
HWY_INLINE void RotateSplit(float* a, float* b, const float* c, const float* s, size_t count) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= count; i += N) {
    const auto va = hn::LoadU(d, a + i), vb = hn::LoadU(d, b + i);
    const auto vc = hn::LoadU(d, c + i), vs = hn::LoadU(d, s + i);
    hn::StoreU(hn::Sub(hn::Mul(va, vc), hn::Mul(vb, vs)), d, a + i);
    hn::StoreU(hn::Add(hn::Mul(va, vs), hn::Mul(vb, vc)), d, b + i);
  }
  const Tail d1;
  for (; i < count; ++i) {
    const auto va = hn::LoadU(d1, a + i), vb = hn::LoadU(d1, b + i);
    const auto vc = hn::LoadU(d1, c + i), vs = hn::LoadU(d1, s + i);
    hn::StoreU(hn::Sub(hn::Mul(va, vc), hn::Mul(vb, vs)), d1, a + i);
    hn::StoreU(hn::Add(hn::Mul(va, vs), hn::Mul(vb, vc)), d1, b + i);
  }
}

void RopeImpl(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t n_rot,
              const int32_t* positions, float ratio, float freq_scale, bool neox, const float* freq_factors) {
  // Neox uses the first half of each; normal mode the duplicated, signed layout.
  alignas(64) float cos_buf[2 * kPairsPerPass];
  alignas(64) float sin_buf[2 * kPairsPerPass];
  const int64_t n_pairs = n_rot / 2;
  for (int64_t t = 0; t < n_tokens; ++t) {
    float theta = static_cast<float>(positions[t]);
    for (int64_t first = 0; first < n_pairs; first += kPairsPerPass) {
      const int64_t count = std::min(kPairsPerPass, n_pairs - first);
      // The trigonometry is per position and shared by every head.
      for (int64_t j = 0; j < count; ++j) {
        float c, s;
        pair_cos_sin(theta, first + j, freq_scale, freq_factors, &c, &s);
        theta *= ratio;
        if (neox) {
          cos_buf[j] = c;
          sin_buf[j] = s;
        } else {
          cos_buf[2 * j] = c;
          cos_buf[2 * j + 1] = c;
          sin_buf[2 * j] = -s;
          sin_buf[2 * j + 1] = s;
        }
      }
      for (int64_t h = 0; h < n_heads; ++h) {
        float* xh = x + (t * n_heads + h) * head_dim;
        if (neox) {
          RotateSplit(xh + first, xh + n_pairs + first, cos_buf, sin_buf, static_cast<size_t>(count));
        } else {
          RotateAdjacent(xh + 2 * first, cos_buf, sin_buf, static_cast<size_t>(count));
        }
      }
    }
  }
}

}  // namespace hearth::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include "backends/cpu/ops.h"
#include "backends/cpu/ops_dispatch.h"

namespace hearth::cpu {

HWY_EXPORT(RopeImpl);

void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t n_rot,
          const int32_t* positions, float freq_base, float freq_scale, RopeMode mode, const float* freq_factors) {
  if (n_tokens <= 0 || n_heads <= 0 || n_rot < 2) return;
  if (detail::use_ref_ops())
    return ref::rope(x, n_tokens, n_heads, head_dim, n_rot, positions, freq_base, freq_scale, mode, freq_factors);
  HWY_DYNAMIC_DISPATCH(RopeImpl)(x, n_tokens, n_heads, head_dim, n_rot, positions, rope_ratio(freq_base, n_rot),
                                 freq_scale, mode == RopeMode::kNeox, freq_factors);
}

void rope_cos_sin(int64_t n_tokens, int64_t n_rot, const int32_t* positions, float freq_base, float freq_scale,
                  const float* freq_factors, float* out) {
  const float ratio = rope_ratio(freq_base, n_rot);
  const int64_t half = n_rot / 2;
  for (int64_t t = 0; t < n_tokens; ++t) {
    float theta = static_cast<float>(positions[t]);
    for (int64_t i = 0; i < half; ++i) {
      float* cs = out + 2 * (t * half + i);
      pair_cos_sin(theta, i, freq_scale, freq_factors, &cs[0], &cs[1]);
      theta *= ratio;
    }
  }
}

namespace ref {

void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t n_rot,
          const int32_t* positions, float freq_base, float freq_scale, RopeMode mode, const float* freq_factors) {
  if (n_rot < 2) return;
  const float ratio = rope_ratio(freq_base, n_rot);
  const int64_t half = n_rot / 2;
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t h = 0; h < n_heads; ++h) {
      float* xh = x + (t * n_heads + h) * head_dim;
      float theta = static_cast<float>(positions[t]);
      for (int64_t i = 0; i < half; ++i) {
        float c, s;
        pair_cos_sin(theta, i, freq_scale, freq_factors, &c, &s);
        theta *= ratio;
        float* x0 = mode == RopeMode::kNeox ? xh + i : xh + 2 * i;
        float* x1 = mode == RopeMode::kNeox ? xh + i + half : xh + 2 * i + 1;
        const float a = *x0, b = *x1;
        *x0 = a * c - b * s;
        *x1 = a * s + b * c;
      }
    }
  }
}

}  // namespace ref
}  // namespace hearth::cpu

#endif  // HWY_ONCE
