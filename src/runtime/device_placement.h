// Placement of a model on the devices a device description names: the
// partitioner's cut of the graph between the CPU and the profile's OpenCL
// accelerator for token generation, and the opened OpenCL device that will
// run its side. With nothing worth moving (or no accelerator), everything
// stays on the CPU and no device is opened.
#pragma once

#include <cstdint>
#include <string>

#include "devices/device_profile.h"
#include "graph/device_executor.h"
#include "graph/partitioner.h"
#include "models/model.h"

namespace hearth::runtime {

struct DevicePlacement {
  graph::Placement placement;  // the partitioner's answer (predicted times included)
  graph::Offload offload;      // no device: everything on the CPU
  std::string accelerator;     // the profile's accelerator model (empty: none)
  int64_t nodes_on_device = 0;
};

// opencl_index: the OpenCL device to open (see opencl::list_devices), or -1 for
// the first GPU, else the first device. Throws Error(kUnsupported) when the
// plan needs an OpenCL device and none can be opened.
DevicePlacement place_on_devices(const models::Model& model, const devices::DeviceProfile& profile, int64_t n_ctx,
                                 int opencl_index = -1);

// One line: how many nodes run where and the copies per token, for logs.
std::string describe_placement(const DevicePlacement& p, const graph::Graph& graph);

}  // namespace hearth::runtime
