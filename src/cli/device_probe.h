// hearth device probe: a device description of this machine, measured.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "core/dtype.h"

namespace hearth::cli {

// CPU model, cores, SIMD features, caches, RAM, measured read bandwidth and
// matmul GFLOP/s per weight type (on `threads` threads, 0: all), as a device
// description (docs/device-profiles.md) that parse_device_profile accepts.
nlohmann::ordered_json probe_this_machine(int threads);

// n_rows rows of k normal random values quantized to `type` (the probes' weights).
std::vector<uint8_t> random_weight_rows(DType type, int64_t k, int64_t n_rows, uint32_t seed);

}  // namespace hearth::cli
