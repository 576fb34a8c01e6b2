#include "models/unicode.h"

#include <array>
#include <memory>

namespace hearth::models::unicode {
namespace {

// One byte per code point (class in the low bits, White_Space in bit 7): 1.1 MB,
// built once, so the pre-tokenizers pay one load per character.
constexpr uint8_t kSpaceBit = 0x80;

const uint8_t* props_table() {
  static const std::unique_ptr<uint8_t[]> table = [] {
    auto t = std::make_unique<uint8_t[]>(kMaxCodePoint + 1);
    for (size_t i = 0; i < kClassRunCount; ++i) {
      const uint32_t end = i + 1 < kClassRunCount ? kClassRuns[i + 1].first : kMaxCodePoint + 1;
      for (uint32_t cp = kClassRuns[i].first; cp < end; ++cp) t[cp] = static_cast<uint8_t>(kClassRuns[i].cls);
    }
    for (size_t i = 0; i < kWhiteSpaceCount; ++i) t[kWhiteSpace[i]] |= kSpaceBit;
    return t;
  }();
  return table.get();
}

struct ByteMap {
  std::array<std::string, 256> text;
  std::array<uint16_t, 324> char_to_byte;  // the mapped characters all lie below U+0144
};

// The GPT-2 convention: printable Latin-1 bytes stand for themselves, the
// others, in byte order, for U+0100 upwards.
const ByteMap& byte_map() {
  static const ByteMap map = [] {
    ByteMap m;
    m.char_to_byte.fill(0xFFFF);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      const uint32_t cp = printable ? b : next++;
      append_utf8(m.text[b], cp);
      m.char_to_byte[cp] = static_cast<uint16_t>(b);
    }
    return m;
  }();
  return map;
}

}  // namespace

CharProps props(uint32_t cp) {
  if (cp > kMaxCodePoint) return {};
  const uint8_t v = props_table()[cp];
  return {static_cast<CharClass>(v & 0x7F), (v & kSpaceBit) != 0};
}

uint32_t decode_next(std::string_view text, size_t& pos) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  const uint8_t b0 = s[pos];
  auto cont = [&](size_t i) { return pos + i < n && (s[pos + i] & 0xC0) == 0x80; };
  if (b0 < 0x80) {
    pos += 1;
    return b0;
  }
  if ((b0 & 0xE0) == 0xC0 && cont(1)) {
    const uint32_t cp = (uint32_t{b0 & 0x1Fu} << 6) | (s[pos + 1] & 0x3Fu);
    pos += 2;
    return cp;
  }
  if ((b0 & 0xF0) == 0xE0 && cont(1) && cont(2)) {
    const uint32_t cp = (uint32_t{b0 & 0x0Fu} << 12) | (uint32_t{s[pos + 1] & 0x3Fu} << 6) | (s[pos + 2] & 0x3Fu);
    pos += 3;
    return cp;
  }
  if ((b0 & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
    const uint32_t cp = (uint32_t{b0 & 0x07u} << 18) | (uint32_t{s[pos + 1] & 0x3Fu} << 12) |
                        (uint32_t{s[pos + 2] & 0x3Fu} << 6) | (s[pos + 3] & 0x3Fu);
    // F5..F7 leads decode past U+10FFFF, which no encoder accepts back.
    if (cp <= kMaxCodePoint) {
      pos += 4;
      return cp;
    }
  }
  pos += 1;
  return kReplacementChar;
}

std::vector<uint32_t> decode(std::string_view text) {
  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) cps.push_back(decode_next(text, pos));
  return cps;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_valid_utf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    const uint32_t cp = decode_next(text, pos);
    if (cp == kReplacementChar && text.substr(start, 3) != "\xEF\xBF\xBD") return false;
    const size_t len = pos - start;
    // Overlong forms and surrogates decode leniently but are not valid UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;
  }
  return true;
}

const std::string& byte_to_text(uint8_t b) { return byte_map().text[b]; }

int text_to_byte(uint32_t cp) {
  const auto& m = byte_map().char_to_byte;
  if (cp >= m.size() || m[cp] == 0xFFFF) return -1;
  return m[cp];
}

}  // namespace hearth::models::unicode
