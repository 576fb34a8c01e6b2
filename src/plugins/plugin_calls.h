// The two media calls Hearth makes on plugins, shared by the CLI and the
// server: the plugin and capability that serve a kind (ocr, asr), and the
// input each call takes, with only the options its schema declares.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "plugins/plugin_host.h"
#include "plugins/transcript_format.h"

namespace hearth::plugins {

struct ChosenCapability {
  const PluginInfo* plugin = nullptr;
  std::string capability;
};

// The named plugin's first capability of `kind` (Error(kInvalidArgument) when
// it has none), or the first plugin with one when plugin_name is empty
// (Error(kNotFound) when no plugin has one).
ChosenCapability choose_capability(PluginHost& host, const std::string& kind, const std::string& plugin_name);

struct OcrOptions {
  std::string plugin;    // empty: the first ocr plugin
  std::string language;  // Tesseract's language name (eng, deu, ...); empty: the plugin's default
  int dpi = 0;           // 0: the plugin's default
};

// The plugin's result for the image file: at least {"text": string} (checked),
// usually words with boxes and confidences too.
nlohmann::json ocr_image(PluginHost& host, const std::string& image_path, const OcrOptions& options,
                         std::string* plugin_name = nullptr);

struct TranscribeOptions {
  std::string plugin;    // empty: the first asr plugin
  std::string language;  // ISO code; empty: detected
  int threads = 0;       // 0: the plugin's default
  bool word_timestamps = true;
};

Transcript transcribe_audio(PluginHost& host, const std::string& audio_path, const TranscribeOptions& options);

}  // namespace hearth::plugins
