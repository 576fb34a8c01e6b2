// The one message a plugin's child process sends back to the host: a status,
// a payload (the plugin's output or its descriptor as JSON) and a message,
// length-prefixed so that no byte of the plugin's output needs escaping.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hearth::plugins {

// Statuses 0..4 are the plugin's own hearth_status; these are the host's.
enum class FrameStatus : int32_t {
  kLoadFailed = 100,     // dlopen refused the library
  kNoEntry = 101,        // the library lacks hearth_plugin_entry
  kAbiMismatch = 102,    // the descriptor carries another ABI version
  kBadDescriptor = 103,  // the descriptor is NULL, too small or unreadable
  kNoCapability = 104,   // the capability asked for is not in the descriptor
  kNoOutput = 105,       // the call said OK but left output_json NULL
};

struct Frame {
  int32_t status = 0;
  std::string payload;
  std::string message;
};

std::string encode_frame(const Frame& frame);
// nullopt when `bytes` is not exactly one whole frame (a child that died mid-write).
std::optional<Frame> decode_frame(const std::string& bytes);
// Encodes and writes a frame to fd; false if the write failed.
bool send_frame(int fd, const Frame& frame);

}  // namespace hearth::plugins
