#include "service/plugin_access.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>

#include "service/ids.h"

namespace hearth::service {
namespace {

namespace fs = std::filesystem;

// The extension of the client's file name, when it is a plain one (".png"),
// else none: nothing the client sends reaches the path otherwise.
std::string safe_extension(const std::string& filename) {
  const size_t dot = filename.rfind('.');
  if (dot == std::string::npos || filename.size() - dot > 9) return "";
  std::string ext = filename.substr(dot);
  for (size_t i = 1; i < ext.size(); ++i)
    if (!std::isalnum(static_cast<unsigned char>(ext[i]))) return "";
  return ext.size() > 1 ? ext : "";
}

fs::path upload_dir() {
  std::error_code ec;
  fs::path base = fs::temp_directory_path(ec);
  if (ec) base = "/tmp";
  const fs::path dir = base / ("hearth-uploads-" + std::to_string(::getpid()));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw ApiException(ApiError::server("The server cannot store the uploaded file: cannot create " + dir.string() + "."));
  return dir;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

}  // namespace

std::unique_ptr<plugins::PluginHost> PluginAccess::host() const {
  plugins::HostOptions o;
  o.plugin_dirs = options_.plugin_dirs;
  o.call_timeout = options_.call_timeout;
  try {
    return std::make_unique<plugins::PluginHost>(o);
  } catch (const Error& e) {
    throw ApiException(ApiError::server(std::string("The server's plugins cannot be found: ") + e.what()));
  }
}

TempUpload::TempUpload(std::string_view content, const std::string& client_filename)
    : client_filename_(client_filename.empty() ? "the uploaded file" : client_filename) {
  path_ = (upload_dir() / (random_id("upload-", 24) + safe_extension(client_filename))).string();
  std::ofstream out(path_, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) {
    std::error_code ec;
    fs::remove(path_, ec);
    throw ApiException(ApiError::server("The server cannot store the uploaded file (is its disk full?)."));
  }
}

TempUpload::~TempUpload() {
  std::error_code ec;
  fs::remove(path_, ec);
}

ApiError plugin_api_error(const Error& error, const std::vector<const TempUpload*>& uploads) {
  std::string message = error.what();
  for (const TempUpload* u : uploads)
    if (u) replace_all(message, u->path(), u->client_filename());
  switch (error.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kFormat:
    case ErrorCode::kUnsupported:
      return ApiError::invalid(message, "", "invalid_file");
    case ErrorCode::kNotFound:
    case ErrorCode::kBusy:
      return ApiError::unavailable(message, 30);
    default:
      return ApiError::server(message);
  }
}

}  // namespace hearth::service
