// hearth transcribe: the speech in an audio file as text, through the first
// ASR plugin found (the bundled asr_whisper unless --plugin names another), in
// one of OpenAI's transcription formats: text, json, verbose_json, srt, vtt.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "plugins/plugin_calls.h"

namespace hearth::cli {
namespace {

struct TranscribeFlags {
  std::string audio;
  std::string format = "text";
  bool json = false;
  std::string language;
  int threads = 0;
  bool no_words = false;
  std::vector<std::string> dirs;
  std::string plugin;
  double timeout = 1800;
};

int transcribe(const TranscribeFlags& f) {
  namespace fs = std::filesystem;
  // Flags first: a usage mistake should not wait for a file check.
  const plugins::TranscriptFormat format =
      plugins::parse_transcript_format(f.json ? std::string("verbose_json") : f.format);
  if (!(f.timeout > 0 && f.timeout <= 86400)) throw Error(ErrorCode::kInvalidArgument, "--timeout must be within (0, 86400] seconds");
  if (f.threads < 0 || f.threads > 256) throw Error(ErrorCode::kInvalidArgument, "--threads must be within 0..256");
  std::error_code ec;
  if (!fs::exists(f.audio, ec)) throw Error(ErrorCode::kNotFound, f.audio + ": no such audio file");

  plugins::HostOptions o;
  o.plugin_dirs = f.dirs;
  o.call_timeout = std::chrono::milliseconds(static_cast<long long>(f.timeout * 1000));
  plugins::PluginHost host(o);
  plugins::TranscribeOptions options;
  options.plugin = f.plugin;
  options.language = f.language;
  options.threads = f.threads;
  options.word_timestamps = !f.no_words;
  const plugins::Transcript t = plugins::transcribe_audio(host, f.audio, options);
  std::cout << plugins::render_transcript(t, format, !f.no_words);
  return 0;
}

}  // namespace

Command add_transcribe_command(CLI::App& root) {
  auto f = std::make_shared<TranscribeFlags>();
  CLI::App* app = root.add_subcommand("transcribe", "the speech in an audio file (WAV) as text, through an ASR plugin");
  app->add_option("AUDIO", f->audio, "the audio file (WAV: PCM 8/16/24/32-bit or float, any rate and channels)")
      ->required();
  app->add_option("--format", f->format, "text, json, verbose_json, srt or vtt (OpenAI's response formats)")
      ->capture_default_str();
  app->add_flag("--json", f->json, "the same as --format verbose_json");
  app->add_option("--language", f->language, "the spoken language (en, de, ...; default: detected)");
  app->add_option("-t,--threads", f->threads, "CPU threads for the recogniser (default: up to 4)");
  app->add_flag("--no-word-timestamps", f->no_words, "segment timestamps only (a little faster)");
  app->add_option("--plugin-dir", f->dirs, "also search this directory for plugins (first; repeatable)");
  app->add_option("--plugin", f->plugin, "the ASR plugin to use (default: the first found)");
  app->add_option("--timeout", f->timeout, "seconds before the transcription is killed")->capture_default_str();
  return {app, [f] { return transcribe(*f); }};
}

}  // namespace hearth::cli
