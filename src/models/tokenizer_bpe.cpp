// Byte-level BPE: the pre-tokenizers (hand-written matchers for the published
// split regexes, over code points) and rank-ordered merging within each word.
#include <algorithm>
#include <queue>

#include "models/symbol_merge.h"
#include "models/tokenizer.h"
#include "models/unicode.h"

namespace hearth::models {
namespace {

using unicode::CharProps;

// The text of one pre-tokenizer stage's input piece: code points and their
// properties. Positions past `end` read as "nothing", which no class matches.
struct Span {
  const uint32_t* cps;
  const CharProps* props;
  size_t end;
  uint32_t cp(size_t i) const { return i < end ? cps[i] : 0xFFFFFFFFu; }
  bool valid(size_t i) const { return i < end; }
  bool letter(size_t i) const { return i < end && props[i].letter(); }
  bool number(size_t i) const { return i < end && props[i].number(); }
  bool space(size_t i) const { return i < end && props[i].space; }
  // [^\s\p{L}\p{N}]
  bool other(size_t i) const { return i < end && !props[i].space && !props[i].letter() && !props[i].number(); }
};

uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// Length of a contraction ('s 't 're 've 'm 'll 'd) at i, or 0.
size_t contraction(const Span& s, size_t i, bool any_case) {
  if (s.cp(i) != '\'' || !s.valid(i + 1)) return 0;
  auto at = [&](size_t j) { return any_case ? ascii_lower(s.cp(j)) : s.cp(j); };
  const uint32_t c1 = at(i + 1);
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
  if (!s.valid(i + 2)) return 0;
  const uint32_t c2 = at(i + 2);
  if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
  return 0;
}

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
// (a character nothing matches, such as one space before a letter-less run, is
// a piece of its own, as the text between regex matches is).
void split_gpt2(const Span& s, size_t begin, std::vector<size_t>& out) {
  for (size_t i = begin; i < s.end;) {
    const size_t start = i;
    if (const size_t n = contraction(s, i, false)) {
      out.push_back(n);
      i += n;
      continue;
    }
    const size_t j = s.cp(i) == ' ' ? i + 1 : i;  // after the optional space
    if (s.letter(j)) {
      i = j;
      while (s.letter(i)) ++i;
    } else if (s.number(j)) {
      i = j;
      while (s.number(i)) ++i;
    } else if (s.other(j)) {
      i = j;
      while (s.other(i)) ++i;
    } else {
      size_t k = i;
      while (s.space(k)) ++k;
      const size_t n = k - i;
      if (n > 1 && s.valid(k)) {
        i = k - 1;  // \s+(?!\S) leaves the last space to start the next word
      } else if (n > 0) {
        i = k;
      } else {
        i += 1;
      }
    }
    out.push_back(i - start);
  }
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,D}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// with D = 3 (llama3) or 1 (qwen2).
void split_llama3(const Span& s, size_t begin, std::vector<size_t>& out, size_t max_digits) {
  for (size_t i = begin; i < s.end;) {
    const size_t start = i;
    const uint32_t c = s.cp(i);
    if (const size_t n = contraction(s, i, true)) {
      out.push_back(n);
      i += n;
      continue;
    }
    if (c != '\r' && c != '\n' && !s.number(i) && (s.letter(i) || s.letter(i + 1))) {
      ++i;  // the letter itself or the one-character prefix
      while (s.letter(i)) ++i;
      out.push_back(i - start);
      continue;
    }
    if (s.number(i)) {
      while (s.number(i) && i - start < max_digits) ++i;
      out.push_back(i - start);
      continue;
    }
    const size_t j = c == ' ' ? i + 1 : i;
    if (s.other(j)) {
      i = j;
      while (s.other(i)) ++i;
      while (s.cp(i) == '\r' || s.cp(i) == '\n') ++i;
      out.push_back(i - start);
      continue;
    }
    size_t k = i, after_newline = 0;
    for (; s.space(k); ++k) {
      if (s.cp(k) == '\r' || s.cp(k) == '\n') after_newline = k + 1;
    }
    const size_t n = k - i;
    if (after_newline > 0) {
      i = after_newline;  // \s*[\r\n]+ ends at the last line break of the run
    } else if (n > 1 && s.valid(k)) {
      i = k - 1;
    } else if (n > 0) {
      i = k;
    } else {
      i += 1;
    }
    out.push_back(i - start);
  }
}

// A regex of one character class applied with "gaps kept": runs of characters
// in the class are pieces (each character alone when `single`), and so is each
// run of characters outside it.
template <typename InClass>
void split_class_runs(const Span& s, size_t begin, std::vector<size_t>& out, bool single, InClass in_class) {
  for (size_t i = begin; i < s.end;) {
    const size_t start = i;
    if (in_class(i)) {
      ++i;
      if (!single) {
        while (i < s.end && in_class(i)) ++i;
      }
    } else {
      while (i < s.end && !in_class(i)) ++i;
    }
    out.push_back(i - start);
  }
}

// [\p{P}\$\+<=>\^~\|]+
bool punctuation_like(const Span& s, size_t i) {
  const uint32_t c = s.cps[i];
  return s.props[i].punctuation() || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' ||
         c == '~' || c == '|';
}

// [0-9][0-9][0-9]: consecutive triples of ASCII digits, the rest in between.
void split_digit_triples(const Span& s, size_t begin, std::vector<size_t>& out) {
  auto digit = [&](size_t i) { return i < s.end && s.cps[i] >= '0' && s.cps[i] <= '9'; };
  size_t gap = begin;
  for (size_t i = begin; i < s.end;) {
    if (digit(i) && digit(i + 1) && digit(i + 2)) {
      if (i > gap) out.push_back(i - gap);
      out.push_back(3);
      i += 3;
      gap = i;
    } else {
      ++i;
    }
  }
  if (s.end > gap) out.push_back(s.end - gap);
}

enum class Stage { kGpt2, kLlama3, kQwen2, kEachNumber, kNumberRuns, kPunctuationRuns, kDigitTriples };

std::vector<Stage> stages_of(PreTokenizer pre) {
  switch (pre) {
    case PreTokenizer::kGpt2:
      return {Stage::kGpt2};
    case PreTokenizer::kLlama3:
      return {Stage::kLlama3};
    case PreTokenizer::kQwen2:
      return {Stage::kQwen2};
    case PreTokenizer::kSmollm:
      return {Stage::kEachNumber, Stage::kGpt2};
    case PreTokenizer::kDefault:
      break;
  }
  return {Stage::kPunctuationRuns, Stage::kGpt2, Stage::kNumberRuns, Stage::kDigitTriples};
}

// Piece lengths (in code points) of the whole text after every stage; each
// stage cuts each piece of the one before it independently.
std::vector<size_t> pre_split(PreTokenizer pre, const std::vector<uint32_t>& cps,
                              const std::vector<CharProps>& props) {
  std::vector<size_t> pieces = {cps.size()};
  std::vector<size_t> next;
  for (const Stage stage : stages_of(pre)) {
    next.clear();
    size_t offset = 0;
    for (const size_t len : pieces) {
      const Span s{cps.data(), props.data(), offset + len};
      switch (stage) {
        case Stage::kGpt2:
          split_gpt2(s, offset, next);
          break;
        case Stage::kLlama3:
          split_llama3(s, offset, next, 3);
          break;
        case Stage::kQwen2:
          split_llama3(s, offset, next, 1);
          break;
        case Stage::kEachNumber:
          split_class_runs(s, offset, next, true, [&](size_t i) { return props[i].number(); });
          break;
        case Stage::kNumberRuns:
          split_class_runs(s, offset, next, false, [&](size_t i) { return props[i].number(); });
          break;
        case Stage::kPunctuationRuns:
          split_class_runs(s, offset, next, false, [&](size_t i) { return punctuation_like(s, i); });
          break;
        case Stage::kDigitTriples:
          split_digit_triples(s, offset, next);
          break;
      }
      offset += len;
    }
    pieces.swap(next);
  }
  return pieces;
}

void decode_with_props(std::string_view text, std::vector<uint32_t>& cps, std::vector<CharProps>& props) {
  cps = unicode::decode(text);
  props.resize(cps.size());
  for (size_t i = 0; i < cps.size(); ++i) props[i] = unicode::props(cps[i]);
}

struct Bigram {
  int32_t rank;
  int32_t left;
  int32_t right;
  uint32_t len;  // left + right when queued; a different sum means a side has merged since
};

// Lowest rank first, then leftmost.
struct BigramAfter {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

std::vector<std::string> split_words(PreTokenizer pre, std::string_view text) {
  std::vector<uint32_t> cps;
  std::vector<CharProps> props;
  decode_with_props(text, cps, props);
  std::vector<std::string> words;
  if (cps.empty()) return words;
  size_t offset = 0;
  for (const size_t len : pre_split(pre, cps, props)) {
    std::string& w = words.emplace_back();
    for (size_t i = offset; i < offset + len; ++i) unicode::append_utf8(w, cps[i]);
    offset += len;
  }
  return words;
}

int Tokenizer::merge_rank(std::string_view left, std::string_view right, std::string& scratch) const {
  // A merge line splits at its first space after the first byte, so a left side
  // holding such a space can never be a merge's left side.
  if (left.size() > 1 && left.find(' ', 1) != std::string_view::npos) return -1;
  scratch.assign(left);
  scratch += ' ';
  scratch += right;
  return merge_ranks_.find(scratch);
}

void Tokenizer::encode_bpe(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<uint32_t> cps;
  std::vector<CharProps> props;
  decode_with_props(text, cps, props);
  if (cps.empty()) return;

  std::string word, scratch, utf8;
  std::vector<MergeSymbol> symbols;
  std::priority_queue<Bigram, std::vector<Bigram>, BigramAfter> queue;
  auto try_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const MergeSymbol& l = symbols[left];
    const MergeSymbol& r = symbols[right];
    const int rank = merge_rank(std::string_view(word).substr(l.start, l.len),
                                std::string_view(word).substr(r.start, r.len), scratch);
    if (rank >= 0) queue.push({rank, left, right, l.len + r.len});
  };

  size_t offset = 0;
  for (const size_t len : pre_split(pre_, cps, props)) {
    // The word in the byte-level alphabet: each UTF-8 byte as its stand-in character.
    word.clear();
    for (size_t i = offset; i < offset + len; ++i) {
      utf8.clear();
      unicode::append_utf8(utf8, cps[i]);
      for (const char c : utf8) word += unicode::byte_to_text(static_cast<uint8_t>(c));
    }
    offset += len;

    if (ignore_merges_) {
      const int32_t id = lookup(word);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
    }

    split_into_characters(word, symbols);
    merge_symbols(symbols, queue, try_pair);

    for (int32_t i = 0; i >= 0; i = symbols[i].next) {
      const MergeSymbol& sym = symbols[i];
      const std::string_view piece = std::string_view(word).substr(sym.start, sym.len);
      const int32_t id = lookup(piece);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      // A merge result missing from the vocabulary: llama.cpp falls back to
      // one-byte tokens and drops the bytes that have none.
      for (const char c : piece) {
        const int32_t byte_id = lookup(std::string_view(&c, 1));
        if (byte_id >= 0) out.push_back(byte_id);
      }
    }
  }
}

}  // namespace hearth::models
