// e^x in f32, one fixed sequence of f32 operations with no fused multiply-add,
// so that the scalar code here, every Highway target (ExpF in simd_math-inl.h)
// and the OpenCL kernels (exp_f32 in kernels.cl) give the same bits for every x:
//   k = nearest-even(x * log2(e)); r = (x - k * ln2_hi) - k * ln2_lo;
//   p = Horner form of the degree-7 Taylor polynomial of e^r (|r| <= ln2 / 2,
//   truncation below 0.1 ulp); e^x = (p * 2^(k >> 1)) * 2^(k - (k >> 1)).
// Arguments are clamped to [-87.5, 88.8] first, results below 2^-126
// (x < -87.33655) are 0 instead of subnormal, overflow gives +inf, NaN stays NaN.
// Within 2 ulp of the true value over the whole range (tests/backends).
// Files that call it must be built with -ffp-contract=off (backends/cpu's
// CMakeLists.txt), or the compiler may fuse p * r + c where the CPU has FMA.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace hearth::cpu::exp_detail {

inline constexpr float kLowest = -87.5f;
inline constexpr float kHighest = 88.8f;
inline constexpr float kZeroBelow = -87.33654f;      // ln(2^-126), rounded up
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693145751953125f;  // 15 significant bits: k * kLn2Hi is exact
inline constexpr float kLn2Lo = 1.42860682030941723212e-6f;
// 1/7!, 1/6!, ..., 1/2!, 1, 1: Horner's coefficients from the highest power.
inline constexpr float kPoly[8] = {1.0f / 5040.0f, 1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f,
                                   1.0f / 6.0f,    0.5f,           1.0f,           1.0f};

inline float pow2i(int32_t e) {  // 2^e for -126 <= e <= 127
  const uint32_t bits = static_cast<uint32_t>(e + 127) << 23;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace hearth::cpu::exp_detail

namespace hearth::cpu {

inline float exp_f32(float x) {
  using namespace exp_detail;
  if (std::isnan(x)) return x;
  const float xc = std::fmin(std::fmax(x, kLowest), kHighest);
  const float k = std::nearbyint(xc * kLog2e);
  const float r = (xc - k * kLn2Hi) - k * kLn2Lo;
  float p = kPoly[0];
  for (int i = 1; i < 8; ++i) p = p * r + kPoly[i];
  const auto ki = static_cast<int32_t>(k);
  const int32_t k1 = ki >> 1;  // floor(k / 2): both halves stay in pow2i's range
  const float e = (p * pow2i(k1)) * pow2i(ki - k1);
  return x < kZeroBelow ? 0.0f : e;
}

}  // namespace hearth::cpu
