#include "plugins/manifest.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_type.h"
#include "hearth/plugin.h"

namespace hearth::plugins {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw Error(ErrorCode::kFormat, file + ": " + what);
}

std::string string_field(const json& obj, const std::string& key, const std::string& where, const std::string& file,
                         bool required) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) fail(file, where + "\"" + key + "\" is missing (a string is required)");
    return "";
  }
  if (!it->is_string()) fail(file, where + "\"" + key + "\" must be a string, not " + json_type_name(*it));
  return it->get<std::string>();
}

void reject_unknown_keys(const json& obj, const std::set<std::string>& known, const std::string& where,
                         const std::string& file) {
  for (const auto& [key, value] : obj.items()) {
    if (known.count(key)) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    fail(file, where + "unknown key \"" + key + "\" (known: " + list + ")");
  }
}

}  // namespace

bool valid_plugin_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

const char* capability_kind_name(int kind) {
  switch (kind) {
    case HEARTH_CAPABILITY_OCR: return "ocr";
    case HEARTH_CAPABILITY_ASR: return "asr";
    case HEARTH_CAPABILITY_TOOL: return "tool";
    default: return "";
  }
}

Manifest parse_manifest(const std::string& text, const std::string& file, const std::string& dir) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(file, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) fail(file, std::string("the manifest must be a JSON object, not ") + json_type_name(j));
  reject_unknown_keys(j, {"name", "version", "abi_version", "library", "description", "capabilities"}, "", file);

  Manifest m;
  m.file = file;
  m.dir = dir;
  m.name = string_field(j, "name", "", file, true);
  if (!valid_plugin_name(m.name)) fail(file, "\"name\" must be 1-64 characters of [a-z0-9_], not '" + m.name + "'");
  m.version = string_field(j, "version", "", file, true);
  if (m.version.empty()) fail(file, "\"version\" must not be empty");

  auto abi = j.find("abi_version");
  if (abi == j.end()) fail(file, "\"abi_version\" is missing (an integer is required)");
  if (!abi->is_number_integer()) fail(file, std::string("\"abi_version\" must be an integer, not ") + json_type_name(*abi));
  const long long version = abi->get<long long>();
  if (version != HEARTH_PLUGIN_ABI_VERSION)
    fail(file, "\"abi_version\" is " + std::to_string(version) + " but this Hearth speaks plugin ABI version " +
                   std::to_string(HEARTH_PLUGIN_ABI_VERSION));
  m.abi_version = static_cast<int>(version);

  const std::string library = string_field(j, "library", "", file, true);
  if (library.empty()) fail(file, "\"library\" must not be empty");
  std::filesystem::path lib(library);
  m.library = (lib.is_absolute() ? lib : std::filesystem::path(dir) / lib).lexically_normal().string();
  m.description = string_field(j, "description", "", file, false);

  auto caps = j.find("capabilities");
  if (caps == j.end()) fail(file, "\"capabilities\" is missing (an array is required)");
  if (!caps->is_array()) fail(file, std::string("\"capabilities\" must be an array, not ") + json_type_name(*caps));
  if (caps->empty()) fail(file, "\"capabilities\" must list at least one capability");
  std::set<std::string> seen;
  for (size_t i = 0; i < caps->size(); ++i) {
    const json& c = (*caps)[i];
    const std::string where = "capabilities[" + std::to_string(i) + "]: ";
    if (!c.is_object()) fail(file, where + "must be an object, not " + json_type_name(c));
    reject_unknown_keys(c, {"name", "kind"}, where, file);
    ManifestCapability cap;
    cap.name = string_field(c, "name", where, file, true);
    if (!valid_plugin_name(cap.name))
      fail(file, where + "\"name\" must be 1-64 characters of [a-z0-9_], not '" + cap.name + "'");
    if (!seen.insert(cap.name).second) fail(file, where + "\"name\" '" + cap.name + "' is listed twice");
    cap.kind = string_field(c, "kind", where, file, true);
    if (cap.kind != "ocr" && cap.kind != "asr" && cap.kind != "tool")
      fail(file, where + "\"kind\" must be one of ocr, asr, tool, not '" + cap.kind + "'");
    m.capabilities.push_back(cap);
  }
  return m;
}

Manifest load_manifest(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(ErrorCode::kNotFound, path + ": no such manifest file");
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) throw Error(ErrorCode::kIo, path + ": cannot read the manifest");
  return parse_manifest(text.str(), path, std::filesystem::path(path).parent_path().string());
}

}  // namespace hearth::plugins
