// hearth device probe: a device description of this machine, measured.
#pragma once

#include <nlohmann/json.hpp>

namespace hearth::cli {

// CPU model, cores, SIMD features, caches, RAM, measured read bandwidth and
// matmul GFLOP/s per weight type (on `threads` threads, 0: all), as a device
// description (docs/device-profiles.md) that parse_device_profile accepts.
nlohmann::ordered_json probe_this_machine(int threads);

}  // namespace hearth::cli
