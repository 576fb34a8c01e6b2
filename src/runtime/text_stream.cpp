#include "runtime/text_stream.h"

#include <algorithm>

#include "core/error.h"

namespace hearth::runtime {
namespace {

// How many trailing bytes of text could begin one of the stop strings.
size_t stop_prefix_overlap(const std::string& text, size_t end, const std::vector<std::string>& stop) {
  size_t hold = 0;
  for (const auto& s : stop) {
    for (size_t len = std::min(s.size() - 1, end); len > hold; --len)
      if (text.compare(end - len, len, s, 0, len) == 0) {
        hold = len;
        break;
      }
  }
  return hold;
}

}  // namespace

size_t complete_utf8_prefix(const std::string& s) {
  const size_t n = s.size();
  // Look back at most 3 bytes for the start of a sequence that runs past the end.
  for (size_t back = 1; back <= std::min<size_t>(3, n); ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xc0) == 0x80) continue;  // continuation byte: keep looking
    size_t need = 1;
    if ((c & 0xe0) == 0xc0) need = 2;
    else if ((c & 0xf0) == 0xe0) need = 3;
    else if ((c & 0xf8) == 0xf0) need = 4;
    return need > back ? n - back : n;
  }
  return n;
}

TextStream::TextStream(std::vector<std::string> stop) : stop_(std::move(stop)) {
  for (const auto& s : stop_)
    if (s.empty()) throw Error(ErrorCode::kInvalidArgument, "a stop string must not be empty");
}

bool TextStream::append(const std::string& piece) {
  if (stopped_) return true;
  const size_t before = text_.size();
  text_ += piece;
  // A stop string can only end inside the new bytes; it may begin before them.
  size_t cut = std::string::npos;
  for (const auto& s : stop_) {
    const size_t from = before >= s.size() ? before - s.size() + 1 : 0;
    const size_t at = text_.find(s, from);
    if (at != std::string::npos) cut = std::min(cut, at);
  }
  if (cut != std::string::npos) {
    text_.resize(std::max(cut, released_));
    stopped_ = true;
  }
  return stopped_;
}

std::string TextStream::take_ready(bool end) {
  size_t ready = text_.size();
  if (!end && !stopped_) {
    ready = complete_utf8_prefix(text_);
    ready -= std::min(ready, stop_prefix_overlap(text_, ready, stop_));
  }
  if (ready <= released_) return {};
  std::string out = text_.substr(released_, ready - released_);
  released_ = ready;
  return out;
}

}  // namespace hearth::runtime
