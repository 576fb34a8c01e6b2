// wav_reader: every supported encoding decodes to the right mono values, and
// every kind of bad file fails with one message naming the file and the problem.
#include "wav_reader.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "wav_builder.h"

namespace {

using asr_audio::AudioError;
using asr_audio::parse_wav;
using asr_test::build_wav;
using asr_test::WavSpec;

asr_audio::WavAudio decode(const std::vector<std::uint8_t>& b) { return parse_wav(b.data(), b.size(), "x.wav"); }

std::string error_of(const std::vector<std::uint8_t>& b) {
  try {
    decode(b);
  } catch (const AudioError& e) {
    EXPECT_EQ(e.kind(), AudioError::Kind::kInvalid);
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("x.wav: ", 0), 0u) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    return m;
  }
  ADD_FAILURE() << "no error";
  return "";
}

#define EXPECT_ERROR_HAS(bytes, fragment)                                        \
  do {                                                                           \
    const std::string m_ = error_of(bytes);                                      \
    EXPECT_NE(m_.find(fragment), std::string::npos) << "message: " << m_;        \
  } while (0)

TEST(WavReader, Pcm16Mono) {
  std::vector<std::uint8_t> d;
  for (std::int16_t v : {0, 16384, -32768, 32767}) asr_test::put16(d, std::uint16_t(v));
  const auto a = decode(build_wav({}, d));
  EXPECT_EQ(a.sample_rate, 16000);
  EXPECT_EQ(a.channels, 1);
  EXPECT_EQ(a.encoding, "pcm_s16");
  ASSERT_EQ(a.samples.size(), 4u);
  EXPECT_FLOAT_EQ(a.samples[0], 0.0f);
  EXPECT_FLOAT_EQ(a.samples[1], 0.5f);
  EXPECT_FLOAT_EQ(a.samples[2], -1.0f);
  EXPECT_NEAR(a.samples[3], 1.0f, 1e-4);
  EXPECT_DOUBLE_EQ(a.duration(), 4.0 / 16000);
}

TEST(WavReader, Pcm8IsUnsigned) {
  WavSpec s;
  s.bits = 8;
  const auto a = decode(build_wav(s, {128, 0, 255, 192}));
  EXPECT_EQ(a.encoding, "pcm_u8");
  ASSERT_EQ(a.samples.size(), 4u);
  EXPECT_FLOAT_EQ(a.samples[0], 0.0f);
  EXPECT_FLOAT_EQ(a.samples[1], -1.0f);
  EXPECT_NEAR(a.samples[2], 1.0f, 0.01);
  EXPECT_FLOAT_EQ(a.samples[3], 0.5f);
}

TEST(WavReader, Pcm24SignExtends) {
  WavSpec s;
  s.bits = 24;
  // -0.5 is 0xC00000; 0.25 is 0x200000, little-endian.
  const auto a = decode(build_wav(s, {0x00, 0x00, 0xC0, 0x00, 0x00, 0x20}));
  ASSERT_EQ(a.samples.size(), 2u);
  EXPECT_FLOAT_EQ(a.samples[0], -0.5f);
  EXPECT_FLOAT_EQ(a.samples[1], 0.25f);
}

TEST(WavReader, Pcm32) {
  WavSpec s;
  s.bits = 32;
  std::vector<std::uint8_t> d;
  asr_test::put32(d, 0x40000000u);  // 0.5
  asr_test::put32(d, 0x80000000u);  // -1
  const auto a = decode(build_wav(s, d));
  ASSERT_EQ(a.samples.size(), 2u);
  EXPECT_FLOAT_EQ(a.samples[0], 0.5f);
  EXPECT_FLOAT_EQ(a.samples[1], -1.0f);
}

template <typename T>
std::vector<std::uint8_t> raw_bytes(std::initializer_list<T> values) {
  std::vector<std::uint8_t> d;
  for (T v : values) {
    std::uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    d.insert(d.end(), b, b + sizeof(T));
  }
  return d;
}

TEST(WavReader, Float32AndFloat64) {
  WavSpec s;
  s.format_tag = 3;
  s.bits = 32;
  auto a = decode(build_wav(s, raw_bytes<float>({0.25f, -0.75f})));
  EXPECT_EQ(a.encoding, "float32");
  ASSERT_EQ(a.samples.size(), 2u);
  EXPECT_FLOAT_EQ(a.samples[1], -0.75f);
  s.bits = 64;
  a = decode(build_wav(s, raw_bytes<double>({0.125, -0.5, 0.0})));
  EXPECT_EQ(a.encoding, "float64");
  ASSERT_EQ(a.samples.size(), 3u);
  EXPECT_FLOAT_EQ(a.samples[0], 0.125f);
  EXPECT_FLOAT_EQ(a.samples[1], -0.5f);
}

TEST(WavReader, StereoMixesDownToMono) {
  WavSpec s;
  s.channels = 2;
  s.sample_rate = 44100;
  std::vector<std::uint8_t> d;
  for (std::int16_t v : {16384, 0, -16384, -16384}) asr_test::put16(d, std::uint16_t(v));
  const auto a = decode(build_wav(s, d));
  EXPECT_EQ(a.channels, 2);
  EXPECT_EQ(a.sample_rate, 44100);
  ASSERT_EQ(a.samples.size(), 2u);
  EXPECT_FLOAT_EQ(a.samples[0], 0.25f);
  EXPECT_FLOAT_EQ(a.samples[1], -0.5f);
}

TEST(WavReader, ExtensibleFloatSixChannels) {
  WavSpec s;
  s.extensible = true;
  s.format_tag = 3;
  s.bits = 32;
  s.channels = 6;
  const auto a = decode(build_wav(s, raw_bytes<float>({0.6f, 0.6f, 0.6f, 0.0f, 0.0f, 0.0f})));
  ASSERT_EQ(a.samples.size(), 1u);
  EXPECT_NEAR(a.samples[0], 0.3f, 1e-6);
}

TEST(WavReader, SkipsOddSizedChunksBeforeData) {
  WavSpec s;
  s.extra_chunk = {'I', 'N', 'F', 'O', 'x'};  // 5 bytes and a pad byte
  std::vector<std::uint8_t> d;
  asr_test::put16(d, 8192);
  const auto a = decode(build_wav(s, d));
  ASSERT_EQ(a.samples.size(), 1u);
  EXPECT_FLOAT_EQ(a.samples[0], 0.25f);
}

TEST(WavReader, UnknownLengthReadsToTheEndAndDropsAPartialFrame) {
  WavSpec s;
  s.declared_data = 0xFFFFFFFFll;
  const auto a = decode(build_wav(s, {0, 0x40, 0, 0xC0, 0x12}));  // two frames and a stray byte
  ASSERT_EQ(a.samples.size(), 2u);
  EXPECT_FLOAT_EQ(a.samples[0], 0.5f);
  EXPECT_FLOAT_EQ(a.samples[1], -0.5f);
}

TEST(WavReader, EmptyFile) { EXPECT_ERROR_HAS(std::vector<std::uint8_t>{}, "the file is empty"); }

TEST(WavReader, NotRiff) {
  const std::string text = "hello, this is a text file\n";
  EXPECT_ERROR_HAS(std::vector<std::uint8_t>(text.begin(), text.end()), "not a RIFF/WAVE file");
  const std::string flac = "fLaC\0\0\0\"";
  const std::string m = error_of(std::vector<std::uint8_t>(flac.begin(), flac.end()));
  EXPECT_NE(m.find("FLAC"), std::string::npos) << m;
}

TEST(WavReader, TruncatedHeaders) {
  std::vector<std::uint8_t> d(8, 0);
  const auto full = build_wav({}, d);
  EXPECT_ERROR_HAS(std::vector<std::uint8_t>(full.begin(), full.begin() + 8), "truncated header");
  EXPECT_ERROR_HAS(std::vector<std::uint8_t>(full.begin(), full.begin() + 12), "truncated header");
  EXPECT_ERROR_HAS(std::vector<std::uint8_t>(full.begin(), full.begin() + 30), "truncated header");  // inside fmt
  EXPECT_ERROR_HAS(std::vector<std::uint8_t>(full.begin(), full.begin() + 38), "truncated header");  // before data
}

TEST(WavReader, DataShorterThanDeclared) {
  WavSpec s;
  s.declared_data = 32000;
  const std::string m = error_of(build_wav(s, std::vector<std::uint8_t>(100, 0)));
  EXPECT_NE(m.find("data chunk shorter than declared"), std::string::npos) << m;
  EXPECT_NE(m.find("32000 bytes declared, 100 present"), std::string::npos) << m;
}

TEST(WavReader, CompressedFormatNamesTheTag) {
  WavSpec s;
  s.format_tag = 0x55;
  s.bits = 0;
  s.block_align = 1;
  const std::string m = error_of(build_wav(s, std::vector<std::uint8_t>(64, 0)));
  EXPECT_NE(m.find("unsupported encoding"), std::string::npos) << m;
  EXPECT_NE(m.find("0x0055"), std::string::npos) << m;
  EXPECT_NE(m.find("MP3"), std::string::npos) << m;
  s.format_tag = 0x0002;
  EXPECT_ERROR_HAS(build_wav(s, std::vector<std::uint8_t>(64, 0)), "Microsoft ADPCM");
}

TEST(WavReader, UnsupportedBitDepth) {
  WavSpec s;
  s.bits = 12;
  s.block_align = 2;
  EXPECT_ERROR_HAS(build_wav(s, std::vector<std::uint8_t>(8, 0)), "12 bits per sample");
  s.format_tag = 3;
  s.bits = 16;
  EXPECT_ERROR_HAS(build_wav(s, std::vector<std::uint8_t>(8, 0)), "IEEE float with 16 bits");
}

TEST(WavReader, ZeroChannels) {
  WavSpec s;
  s.channels = 0;
  EXPECT_ERROR_HAS(build_wav(s, std::vector<std::uint8_t>(8, 0)), "zero channels");
}

TEST(WavReader, AbsurdSampleRates) {
  WavSpec s;
  s.sample_rate = 0;
  EXPECT_ERROR_HAS(build_wav(s, std::vector<std::uint8_t>(8, 0)), "absurd sample rate 0 Hz");
  s.sample_rate = 4000000;
  EXPECT_ERROR_HAS(build_wav(s, std::vector<std::uint8_t>(8, 0)), "absurd sample rate 4000000 Hz");
}

TEST(WavReader, BadBlockAlign) {
  WavSpec s;
  s.block_align = 3;
  EXPECT_ERROR_HAS(build_wav(s, std::vector<std::uint8_t>(8, 0)), "block alignment is 3");
}

TEST(WavReader, ZeroLengthAudio) {
  EXPECT_ERROR_HAS(build_wav({}, {}), "zero-length audio");
  EXPECT_ERROR_HAS(build_wav({}, {0x12}), "zero-length audio");  // less than one frame
}

TEST(WavReader, NoDataChunk) {
  auto b = build_wav({}, {0, 0});
  b.resize(b.size() - 10);  // cut off the data chunk's header and body
  EXPECT_ERROR_HAS(b, "truncated header");
}

TEST(WavReader, MissingFileIsNotFound) {
  try {
    asr_audio::read_wav_file("/nonexistent/dir/speech.wav");
    FAIL() << "no error";
  } catch (const AudioError& e) {
    EXPECT_EQ(e.kind(), AudioError::Kind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/speech.wav: no such audio file"), std::string::npos);
  }
}

TEST(WavReader, ReadsAFileFromDisk) {
  std::vector<std::uint8_t> d;
  asr_test::put16(d, 16384);
  const auto b = build_wav({}, d);
  const std::string path = testing::TempDir() + "wav_reader_test.wav";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  const auto a = asr_audio::read_wav_file(path);
  std::remove(path.c_str());
  ASSERT_EQ(a.samples.size(), 1u);
  EXPECT_FLOAT_EQ(a.samples[0], 0.5f);
}

}  // namespace
