// Builds WAV files byte by byte for the reader's tests: a correct header by
// default, with every field open to corruption.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace asr_test {

struct WavSpec {
  std::uint16_t format_tag = 1;
  std::uint16_t channels = 1;
  std::uint32_t sample_rate = 16000;
  std::uint16_t bits = 16;
  int block_align = -1;             // -1: channels * bits / 8
  bool extensible = false;          // WAVE_FORMAT_EXTENSIBLE carrying format_tag in its GUID
  std::vector<std::uint8_t> extra_chunk;  // an odd-sized LIST chunk before data when non-empty
  long long declared_data = -1;     // -1: the real size
};

inline void put16(std::vector<std::uint8_t>& b, std::uint16_t v) { b.push_back(v & 0xFF), b.push_back(v >> 8); }
inline void put32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back((v >> (8 * i)) & 0xFF);
}
inline void put_id(std::vector<std::uint8_t>& b, const char* id) {
  for (int i = 0; i < 4; ++i) b.push_back(std::uint8_t(id[i]));
}

inline std::vector<std::uint8_t> build_wav(const WavSpec& s, const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> fmt;
  const std::uint16_t align = s.block_align >= 0 ? std::uint16_t(s.block_align) : std::uint16_t(s.channels * s.bits / 8);
  put16(fmt, s.extensible ? 0xFFFE : s.format_tag);
  put16(fmt, s.channels);
  put32(fmt, s.sample_rate);
  put32(fmt, s.sample_rate * align);
  put16(fmt, align);
  put16(fmt, s.bits);
  if (s.extensible) {
    put16(fmt, 22);
    put16(fmt, s.bits);
    put32(fmt, 0);  // channel mask
    put16(fmt, s.format_tag);
    const std::uint8_t tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
    fmt.insert(fmt.end(), tail, tail + 14);
  }
  std::vector<std::uint8_t> b;
  put_id(b, "RIFF");
  put32(b, 0);  // patched below
  put_id(b, "WAVE");
  put_id(b, "fmt ");
  put32(b, std::uint32_t(fmt.size()));
  b.insert(b.end(), fmt.begin(), fmt.end());
  if (!s.extra_chunk.empty()) {
    put_id(b, "LIST");
    put32(b, std::uint32_t(s.extra_chunk.size()));
    b.insert(b.end(), s.extra_chunk.begin(), s.extra_chunk.end());
    if (s.extra_chunk.size() % 2) b.push_back(0);
  }
  put_id(b, "data");
  put32(b, s.declared_data >= 0 ? std::uint32_t(s.declared_data) : std::uint32_t(data.size()));
  b.insert(b.end(), data.begin(), data.end());
  const std::uint32_t riff = std::uint32_t(b.size() - 8);
  std::memcpy(&b[4], &riff, 4);
  return b;
}

}  // namespace asr_test
