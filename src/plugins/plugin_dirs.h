// Where plugins are found: the directories searched, in order, and the
// manifests in them. Each plugin lives in its own directory holding
// manifest.json and its library; a search directory holds such directories
// (or is one itself).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plugins/manifest.h"

namespace hearth::plugins {

// $HEARTH_HOME/plugins (default ~/.cache/hearth/plugins).
std::string home_plugin_dir();
// The directories beside the running executable where a build or an install
// puts its plugins: <exe>/../plugins (build/bin/hearth -> build/plugins) and
// <exe>/../lib/hearth/plugins (an install prefix).
std::vector<std::string> executable_plugin_dirs();
// The search order: `extra` (the caller's --plugin-dir, each must exist, else
// Error(kNotFound)), then $HEARTH_HOME/plugins, then the executable's
// (those two only when with_defaults).
std::vector<std::string> plugin_search_dirs(const std::vector<std::string>& extra, bool with_defaults = true);

// One manifest found on the way: parsed, or the error that says why not.
struct FoundPlugin {
  std::string manifest_file;
  std::optional<Manifest> manifest;
  std::string error;  // set when manifest is empty
};

// Every manifest in `dirs`, in search order then by name. A name already seen
// in an earlier directory is reported as shadowed, not loaded.
std::vector<FoundPlugin> discover_plugins(const std::vector<std::string>& dirs);

}  // namespace hearth::plugins
