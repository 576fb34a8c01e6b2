// Byte sizes as people write them: parsing "--max-memory 6G" and printing
// "3.61 GiB".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hearth {

// Parses a size: a number (decimals allowed) and an optional unit — B, K/KB/KiB,
// M/MB/MiB, G/GB/GiB, T/TB/TiB, case-insensitive, all binary (1K = 1024 bytes).
// Throws Error(kInvalidArgument) naming the text for anything else, for zero or
// negative sizes, and for sizes beyond 2^62 bytes.
int64_t parse_byte_size(std::string_view text);

// "512 B", "1.5 KiB", "94.2 MiB", "3.61 GiB": three significant digits or so.
std::string format_bytes(int64_t bytes);

}  // namespace hearth
