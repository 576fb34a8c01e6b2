// DeviceExecutor: the part of a pass that runs on an OpenCL device. The nodes
// the partitioner placed there run on a device mirror of the arena (the same
// offsets, so the memory plan serves both sides), with their weights copied to
// the device once. Which values cross between host and device, and before
// which node, is planned once from the node order: a value is copied only to
// the side that reads it and does not hold its latest bytes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "backends/opencl/opencl_device.h"
#include "graph/graph.h"

namespace hearth::graph {

struct Batch;

// What runs on an accelerator: the device and, per node of the graph, whether
// the node runs there.
struct Offload {
  std::shared_ptr<opencl::Device> device;
  std::vector<uint8_t> on_device;
  int64_t nodes_on_device() const;
};

// The ops the OpenCL backend has kernels for.
const std::set<OpKind>& device_ops();
// Nodes the OpenCL backend runs: one of device_ops(), a matmul only for its
// weight types, norms, biases and frequency factors only with f32 weights.
bool device_runs(const Graph& graph, const Node& node);

struct DeviceMemory {
  int64_t weights = 0;  // bytes of weights copied to the device
  int64_t arena = 0;    // the arena mirror
  int64_t scratch = 0;  // converted activations, rope's cos/sin tables
};

class DeviceExecutor {
 public:
  // graph's values must be planned (offsets set) for arena_bytes. Throws
  // Error(kInvalidArgument) when a node marked for the device cannot run there.
  DeviceExecutor(const Graph& graph, int64_t arena_bytes, int64_t max_tokens, Offload offload);

  bool on_device(size_t node) const { return offload_.on_device[node] != 0; }
  // At the start of a pass: the cos/sin of the batch's positions go to the device.
  void begin_pass(const Batch& batch);
  // The copies node `node` needs before it runs, on whichever side it runs.
  void copy_inputs(size_t node, uint8_t* host_arena, const Batch& batch);
  // Queues the node on the device.
  void run(size_t node, const Batch& batch);
  // At the end of a pass: the logits back to the host when the device made them.
  void end_pass(uint8_t* host_arena, const Batch& batch);

  DeviceMemory memory() const { return memory_; }
  const opencl::DeviceInfo& device_info() const { return offload_.device->info(); }
  int64_t nodes_on_device() const { return offload_.nodes_on_device(); }
  // Values copied per pass (host to device, device to host).
  int64_t uploads_per_pass() const;
  int64_t downloads_per_pass() const;

 private:
  int64_t rows(int32_t value, const Batch& batch) const;
  void upload(int32_t value, uint8_t* host_arena, const Batch& batch);
  void download(int32_t value, uint8_t* host_arena, const Batch& batch);
  opencl::Span at(int32_t value) const;

  // The cos and sin of every rotated pair at the batch's positions, computed on
  // the host by the CPU's own code (so the device rotates by the CPU's angles),
  // one table per distinct set of rope parameters among the device's nodes.
  struct RopeTable {
    int64_t n_rot = 0;
    float freq_base = 0;
    float freq_scale = 0;
    int32_t factors = -1;  // weight id of the frequency factors, or -1
    std::vector<float> host;
    opencl::Buffer buffer;
  };

  const Graph& graph_;
  Offload offload_;
  opencl::Device& device_;
  opencl::Buffer arena_;
  opencl::Buffer scratch_;
  std::vector<RopeTable> rope_tables_;
  std::vector<int32_t> rope_table_;  // per node: its index in rope_tables_, or -1
  std::map<int32_t, opencl::Buffer> weights_;  // by weight id
  std::vector<std::vector<int32_t>> uploads_;    // per node: values to copy to the device first
  std::vector<std::vector<int32_t>> downloads_;  // per node: values to copy to the host first
  bool logits_on_device_ = false;
  DeviceMemory memory_;
};

}  // namespace hearth::graph
