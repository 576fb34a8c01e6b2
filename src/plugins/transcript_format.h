// transcript_format: a speech-recognition plugin's result (text, segments,
// words with timestamps) rendered in OpenAI's transcription response formats:
// text, json, verbose_json, srt and vtt. Shared by `hearth transcribe` and the
// server's POST /v1/audio/transcriptions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::plugins {

enum class TranscriptFormat { kText, kJson, kVerboseJson, kSrt, kVtt };

struct TranscriptWord {
  std::string word;
  double start = 0, end = 0;
  double probability = 0;
};

struct TranscriptSegment {
  int id = 0;
  int seek = 0;
  double start = 0, end = 0;
  std::string text;
  std::vector<int> tokens;
  double temperature = 0, avg_logprob = 0, compression_ratio = 0, no_speech_prob = 0;
  std::vector<TranscriptWord> words;
};

struct Transcript {
  std::string text;
  std::string language;
  double duration = 0;
  std::vector<TranscriptSegment> segments;
  bool has_words = false;  // any segment carried word timestamps
};

// "text", "json", "verbose_json", "srt", "vtt"; Error(kInvalidArgument) naming
// the value and the choices otherwise.
TranscriptFormat parse_transcript_format(const std::string& name);
// The MIME type an HTTP response in that format carries.
const char* transcript_content_type(TranscriptFormat format);

// An ASR capability's output ({"text", "language", "duration", "segments": [{"id",
// "start", "end", "text", "words"?}]}). Error(kFormat) naming the field when it
// is malformed; `source` (e.g. the plugin's name) starts the message.
Transcript transcript_from_json(const nlohmann::json& output, const std::string& source);

// 01:02:03,456 (SRT) and 01:02:03.456 (WebVTT): rounded to the millisecond,
// negative times clamped to zero, hours unbounded.
std::string srt_timestamp(double seconds);
std::string vtt_timestamp(double seconds);

std::string render_text(const Transcript& t);  // the text and a newline
nlohmann::json render_json(const Transcript& t);  // {"text"}
// {"task": "transcribe", "language", "duration", "text", "segments": [...]},
// plus "words" (all words in order) when include_words and the plugin gave them.
nlohmann::json render_verbose_json(const Transcript& t, bool include_words);
std::string render_srt(const Transcript& t);
std::string render_vtt(const Transcript& t);
// The body in `format`: JSON formats as compact JSON text with a newline.
std::string render_transcript(const Transcript& t, TranscriptFormat format, bool include_words = true);

}  // namespace hearth::plugins
