#include "runtime/device_placement.h"

#include <algorithm>
#include <cstdio>

#include "backends/opencl/opencl_device.h"

namespace hearth::runtime {

DevicePlacement place_on_devices(const models::Model& model, const devices::DeviceProfile& profile, int64_t n_ctx,
                                 int opencl_index) {
  const graph::Graph& g = model.graph();
  DevicePlacement out;
  const std::vector<graph::DeviceModel> models = graph::device_models(profile);
  // Generation is what runs most: one token over a context of up to 512.
  const graph::Workload gen{1, std::max<int64_t>(1, std::min<int64_t>(n_ctx, 512)), 1};
  out.placement = graph::partition(g, models, gen);
  if (models.size() < 2) return out;
  out.accelerator = models[1].name;
  std::vector<uint8_t> on_device(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    on_device[i] = out.placement.device[i] == 1 && graph::device_runs(g, g.nodes[i]);
  out.nodes_on_device = std::count(on_device.begin(), on_device.end(), uint8_t{1});
  if (out.nodes_on_device == 0) return out;
  out.offload.device = opencl::Device::open(opencl_index);
  out.offload.on_device = std::move(on_device);
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
                static_cast<long long>(p.nodes_on_device), graph.nodes.size(), p.offload.device->info().name.c_str(),
                p.accelerator.c_str(), p.placement.copies.size(), predicted);
  return line;
}

}  // namespace hearth::runtime
