// The plugin host: finds plugins in the plugin directories, checks each
// library against its manifest, and calls their capabilities. Every contact
// with plugin code (dlopen, describe, call) happens in a forked child, so a
// plugin that crashes, hangs or returns garbage yields a hearth::Error and the
// host carries on. See docs/plugins.md.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugins/manifest.h"
#include "plugins/plugin_dirs.h"

namespace hearth::plugins {

struct CapabilityInfo {
  std::string name;
  std::string kind;  // "ocr", "asr", "tool"
  std::string description;
  nlohmann::json input_schema;
  nlohmann::json output_schema;
};

// A plugin whose library loaded and whose descriptor matches its manifest.
struct PluginInfo {
  Manifest manifest;
  std::string description;
  std::vector<CapabilityInfo> capabilities;

  const CapabilityInfo* find(const std::string& capability) const;
};

struct HostOptions {
  std::vector<std::string> plugin_dirs;  // searched before the default ones
  bool default_dirs = true;              // false: plugin_dirs only
  std::chrono::milliseconds call_timeout{60000};
  std::chrono::milliseconds describe_timeout{15000};
};

class PluginHost {
 public:
  // Throws Error(kNotFound) for a plugin_dirs entry that is not a directory.
  explicit PluginHost(HostOptions options = {});

  const std::vector<std::string>& search_dirs() const { return dirs_; }
  // Every manifest found, good or not (bad ones carry their error).
  const std::vector<FoundPlugin>& found() const { return found_; }

  // Loads the library in a child and checks its descriptor against the
  // manifest (ABI version, name, version, capabilities). Cached per host.
  const PluginInfo& describe(const Manifest& manifest);
  // The plugin of that name, described; Error(kNotFound) naming the
  // directories searched when there is none.
  const PluginInfo& plugin(const std::string& name);
  // The first plugin (in search order) with a capability of `kind`; its name
  // in *capability. Plugins that fail to load are skipped. Error(kNotFound).
  const PluginInfo& first_with_kind(const std::string& kind, std::string* capability);

  // Checks `input` against the capability's input schema, runs it in a child
  // process and returns its output, checked for UTF-8, JSON and the output
  // schema. Errors name the plugin and capability.
  nlohmann::json call(const std::string& plugin_name, const std::string& capability, const nlohmann::json& input);

 private:
  HostOptions options_;
  std::vector<std::string> dirs_;
  std::vector<FoundPlugin> found_;
  std::map<std::string, PluginInfo> described_;  // by manifest file
};

}  // namespace hearth::plugins
