// Unicode for the tokenizers: UTF-8 decoding that accepts any bytes, the general-category
// class and White_Space of each code point, and GPT-2's byte <-> printable character map.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::models::unicode {

// The major general category (L, N, P, S, M, Z, C) of a code point; kUndefined for
// unassigned ones (Cn) and for values past U+10FFFF.
enum class CharClass : uint8_t {
  kUndefined = 0,
  kLetter,
  kNumber,
  kPunctuation,
  kSymbol,
  kMark,
  kSeparator,
  kControl,
};

// Generated tables (unicode_tables.cpp, by scripts/gen_unicode_tables.py).
struct ClassRun {
  uint32_t first;
  CharClass cls;
};
extern const ClassRun kClassRuns[];
extern const size_t kClassRunCount;
extern const uint32_t kWhiteSpace[];
extern const size_t kWhiteSpaceCount;
extern const char kUnicodeVersion[];

inline constexpr uint32_t kReplacementChar = 0xFFFD;
inline constexpr uint32_t kMaxCodePoint = 0x10FFFF;

// Class and White_Space of one code point, packed for the pre-tokenizers' loops.
struct CharProps {
  CharClass cls = CharClass::kUndefined;
  bool space = false;
  bool letter() const { return cls == CharClass::kLetter; }
  bool number() const { return cls == CharClass::kNumber; }
  bool punctuation() const { return cls == CharClass::kPunctuation; }
};

CharProps props(uint32_t cp);
inline CharClass char_class(uint32_t cp) { return props(cp).cls; }
inline bool is_white_space(uint32_t cp) { return props(cp).space; }

// Bytes in the UTF-8 sequence that `lead` starts, judged by its high four bits only
// (a stray continuation byte counts 1): how llama.cpp cuts text into symbols.
inline size_t sequence_length(uint8_t lead) {
  static constexpr uint8_t kLengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLengths[lead >> 4];
}

// Decodes the code point at text[pos] and moves pos past it. A malformed or
// truncated sequence gives U+FFFD and moves one byte, so every byte string
// decodes. Overlong forms and surrogates are accepted as llama.cpp accepts them.
uint32_t decode_next(std::string_view text, size_t& pos);
std::vector<uint32_t> decode(std::string_view text);
void append_utf8(std::string& out, uint32_t cp);
bool is_valid_utf8(std::string_view text);

// GPT-2 byte-level BPE writes each byte as a printable character: the UTF-8
// text of the character standing for byte b, and the byte a character stands
// for (-1 for characters that stand for none).
const std::string& byte_to_text(uint8_t b);
int text_to_byte(uint32_t cp);

}  // namespace hearth::models::unicode
