#include "service/pipeline_catalog.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "core/error.h"

namespace hearth::service {
namespace {

namespace fs = std::filesystem;

std::string home_pipeline_dir() {
  if (const char* h = std::getenv("HEARTH_HOME"); h && *h) return std::string(h) + "/pipelines";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.cache/hearth/pipelines";
}

}  // namespace

std::vector<std::string> pipeline_search_dirs(const std::vector<std::string>& extra) {
  std::vector<std::string> dirs = extra;
  dirs.push_back(home_pipeline_dir());
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && !exe.empty()) {
    const fs::path up = exe.parent_path().parent_path();
    dirs.push_back((up / "pipelines").string());
    dirs.push_back((up / "share" / "hearth" / "pipelines").string());
  }
  return dirs;
}

std::string find_pipeline(const std::string& name_or_path, const std::vector<std::string>& dirs) {
  std::error_code ec;
  const bool looks_like_path = name_or_path.find('/') != std::string::npos ||
                               (name_or_path.size() > 5 && name_or_path.ends_with(".json"));
  if (looks_like_path || fs::is_regular_file(name_or_path, ec)) {
    if (!fs::is_regular_file(name_or_path, ec)) throw Error(ErrorCode::kNotFound, name_or_path + ": no such pipeline file");
    return name_or_path;
  }
  for (const std::string& d : dirs) {
    const fs::path p = fs::path(d) / (name_or_path + ".json");
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  std::string where;
  for (const std::string& d : dirs) where += (where.empty() ? "" : ", ") + d;
  throw Error(ErrorCode::kNotFound, "no pipeline named '" + name_or_path + "' (searched " + where +
                                        "; `hearth pipeline list` shows those found)");
}

std::vector<std::string> list_pipeline_files(const std::vector<std::string>& dirs) {
  std::map<std::string, std::string> by_name;
  std::error_code ec;
  for (const std::string& d : dirs) {
    for (const auto& e : fs::directory_iterator(d, ec)) {
      if (!e.is_regular_file(ec) || e.path().extension() != ".json") continue;
      by_name.emplace(e.path().stem().string(), e.path().string());
    }
  }
  std::vector<std::string> files;
  for (const auto& [name, file] : by_name) files.push_back(file);
  return files;
}

}  // namespace hearth::service
