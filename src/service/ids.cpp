#include "service/ids.h"

#include <random>

namespace hearth::service {

std::string random_id(const std::string& prefix, size_t n_hex) {
  // One generator per thread, seeded from the OS: ids need no lock.
  thread_local std::mt19937_64 rng([] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = prefix;
  id.reserve(prefix.size() + n_hex);
  uint64_t bits = 0;
  for (size_t i = 0; i < n_hex; ++i) {
    if (i % 16 == 0) bits = rng();
    id += kHex[bits & 15];
    bits >>= 4;
  }
  return id;
}

}  // namespace hearth::service
