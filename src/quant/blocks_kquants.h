// Byte layouts of the GGUF k-quant super-block formats (q4_K q5_K q6_K, and the q8_K
// activation format), and their reference row conversions that the fast kernels are checked against.
#pragma once

#include <cstdint>
#include <cstring>

namespace hearth::quant {

inline constexpr int kQK = 256;            // elements per super-block
inline constexpr int kKScaleBytes = 12;    // q4_K/q5_K: 8 scales + 8 mins, 6 bits each

// x = d * sc[j] * q - dmin * m[j], q in 0..15; sub-block j = 32 elements.
// Element 64c + l (l < 32) is the low nibble of qs[32c + l], element 64c + 32 + l its high nibble.
struct BlockQ4K {
  uint16_t d;     // f16
  uint16_t dmin;  // f16
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4K) == 144, "q4_K block must be 144 bytes as in GGUF");

// As q4_K with q in 0..31: bit 4 of element 64c + l is bit 2c of qh[l], of element
// 64c + 32 + l bit 2c + 1 of qh[l].
struct BlockQ5K {
  uint16_t d;     // f16
  uint16_t dmin;  // f16
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK / 8];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5K) == 176, "q5_K block must be 176 bytes as in GGUF");

// x = d * scales[e / 16] * (q - 32), q in 0..63. In half h (128 elements) at offset
// 128h + 32g + l (g < 4, l < 32): low 4 bits from ql[64h + 32(g & 1) + l] (low nibble
// for g < 2, high nibble otherwise), bits 4-5 from bits 2g..2g+1 of qh[32h + l].
struct BlockQ6K {
  uint8_t ql[kQK / 2];
  uint8_t qh[kQK / 4];
  int8_t scales[kQK / 16];
  uint16_t d;  // f16
};
static_assert(sizeof(BlockQ6K) == 210, "q6_K block must be 210 bytes as in GGUF");

// Activations: x = d * qs; bsums[k] = sum of qs[16k .. 16k + 15], so kernels get the
// mins/offset corrections of the weight formats without touching the activations again.
struct BlockQ8K {
  float d;
  int8_t qs[kQK];
  int16_t bsums[kQK / 16];
};
static_assert(sizeof(BlockQ8K) == 292, "q8_K block must be 292 bytes as in GGUF");

// Unpacks the 6-bit scales and mins of q4_K/q5_K into 8 bytes each. Bytes 0-3 hold
// scales 0-3 (bits 0-5), bytes 4-7 mins 0-3; bytes 8-11 hold the low 4 bits of scale
// 4+i (low nibble) and min 4+i (high nibble), whose top 2 bits are the top 2 bits of
// bytes i and 4+i. Word-wise so it costs a handful of integer ops in the kernels.
inline void unpack_k4_scales(const uint8_t* packed, uint8_t* sc, uint8_t* m) {
  uint32_t w[3];
  std::memcpy(w, packed, sizeof(w));
  const uint32_t sc_lo = w[0] & 0x3f3f3f3fu;
  const uint32_t m_lo = w[1] & 0x3f3f3f3fu;
  const uint32_t sc_hi = (w[2] & 0x0f0f0f0fu) | ((w[0] >> 2) & 0x30303030u);
  const uint32_t m_hi = ((w[2] >> 4) & 0x0f0f0f0fu) | ((w[1] >> 2) & 0x30303030u);
  std::memcpy(sc, &sc_lo, 4);
  std::memcpy(sc + 4, &sc_hi, 4);
  std::memcpy(m, &m_lo, 4);
  std::memcpy(m + 4, &m_hi, 4);
}

// q4_K and q5_K share one layout but for q5_K's fifth bits; these read a level
// the same way for both. Chunk c (0..3) holds 64 elements: its low 32 in the low
// nibbles of qs[32c..32c+31] (half 0), its high 32 in the high nibbles (half 1);
// q5_K adds bit 2c+half of qh[l] as bit 4.
inline const uint8_t* fifth_bits(const BlockQ4K&) { return nullptr; }
inline const uint8_t* fifth_bits(const BlockQ5K& b) { return b.qh; }
inline int k4_level(const uint8_t* qs, const uint8_t* qh, int c, int half, int l) {
  const uint8_t q = qs[32 * c + l];
  const int nibble = half ? q >> 4 : q & 0x0f;
  return qh ? nibble | (((qh[l] >> (2 * c + half)) & 1) << 4) : nibble;
}

// Element e (0..255) of a q6_K super-block as the signed level (-32..31) its
// 16-element group's scale multiplies. Each half of 128 elements has 64 bytes of
// low nibbles and 32 of high bits: quarter k (32 elements) reads the low (k < 2)
// or high nibbles of ql[32 * (k % 2) + l] and bits 2k, 2k+1 of qh[l].
inline int q6_level(const BlockQ6K& x, int e) {
  const int h = e / 128, quarter = e % 128 / 32, l = e % 32;
  const uint8_t q = x.ql[64 * h + 32 * (quarter & 1) + l];
  const int low = quarter < 2 ? q & 0x0f : q >> 4;
  return (low | ((x.qh[32 * h + l] >> (2 * quarter)) & 3) << 4) - 32;
}

// Inverse of unpack_k4_scales; every value must be below 64.
inline void pack_k4_scales(const uint8_t* sc, const uint8_t* m, uint8_t* packed) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<uint8_t>((sc[j] & 0x3f) | ((sc[j + 4] >> 4) << 6));
    packed[j + 4] = static_cast<uint8_t>((m[j] & 0x3f) | ((m[j + 4] >> 4) << 6));
    packed[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0x0f) | ((m[j + 4] & 0x0f) << 4));
  }
}

// Reference row conversions (n a multiple of kQK). The weight quantizers search
// per-sub-block scales and mins for low squared error; quantize_row_q8_k follows the
// reference runtime's rounding exactly, since activations must match it bit for bit.
void quantize_row_q4_k(const float* x, void* y, int64_t n);
void quantize_row_q5_k(const float* x, void* y, int64_t n);
void quantize_row_q6_k(const float* x, void* y, int64_t n);
void quantize_row_q8_k(const float* x, void* y, int64_t n);
void dequantize_row_q4_k(const void* x, float* y, int64_t n);
void dequantize_row_q5_k(const void* x, float* y, int64_t n);
void dequantize_row_q6_k(const void* x, float* y, int64_t n);
void dequantize_row_q8_k(const void* x, float* y, int64_t n);

}  // namespace hearth::quant
