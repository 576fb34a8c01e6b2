// SentencePiece-style merging: adjacent symbols join while their concatenation is
// a token, highest score first; what never becomes a token falls back to bytes.
#include <algorithm>
#include <queue>

#include "models/symbol_merge.h"
#include "models/tokenizer.h"
#include "models/unicode.h"

namespace hearth::models {
namespace {

struct Bigram {
  float score;
  int32_t left;
  int32_t right;
  uint32_t len;  // left + right when queued; a different sum means a side has merged since
};

// Highest score first, then leftmost.
struct BigramAfter {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void Tokenizer::encode_spm(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  // Symbols are UTF-8 characters as their lead byte announces them; a stray
  // byte is a symbol of its own and ends up as a byte token.
  std::vector<MergeSymbol> symbols;
  symbols.reserve(text.size());
  split_into_characters(text, symbols);

  std::priority_queue<Bigram, std::vector<Bigram>, BigramAfter> queue;
  auto try_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const uint32_t len = symbols[left].len + symbols[right].len;
    // Adjacent symbols are contiguous in text, so the pair is one substring.
    const int32_t id = lookup(text.substr(symbols[left].start, len));
    if (id < 0) return;
    queue.push({tokens_[id].score, left, right, len});
  };
  merge_symbols(symbols, queue, try_pair);

  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    const MergeSymbol& sym = symbols[i];
    const std::string_view piece = text.substr(sym.start, sym.len);
    // Every merged symbol is a token; only single characters can be missing.
    const int32_t id = lookup(piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    for (const char c : piece) {
      const int32_t byte_id = byte_tokens_[static_cast<uint8_t>(c)];
      // Without a byte token llama.cpp would throw; the unknown token keeps the text's length visible.
      if (byte_id >= 0) {
        out.push_back(byte_id);
      } else if (unk_id_ >= 0) {
        out.push_back(unk_id_);
      }
    }
  }
}

}  // namespace hearth::models
