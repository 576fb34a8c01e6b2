// Flags that run a command's graph across the CPU and an OpenCL device
// (run, chat, bench): --device FILE, --offload auto|all, --opencl-device N.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "graph/device_executor.h"
#include "models/model.h"

namespace hearth::cli {

struct DeviceFlags {
  std::string file;         // a device description; empty: CPU only
  std::string offload = "auto";
  int opencl_device = -1;   // -1: the first GPU, else the first device
};

void add_device_flags(CLI::App* app, DeviceFlags& flags);

// The offload the flags ask for (none without --device), after printing the
// placement on stderr. Throws Error naming the flag or the file.
graph::Offload offload_from_flags(const models::Model& model, const DeviceFlags& flags, int64_t n_ctx);

}  // namespace hearth::cli
