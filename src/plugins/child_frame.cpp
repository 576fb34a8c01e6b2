#include "plugins/child_frame.h"

#include <cstring>

#include "plugins/isolated_process.h"

namespace hearth::plugins {
namespace {

void put(std::string& out, const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }

bool take(const std::string& in, size_t& at, void* p, size_t n) {
  if (in.size() - at < n) return false;
  std::memcpy(p, in.data() + at, n);
  at += n;
  return true;
}

bool take_string(const std::string& in, size_t& at, std::string& s) {
  uint64_t n = 0;
  if (!take(in, at, &n, sizeof n) || in.size() - at < n) return false;
  s.assign(in, at, static_cast<size_t>(n));
  at += static_cast<size_t>(n);
  return true;
}

}  // namespace

std::string encode_frame(const Frame& f) {
  std::string out;
  put(out, &f.status, sizeof f.status);
  for (const std::string* s : {&f.payload, &f.message}) {
    const uint64_t n = s->size();
    put(out, &n, sizeof n);
    out += *s;
  }
  return out;
}

std::optional<Frame> decode_frame(const std::string& bytes) {
  Frame f;
  size_t at = 0;
  if (!take(bytes, at, &f.status, sizeof f.status)) return std::nullopt;
  if (!take_string(bytes, at, f.payload) || !take_string(bytes, at, f.message)) return std::nullopt;
  if (at != bytes.size()) return std::nullopt;
  return f;
}

bool send_frame(int fd, const Frame& frame) {
  const std::string bytes = encode_frame(frame);
  return write_all(fd, bytes.data(), bytes.size());
}

}  // namespace hearth::plugins
