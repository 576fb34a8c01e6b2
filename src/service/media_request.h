// The multipart/form-data requests of POST /v1/audio/transcriptions (OpenAI's
// shape) and POST /v1/ocr turned into validated structs. Anything a client got
// wrong throws ApiException (400) naming the field.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "plugins/transcript_format.h"
#include "service/api_error.h"

namespace hearth::service {

constexpr size_t kMaxUploadBytes = size_t{25} << 20;  // OpenAI's limit for an audio file

// One part of a multipart/form-data body.
struct FormField {
  std::string name;
  std::string filename;      // empty for a plain field
  std::string content_type;
  std::string content;
};

struct TranscriptionRequest {
  const FormField* file = nullptr;  // points into the fields given to the parser
  std::string model;                // an ASR plugin's name, or any other name (whisper-1): the first ASR plugin
  std::string language;             // ISO-639-1, or empty: detected
  std::string prompt;               // accepted; the Whisper plugin does not use it
  plugins::TranscriptFormat format = plugins::TranscriptFormat::kJson;
  double temperature = 0;           // accepted within [0, 1]; decoding is beam search
  bool word_timestamps = false;     // timestamp_granularities[] has "word" (verbose_json only)
};

struct OcrRequest {
  const FormField* file = nullptr;
  std::string plugin;    // empty: the first OCR plugin
  std::string language;  // Tesseract's name (eng, deu, ...)
  int dpi = 0;
};

// Both need a non-empty "file" part that carries a file name, and refuse
// unknown values; unknown fields are ignored (as OpenAI's clients may add some).
TranscriptionRequest parse_transcription_request(const std::vector<FormField>& fields);
OcrRequest parse_ocr_request(const std::vector<FormField>& fields);

}  // namespace hearth::service
