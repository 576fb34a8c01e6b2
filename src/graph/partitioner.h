// The partitioner: a cost for every node of a forward pass on every candidate
// device (FLOPs and bytes against the device's throughput and bandwidth, a
// roofline), and the placement of nodes on two devices (the host CPU and one
// accelerator) that minimises the predicted time of a pass, cross-device copies
// included. Two devices make that exact as a minimum s-t cut: a node on the
// accelerator side pays its accelerator time, one on the host side its host
// time, and a value whose producer and consumer sit on different sides pays its
// copy. Nodes a device cannot run stay off it, and a layer's cache writes and
// reads share a device (the cache lives there). The placement is then cut into
// runs of consecutive nodes per device with the copies between them.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "devices/device_profile.h"
#include "graph/graph.h"

namespace hearth::graph {

struct DeviceModel {
  std::string name;
  double flops_float = 0;    // FLOP/s of a matmul with f32/f16/bf16 weights
  double flops_quant = 0;    // FLOP/s of a matmul with quantized weights (integer dot products)
  double flops_other = 0;    // FLOP/s of everything else (element-wise, attention)
  std::map<DType, double> matmul_flops;  // measured per weight type; takes precedence over the two above
  std::map<DType, double> matvec_bandwidth;  // measured bytes/s a matvec streams weights from memory at, per type
  double bandwidth = 0;      // bytes/s it reads its weights and activations at
  double node_overhead = 0;  // seconds per node: a kernel launch, a fork-join
  bool all_ops = true;       // runs every op (the CPU); else only those below
  std::set<OpKind> ops;
  std::set<DType> matmul_types;  // weight types its matmul takes
  bool unified_memory = true;    // shares the host's memory (copies cost a sync only)
  double copy_bandwidth = 0;     // bytes/s between it and the host when not unified
  double copy_latency = 0;       // seconds per copy
  bool supports(const Node& node, const Graph& graph) const;
};

// What one forward pass processes.
struct Workload {
  int64_t tokens = 1;   // rows of the batch
  int64_t context = 1;  // positions each attention reads (the cache length)
  int64_t outputs = 1;  // rows whose logits are wanted
};

struct NodeCost {
  double flops = 0;
  double bytes = 0;  // read and written
};
NodeCost node_cost(const Graph& graph, const Node& node, const Workload& w);
double node_seconds(const DeviceModel& device, const Graph& graph, const Node& node, const Workload& w);
// Bytes of a value in a pass of this workload.
double value_bytes(const Graph& graph, int32_t value, const Workload& w);

struct Placement {
  std::vector<int> device;  // per node: an index into the devices given
  struct Run {
    int device;
    int32_t first, last;  // node indices, inclusive
  };
  std::vector<Run> runs;
  struct Copy {
    int32_t value;
    int from, to;
    double seconds;
  };
  std::vector<Copy> copies;
  std::vector<double> compute_seconds;  // per device
  double copy_seconds = 0;
  double total_seconds = 0;            // a pass: devices run one after another, as the node order does
  std::vector<int64_t> weight_bytes;  // per device: the weights its nodes read
};

// What the partitioner minimises for an assignment (device per node): every
// node's time on its device plus a copy per (producer, consumer) pair on
// different devices; infinite where a device cannot run its node. A real pass
// copies a value once per device that reads it, so Placement::total_seconds
// can be below this.
double placement_cost(const Graph& graph, const std::vector<DeviceModel>& devices, const Workload& w,
                      const std::vector<int>& device);

// devices[0] is the host CPU (it runs every op); at most one more. Throws
// Error(kInvalidArgument) for an empty list, more than two devices, or a host
// that does not run every op.
Placement partition(const Graph& graph, const std::vector<DeviceModel>& devices, const Workload& w);

// The runs, copies and predicted times of a given assignment (device per node),
// as partition() reports its own; for a placement made by other means (tests,
// a forced offload). Throws Error(kInvalidArgument) for a wrong-sized or
// out-of-range assignment.
Placement evaluate_placement(const Graph& graph, const std::vector<DeviceModel>& devices, const Workload& w,
                             std::vector<int> device);

// The device models a profile describes: its CPU, and its first GPU when the
// profile has one with a backend Hearth has (opencl, cuda), taking the op set
// of Hearth's OpenCL backend. Efficiencies calibrate the roofline: the share
// of peak bandwidth and FLOP/s real kernels reach.
struct Calibration {
  double cpu_bandwidth_efficiency = 0.75;
  double cpu_flops_efficiency = 0.5;
  double gpu_bandwidth_efficiency = 0.6;
  double gpu_flops_efficiency = 0.4;
};
std::vector<DeviceModel> device_models(const devices::DeviceProfile& profile, const Calibration& c = {});

}  // namespace hearth::graph
