#include "graph/device_executor.h"

#include <algorithm>
#include <string>

#include "backends/cpu/matmul.h"
#include "backends/cpu/ops.h"
#include "core/error.h"
#include "graph/executor.h"

namespace hearth::graph {

const std::set<OpKind>& device_ops() {
  // Embedding lookups, the cache, attention and output rows stay on the host.
  static const std::set<OpKind> ops = {OpKind::kMatMul, OpKind::kRmsNorm, OpKind::kAdd,  OpKind::kMul,
                                       OpKind::kAddBias, OpKind::kScale,  OpKind::kRope, OpKind::kSwiGlu,
                                       OpKind::kGeGlu};
  return ops;
}

bool device_runs(const Graph& graph, const Node& node) {
  if (!device_ops().count(node.op)) return false;
  if (node.op == OpKind::kMatMul) {
    const Weight& w = graph.weights[static_cast<size_t>(node.weight)];
    return opencl::Device::supports_matmul(w.type) && w.cols % 32 == 0;
  }
  // Norm scales, biases and frequency factors are read as f32.
  return node.weight < 0 || graph.weights[static_cast<size_t>(node.weight)].type == DType::kF32;
}

DeviceExecutor::DeviceExecutor(const Graph& graph, int64_t arena_bytes, int64_t max_tokens, Offload offload)
    : graph_(graph), offload_(std::move(offload)), device_(*offload_.device) {
  const size_t n = graph.nodes.size();
  if (offload_.on_device.size() != n)
    throw Error(ErrorCode::kInvalidArgument, "the offload marks " + std::to_string(offload_.on_device.size()) +
                                                 " nodes; the graph has " + std::to_string(n));
  arena_ = device_.alloc(arena_bytes, "the activation arena");
  memory_.arena = arena_bytes;
  int64_t scratch = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!on_device(i)) continue;
    const Node& node = graph.nodes[i];
    if (!device_runs(graph, node))
      throw Error(ErrorCode::kInvalidArgument, std::string("node ") + std::to_string(i) + " (" + op_name(node.op) +
                                                   ") cannot run on the OpenCL device");
    if (node.weight >= 0 && !weights_.count(node.weight)) {
      const Weight& w = graph.weights[static_cast<size_t>(node.weight)];
      const int64_t bytes = weight_bytes(w);
      opencl::Buffer b = device_.alloc(bytes, "weight " + w.name);
      device_.write(b, 0, w.data, bytes);
      memory_.weights += bytes;
      weights_.emplace(node.weight, std::move(b));
    }
    if (node.op == OpKind::kMatMul) {
      const Weight& w = graph.weights[static_cast<size_t>(node.weight)];
      scratch = std::max(scratch, opencl::Device::matmul_scratch_bytes(w.type, w.cols, max_tokens));
    }
  }
  scratch_ = device_.alloc(scratch, "converted activations");
  memory_.scratch = scratch;
  rope_table_.assign(n, -1);
  for (size_t i = 0; i < n; ++i) {
    const Node& node = graph.nodes[i];
    if (!on_device(i) || node.op != OpKind::kRope) continue;
    const NodeParams& p = node.p;
    size_t t = 0;
    while (t < rope_tables_.size() &&
           !(rope_tables_[t].n_rot == p.n_rot && rope_tables_[t].freq_base == p.freq_base &&
             rope_tables_[t].freq_scale == p.freq_scale && rope_tables_[t].factors == node.weight))
      ++t;
    if (t == rope_tables_.size()) {
      RopeTable table;
      table.n_rot = p.n_rot;
      table.freq_base = p.freq_base;
      table.freq_scale = p.freq_scale;
      table.factors = node.weight;
      const int64_t floats = max_tokens * (p.n_rot / 2) * 2;
      table.host.resize(static_cast<size_t>(floats));
      table.buffer = device_.alloc(floats * 4, "rope's cos/sin table");
      memory_.scratch += floats * 4;
      rope_tables_.push_back(std::move(table));
    }
    rope_table_[i] = static_cast<int32_t>(t);
  }

  // Where each value's latest bytes are, walking the nodes in order: a node's
  // inputs must be on its side (copied there if not), its output is then only there.
  std::vector<uint8_t> on_host(graph.values.size(), 0), on_dev(graph.values.size(), 0);
  uploads_.assign(n, {});
  downloads_.assign(n, {});
  for (size_t i = 0; i < n; ++i) {
    const Node& node = graph.nodes[i];
    const bool dev = on_device(i);
    for (int32_t in : node.in) {
      if (in < 0) continue;
      if (dev && !on_dev[static_cast<size_t>(in)]) {
        uploads_[i].push_back(in);
        on_dev[static_cast<size_t>(in)] = 1;
      } else if (!dev && !on_host[static_cast<size_t>(in)]) {
        downloads_[i].push_back(in);
        on_host[static_cast<size_t>(in)] = 1;
      }
    }
    if (node.out >= 0) {
      on_dev[static_cast<size_t>(node.out)] = dev;
      on_host[static_cast<size_t>(node.out)] = !dev;
    }
  }
  logits_on_device_ = graph.logits >= 0 && !on_host[static_cast<size_t>(graph.logits)];
}

int64_t Offload::nodes_on_device() const { return std::count(on_device.begin(), on_device.end(), uint8_t{1}); }

int64_t DeviceExecutor::uploads_per_pass() const {
  int64_t total = 0;
  for (const auto& u : uploads_) total += static_cast<int64_t>(u.size());
  return total;
}

int64_t DeviceExecutor::downloads_per_pass() const {
  int64_t total = logits_on_device_ ? 1 : 0;
  for (const auto& d : downloads_) total += static_cast<int64_t>(d.size());
  return total;
}

int64_t DeviceExecutor::rows(int32_t value, const Batch& batch) const {
  return value_rows(graph_.values[static_cast<size_t>(value)], batch);
}

opencl::Span DeviceExecutor::at(int32_t value) const {
  return {&arena_, graph_.values[static_cast<size_t>(value)].offset / 4};
}

void DeviceExecutor::upload(int32_t value, uint8_t* host_arena, const Batch& batch) {
  const Value& v = graph_.values[static_cast<size_t>(value)];
  device_.write(arena_, v.offset, host_arena + v.offset, rows(value, batch) * v.cols * 4);
}

void DeviceExecutor::download(int32_t value, uint8_t* host_arena, const Batch& batch) {
  const Value& v = graph_.values[static_cast<size_t>(value)];
  device_.read(arena_, v.offset, host_arena + v.offset, rows(value, batch) * v.cols * 4);
}

void DeviceExecutor::begin_pass(const Batch& batch) {
  for (RopeTable& t : rope_tables_) {
    const float* factors =
        t.factors >= 0 ? static_cast<const float*>(graph_.weights[static_cast<size_t>(t.factors)].data) : nullptr;
    cpu::rope_cos_sin(batch.n_tokens, t.n_rot, batch.positions, t.freq_base, t.freq_scale, factors, t.host.data());
    device_.write(t.buffer, 0, t.host.data(), batch.n_tokens * (t.n_rot / 2) * 2 * 4);
  }
}

void DeviceExecutor::copy_inputs(size_t node, uint8_t* host_arena, const Batch& batch) {
  for (int32_t v : uploads_[node]) upload(v, host_arena, batch);
  for (int32_t v : downloads_[node]) download(v, host_arena, batch);
}

void DeviceExecutor::end_pass(uint8_t* host_arena, const Batch& batch) {
  if (logits_on_device_) download(graph_.logits, host_arena, batch);
  else device_.finish();
}

void DeviceExecutor::run(size_t index, const Batch& batch) {
  const Node& node = graph_.nodes[index];
  const int64_t rows_out = rows(node.out, batch);  // every op the device runs has an output
  const int64_t cols = graph_.values[static_cast<size_t>(node.out)].cols;
  const int64_t n = rows_out * cols;
  const opencl::Span out = at(node.out);
  const opencl::Span in0 = at(node.in[0]);
  const opencl::Buffer* weight = node.weight >= 0 ? &weights_.at(node.weight) : nullptr;
  switch (node.op) {
    case OpKind::kMatMul: {
      const Weight& w = graph_.weights[static_cast<size_t>(node.weight)];
      // Summed in the order the CPU's kernel for this many rows uses: the CPU's floats.
      device_.matmul(w.type, w.cols, w.rows, rows_out, *weight, in0, out, scratch_,
                     cpu::matmul_sum_order(w.type, rows_out));
      break;
    }
    case OpKind::kRmsNorm: {
      const int64_t group = node.p.group > 0 ? node.p.group : cols;
      device_.rms_norm(in0, weight, out, n / group, group, node.p.eps);
      break;
    }
    case OpKind::kAdd: device_.binary(opencl::BinaryOp::kAdd, in0, at(node.in[1]), out, n); break;
    case OpKind::kMul: device_.binary(opencl::BinaryOp::kMul, in0, at(node.in[1]), out, n); break;
    case OpKind::kSwiGlu: device_.binary(opencl::BinaryOp::kSwiGlu, in0, at(node.in[1]), out, n); break;
    case OpKind::kGeGlu: device_.binary(opencl::BinaryOp::kGeGlu, in0, at(node.in[1]), out, n); break;
    case OpKind::kScale: device_.scale(in0, node.p.scale, out, n); break;
    case OpKind::kAddBias: device_.add_bias(in0, *weight, out, rows_out, cols); break;
    case OpKind::kRope:
      if (out.offset != in0.offset) device_.copy(in0, out, n);
      device_.rope(out, rows_out, node.p.n_head, node.p.head_dim, node.p.n_rot,
                   rope_tables_[static_cast<size_t>(rope_table_[index])].buffer, node.p.rope == RopeKind::kNeox);
      break;
    default:
      throw Error(ErrorCode::kInternal, std::string("node ") + op_name(node.op) + " has no OpenCL kernel");
  }
}

}  // namespace hearth::graph
