// A plugin's manifest: the JSON file (manifest.json) beside its shared library
// that names it, its version, the ABI it was built for and what it can do.
// Parsing is strict: a wrong type, a missing or unknown key is an error naming
// the file and the key.
#pragma once

#include <string>
#include <vector>

namespace hearth::plugins {

constexpr const char* kManifestFileName = "manifest.json";

struct ManifestCapability {
  std::string name;
  std::string kind;  // "ocr", "asr" or "tool"
};

struct Manifest {
  std::string file;     // the manifest's own path, for messages
  std::string dir;      // the directory holding it (the plugin's directory)
  std::string name;     // [a-z0-9_]+
  std::string version;
  int abi_version = 0;
  std::string library;  // absolute path of the shared library
  std::string description;
  std::vector<ManifestCapability> capabilities;
};

// `file` names the source in messages and `dir` resolves a relative "library".
// Throws Error(kFormat) naming the file and the key.
Manifest parse_manifest(const std::string& text, const std::string& file, const std::string& dir);
// Reads and parses a manifest file; Error(kNotFound/kIo) when it cannot be read.
Manifest load_manifest(const std::string& path);

// True for the names plugins and capabilities may have: [a-z0-9_]+, 1..64 chars.
bool valid_plugin_name(const std::string& name);
// The kind's name in manifests ("ocr", "asr", "tool"), or "" for an unknown value.
const char* capability_kind_name(int kind);

}  // namespace hearth::plugins
