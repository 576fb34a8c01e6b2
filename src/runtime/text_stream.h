// TextStream: the text of generated tokens as a client may see it — stop
// strings cut off where they begin, and pieces released only once final
// (complete UTF-8, not the start of a possible stop string).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace hearth::runtime {

class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stop = {});

  // Appends a token's bytes; returns true when a stop string is now complete
  // (the text is cut where it begins and nothing more may be appended).
  bool append(const std::string& piece);
  // The text that became final since the last call; with end, everything left
  // (generation is over, so nothing is held back).
  std::string take_ready(bool end = false);

  const std::string& text() const { return text_; }
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stop_;
  std::string text_;
  size_t released_ = 0;  // bytes of text_ already handed out
  bool stopped_ = false;
};

// Length of the longest prefix of s that is complete UTF-8 (an incomplete
// multi-byte sequence at the end is held back).
size_t complete_utf8_prefix(const std::string& s);

}  // namespace hearth::runtime
