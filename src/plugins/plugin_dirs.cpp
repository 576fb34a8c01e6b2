#include "plugins/plugin_dirs.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "core/error.h"

namespace hearth::plugins {

namespace fs = std::filesystem;

std::string home_plugin_dir() {
  if (const char* h = std::getenv("HEARTH_HOME"); h && *h) return std::string(h) + "/plugins";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.cache/hearth/plugins";
}

std::vector<std::string> executable_plugin_dirs() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec || exe.empty()) return {};
  const fs::path up = exe.parent_path().parent_path();
  return {(up / "plugins").string(), (up / "lib" / "hearth" / "plugins").string()};
}

std::vector<std::string> plugin_search_dirs(const std::vector<std::string>& extra, bool with_defaults) {
  std::vector<std::string> dirs;
  std::error_code ec;
  for (const std::string& d : extra) {
    if (!fs::is_directory(d, ec)) throw Error(ErrorCode::kNotFound, d + ": no such plugin directory");
    dirs.push_back(d);
  }
  if (with_defaults) {
    dirs.push_back(home_plugin_dir());
    for (const std::string& d : executable_plugin_dirs()) dirs.push_back(d);
  }
  // One directory reached twice (a --plugin-dir naming the build's) is searched once.
  std::vector<std::string> unique;
  std::vector<fs::path> seen;
  for (const std::string& d : dirs) {
    const fs::path canon = fs::weakly_canonical(d, ec);
    if (std::find(seen.begin(), seen.end(), canon) != seen.end()) continue;
    seen.push_back(canon);
    unique.push_back(d);
  }
  return unique;
}

std::vector<FoundPlugin> discover_plugins(const std::vector<std::string>& dirs) {
  std::vector<FoundPlugin> found;
  std::map<std::string, std::string> first_of;  // plugin name -> the manifest that has it
  std::error_code ec;
  for (const std::string& dir : dirs) {
    std::vector<std::string> manifests;
    if (fs::is_regular_file(fs::path(dir) / kManifestFileName, ec)) {
      manifests.push_back((fs::path(dir) / kManifestFileName).string());
    } else {
      for (const auto& e : fs::directory_iterator(dir, ec)) {
        const fs::path m = e.path() / kManifestFileName;
        if (e.is_directory(ec) && fs::is_regular_file(m, ec)) manifests.push_back(m.string());
      }
      std::sort(manifests.begin(), manifests.end());
    }
    for (const std::string& file : manifests) {
      FoundPlugin f;
      f.manifest_file = file;
      try {
        Manifest m = load_manifest(file);
        auto [it, fresh] = first_of.emplace(m.name, file);
        if (fresh) {
          f.manifest = std::move(m);
        } else {
          f.error = file + ": plugin '" + m.name + "' is shadowed by " + it->second + ", found earlier";
        }
      } catch (const Error& e) {
        f.error = e.what();
      }
      found.push_back(std::move(f));
    }
  }
  return found;
}

}  // namespace hearth::plugins
