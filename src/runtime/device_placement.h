// Placement of a model on the devices a device description names: which
// nodes run on the profile's OpenCL accelerator (the partitioner's cut for
// token generation, or every node the backend runs), and the opened OpenCL
// device that will run them. With nothing placed there (or no accelerator),
// everything stays on the CPU and no device is opened.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "devices/device_profile.h"
#include "graph/device_executor.h"
#include "graph/partitioner.h"
#include "models/model.h"

namespace hearth::runtime {

enum class OffloadMode {
  kAuto,  // the partitioner decides (minimum predicted time of a generated token)
  kAll,   // every node the OpenCL backend runs goes there (testing, measuring a device)
};
// "auto" or "all"; Error(kInvalidArgument) naming the value otherwise.
OffloadMode parse_offload_mode(const std::string& text);

// Device per node (0: CPU, 1: the accelerator) for a pass of this workload;
// only nodes the OpenCL backend runs are ever placed on the accelerator.
// Throws Error(kInvalidArgument) for kAll when there is no accelerator.
std::vector<int> choose_devices(const graph::Graph& graph, const std::vector<graph::DeviceModel>& devices,
                                const graph::Workload& workload, OffloadMode mode);

struct DevicePlacement {
  graph::Placement placement;  // what runs where, with the predicted times of a generated token
  graph::Offload offload;      // no device: everything on the CPU
  std::string accelerator;     // the profile's accelerator model (empty: none)
};

// opencl_index: the OpenCL device to open (see opencl::list_devices), or -1 for
// the first GPU, else the first device. Throws Error(kUnsupported) when the
// placement needs an OpenCL device and none can be opened.
DevicePlacement place_on_devices(const models::Model& model, const devices::DeviceProfile& profile, int64_t n_ctx,
                                 OffloadMode mode = OffloadMode::kAuto, int opencl_index = -1);

// One line: how many nodes run where and the copies per token, for logs.
std::string describe_placement(const DevicePlacement& p, const graph::Graph& graph);

}  // namespace hearth::runtime
