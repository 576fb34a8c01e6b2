#include "plugins/plugin_calls.h"

#include <filesystem>

#include "core/error.h"

namespace hearth::plugins {
namespace {

bool accepts(const CapabilityInfo* cap, const char* key) {
  return cap && cap->input_schema.contains("properties") && cap->input_schema["properties"].contains(key);
}

// The child may run elsewhere in the tree; an absolute path means the same file.
std::string absolute_path(const std::string& path) {
  return std::filesystem::absolute(path).lexically_normal().string();
}

}  // namespace

ChosenCapability choose_capability(PluginHost& host, const std::string& kind, const std::string& plugin_name) {
  ChosenCapability c;
  if (plugin_name.empty()) {
    c.plugin = &host.first_with_kind(kind, &c.capability);
    return c;
  }
  c.plugin = &host.plugin(plugin_name);
  for (const auto& cap : c.plugin->capabilities)
    if (cap.kind == kind) {
      c.capability = cap.name;
      return c;
    }
  throw Error(ErrorCode::kInvalidArgument, "plugin '" + plugin_name + "' has no " + kind + " capability");
}

nlohmann::json ocr_image(PluginHost& host, const std::string& image_path, const OcrOptions& options,
                         std::string* plugin_name) {
  const ChosenCapability c = choose_capability(host, "ocr", options.plugin);
  const CapabilityInfo* cap = c.plugin->find(c.capability);
  nlohmann::json input = {{"image_path", absolute_path(image_path)}};
  if (!options.language.empty() && accepts(cap, "language")) input["language"] = options.language;
  if (options.dpi && accepts(cap, "dpi")) input["dpi"] = options.dpi;
  nlohmann::json out = host.call(c.plugin->manifest.name, c.capability, input);
  if (!out.contains("text") || !out["text"].is_string())
    throw Error(ErrorCode::kFormat, "plugin '" + c.plugin->manifest.name + "' returned no \"text\" string");
  if (plugin_name) *plugin_name = c.plugin->manifest.name;
  return out;
}

Transcript transcribe_audio(PluginHost& host, const std::string& audio_path, const TranscribeOptions& options) {
  const ChosenCapability c = choose_capability(host, "asr", options.plugin);
  const CapabilityInfo* cap = c.plugin->find(c.capability);
  nlohmann::json input = {{"audio_path", absolute_path(audio_path)}};
  if (!options.language.empty() && accepts(cap, "language")) input["language"] = options.language;
  if (options.threads > 0 && accepts(cap, "threads")) input["threads"] = options.threads;
  if (accepts(cap, "word_timestamps")) input["word_timestamps"] = options.word_timestamps;
  const nlohmann::json out = host.call(c.plugin->manifest.name, c.capability, input);
  return transcript_from_json(out, "plugin '" + c.plugin->manifest.name + "'");
}

}  // namespace hearth::plugins
