// Byte layouts of the 32-element "legacy" GGUF block formats (q4_0 q4_1 q5_0 q5_1
// q8_0 q8_1), shared by the reference conversions and the CPU dot kernels.
#pragma once

#include <cstdint>

namespace hearth::quant {

inline constexpr int kLegacyBlock = 32;  // elements per block in every format here

// Scales are IEEE half bits. In the 4- and 5-bit formats byte j of qs holds
// element j in its low nibble and element j+16 in its high nibble; in the 5-bit
// formats bit j of qh (little-endian u32) is the fifth bit of element j. qh is
// kept as bytes so that no format gets padding and blocks pack back to back.

struct BlockQ4_0 {  // x = d * (q - 8)
  uint16_t d;
  uint8_t qs[kLegacyBlock / 2];
};

struct BlockQ4_1 {  // x = d * q + m
  uint16_t d;
  uint16_t m;
  uint8_t qs[kLegacyBlock / 2];
};

struct BlockQ5_0 {  // x = d * (q - 16)
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kLegacyBlock / 2];
};

struct BlockQ5_1 {  // x = d * q + m
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kLegacyBlock / 2];
};

struct BlockQ8_0 {  // x = d * q
  uint16_t d;
  int8_t qs[kLegacyBlock];
};

// Activation-only: s = d * sum(qs) lets q4_1/q5_1 dots add their offset per block.
struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[kLegacyBlock];
};

static_assert(sizeof(BlockQ4_0) == 18, "q4_0 block must match GGUF");
static_assert(sizeof(BlockQ4_1) == 20, "q4_1 block must match GGUF");
static_assert(sizeof(BlockQ5_0) == 22, "q5_0 block must match GGUF");
static_assert(sizeof(BlockQ5_1) == 24, "q5_1 block must match GGUF");
static_assert(sizeof(BlockQ8_0) == 34, "q8_0 block must match GGUF");
static_assert(sizeof(BlockQ8_1) == 36, "q8_1 block must match GGUF");

inline uint32_t load_qh(const uint8_t qh[4]) {
  return static_cast<uint32_t>(qh[0]) | static_cast<uint32_t>(qh[1]) << 8 | static_cast<uint32_t>(qh[2]) << 16 |
         static_cast<uint32_t>(qh[3]) << 24;
}
inline void store_qh(uint8_t qh[4], uint32_t bits) {
  for (int i = 0; i < 4; ++i) qh[i] = static_cast<uint8_t>(bits >> (8 * i));
}

}  // namespace hearth::quant
