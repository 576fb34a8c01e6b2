// What runs inside a plugin's child process: dlopen the library, find the
// entry symbol, check the ABI version, then describe the plugin or make one
// call, and send the outcome back as one Frame. Only ever called in the child
// (see isolated_process.h); plugin code never runs in the host process.
#pragma once

#include <string>

#include "plugins/manifest.h"

namespace hearth::plugins {

// Sends the descriptor as JSON (name, version, capabilities with their schemas).
void describe_in_child(const Manifest& manifest, int result_fd);
// Runs init (when the plugin has one), the capability, shutdown; sends the
// plugin's status, output and message unchanged for the host to check.
void call_in_child(const Manifest& manifest, const std::string& capability, const std::string& input_json,
                   int result_fd);

}  // namespace hearth::plugins
