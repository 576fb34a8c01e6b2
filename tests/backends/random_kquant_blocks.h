// Random k-quant test data shared by the backends tests: q8_K activation
// blocks with the full int8 range (-128 included) and consistent bsums.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>

#include "quant/blocks_kquants.h"

namespace hearth::cpu::testing {

inline void fill_random_q8k(uint8_t* out, int64_t n_blocks, std::mt19937& rng) {
  for (int64_t b = 0; b < n_blocks; ++b) {
    quant::BlockQ8K blk;
    blk.d = 0.01f + 0.001f * static_cast<float>(rng() % 100);
    for (int8_t& q : blk.qs) q = static_cast<int8_t>(rng());
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int i = 0; i < 16; ++i) s += blk.qs[16 * g + i];
      blk.bsums[g] = static_cast<int16_t>(s);
    }
    std::memcpy(out + b * sizeof(blk), &blk, sizeof(blk));
  }
}

}  // namespace hearth::cpu::testing
