// hearth::Error: the one exception type thrown at module boundaries; carries a code
// so the CLI can map it to an exit status and the service to an HTTP status.
#pragma once

#include <stdexcept>
#include <string>

namespace hearth {

enum class ErrorCode {
  kInvalidArgument,  // a bad parameter or flag value
  kNotFound,         // a missing file, key or tensor
  kIo,               // the OS refused a read, write or map
  kFormat,           // a file is malformed (bad magic, truncated, inconsistent)
  kUnsupported,      // valid input this build cannot handle (unknown arch, dtype)
  kOutOfMemory,      // a planned allocation does not fit
  kBusy,             // a queue is full or the service is stopping: retry later
  kCancelled,        // the work was cancelled before it finished
  kInternal,         // a broken invariant: a bug in Hearth
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace hearth
