#include "graph/partitioner.h"

#include <algorithm>
#include <limits>
#include <iterator>
#include <map>
#include <queue>
#include <utility>

#include "backends/opencl/opencl_device.h"
#include "core/error.h"
#include "graph/device_executor.h"

namespace hearth::graph {
namespace {

constexpr double kInfinite = 1e30;

bool is_float_type(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }

// Dinic's maximum flow on a small dense-enough graph (a few hundred vertices).
class MaxFlow {
 public:
  explicit MaxFlow(int n) : adj_(static_cast<size_t>(n)), level_(static_cast<size_t>(n)), it_(static_cast<size_t>(n)) {}
  void add_edge(int from, int to, double cap) {
    adj_[static_cast<size_t>(from)].push_back(static_cast<int>(edges_.size()));
    edges_.push_back({to, cap});
    adj_[static_cast<size_t>(to)].push_back(static_cast<int>(edges_.size()));
    edges_.push_back({from, 0});
  }
  void run(int s, int t) {
    while (bfs(s, t)) {
      std::fill(it_.begin(), it_.end(), 0);
      while (dfs(s, t, kInfinite) > 0) {
      }
    }
  }
  // After run(): the vertices reachable from s in the residual graph (s's side of a minimum cut).
  std::vector<bool> source_side(int s) const {
    std::vector<bool> seen(adj_.size(), false);
    std::queue<int> q;
    q.push(s);
    seen[static_cast<size_t>(s)] = true;
    while (!q.empty()) {
      const int v = q.front();
      q.pop();
      for (int e : adj_[static_cast<size_t>(v)]) {
        const Edge& ed = edges_[static_cast<size_t>(e)];
        if (ed.cap > kEps && !seen[static_cast<size_t>(ed.to)]) {
          seen[static_cast<size_t>(ed.to)] = true;
          q.push(ed.to);
        }
      }
    }
    return seen;
  }

 private:
  struct Edge {
    int to;
    double cap;
  };
  static constexpr double kEps = 1e-15;

  bool bfs(int s, int t) {
    std::fill(level_.begin(), level_.end(), -1);
    std::queue<int> q;
    level_[static_cast<size_t>(s)] = 0;
    q.push(s);
    while (!q.empty()) {
      const int v = q.front();
      q.pop();
      for (int e : adj_[static_cast<size_t>(v)]) {
        const Edge& ed = edges_[static_cast<size_t>(e)];
        if (ed.cap > kEps && level_[static_cast<size_t>(ed.to)] < 0) {
          level_[static_cast<size_t>(ed.to)] = level_[static_cast<size_t>(v)] + 1;
          q.push(ed.to);
        }
      }
    }
    return level_[static_cast<size_t>(t)] >= 0;
  }
  double dfs(int v, int t, double pushed) {
    if (v == t) return pushed;
    auto& i = it_[static_cast<size_t>(v)];
    for (; i < static_cast<int>(adj_[static_cast<size_t>(v)].size()); ++i) {
      const int e = adj_[static_cast<size_t>(v)][static_cast<size_t>(i)];
      Edge& ed = edges_[static_cast<size_t>(e)];
      if (ed.cap <= kEps || level_[static_cast<size_t>(ed.to)] != level_[static_cast<size_t>(v)] + 1) continue;
      const double got = dfs(ed.to, t, std::min(pushed, ed.cap));
      if (got > 0) {
        ed.cap -= got;
        edges_[static_cast<size_t>(e ^ 1)].cap += got;
        return got;
      }
    }
    return 0;
  }

  std::vector<std::vector<int>> adj_;
  std::vector<Edge> edges_;
  std::vector<int> level_;
  std::vector<int> it_;
};

// The node that writes each value (-1: none, a graph input).
std::vector<int32_t> producers(const Graph& graph) {
  std::vector<int32_t> producer(graph.values.size(), -1);
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    if (graph.nodes[i].out >= 0) producer[static_cast<size_t>(graph.nodes[i].out)] = static_cast<int32_t>(i);
  return producer;
}

int64_t rows_of(const Value& v, const Workload& w) { return v.rows == Rows::kTokens ? w.tokens : w.outputs; }

double copy_seconds(const DeviceModel& accelerator, double bytes) {
  return accelerator.copy_latency + (accelerator.unified_memory ? 0.0 : bytes / accelerator.copy_bandwidth);
}

}  // namespace

bool DeviceModel::supports(const Node& node, const Graph& graph) const {
  if (all_ops) return true;
  if (!ops.count(node.op)) return false;
  if (node.op == OpKind::kMatMul) return matmul_types.count(graph.weights[static_cast<size_t>(node.weight)].type) > 0;
  return true;
}

double value_bytes(const Graph& graph, int32_t value, const Workload& w) {
  const Value& v = graph.values[static_cast<size_t>(value)];
  return static_cast<double>(rows_of(v, w)) * static_cast<double>(v.cols) * 4.0;
}

NodeCost node_cost(const Graph& graph, const Node& node, const Workload& w) {
  NodeCost c;
  const double out_rows = node.out >= 0 ? static_cast<double>(rows_of(graph.values[static_cast<size_t>(node.out)], w)) : 0;
  const double out_cols = node.out >= 0 ? static_cast<double>(graph.values[static_cast<size_t>(node.out)].cols) : 0;
  const double out_bytes = out_rows * out_cols * 4.0;
  double in_bytes = 0;
  for (int32_t in : node.in)
    if (in >= 0) in_bytes += value_bytes(graph, in, w);
  const double elems = out_rows * out_cols;
  const double tokens = static_cast<double>(w.tokens);
  const double kv = static_cast<double>(graph.kv_dim_k + graph.kv_dim_v);
  switch (node.op) {
    case OpKind::kEmbed: {
      const Weight& wt = graph.weights[static_cast<size_t>(node.weight)];
      c.bytes = tokens * static_cast<double>(dtype_row_bytes(wt.type, wt.cols)) + out_bytes;
      c.flops = elems;
      break;
    }
    case OpKind::kMatMul: {
      const Weight& wt = graph.weights[static_cast<size_t>(node.weight)];
      c.bytes = static_cast<double>(dtype_row_bytes(wt.type, wt.cols)) * static_cast<double>(wt.rows) + in_bytes +
                out_bytes;
      c.flops = 2.0 * out_rows * static_cast<double>(wt.rows) * static_cast<double>(wt.cols);
      break;
    }
    case OpKind::kStoreKv:
      c.bytes = in_bytes + tokens * kv * 2.0;  // f16 cache
      c.flops = tokens * kv;
      break;
    case OpKind::kAttention: {
      const double heads = static_cast<double>(node.p.n_head);
      const double dims = static_cast<double>(node.p.head_dim + node.p.head_dim_v);
      const double ctx = static_cast<double>(w.context);
      c.bytes = ctx * kv * 2.0 + in_bytes + out_bytes;
      c.flops = out_rows * heads * ctx * (2.0 * dims + 5.0);  // q.k, p.v, softmax
      break;
    }
    case OpKind::kRmsNorm: c.flops = 4 * elems; c.bytes = in_bytes + out_bytes; break;
    case OpKind::kRope: c.flops = 6 * elems; c.bytes = in_bytes + out_bytes; break;
    case OpKind::kSwiGlu:
    case OpKind::kGeGlu: c.flops = 8 * elems; c.bytes = in_bytes + out_bytes; break;
    default: c.flops = elems; c.bytes = in_bytes + out_bytes; break;
  }
  return c;
}

double node_seconds(const DeviceModel& d, const Graph& graph, const Node& node, const Workload& w) {
  const NodeCost c = node_cost(graph, node, w);
  double rate = d.flops_other, bandwidth = d.bandwidth;
  if (node.op == OpKind::kMatMul) {
    const DType t = graph.weights[static_cast<size_t>(node.weight)].type;
    const auto measured = d.matmul_flops.find(t);
    rate = measured != d.matmul_flops.end() ? measured->second : is_float_type(t) ? d.flops_float : d.flops_quant;
    const auto streaming = d.matvec_bandwidth.find(t);  // measured streaming from memory
    if (streaming != d.matvec_bandwidth.end()) bandwidth = streaming->second;
  }
  const double compute = rate > 0 ? c.flops / rate : kInfinite;
  const double memory = bandwidth > 0 ? c.bytes / bandwidth : kInfinite;
  return std::max(compute, memory) + d.node_overhead;
}

double placement_cost(const Graph& graph, const std::vector<DeviceModel>& devices, const Workload& w,
                      const std::vector<int>& device) {
  const std::vector<int32_t> producer = producers(graph);
  double total = 0;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    const DeviceModel& d = devices[static_cast<size_t>(device[i])];
    if (!d.supports(node, graph)) return kInfinite;
    total += node_seconds(d, graph, node, w);
    for (int32_t in : node.in)
      if (in >= 0 && producer[static_cast<size_t>(in)] >= 0 &&
          device[static_cast<size_t>(producer[static_cast<size_t>(in)])] != device[i])
        total += copy_seconds(devices.back(), value_bytes(graph, in, w));
    if (node.out >= 0 && node.out == graph.logits && device[i] != 0)
      total += copy_seconds(devices.back(), value_bytes(graph, node.out, w));
  }
  return total;
}

Placement partition(const Graph& graph, const std::vector<DeviceModel>& devices, const Workload& w) {
  if (devices.empty() || devices.size() > 2)
    throw Error(ErrorCode::kInvalidArgument, "the partitioner places nodes on one host and at most one accelerator");
  if (!devices[0].all_ops) throw Error(ErrorCode::kInvalidArgument, "the first device must run every op (the CPU)");
  const int n = static_cast<int>(graph.nodes.size());
  Placement p;
  p.device.assign(static_cast<size_t>(n), 0);
  const std::vector<int32_t> producer = producers(graph);
  // Each node's time on each device, computed once for the cut and the totals.
  std::vector<std::vector<double>> seconds(devices.size(), std::vector<double>(static_cast<size_t>(n)));
  for (size_t d = 0; d < devices.size(); ++d)
    for (int i = 0; i < n; ++i)
      seconds[d][static_cast<size_t>(i)] = node_seconds(devices[d], graph, graph.nodes[static_cast<size_t>(i)], w);

  if (devices.size() == 2) {
    const DeviceModel& acc = devices[1];
    const int s = n, t = n + 1;
    MaxFlow flow(n + 2);
    std::map<int32_t, std::vector<int>> cache_nodes;  // layer -> store and attention nodes
    for (int i = 0; i < n; ++i) {
      const Node& node = graph.nodes[static_cast<size_t>(i)];
      double on_acc = acc.supports(node, graph) ? seconds[1][static_cast<size_t>(i)] : kInfinite;
      if (node.out >= 0 && node.out == graph.logits) on_acc += copy_seconds(acc, value_bytes(graph, node.out, w));
      flow.add_edge(s, i, on_acc);
      flow.add_edge(i, t, seconds[0][static_cast<size_t>(i)]);
      for (int32_t in : node.in) {
        if (in < 0 || producer[static_cast<size_t>(in)] < 0) continue;
        const double c = copy_seconds(acc, value_bytes(graph, in, w));
        flow.add_edge(producer[static_cast<size_t>(in)], i, c);
        flow.add_edge(i, producer[static_cast<size_t>(in)], c);
      }
      if (node.op == OpKind::kStoreKv || node.op == OpKind::kAttention) cache_nodes[node.p.layer].push_back(i);
    }
    for (const auto& [layer, ids] : cache_nodes)
      for (size_t k = 1; k < ids.size(); ++k) {
        flow.add_edge(ids[0], ids[k], kInfinite);
        flow.add_edge(ids[k], ids[0], kInfinite);
      }
    flow.run(s, t);
    const std::vector<bool> host = flow.source_side(s);
    for (int i = 0; i < n; ++i) p.device[static_cast<size_t>(i)] = host[static_cast<size_t>(i)] ? 0 : 1;
  }

  return evaluate_placement(graph, devices, w, std::move(p.device));
}

Placement evaluate_placement(const Graph& graph, const std::vector<DeviceModel>& devices, const Workload& w,
                             std::vector<int> device) {
  const int n = static_cast<int>(graph.nodes.size());
  if (device.size() != graph.nodes.size())
    throw Error(ErrorCode::kInvalidArgument, "an assignment needs one device per node");
  for (int d : device)
    if (d < 0 || d >= static_cast<int>(devices.size()))
      throw Error(ErrorCode::kInvalidArgument, "an assignment names a device that is not there");
  Placement p;
  p.device = std::move(device);
  const std::vector<int32_t> producer = producers(graph);
  p.compute_seconds.assign(devices.size(), 0.0);
  p.weight_bytes.assign(devices.size(), 0);
  std::vector<std::vector<int64_t>> weight_read(devices.size(), std::vector<int64_t>(graph.weights.size(), 0));
  std::map<std::pair<int32_t, int>, double> copies;  // (value, to device) -> seconds
  for (int i = 0; i < n; ++i) {
    const Node& node = graph.nodes[static_cast<size_t>(i)];
    const int d = p.device[static_cast<size_t>(i)];
    p.compute_seconds[static_cast<size_t>(d)] += node_seconds(devices[static_cast<size_t>(d)], graph, node, w);
    if (p.runs.empty() || p.runs.back().device != d) p.runs.push_back({d, i, i});
    p.runs.back().last = i;
    if (node.weight >= 0) {
      const Weight& wt = graph.weights[static_cast<size_t>(node.weight)];
      const int64_t row = dtype_row_bytes(wt.type, wt.cols);
      int64_t& r = weight_read[static_cast<size_t>(d)][static_cast<size_t>(node.weight)];
      r = row * wt.rows;  // a device holds the whole tensor, even an embedding table it reads a row of
    }
    for (int32_t in : node.in) {
      if (in < 0 || producer[static_cast<size_t>(in)] < 0) continue;
      const int from = p.device[static_cast<size_t>(producer[static_cast<size_t>(in)])];
      if (from != d) copies[{in, d}] = copy_seconds(devices.back(), value_bytes(graph, in, w));
    }
  }
  if (graph.logits >= 0 && producer[static_cast<size_t>(graph.logits)] >= 0 &&
      p.device[static_cast<size_t>(producer[static_cast<size_t>(graph.logits)])] != 0)
    copies[{graph.logits, 0}] = copy_seconds(devices.back(), value_bytes(graph, graph.logits, w));
  for (const auto& [key, sec] : copies) {
    const int32_t prod = producer[static_cast<size_t>(key.first)];
    p.copies.push_back({key.first, p.device[static_cast<size_t>(prod)], key.second, sec});
    p.copy_seconds += sec;
  }
  for (size_t d = 0; d < devices.size(); ++d) {
    for (int64_t b : weight_read[d]) p.weight_bytes[d] += b;
    p.total_seconds += p.compute_seconds[d];
  }
  p.total_seconds += p.copy_seconds;
  return p;
}

std::vector<DeviceModel> device_models(const devices::DeviceProfile& profile, const Calibration& c) {
  std::vector<DeviceModel> out;
  DeviceModel cpu;
  cpu.name = "cpu";
  const double ghz = profile.cpu_ghz > 0 ? profile.cpu_ghz : 2.0;
  // Without a figure: 16 f32 FLOP per cycle and core (two 128-bit FMA pipes).
  const double peak = profile.cpu_fp32_gflops > 0 ? profile.cpu_fp32_gflops * 1e9 : profile.cpu_cores * ghz * 16e9;
  cpu.flops_float = peak * c.cpu_flops_efficiency;
  cpu.flops_quant = 2.0 * peak * c.cpu_flops_efficiency;  // int8 dot products: twice the f32 lanes
  cpu.flops_other = 0.5 * peak * c.cpu_flops_efficiency;
  for (const auto& [type, gflops] : profile.cpu_matmul_gflops) cpu.matmul_flops[type] = gflops * 1e9;
  for (const auto& [type, gbs] : profile.cpu_matvec_gbs) cpu.matvec_bandwidth[type] = gbs * 1e9;
  // A measured f32 matmul is what the vector float code reaches here: attention
  // and the element-wise ops run such code.
  if (const auto f32 = profile.cpu_matmul_gflops.find(DType::kF32); f32 != profile.cpu_matmul_gflops.end())
    cpu.flops_other = f32->second * 1e9;
  // Without a figure: 6 GB/s per core, a conservative LPDDR4-class guess.
  const double bw = profile.memory_bandwidth_gbs > 0 ? profile.memory_bandwidth_gbs * 1e9 : profile.cpu_cores * 6e9;
  cpu.bandwidth = bw * c.cpu_bandwidth_efficiency;
  // Measured where the profile has it; else a fork-join of the thread pool.
  cpu.node_overhead = profile.cpu_node_overhead_us > 0 ? profile.cpu_node_overhead_us * 1e-6
                      : profile.cpu_cores > 1            ? 1e-6
                                                         : 0.3e-6;
  out.push_back(cpu);

  for (const devices::AcceleratorProfile& g : profile.gpus) {
    const bool usable = std::any_of(g.backends.begin(), g.backends.end(),
                                    [](const std::string& b) { return b == "opencl" || b == "cuda"; });
    if (!usable || g.fp32_gflops <= 0) continue;
    DeviceModel gpu;
    gpu.name = g.name.empty() ? "gpu" : g.name;
    gpu.all_ops = false;
    // The op set of Hearth's OpenCL backend.
    gpu.ops = device_ops();
    gpu.matmul_types.insert(std::begin(opencl::Device::kMatMulTypes), std::end(opencl::Device::kMatMulTypes));
    const double fp32 = g.fp32_gflops * 1e9 * c.gpu_flops_efficiency;
    gpu.flops_float = (g.fp16_gflops > 0 ? g.fp16_gflops * 1e9 * c.gpu_flops_efficiency : fp32);
    gpu.flops_quant = fp32;  // blocks are dequantized to floats in the kernel
    gpu.flops_other = fp32;
    gpu.unified_memory = profile.unified_memory || g.memory_bandwidth_gbs <= 0;
    gpu.bandwidth = (g.memory_bandwidth_gbs > 0 ? g.memory_bandwidth_gbs * 1e9 : bw) * c.gpu_bandwidth_efficiency;
    gpu.node_overhead = g.launch_overhead_us > 0 ? g.launch_overhead_us * 1e-6 : 8e-6;  // an enqueued kernel
    gpu.copy_bandwidth = 12e9;  // PCIe, when memory is not shared
    gpu.copy_latency = gpu.unified_memory ? 5e-6 : 15e-6;
    for (const auto& [type, gflops] : g.matmul_gflops) gpu.matmul_flops[type] = gflops * 1e9;
    for (const auto& [type, gbs] : g.matvec_gbs) gpu.matvec_bandwidth[type] = gbs * 1e9;
    if (const auto f32 = g.matmul_gflops.find(DType::kF32); f32 != g.matmul_gflops.end())
      gpu.flops_other = f32->second * 1e9;
    if (g.copy_bandwidth_gbs > 0) {
      // Measured copies: the backend copies between its buffers and the host's
      // even where memory is shared, so they cost bytes, not only a sync.
      gpu.unified_memory = false;
      gpu.copy_bandwidth = g.copy_bandwidth_gbs * 1e9;
      gpu.copy_latency = gpu.node_overhead;
    }
    if (g.copy_latency_us > 0) gpu.copy_latency = g.copy_latency_us * 1e-6;  // measured
    out.push_back(gpu);
    break;
  }
  return out;
}

}  // namespace hearth::graph
