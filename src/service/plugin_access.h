// What the HTTP API needs to reach plugins: a fresh plugin host per request
// (PluginHost is not thread-safe, and a host is cheap: manifests are read and
// each plugin used is described once), uploads kept in private temporary
// files for as long as a call needs them, and plugin errors as API errors.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "plugins/plugin_host.h"
#include "service/api_error.h"

namespace hearth::service {

struct PluginAccessOptions {
  std::vector<std::string> plugin_dirs;                // searched before the default ones
  std::chrono::milliseconds call_timeout{600000};      // one plugin call
};

class PluginAccess {
 public:
  explicit PluginAccess(PluginAccessOptions options = {}) : options_(std::move(options)) {}
  // Throws ApiException 500 when a plugin directory has gone away.
  std::unique_ptr<plugins::PluginHost> host() const;

 private:
  PluginAccessOptions options_;
};

// An uploaded file on disk for the length of a request: a private directory
// (mode 0700) under the system's temporary one, a random name keeping the
// client's extension (the plugins look at it), removed on destruction.
class TempUpload {
 public:
  // Throws ApiException 500 when the file cannot be written.
  TempUpload(std::string_view content, const std::string& client_filename);
  ~TempUpload();
  TempUpload(const TempUpload&) = delete;
  TempUpload& operator=(const TempUpload&) = delete;
  const std::string& path() const { return path_; }
  const std::string& client_filename() const { return client_filename_; }

 private:
  std::string path_;
  std::string client_filename_;
};

// A plugin's (or a pipeline's) hearth::Error as the API answers it: bad input
// 400, no plugin for the job 503, a crash, timeout or other failure 500. The
// temporary paths in the message are replaced by the names the client sent.
ApiError plugin_api_error(const Error& error, const std::vector<const TempUpload*>& uploads = {});

}  // namespace hearth::service
