// Identifiers the API hands out (chatcmpl-..., call_...): random, so that they
// cannot be guessed or collide across restarts.
#pragma once

#include <cstddef>
#include <string>

namespace hearth::service {

// prefix followed by n_hex random hexadecimal digits.
std::string random_id(const std::string& prefix, size_t n_hex = 24);

}  // namespace hearth::service
