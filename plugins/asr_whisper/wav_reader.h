// wav_reader: decodes a RIFF/WAVE file (integer PCM 8/16/24/32-bit, IEEE float
// 32/64-bit, plain or WAVE_FORMAT_EXTENSIBLE, any channel count) into mono
// float samples at the file's own rate. Part of the asr_whisper plugin; knows
// nothing of Hearth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace asr_audio {

// Why a file could not be read. The message always starts with the file name.
class AudioError : public std::runtime_error {
 public:
  enum class Kind { kNotFound, kInvalid };
  AudioError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct WavAudio {
  int sample_rate = 0;
  int channels = 0;          // in the file; `samples` is already mixed down
  int bits_per_sample = 0;   // the container size of one sample
  std::string encoding;      // "pcm_s16", "pcm_u8", "float32", ...
  std::vector<float> samples;  // mono, nominally in [-1, 1]
  double duration() const { return sample_rate > 0 ? double(samples.size()) / sample_rate : 0.0; }
};

// Decodes the bytes of a WAV file; `name` is used in error messages.
// A data chunk shorter than it declares is an error (the file is truncated),
// except a declared size of 0xFFFFFFFF, which streaming writers use for
// "until the end of the file". A trailing partial frame is dropped.
WavAudio parse_wav(const std::uint8_t* data, std::size_t size, const std::string& name);

// Reads and decodes a file: AudioError kNotFound when it does not exist.
WavAudio read_wav_file(const std::string& path);

}  // namespace asr_audio
