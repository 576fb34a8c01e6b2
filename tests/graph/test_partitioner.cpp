// The partitioner: its cut is the optimum of its cost model (checked by brute
// force on small random graphs), nodes a device cannot run stay off it, a
// layer's cache nodes share a device, copies decide (dear copies keep a pass
// on the host, cheap ones move matmuls to a fast accelerator), and runs and
// copies describe the placement.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "graph/partitioner.h"

namespace hearth::graph {
namespace {

DeviceModel host() {
  DeviceModel d;
  d.name = "cpu";
  d.flops_float = d.flops_quant = 50e9;
  d.flops_other = 20e9;
  d.bandwidth = 20e9;
  d.node_overhead = 2e-6;
  return d;
}

DeviceModel accelerator(double speedup, double copy_latency) {
  DeviceModel d;
  d.name = "gpu";
  d.all_ops = false;
  d.ops = {OpKind::kMatMul, OpKind::kAdd, OpKind::kRmsNorm, OpKind::kScale};
  d.matmul_types = {DType::kF16, DType::kQ8_0};
  d.flops_float = d.flops_quant = 50e9 * speedup;
  d.flops_other = 20e9 * speedup;
  d.bandwidth = 20e9 * speedup;
  d.node_overhead = 5e-6;
  d.copy_latency = copy_latency;
  return d;
}

// embed -> [norm -> matmul (-> add residual)] x layers, with a cache store and
// attention per layer, as a model's pass has them.
Graph small_model(int layers, DType type, int64_t dim = 512) {
  Graph g;
  const int32_t wemb = g.add_weight({"embd", type, dim, 1000, nullptr});
  Node embed{OpKind::kEmbed};
  embed.weight = wemb;
  embed.out = g.add_value("x", dim);
  g.add_node(embed);
  int32_t x = embed.out;
  g.kv_dim_k = g.kv_dim_v = 64;
  for (int l = 0; l < layers; ++l) {
    Node norm{OpKind::kRmsNorm};
    norm.in[0] = x;
    norm.out = g.add_value("n", dim);
    g.add_node(norm);
    Node mm{OpKind::kMatMul};
    mm.in[0] = norm.out;
    mm.weight = g.add_weight({"w", type, dim, dim, nullptr});
    mm.out = g.add_value("q", dim);
    g.add_node(mm);
    Node store{OpKind::kStoreKv};
    store.in[0] = store.in[1] = mm.out;
    store.p.layer = l;
    g.add_node(store);
    Node att{OpKind::kAttention};
    att.in[0] = mm.out;
    att.p.layer = l;
    att.p.n_head = 8;
    att.p.head_dim = att.p.head_dim_v = 64;
    att.out = g.add_value("a", dim);
    g.add_node(att);
    Node add{OpKind::kAdd};
    add.in[0] = x;
    add.in[1] = att.out;
    add.out = g.add_value("r", dim);
    g.add_node(add);
    x = add.out;
  }
  Node head{OpKind::kMatMul};
  head.in[0] = x;
  head.weight = g.add_weight({"out", type, dim, 1000, nullptr});
  head.out = g.add_value("logits", 1000, Rows::kOutputs);
  g.add_node(head);
  g.logits = head.out;
  return g;
}

TEST(Partitioner, OneDeviceRunsEverythingThere) {
  const Graph g = small_model(3, DType::kQ8_0);
  const Workload w{4, 64, 1};
  const Placement p = partition(g, {host()}, w);
  ASSERT_EQ(p.runs.size(), 1u);
  EXPECT_EQ(p.runs[0].first, 0);
  EXPECT_EQ(p.runs[0].last, static_cast<int32_t>(g.nodes.size()) - 1);
  EXPECT_TRUE(p.copies.empty());
  double sum = 0;
  for (const Node& n : g.nodes) sum += node_seconds(host(), g, n, w);
  EXPECT_DOUBLE_EQ(p.total_seconds, sum);
  EXPECT_DOUBLE_EQ(placement_cost(g, {host()}, w, p.device), sum);
}

TEST(Partitioner, TheCutIsTheOptimumOfItsCostModel) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 30; ++trial) {
    const Graph g = small_model(2, trial % 2 ? DType::kQ8_0 : DType::kF16, 64 << (trial % 4));
    const std::vector<DeviceModel> devices = {host(), accelerator(1.0 + (rng() % 80) / 10.0, (rng() % 50) * 1e-6)};
    const Workload w{1 + static_cast<int64_t>(rng() % 64), 1 + static_cast<int64_t>(rng() % 512), 1};
    const Placement p = partition(g, devices, w);
    const size_t n = g.nodes.size();
    ASSERT_LE(n, 16u);
    double best = 1e300;
    std::vector<int> assign(n);
    for (uint32_t mask = 0; mask < (1u << n); ++mask) {
      for (size_t i = 0; i < n; ++i) assign[i] = (mask >> i) & 1;
      best = std::min(best, placement_cost(g, devices, w, assign));
    }
    const double got = placement_cost(g, devices, w, p.device);
    EXPECT_NEAR(got, best, 1e-9 * best) << "trial " << trial;
    EXPECT_LE(p.total_seconds, got * (1 + 1e-12));  // a value is copied once per reading device
  }
}

TEST(Partitioner, UnsupportedNodesStayOnTheHostAndCachesStayTogether) {
  const Graph g = small_model(4, DType::kQ8_0, 1024);
  const Placement p = partition(g, {host(), accelerator(20, 1e-7)}, {32, 256, 1});
  bool any_on_accelerator = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (!accelerator(20, 0).supports(n, g)) {
      EXPECT_EQ(p.device[i], 0) << op_name(n.op);
    }
    if (n.op == OpKind::kMatMul && p.device[i] == 1) any_on_accelerator = true;
    if (n.op == OpKind::kAttention) {
      EXPECT_EQ(g.nodes[i - 1].op, OpKind::kStoreKv);
      EXPECT_EQ(p.device[i], p.device[i - 1]);
    }
  }
  EXPECT_TRUE(any_on_accelerator) << "a 20x faster device with free copies takes the matmuls";
  EXPECT_GT(p.runs.size(), 1u);
  for (const auto& c : p.copies) EXPECT_NE(c.from, c.to);
  EXPECT_GT(p.weight_bytes[1], 0);
}

TEST(Partitioner, DearCopiesKeepThePassOnTheHost) {
  const Graph g = small_model(4, DType::kQ8_0);
  const Placement p = partition(g, {host(), accelerator(2, 1.0)}, {1, 64, 1});  // a second per copy
  for (int d : p.device) EXPECT_EQ(d, 0);
  EXPECT_TRUE(p.copies.empty());
}

TEST(Partitioner, WeightTypesTheAcceleratorLacksStayOnTheHost) {
  const Graph g = small_model(3, DType::kQ4_K);  // not among the accelerator's matmul types
  const Placement p = partition(g, {host(), accelerator(50, 1e-7)}, {64, 64, 1});
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].op == OpKind::kMatMul) {
      EXPECT_EQ(p.device[i], 0);
    }
}

TEST(Partitioner, ProfilesGiveDeviceModels) {
  devices::DeviceProfile prof;
  prof.device_name = "board";
  prof.cpu_cores = 4;
  prof.memory_gb = 8;
  prof.gpu_available = true;
  prof.memory_bandwidth_gbs = 17;
  EXPECT_EQ(device_models(prof).size(), 1u);  // no GPU entry: CPU only
  prof.gpus.push_back({"igpu", 500, 0, 0, 0, {"vulkan"}});
  EXPECT_EQ(device_models(prof).size(), 1u);  // no backend Hearth has
  prof.gpus.push_back({"cl", 500, 1000, 0, 0, {"opencl"}});
  const auto models = device_models(prof);
  ASSERT_EQ(models.size(), 2u);
  EXPECT_TRUE(models[0].all_ops);
  EXPECT_FALSE(models[1].all_ops);
  EXPECT_GT(models[1].flops_float, models[1].flops_quant);  // f16 rate for float weights
  EXPECT_THROW(partition(small_model(1, DType::kF16), {}, {}), Error);
}

}  // namespace
}  // namespace hearth::graph
