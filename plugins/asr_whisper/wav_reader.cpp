#include "wav_reader.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sys/stat.h>

namespace asr_audio {
namespace {

constexpr std::uint16_t kFormatPcm = 0x0001;
constexpr std::uint16_t kFormatFloat = 0x0003;
constexpr std::uint16_t kFormatExtensible = 0xFFFE;
constexpr std::uint32_t kSizeUnknown = 0xFFFFFFFFu;
constexpr int kMinSampleRate = 1000;
constexpr int kMaxSampleRate = 768000;
constexpr int kMaxChannels = 256;

// The tail every KSDATAFORMAT_SUBTYPE GUID shares after its two-byte format tag.
constexpr std::uint8_t kSubtypeGuidTail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                               0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

[[noreturn]] void invalid(const std::string& name, const std::string& what) {
  throw AudioError(AudioError::Kind::kInvalid, name + ": " + what);
}

std::uint16_t u16(const std::uint8_t* p) { return std::uint16_t(p[0] | (p[1] << 8)); }
std::uint32_t u32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24);
}

std::string hex_tag(std::uint16_t tag) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%04X", tag);
  return buf;
}

// The compressed encodings people actually meet, so the error can name them.
std::string format_tag_name(std::uint16_t tag) {
  switch (tag) {
    case 0x0002: return "Microsoft ADPCM";
    case 0x0006: return "A-law";
    case 0x0007: return "mu-law";
    case 0x0011: return "IMA ADPCM";
    case 0x0031: return "GSM 6.10";
    case 0x0050: return "MPEG audio";
    case 0x0055: return "MPEG Layer 3 (MP3)";
    case 0x0160: case 0x0161: case 0x0162: case 0x0163: return "Windows Media Audio";
    case 0x00FF: case 0x1610: return "AAC";
    case 0xF1AC: return "FLAC";
    default: return "";
  }
}

// What a file that is not RIFF/WAVE looks like, to say more than "not WAV".
std::string guess_other_container(const std::uint8_t* d, std::size_t n) {
  auto starts = [&](const char* magic) { return n >= std::strlen(magic) && std::memcmp(d, magic, std::strlen(magic)) == 0; };
  if (starts("RIFX")) return "a big-endian RIFX file";
  if (starts("RF64") || starts("BW64")) return "an RF64/BW64 (64-bit WAV) file";
  if (starts("fLaC")) return "a FLAC file";
  if (starts("OggS")) return "an Ogg file";
  if (starts("ID3") || (n >= 2 && d[0] == 0xFF && (d[1] & 0xE0) == 0xE0)) return "an MP3 file";
  if (starts("FORM")) return "an AIFF file";
  if (n >= 8 && std::memcmp(d + 4, "ftyp", 4) == 0) return "an MP4/M4A file";
  if (starts("\x1A\x45\xDF\xA3")) return "a Matroska/WebM file";
  if (starts("RIFF")) return "a RIFF file that is not WAVE";
  return "";
}

struct Format {
  std::uint16_t tag = 0;  // kFormatPcm or kFormatFloat once resolved
  int channels = 0;
  int sample_rate = 0;
  int block_align = 0;
  int bits = 0;
};

Format parse_fmt(const std::uint8_t* p, std::uint32_t size, const std::string& name) {
  if (size < 16) invalid(name, "truncated header: the fmt chunk has " + std::to_string(size) + " bytes, at least 16 are needed");
  Format f;
  f.tag = u16(p);
  f.channels = u16(p + 2);
  const std::uint32_t rate = u32(p + 4);
  f.block_align = u16(p + 12);
  f.bits = u16(p + 14);
  if (f.tag == kFormatExtensible) {
    if (size < 40) invalid(name, "truncated header: a WAVE_FORMAT_EXTENSIBLE fmt chunk has " + std::to_string(size) + " bytes, 40 are needed");
    const std::uint8_t* guid = p + 24;
    if (std::memcmp(guid + 2, kSubtypeGuidTail, sizeof kSubtypeGuidTail) != 0)
      invalid(name, "unsupported encoding: WAVE_FORMAT_EXTENSIBLE with a sub-format GUID that is not a standard one");
    f.tag = u16(guid);
  }
  if (f.tag != kFormatPcm && f.tag != kFormatFloat) {
    const std::string known = format_tag_name(f.tag);
    invalid(name, "unsupported encoding: format tag " + hex_tag(f.tag) + (known.empty() ? "" : " (" + known + ")") +
                      "; only integer PCM and IEEE float WAV are read (convert with e.g. ffmpeg -i IN -c:a pcm_s16le OUT.wav)");
  }
  if (f.channels == 0) invalid(name, "the fmt chunk declares zero channels");
  if (f.channels > kMaxChannels) invalid(name, "the fmt chunk declares " + std::to_string(f.channels) + " channels (at most 256 are read)");
  if (rate < std::uint32_t(kMinSampleRate) || rate > std::uint32_t(kMaxSampleRate))
    invalid(name, "absurd sample rate " + std::to_string(rate) + " Hz (expected 1000 to 768000)");
  f.sample_rate = int(rate);
  const bool pcm_ok = f.tag == kFormatPcm && (f.bits == 8 || f.bits == 16 || f.bits == 24 || f.bits == 32);
  const bool float_ok = f.tag == kFormatFloat && (f.bits == 32 || f.bits == 64);
  if (!pcm_ok && !float_ok)
    invalid(name, "unsupported encoding: " + std::string(f.tag == kFormatPcm ? "integer PCM" : "IEEE float") + " with " +
                      std::to_string(f.bits) + " bits per sample (" +
                      (f.tag == kFormatPcm ? "8, 16, 24 or 32" : "32 or 64") + " are read)");
  if (f.block_align != f.channels * f.bits / 8)
    invalid(name, "the fmt chunk's block alignment is " + std::to_string(f.block_align) + " bytes but " +
                      std::to_string(f.channels) + " channels of " + std::to_string(f.bits) + " bits need " +
                      std::to_string(f.channels * f.bits / 8));
  return f;
}

float sample_at(const std::uint8_t* p, const Format& f) {
  if (f.tag == kFormatFloat) {
    if (f.bits == 32) {
      float v;
      std::memcpy(&v, p, 4);  // little-endian hosts only, like every target Hearth builds for
      return v;
    }
    double v;
    std::memcpy(&v, p, 8);
    return float(v);
  }
  switch (f.bits) {
    case 8: return (float(p[0]) - 128.0f) / 128.0f;  // 8-bit WAV is unsigned
    case 16: return float(std::int16_t(u16(p))) / 32768.0f;
    case 24: {
      const std::int32_t v = std::int32_t((std::uint32_t(p[0]) << 8) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 24)) >> 8;
      return float(v) / 8388608.0f;
    }
    default: return float(double(std::int32_t(u32(p))) / 2147483648.0);
  }
}

std::string encoding_name(const Format& f) {
  if (f.tag == kFormatFloat) return "float" + std::to_string(f.bits);
  return f.bits == 8 ? "pcm_u8" : "pcm_s" + std::to_string(f.bits);
}

}  // namespace

WavAudio parse_wav(const std::uint8_t* data, std::size_t size, const std::string& name) {
  if (size == 0) invalid(name, "the file is empty");
  if (size < 12 || std::memcmp(data, "RIFF", 4) != 0 || std::memcmp(data + 8, "WAVE", 4) != 0) {
    if (size >= 4 && std::memcmp(data, "RIFF", 4) == 0 && size < 12) invalid(name, "truncated header: the file ends inside the RIFF header");
    const std::string other = guess_other_container(data, size);
    invalid(name, "not a RIFF/WAVE file" + (other.empty() ? std::string() : " (it looks like " + other + ")") +
                      "; only WAV audio is read");
  }
  std::size_t pos = 12;
  bool have_fmt = false;
  Format fmt;
  while (true) {
    if (pos + 8 > size) {
      if (!have_fmt) invalid(name, "truncated header: the file ends before the fmt chunk");
      invalid(name, "truncated header: the file ends before the data chunk");
    }
    const std::uint8_t* chunk = data + pos;
    const std::uint32_t chunk_size = u32(chunk + 4);
    const std::size_t body = pos + 8;
    const std::size_t available = size - body;
    if (std::memcmp(chunk, "fmt ", 4) == 0) {
      if (chunk_size > available) invalid(name, "truncated header: the fmt chunk declares " + std::to_string(chunk_size) + " bytes but the file ends after " + std::to_string(available));
      fmt = parse_fmt(data + body, chunk_size, name);
      have_fmt = true;
    } else if (std::memcmp(chunk, "data", 4) == 0) {
      if (!have_fmt) invalid(name, "the data chunk comes before any fmt chunk");
      std::size_t bytes = chunk_size;
      if (chunk_size == kSizeUnknown) {
        bytes = available;
      } else if (bytes > available) {
        invalid(name, "data chunk shorter than declared: " + std::to_string(chunk_size) + " bytes declared, " +
                          std::to_string(available) + " present (the file is truncated)");
      }
      const std::size_t frames = bytes / std::size_t(fmt.block_align);
      if (frames == 0) invalid(name, "zero-length audio: the data chunk holds no complete sample frame");
      WavAudio out;
      out.sample_rate = fmt.sample_rate;
      out.channels = fmt.channels;
      out.bits_per_sample = fmt.bits;
      out.encoding = encoding_name(fmt);
      out.samples.resize(frames);
      const int width = fmt.bits / 8;
      const float scale = 1.0f / float(fmt.channels);
      const std::uint8_t* p = data + body;
      for (std::size_t i = 0; i < frames; ++i) {
        float sum = 0;
        for (int c = 0; c < fmt.channels; ++c, p += width) sum += sample_at(p, fmt);
        out.samples[i] = sum * scale;
      }
      return out;
    }
    // Chunks are padded to an even size.
    const std::size_t next = body + std::size_t(chunk_size) + (chunk_size & 1u);
    if (next > size) {
      const std::string id(reinterpret_cast<const char*>(chunk), 4);
      invalid(name, std::string(have_fmt ? "truncated file: no data chunk" : "truncated header: no fmt chunk") +
                        " before the file ends (inside a '" + id + "' chunk)");
    }
    pos = next;
  }
}

WavAudio read_wav_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw AudioError(AudioError::Kind::kNotFound, path + ": no such audio file");
    invalid(path, std::string("cannot read: ") + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) invalid(path, "is a directory, not an audio file");
  std::ifstream in(path, std::ios::binary);
  if (!in) invalid(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) invalid(path, "read error");
  return parse_wav(bytes.data(), bytes.size(), path);
}

}  // namespace asr_audio
