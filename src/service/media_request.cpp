#include "service/media_request.h"

#include <cctype>
#include <cstdlib>

#include "core/error.h"

namespace hearth::service {
namespace {

const FormField* find(const std::vector<FormField>& fields, const std::string& name) {
  for (const FormField& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

std::string text_field(const std::vector<FormField>& fields, const std::string& name, size_t max_bytes = 256) {
  const FormField* f = find(fields, name);
  if (!f) return "";
  if (!f->filename.empty())
    throw ApiException(ApiError::invalid("Invalid value for '" + name + "': expected a text field, not a file.", name,
                                         "invalid_type"));
  if (f->content.size() > max_bytes)
    throw ApiException(ApiError::invalid("Invalid value for '" + name + "': longer than " + std::to_string(max_bytes) +
                                             " bytes.", name, "invalid_value"));
  return f->content;
}

const FormField& file_field(const std::vector<FormField>& fields, const char* what) {
  const FormField* f = find(fields, "file");
  if (!f)
    throw ApiException(ApiError::invalid(std::string("Missing required parameter: 'file' (the ") + what +
                                             ", sent as multipart/form-data).", "file", "missing_required_parameter"));
  if (f->filename.empty())
    throw ApiException(ApiError::invalid(std::string("Invalid value for 'file': expected an uploaded ") + what +
                                             " with a file name, got a plain field.", "file", "invalid_type"));
  if (f->content.empty())
    throw ApiException(ApiError::invalid("Invalid value for 'file': " + quote_for_error(f->filename) + " is empty.",
                                         "file", "invalid_value"));
  return *f;
}

bool is_language_code(const std::string& s) {
  if (s.size() < 2 || s.size() > 8) return false;
  for (char c : s)
    if (!std::islower(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

double number_field(const std::vector<FormField>& fields, const std::string& name, double fallback, double lo, double hi) {
  const std::string v = text_field(fields, name, 32);
  if (v.empty()) return fallback;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size() || !(x >= lo && x <= hi))
    throw ApiException(ApiError::invalid("Invalid value for '" + name + "': expected a number within [" +
                                             std::to_string(lo).substr(0, 4) + ", " + std::to_string(hi).substr(0, 6) +
                                             "], got " + quote_for_error(v) + ".", name, "invalid_value"));
  return x;
}

}  // namespace

TranscriptionRequest parse_transcription_request(const std::vector<FormField>& fields) {
  TranscriptionRequest r;
  r.file = &file_field(fields, "audio file");
  r.model = text_field(fields, "model");
  r.language = text_field(fields, "language");
  if (!r.language.empty() && !is_language_code(r.language))
    throw ApiException(ApiError::invalid("Invalid value for 'language': expected an ISO-639-1 code such as 'en', got " +
                                             quote_for_error(r.language) + ".", "language", "invalid_value"));
  r.prompt = text_field(fields, "prompt", 4096);
  const std::string format = text_field(fields, "response_format");
  if (!format.empty()) {
    try {
      r.format = plugins::parse_transcript_format(format);
    } catch (const Error&) {
      throw ApiException(ApiError::invalid("Invalid value for 'response_format': supported values are 'json', 'text', "
                                           "'srt', 'verbose_json' and 'vtt', got " + quote_for_error(format) + ".",
                                           "response_format", "invalid_value"));
    }
  }
  r.temperature = number_field(fields, "temperature", 0, 0, 1);
  const std::string stream = text_field(fields, "stream");
  if (!stream.empty() && stream != "false")
    throw ApiException(ApiError::invalid("Invalid value for 'stream': streamed transcriptions are not supported.",
                                         "stream", "invalid_value"));
  for (const FormField& f : fields) {
    if (f.name != "timestamp_granularities[]" && f.name != "timestamp_granularities") continue;
    if (f.content == "word") {
      r.word_timestamps = true;
    } else if (f.content != "segment") {
      throw ApiException(ApiError::invalid("Invalid value for 'timestamp_granularities[]': supported values are "
                                           "'segment' and 'word', got " + quote_for_error(f.content) + ".",
                                           "timestamp_granularities[]", "invalid_value"));
    }
  }
  if (r.word_timestamps && r.format != plugins::TranscriptFormat::kVerboseJson)
    throw ApiException(ApiError::invalid("Invalid value for 'timestamp_granularities[]': word timestamps need "
                                         "response_format 'verbose_json'.", "timestamp_granularities[]",
                                         "invalid_value"));
  return r;
}

OcrRequest parse_ocr_request(const std::vector<FormField>& fields) {
  OcrRequest r;
  r.file = &file_field(fields, "image");
  r.plugin = text_field(fields, "plugin", 64);
  r.language = text_field(fields, "language", 64);
  for (char c : r.language)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '+')
      throw ApiException(ApiError::invalid("Invalid value for 'language': expected Tesseract language names such as "
                                           "'eng' or 'eng+deu', got " + quote_for_error(r.language) + ".",
                                           "language", "invalid_value"));
  r.dpi = static_cast<int>(number_field(fields, "dpi", 0, 70, 2400));
  return r;
}

}  // namespace hearth::service
