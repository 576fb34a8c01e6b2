#include "runtime/device_placement.h"

#include <algorithm>
#include <cstdio>

#include "backends/opencl/opencl_device.h"
#include "core/error.h"

namespace hearth::runtime {

OffloadMode parse_offload_mode(const std::string& text) {
  if (text == "auto") return OffloadMode::kAuto;
  if (text == "all") return OffloadMode::kAll;
  throw Error(ErrorCode::kInvalidArgument, "--offload must be auto or all, not \"" + text + "\"");
}

std::vector<int> choose_devices(const graph::Graph& g, const std::vector<graph::DeviceModel>& devices,
                                const graph::Workload& workload, OffloadMode mode) {
  std::vector<int> device(g.nodes.size(), 0);
  if (mode == OffloadMode::kAll && devices.size() < 2)
    throw Error(ErrorCode::kInvalidArgument,
                "--offload all: the device description names no accelerator with an OpenCL backend");
  if (devices.size() < 2) return device;
  if (mode == OffloadMode::kAuto) device = graph::partition(g, devices, workload).device;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const bool runs = graph::device_runs(g, g.nodes[i]) && devices[1].supports(g.nodes[i], g);
    device[i] = runs && (mode == OffloadMode::kAll || device[i] == 1) ? 1 : 0;
  }
  return device;
}

DevicePlacement place_on_devices(const models::Model& model, const devices::DeviceProfile& profile, int64_t n_ctx,
                                 OffloadMode mode, int opencl_index) {
  const graph::Graph& g = model.graph();
  DevicePlacement out;
  const std::vector<graph::DeviceModel> devices = graph::device_models(profile);
  // Generation is what runs most: one token over a context of up to 512.
  const graph::Workload gen{1, std::max<int64_t>(1, std::min<int64_t>(n_ctx, 512)), 1};
  std::vector<int> device = choose_devices(g, devices, gen, mode);
  out.placement = graph::evaluate_placement(g, devices, gen, device);
  if (devices.size() < 2) return out;
  out.accelerator = devices[1].name;
  out.offload.on_device.assign(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i) out.offload.on_device[i] = device[i] == 1 ? 1 : 0;
  if (out.offload.nodes_on_device() == 0) {
    out.offload.on_device.clear();  // no device: everything on the CPU
    return out;
  }
  out.offload.device = opencl::Device::open(opencl_index);
  return out;
}

std::string describe_placement(const DevicePlacement& p, const graph::Graph& graph) {
  char line[512];
  const double predicted = p.placement.total_seconds > 0 ? 1.0 / p.placement.total_seconds : 0.0;
  if (!p.offload.device) {
    std::snprintf(line, sizeof line, "all %zu nodes on the CPU%s%s (predicted %.1f tok/s)", graph.nodes.size(),
                  p.accelerator.empty() ? "" : "; the plan leaves nothing for ",
                  p.accelerator.empty() ? "" : p.accelerator.c_str(), predicted);
    return line;
  }
  std::snprintf(line, sizeof line, "%lld of %zu nodes on OpenCL device \"%s\" (profile's %s), the rest on the CPU; %zu "
                "cross-device copies per token; predicted %.1f tok/s",
                static_cast<long long>(p.offload.nodes_on_device()), graph.nodes.size(), p.offload.device->info().name.c_str(),
                p.accelerator.c_str(), p.placement.copies.size(), predicted);
  return line;
}

}  // namespace hearth::runtime
