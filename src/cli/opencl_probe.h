// hearth device probe, OpenCL part: each OpenCL device measured through
// Hearth's own kernels, as a device description's gpus[] entry.
#pragma once

#include <nlohmann/json.hpp>

#include "backends/opencl/opencl_device.h"

namespace hearth::cli {

// Matmul GFLOP/s (64 tokens, 2048x2048) and 1-token matvec GB/s per weight
// type the backend runs, a queued kernel's fixed cost and the host<->device
// copy bandwidth. Takes a few seconds on PoCL. Throws Error when the device
// cannot be opened or a kernel fails.
nlohmann::ordered_json probe_opencl_device(const opencl::DeviceInfo& info);

}  // namespace hearth::cli
