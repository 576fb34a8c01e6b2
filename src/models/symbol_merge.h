// Greedy pairwise merging of adjacent symbols, shared by the BPE (lowest merge
// rank first) and SentencePiece (highest score first) tokenizers: the two differ
// only in how a pair is ranked, which the caller's queue order and try_pair decide.
#pragma once

#include <algorithm>
#include <cstdint>
#include <queue>
#include <string_view>
#include <vector>

#include "models/unicode.h"

namespace hearth::models {

// A run of bytes [start, start+len) of the text, linked to its neighbours;
// len 0 marks a symbol merged into its left neighbour.
struct MergeSymbol {
  uint32_t start;
  uint32_t len;
  int32_t prev;
  int32_t next;
};

// One symbol per UTF-8 character as its lead byte announces it (a stray byte
// is a symbol of its own).
inline void split_into_characters(std::string_view text, std::vector<MergeSymbol>& symbols) {
  symbols.clear();
  for (size_t pos = 0; pos < text.size();) {
    const size_t n = std::min(unicode::sequence_length(static_cast<uint8_t>(text[pos])), text.size() - pos);
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(n), index - 1,
                       pos + n == text.size() ? -1 : index + 1});
    pos += n;
  }
}

// Queues every adjacent pair through try_pair(left, right), then merges the best
// queued pair until none is left. Bigram needs left, right and len (the pair's
// byte length when queued: a different sum later means a side has merged since).
template <class Bigram, class Order, class TryPair>
void merge_symbols(std::vector<MergeSymbol>& symbols, std::priority_queue<Bigram, std::vector<Bigram>, Order>& queue,
                   TryPair&& try_pair) {
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_pair(i - 1, i);
  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    MergeSymbol& l = symbols[b.left];
    MergeSymbol& r = symbols[b.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.len) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = b.left;
    try_pair(l.prev, b.left);
    try_pair(b.left, l.next);
  }
}

}  // namespace hearth::models
