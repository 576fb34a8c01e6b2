#include "core/byte_size.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

#include "core/error.h"

namespace hearth {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

int64_t parse_byte_size(std::string_view text) {
  const std::string shown(text);
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidArgument,
                 "invalid size '" + shown + "': " + why + " (examples: 6G, 512MiB, 1.5GB, 1048576)");
  };
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  size_t digits = 0;
  while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
    ++digits;
  if (digits == 0) throw bad("it does not start with a number");
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, value);
  if (ec != std::errc() || end != text.data() + digits) throw bad("the number does not parse");
  std::string_view unit = text.substr(digits);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.remove_prefix(1);
  // Every unit is binary: K, KB and KiB all mean 1024 bytes.
  static constexpr std::pair<std::string_view, int> kUnits[] = {
      {"", 0},  {"b", 0},  {"k", 1},  {"kb", 1},  {"kib", 1}, {"m", 2},  {"mb", 2},  {"mib", 2},
      {"g", 3}, {"gb", 3}, {"gib", 3}, {"t", 4}, {"tb", 4},  {"tib", 4},
  };
  double scale = 0;
  for (const auto& [name, power] : kUnits)
    if (iequals(unit, name)) scale = std::ldexp(1.0, 10 * power);
  if (scale == 0) throw bad("unknown unit '" + std::string(unit) + "'");
  const double bytes = value * scale;
  if (!(bytes >= 1)) throw bad("a size must be at least one byte");
  if (bytes > std::ldexp(1.0, 62)) throw bad("too large");
  return static_cast<int64_t>(bytes);
}

std::string format_bytes(int64_t bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (std::fabs(v) >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, std::fabs(v) < 10 ? "%.2f %s" : std::fabs(v) < 100 ? "%.1f %s" : "%.0f %s", v,
                  kUnits[unit]);
  }
  return buf;
}

}  // namespace hearth
