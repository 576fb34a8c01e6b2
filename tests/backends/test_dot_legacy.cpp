// Legacy dot kernels (f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0): the scalar reference
// against a float dot of the dequantised operands, every SIMD level against the
// scalar one, and the SIMD activation converters byte for byte against scalar.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/vec_dot.h"
#include "core/half.h"
#include "quant/blocks_legacy.h"
#include "quant/quantize.h"

namespace hearth::cpu {
namespace {

constexpr DType kWeightTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0,
                                  DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0};
// A SIMD level as a test parameter; PrintTo gives readable test names in ctest.
struct Level {
  Isa isa;
};
void PrintTo(const Level& l, std::ostream* os) { *os << isa_name(l.isa); }
// The levels of this build's architecture (a CPU runs no other's).
#if defined(__aarch64__)
constexpr Level kSimdLevels[] = {{Isa::kNeon}, {Isa::kNeonDot}};
#else
constexpr Level kSimdLevels[] = {{Isa::kAvx2}, {Isa::kAvx512}, {Isa::kAvx512Vnni}};
#endif

bool is_block_type(DType t) { return dtype_info(t).block_elems > 1; }

std::string label(DType t, int64_t n) { return std::string(dtype_name(t)) + " n=" + std::to_string(n); }

WeightKernels scalar_kernels(DType t) {
  WeightKernels k;
  EXPECT_TRUE(legacy_weight_kernels(t, Isa::kScalar, &k)) << dtype_name(t);
  return k;
}

std::vector<float> random_floats(std::mt19937& rng, int64_t n, float mean, float scale) {
  std::normal_distribution<float> dist(mean, scale);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = dist(rng);
  return x;
}

std::vector<uint8_t> to_type(DType t, const std::vector<float>& x) {
  std::vector<uint8_t> out(static_cast<size_t>(dtype_row_bytes(t, static_cast<int64_t>(x.size()))));
  quant::quantize_row(t, x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

std::vector<uint8_t> activation(const WeightKernels& k, const std::vector<float>& x) {
  std::vector<uint8_t> out(static_cast<size_t>(dtype_row_bytes(k.act_type, static_cast<int64_t>(x.size()))));
  k.act_from_float(x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

std::vector<float> to_floats(DType t, const std::vector<uint8_t>& data, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  quant::dequantize_row(t, data.data(), out.data(), n);
  return out;
}

// Row lengths: whole blocks with odd and even block counts, model-sized rows, and
// for the plain types lengths that leave every kind of vector tail.
std::vector<int64_t> lengths(DType t) {
  std::vector<int64_t> n = {32, 64, 96, 160, 576, 1536, 4128};
  if (!is_block_type(t))
    for (int64_t m : {1, 7, 8, 15, 17, 33, 63, 100, 1000}) n.push_back(m);
  return n;
}

// Σ|w_i a_i|: the scale a float dot's rounding error is proportional to.
double magnitude(const std::vector<float>& w, const std::vector<float>& a) {
  double m = 0.0;
  for (size_t i = 0; i < w.size(); ++i) m += std::fabs(static_cast<double>(w[i]) * a[i]);
  return m;
}

TEST(DotLegacy, EveryTypeHasScalarKernelsWithTheReferenceActivation) {
  const DType act[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0,
                       DType::kQ8_1, DType::kQ8_0, DType::kQ8_1, DType::kQ8_0};
  for (size_t i = 0; i < std::size(kWeightTypes); ++i) {
    const WeightKernels k = scalar_kernels(kWeightTypes[i]);
    EXPECT_EQ(k.act_type, act[i]) << dtype_name(kWeightTypes[i]);
    EXPECT_EQ(k.isa, Isa::kScalar);
    EXPECT_NE(k.act_from_float, nullptr);
    EXPECT_NE(k.vec_dot, nullptr);
    EXPECT_TRUE(has_weight_kernels(kWeightTypes[i]));
  }
  WeightKernels k;
  EXPECT_FALSE(legacy_weight_kernels(DType::kQ4_K, Isa::kScalar, &k));  // the k-quant family's
  EXPECT_FALSE(legacy_weight_kernels(DType::kQ8_1, Isa::kScalar, &k));  // activation only
}

TEST(DotLegacy, DispatchPicksTheBestWrittenLevel) {
  for (DType t : kWeightTypes) {
    const WeightKernels k = weight_kernels(t);
    EXPECT_LE(static_cast<int>(k.isa), static_cast<int>(best_isa())) << dtype_name(t);
    EXPECT_TRUE(isa_supported(k.isa)) << dtype_name(t);
    if (best_isa() != Isa::kScalar) {
      EXPECT_NE(k.isa, Isa::kScalar) << dtype_name(t) << ": a SIMD level is available";
    }
    EXPECT_EQ(weight_kernels(t, Isa::kScalar).isa, Isa::kScalar);
  }
}

// The scalar kernel is the exact dot of the dequantised operands, except for
// float rounding and, in q4_1/q5_1, s_a = d_a * Σq_a rounded to f16.
TEST(DotLegacy, ScalarEqualsDotOfDequantizedOperands) {
  std::mt19937 rng(11);
  for (DType t : kWeightTypes) {
    const WeightKernels k = scalar_kernels(t);
    for (int64_t n : lengths(t)) {
      for (float mean : {0.0f, 0.4f}) {
        const std::vector<float> wf = random_floats(rng, n, mean, 1.0f), af = random_floats(rng, n, -0.1f, 2.0f);
        const std::vector<uint8_t> w = to_type(t, wf), a = activation(k, af);
        const std::vector<float> wd = to_floats(t, w, n), ad = to_floats(k.act_type, a, n);
        double exact = 0.0;
        for (int64_t i = 0; i < n; ++i) exact += static_cast<double>(wd[i]) * ad[i];
        double tol = 1e-6 * magnitude(wd, ad) + 1e-6;
        if (k.act_type == DType::kQ8_1) {
          // m_w * s_a stands for m_w * d_a * Σq_a, off by s's rounding and by d's
          // (s comes from the unrounded d): half an f16 ulp each.
          const int64_t wbytes = dtype_info(t).block_bytes;
          for (int64_t b = 0; b < n / 32; ++b) {
            quant::BlockQ8_1 blk;
            std::memcpy(&blk, a.data() + b * sizeof blk, sizeof blk);
            uint16_t m;
            std::memcpy(&m, w.data() + b * wbytes + 2, 2);  // q4_1 and q5_1 both keep m after d
            int sum = 0;
            for (int8_t q : blk.qs) sum += q;
            const double s_exact = static_cast<double>(f16_to_f32(blk.d)) * sum;
            tol += std::fabs(f16_to_f32(m)) * (std::fabs(f16_to_f32(blk.s)) + std::fabs(s_exact) + 1e-4) / 2048.0;
          }
        }
        EXPECT_NEAR(k.vec_dot(n, w.data(), a.data()), exact, tol) << label(t, n);
      }
    }
  }
}

class DotLegacySimd : public ::testing::TestWithParam<Level> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam().isa))
      GTEST_SKIP() << "this CPU lacks " << isa_name(GetParam().isa) << ": its kernels cannot run here";
  }
  // The kernels written for exactly this level; none at all is a skip, not a pass.
  std::vector<DType> types_with_kernels() {
    std::vector<DType> out;
    for (DType t : kWeightTypes) {
      WeightKernels k;
      if (legacy_weight_kernels(t, GetParam().isa, &k)) out.push_back(t);
    }
    return out;
  }
};

TEST_P(DotLegacySimd, VecDotMatchesScalar) {
  const std::vector<DType> types = types_with_kernels();
  if (GetParam().isa == Isa::kAvx2) {
    EXPECT_EQ(types.size(), std::size(kWeightTypes)) << "every legacy type has kernels at this level";
  }
  if (GetParam().isa == Isa::kAvx512) {
    // Float weights only: the block formats' AVX2 row kernels serve AVX-512 (dot_legacy_avx512.cpp).
    for (DType t : types) EXPECT_FALSE(is_block_type(t)) << dtype_name(t);
    EXPECT_EQ(types.size(), 3u) << "f32, f16 and bf16 have AVX-512 kernels";
  }
  if (GetParam().isa == Isa::kNeon) {
    EXPECT_EQ(types.size(), std::size(kWeightTypes)) << "every legacy type has kernels at this level";
  }
  if (GetParam().isa == Isa::kNeonDot) {
    // The block formats only: the float ones gain nothing from SDOT (dot_neondot.cpp).
    for (DType t : types) EXPECT_TRUE(is_block_type(t)) << dtype_name(t);
    EXPECT_EQ(types.size(), 5u) << "q4_0 q4_1 q5_0 q5_1 q8_0 have dot-product kernels";
  }
  if (types.empty()) GTEST_SKIP() << "no legacy kernels written for " << isa_name(GetParam().isa) << " (the level below serves)";
  std::mt19937 rng(5);
  for (DType t : types) {
    WeightKernels k;
    ASSERT_TRUE(legacy_weight_kernels(t, GetParam().isa, &k));
    EXPECT_EQ(k.isa, GetParam().isa);
    const WeightKernels ref = scalar_kernels(t);
    ASSERT_EQ(k.act_type, ref.act_type) << dtype_name(t);
    for (int64_t n : lengths(t)) {
      for (float scale : {0.02f, 1.0f, 300.0f}) {
        const std::vector<float> wf = random_floats(rng, n, 0.1f * scale, scale);
        const std::vector<float> af = random_floats(rng, n, 0.0f, 1.0f);
        const std::vector<uint8_t> w = to_type(t, wf), a = activation(ref, af);
        const double mag = magnitude(to_floats(t, w, n), to_floats(ref.act_type, a, n));
        const float want = ref.vec_dot(n, w.data(), a.data());
        const float got = k.vec_dot(n, w.data(), a.data());
        EXPECT_NEAR(got, want, 2e-5 * mag) << label(t, n) << " scale " << scale;
      }
    }
  }
}

// Integer extremes: the widest weight and activation codes in every lane must not
// saturate the 16-bit pair sums of maddubs. d = 1 makes every block sum exact.
TEST_P(DotLegacySimd, VecDotExactOnExtremeCodes) {
  const std::vector<DType> types = types_with_kernels();
  if (types.empty()) GTEST_SKIP() << "no legacy kernels written for " << isa_name(GetParam().isa);
  for (DType t : types) {
    if (!is_block_type(t)) continue;
    WeightKernels k;
    ASSERT_TRUE(legacy_weight_kernels(t, GetParam().isa, &k));
    const WeightKernels ref = scalar_kernels(t);
    const bool affine = ref.act_type == DType::kQ8_1;
    const bool five = t == DType::kQ5_0 || t == DType::kQ5_1;
    const int64_t nb = 7, n = nb * 32;  // odd: kernels that take blocks in twos or fours end on a single one
    const int64_t wbytes = dtype_info(t).block_bytes, abytes = dtype_info(ref.act_type).block_bytes;
    const int qs_off = static_cast<int>(wbytes) - (t == DType::kQ8_0 ? 32 : 16);  // qs end every block
    const int act_off = affine ? 4 : 2;
    const uint16_t one = f32_to_f16(1.0f);
    std::vector<uint8_t> w(static_cast<size_t>(nb * wbytes)), a(static_cast<size_t>(nb * abytes));
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* wb = w.data() + b * wbytes;
      uint8_t* ab = a.data() + b * abytes;
      std::memcpy(wb, &one, 2);
      std::memcpy(ab, &one, 2);
      if (affine) {
        const uint16_t s = f32_to_f16(b % 2 ? -3.0f : 2.0f);
        std::memcpy(ab + 2, &s, 2);
        std::memcpy(wb + 2, &one, 2);  // m = 1
      }
      for (int j = 0; j < 32; ++j) {  // by block: all +127, all -127, alternating
        const int v = b % 3 == 0 ? 127 : b % 3 == 1 ? -127 : (j % 2 ? 127 : -127);
        ab[act_off + j] = static_cast<uint8_t>(static_cast<int8_t>(v));
      }
      // Weights alternate by block between the lowest and the highest code.
      if (t == DType::kQ8_0) {
        std::memset(wb + qs_off, b % 2 ? 0x80 : 0x7f, 32);  // -128 / 127
      } else {
        std::memset(wb + qs_off, b % 2 ? 0x00 : 0xff, 16);
        if (five) std::memset(wb + qs_off - 4, b % 2 ? 0x00 : 0xff, 4);
      }
    }
    const float want = ref.vec_dot(n, w.data(), a.data());
    EXPECT_NE(want, 0.0f) << dtype_name(t);
    EXPECT_EQ(k.vec_dot(n, w.data(), a.data()), want) << dtype_name(t);
  }
}

// Inputs that probe each converter's rounding: halves at every scale, f16 subnormals
// and overflow, bf16 ties, zero blocks, signed zeros.
std::vector<float> tricky_floats(std::mt19937& rng, int64_t n, bool allow_nonfinite) {
  std::vector<float> x = random_floats(rng, n, 0.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t block = i / 32, j = i % 32;
    switch (block % 8) {
      case 1:  // d = 1: x * (1/d) lands exactly on .5 ties
        x[i] = j == 0 ? 127.0f : static_cast<float>(j) - 16.5f;
        break;
      case 2:
        x[i] = 0.0f;
        break;
      case 3:
        x[i] = j == 5 ? -0.0f : x[i] * 1e-6f;  // f16 subnormals, a negative zero
        break;
      case 4:
        x[i] = x[i] * 3e4f;  // some overflow f16
        break;
      case 5: {  // bf16 ties: low 16 bits exactly 0x8000
        const uint32_t bits = (f32_to_bits(x[i]) & 0xffff0000u) | 0x8000u;
        x[i] = bits_to_f32(bits);
        break;
      }
      case 6:
        x[i] = x[i] * 1e-30f;
        break;
      default:
        break;
    }
  }
  if (allow_nonfinite && n > 40) {
    x[33] = std::numeric_limits<float>::infinity();
    x[34] = -std::numeric_limits<float>::infinity();
    x[35] = std::numeric_limits<float>::quiet_NaN();
    x[36] = bits_to_f32(0x7f800001u);  // signalling NaN
    x[37] = bits_to_f32(0xffc12345u);
  }
  return x;
}

TEST_P(DotLegacySimd, ActivationConvertersMatchScalarBytes) {
  const std::vector<DType> types = types_with_kernels();
  if (types.empty()) GTEST_SKIP() << "no legacy kernels written for " << isa_name(GetParam().isa);
  std::mt19937 rng(9);
  for (DType t : types) {
    WeightKernels k;
    ASSERT_TRUE(legacy_weight_kernels(t, GetParam().isa, &k));
    const WeightKernels ref = scalar_kernels(t);
    // NaN payloads: the f16 hardware conversion keeps them, the scalar one does
    // not (both give a NaN); q8 scales are undefined for non-finite input.
    const bool nonfinite_ok = ref.act_type == DType::kBF16 || ref.act_type == DType::kF32;
    for (int64_t n : lengths(t)) {
      for (int rep = 0; rep < 3; ++rep) {
        std::vector<float> x = tricky_floats(rng, n, nonfinite_ok);
        if (ref.act_type == DType::kF16 && n > 40) {
          x[33] = std::numeric_limits<float>::infinity();
          x[34] = -std::numeric_limits<float>::infinity();
        }
        const std::vector<uint8_t> want = activation(ref, x), got = activation(k, x);
        ASSERT_EQ(got.size(), want.size());
        size_t first_diff = got.size();
        for (size_t i = 0; i < got.size(); ++i)
          if (got[i] != want[i]) {
            first_diff = i;
            break;
          }
        EXPECT_EQ(first_diff, got.size()) << label(t, n) << ": " << dtype_name(ref.act_type) << " bytes differ";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, DotLegacySimd, ::testing::ValuesIn(kSimdLevels),
                         [](const ::testing::TestParamInfo<Level>& info) { return std::string(isa_name(info.param.isa)); });

}  // namespace
}  // namespace hearth::cpu
