// Random walks through a grammar for tests: append random allowed bytes, then,
// past a soft length, the bytes that bring completion closest, until the input
// is a complete match.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "runtime/grammar.h"

namespace hearth::runtime::test_walk {

struct WalkStats {
  size_t max_heads = 0;
  size_t max_frames = 0;
};

inline std::string random_walk(GrammarMatcher& m, std::mt19937& rng, size_t soft_limit, WalkStats* stats = nullptr) {
  std::string out;
  const size_t hard_limit = soft_limit + 20000;
  while (!m.must_end()) {
    if (m.complete() && (out.size() >= soft_limit || rng() % 4 == 0)) break;
    const ByteSet next = m.next_bytes();
    std::vector<uint8_t> options, ascii;
    for (int b = 0; b < 256; ++b)
      if (next.test(static_cast<uint8_t>(b))) {
        options.push_back(static_cast<uint8_t>(b));
        if (b >= 0x20 && b < 0x7f) ascii.push_back(static_cast<uint8_t>(b));
      }
    if (options.empty()) {
      ADD_FAILURE() << "no byte can follow \"" << out << "\" yet the match is not over";
      return out;
    }
    uint8_t pick;
    if (out.size() < soft_limit) {
      // Mostly printable ASCII, so strings end in reasonable time.
      const auto& from = !ascii.empty() && rng() % 4 != 0 ? ascii : options;
      pick = from[rng() % from.size()];
    } else {
      uint32_t best = UINT32_MAX;
      std::vector<uint8_t> best_bytes;
      for (const uint8_t b : options) {
        const size_t cp = m.checkpoint();
        if (!m.advance(b)) continue;
        const uint32_t left = m.min_bytes_to_complete();
        m.rollback(cp);
        if (left < best) best_bytes.clear(), best = left;
        if (left == best) best_bytes.push_back(b);
      }
      if (best_bytes.empty()) {
        ADD_FAILURE() << "no allowed byte advances after \"" << out << "\"";
        return out;
      }
      pick = best_bytes[rng() % best_bytes.size()];
    }
    if (!m.advance(pick)) {
      ADD_FAILURE() << "byte " << int(pick) << " was offered but refused after \"" << out << "\"";
      return out;
    }
    m.commit();
    out += static_cast<char>(pick);
    if (stats) {
      stats->max_heads = std::max(stats->max_heads, m.head_count());
      stats->max_frames = std::max(stats->max_frames, m.frame_count());
    }
    if (out.size() > hard_limit) {
      ADD_FAILURE() << "the walk does not end: " << out.substr(0, 200);
      return out;
    }
  }
  EXPECT_TRUE(m.complete()) << out;
  return out;
}

}  // namespace hearth::runtime::test_walk
