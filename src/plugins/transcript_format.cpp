#include "plugins/transcript_format.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/json_type.h"

namespace hearth::plugins {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& source, const std::string& where, const std::string& what) {
  throw Error(ErrorCode::kFormat, source + ": transcription output " + (where.empty() ? "" : where + " ") + what);
}

double number_field(const json& j, const char* key, const std::string& source, const std::string& where,
                    bool required, double fallback = 0) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) bad(source, where, std::string("lacks \"") + key + "\"");
    return fallback;
  }
  if (!it->is_number()) bad(source, where, std::string("has \"") + key + "\" as " + json_type_name(*it) + ", not a number");
  const double v = it->get<double>();
  if (!std::isfinite(v)) bad(source, where, std::string("has a non-finite \"") + key + "\"");
  return v;
}

std::string string_field(const json& j, const char* key, const std::string& source, const std::string& where,
                         bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) bad(source, where, std::string("lacks \"") + key + "\"");
    return "";
  }
  if (!it->is_string()) bad(source, where, std::string("has \"") + key + "\" as " + json_type_name(*it) + ", not a string");
  return it->get<std::string>();
}

std::string timestamp(double seconds, char fraction_separator) {
  if (!(seconds > 0)) seconds = 0;  // also NaN
  const long long ms = std::llround(seconds * 1000.0);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
                fraction_separator, ms % 1000);
  return buf;
}

// A cue's text: the segment's without surrounding spaces, and no blank line
// inside it (a blank line would end the cue early).
std::string cue_text(const std::string& text) {
  const std::size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const std::size_t e = text.find_last_not_of(" \t\r\n");
  std::string out;
  for (char c : text.substr(b, e - b + 1)) {
    if (c == '\r') continue;
    if (c == '\n' && !out.empty() && out.back() == '\n') continue;
    out += c;
  }
  return out;
}

}  // namespace

TranscriptFormat parse_transcript_format(const std::string& name) {
  if (name == "text") return TranscriptFormat::kText;
  if (name == "json") return TranscriptFormat::kJson;
  if (name == "verbose_json") return TranscriptFormat::kVerboseJson;
  if (name == "srt") return TranscriptFormat::kSrt;
  if (name == "vtt") return TranscriptFormat::kVtt;
  throw Error(ErrorCode::kInvalidArgument,
              "unknown transcription format '" + name + "' (known: text, json, verbose_json, srt, vtt)");
}

const char* transcript_content_type(TranscriptFormat format) {
  switch (format) {
    case TranscriptFormat::kJson:
    case TranscriptFormat::kVerboseJson: return "application/json";
    case TranscriptFormat::kVtt: return "text/vtt; charset=utf-8";
    case TranscriptFormat::kSrt: return "application/x-subrip; charset=utf-8";
    default: return "text/plain; charset=utf-8";
  }
}

Transcript transcript_from_json(const json& output, const std::string& source) {
  if (!output.is_object()) bad(source, "", std::string("is ") + json_type_name(output) + ", not an object");
  Transcript t;
  t.text = string_field(output, "text", source, "", true);
  t.language = string_field(output, "language", source, "", false);
  t.duration = number_field(output, "duration", source, "", false);
  auto segs = output.find("segments");
  if (segs == output.end()) return t;
  if (!segs->is_array()) bad(source, "", "has \"segments\" as " + std::string(json_type_name(*segs)) + ", not an array");
  for (std::size_t i = 0; i < segs->size(); ++i) {
    const json& s = (*segs)[i];
    const std::string where = "segment " + std::to_string(i);
    if (!s.is_object()) bad(source, where, std::string("is ") + json_type_name(s) + ", not an object");
    TranscriptSegment seg;
    seg.id = int(number_field(s, "id", source, where, false, double(i)));
    seg.seek = int(number_field(s, "seek", source, where, false));
    seg.start = number_field(s, "start", source, where, true);
    seg.end = number_field(s, "end", source, where, true);
    if (seg.end < seg.start) bad(source, where, "ends before it starts");
    seg.text = string_field(s, "text", source, where, true);
    seg.temperature = number_field(s, "temperature", source, where, false);
    seg.avg_logprob = number_field(s, "avg_logprob", source, where, false);
    seg.compression_ratio = number_field(s, "compression_ratio", source, where, false);
    seg.no_speech_prob = number_field(s, "no_speech_prob", source, where, false);
    if (auto tok = s.find("tokens"); tok != s.end() && tok->is_array())
      for (const auto& v : *tok)
        if (v.is_number_integer()) seg.tokens.push_back(v.get<int>());
    if (auto w = s.find("words"); w != s.end()) {
      if (!w->is_array()) bad(source, where, "has \"words\" that is not an array");
      t.has_words = true;
      for (std::size_t k = 0; k < w->size(); ++k) {
        const json& wj = (*w)[k];
        const std::string wwhere = where + " word " + std::to_string(k);
        if (!wj.is_object()) bad(source, wwhere, "is not an object");
        TranscriptWord word;
        word.word = string_field(wj, "word", source, wwhere, true);
        word.start = number_field(wj, "start", source, wwhere, true);
        word.end = number_field(wj, "end", source, wwhere, true);
        word.probability = number_field(wj, "probability", source, wwhere, false);
        seg.words.push_back(std::move(word));
      }
    }
    t.segments.push_back(std::move(seg));
  }
  return t;
}

std::string srt_timestamp(double seconds) { return timestamp(seconds, ','); }
std::string vtt_timestamp(double seconds) { return timestamp(seconds, '.'); }

std::string render_text(const Transcript& t) { return cue_text(t.text) + "\n"; }

json render_json(const Transcript& t) { return {{"text", t.text}}; }

json render_verbose_json(const Transcript& t, bool include_words) {
  json segments = json::array();
  json words = json::array();
  for (const auto& s : t.segments) {
    segments.push_back({{"id", s.id},
                        {"seek", s.seek},
                        {"start", s.start},
                        {"end", s.end},
                        {"text", s.text},
                        {"tokens", s.tokens},
                        {"temperature", s.temperature},
                        {"avg_logprob", s.avg_logprob},
                        {"compression_ratio", s.compression_ratio},
                        {"no_speech_prob", s.no_speech_prob}});
    for (const auto& w : s.words) words.push_back({{"word", w.word}, {"start", w.start}, {"end", w.end}});
  }
  json out = {{"task", "transcribe"}, {"language", t.language}, {"duration", t.duration}, {"text", t.text},
              {"segments", segments}};
  if (include_words && t.has_words) out["words"] = words;
  return out;
}

std::string render_srt(const Transcript& t) {
  std::string out;
  int cue = 0;
  for (const auto& s : t.segments) {
    const std::string text = cue_text(s.text);
    if (text.empty()) continue;
    out += std::to_string(++cue) + "\n" + srt_timestamp(s.start) + " --> " + srt_timestamp(s.end) + "\n" + text + "\n\n";
  }
  return out;
}

std::string render_vtt(const Transcript& t) {
  std::string out = "WEBVTT\n\n";
  for (const auto& s : t.segments) {
    const std::string text = cue_text(s.text);
    if (text.empty()) continue;
    out += vtt_timestamp(s.start) + " --> " + vtt_timestamp(s.end) + "\n" + text + "\n\n";
  }
  return out;
}

std::string render_transcript(const Transcript& t, TranscriptFormat format, bool include_words) {
  switch (format) {
    case TranscriptFormat::kJson: return render_json(t).dump() + "\n";
    case TranscriptFormat::kVerboseJson: return render_verbose_json(t, include_words).dump() + "\n";
    case TranscriptFormat::kSrt: return render_srt(t);
    case TranscriptFormat::kVtt: return render_vtt(t);
    default: return render_text(t);
  }
}

}  // namespace hearth::plugins
