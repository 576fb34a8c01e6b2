// UTF-8 validation of text that crosses the plugin boundary: a plugin's output
// is bytes from untrusted code until this says it is well-formed UTF-8.
#pragma once

#include <cstddef>
#include <string_view>

namespace hearth::plugins {

// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates, at
// most U+10FFFF). On false, *bad_offset (when given) is the first bad byte.
bool valid_utf8(std::string_view text, size_t* bad_offset = nullptr);

}  // namespace hearth::plugins
