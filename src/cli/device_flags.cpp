#include "cli/device_flags.h"

#include <cstdio>

#include "core/error.h"
#include "devices/device_profile.h"
#include "runtime/device_placement.h"

namespace hearth::cli {

void add_device_flags(CLI::App* app, DeviceFlags& f) {
  app->add_option("--device", f.file,
                  "device description (JSON): run the graph split between its CPU and its OpenCL accelerator, as "
                  "`hearth plan` places it");
  app->add_option("--offload", f.offload,
                  "with --device: auto (the partitioner decides) or all (every op the OpenCL backend runs goes "
                  "there)")
      ->capture_default_str();
  app->add_option("--opencl-device", f.opencl_device,
                  "with --device: the OpenCL device, by index (`hearth device probe` lists them; default: the "
                  "first GPU, else the first)");
}

graph::Offload offload_from_flags(const models::Model& model, const DeviceFlags& f, int64_t n_ctx) {
  const runtime::OffloadMode mode = runtime::parse_offload_mode(f.offload);
  if (f.opencl_device < -1)
    throw Error(ErrorCode::kInvalidArgument, "--opencl-device must be 0 or more, got " + std::to_string(f.opencl_device));
  if (f.file.empty()) {
    if (mode != runtime::OffloadMode::kAuto || f.opencl_device != -1)
      throw Error(ErrorCode::kInvalidArgument, "--offload and --opencl-device need --device FILE");
    return {};
  }
  const devices::ParsedProfile parsed = devices::load_device_profile(f.file);
  for (const std::string& w : parsed.warnings) std::fprintf(stderr, "hearth: warning: %s\n", w.c_str());
  runtime::DevicePlacement placement = runtime::place_on_devices(model, parsed.profile, n_ctx, mode, f.opencl_device);
  std::fprintf(stderr, "hearth: placement: %s\n", runtime::describe_placement(placement, model.graph()).c_str());
  return std::move(placement.offload);
}

}  // namespace hearth::cli
