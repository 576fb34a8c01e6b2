// Base64 (RFC 4648, standard alphabet, '=' padding): how JSON bodies carry
// binary files.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hearth {

std::string base64_encode(std::string_view bytes);
// nullopt when the text is not base64 (a character outside the alphabet, bad
// padding or length). ASCII whitespace (line breaks of MIME encoders) is skipped.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace hearth
