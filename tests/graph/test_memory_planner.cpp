#include <gtest/gtest.h>

#include <random>

#include "graph/memory_planner.h"

namespace hearth::graph {
namespace {

// A random chain-with-skips graph: each node reads one or two earlier values.
Graph random_graph(uint32_t seed, int n_nodes) {
  std::mt19937 rng(seed);
  Graph g;
  int32_t first = g.add_value("in", 64);
  Node embed{OpKind::kEmbed};
  embed.out = first;
  g.add_node(embed);
  for (int i = 0; i < n_nodes; ++i) {
    Node n{rng() % 2 ? OpKind::kAdd : OpKind::kScale};
    const auto existing = static_cast<int32_t>(g.values.size());
    n.in[0] = static_cast<int32_t>(rng() % existing);
    if (n.op == OpKind::kAdd) n.in[1] = static_cast<int32_t>(rng() % existing);
    n.out = g.add_value("v", 16 + static_cast<int64_t>(rng() % 256), rng() % 5 == 0 ? Rows::kOutputs : Rows::kTokens);
    g.add_node(n);
  }
  g.logits = static_cast<int32_t>(g.values.size() - 1);
  return g;
}

// Runs the plan: every 64-byte granule of the arena records which value last
// wrote it. Each node's inputs must still be whole when it runs (nothing wrote
// over them since), and an output may share bytes with an input only in place:
// the very same range, by an element-wise node. The logits must survive the pass.
void expect_plan_runs(const Graph& g, const ArenaPlan& plan, int64_t tokens, int64_t outputs, const std::string& what) {
  auto bytes = [&](int32_t v) {
    return g.values[v].cols * (g.values[v].rows == Rows::kTokens ? tokens : outputs) * 4;
  };
  std::vector<int32_t> owner(static_cast<size_t>(plan.arena_bytes / 64 + 1), -1);
  auto owns_all = [&](int32_t v) {
    for (int64_t b = g.values[v].offset; b < g.values[v].offset + bytes(v); b += 64)
      if (owner[b / 64] != v) return false;
    return true;
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    for (int32_t in : node.in)
      if (in >= 0) {
        ASSERT_TRUE(owns_all(in)) << what << ": value " << in << " overwritten before node " << i;
      }
    if (node.out < 0) continue;
    const Value& out = g.values[node.out];
    ASSERT_GE(out.offset, 0) << what;
    ASSERT_EQ(out.offset % 64, 0) << what;
    ASSERT_LE(out.offset + bytes(node.out), plan.arena_bytes) << what;
    for (int32_t in : node.in) {
      if (in < 0 || in == node.out) continue;
      const Value& v = g.values[in];
      const bool overlap = v.offset < out.offset + bytes(node.out) && out.offset < v.offset + bytes(in);
      if (overlap) {
        EXPECT_TRUE(computes_in_place(node.op)) << what << ": node " << i << " is not element-wise";
        EXPECT_EQ(v.offset, out.offset) << what << ": partial overlap at node " << i;
        EXPECT_EQ(bytes(in), bytes(node.out)) << what;
      }
    }
    for (int64_t b = out.offset; b < out.offset + bytes(node.out); b += 64) owner[b / 64] = node.out;
  }
  EXPECT_TRUE(owns_all(g.logits)) << what << ": logits overwritten";
}

TEST(MemoryPlanner, EveryInputIsIntactWhenRead) {
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    Graph g = random_graph(seed, 60);
    const int64_t tokens = 7, outputs = 3;
    const ArenaPlan plan = plan_memory(g, tokens, outputs);
    expect_plan_runs(g, plan, tokens, outputs, "seed " + std::to_string(seed));
    EXPECT_LT(plan.arena_bytes, plan.naive_bytes);
  }
}

// An input read again later is not written over; one read last is.
TEST(MemoryPlanner, InPlaceOnlyWhenTheInputIsReadLast) {
  Graph g;
  const int32_t x = g.add_value("x", 100);
  Node embed{OpKind::kEmbed};
  embed.out = x;
  g.add_node(embed);
  Node scale{OpKind::kScale};
  scale.in[0] = x;
  scale.out = g.add_value("y", 100);
  g.add_node(scale);
  Node add{OpKind::kAdd};
  add.in[0] = x;
  add.in[1] = scale.out;
  add.out = g.add_value("z", 100);
  g.add_node(add);
  g.logits = add.out;
  const ArenaPlan plan = plan_memory(g, 1, 1);
  EXPECT_NE(g.values[scale.out].offset, g.values[x].offset);  // x is read again by the add
  EXPECT_EQ(g.values[add.out].offset, g.values[x].offset);    // the add reads x last
  EXPECT_EQ(plan.arena_bytes, 2 * 448);
  expect_plan_runs(g, plan, 1, 1, "x, y=2x, x+y");
}

TEST(MemoryPlanner, AChainRunsInOneBuffer) {
  Graph g;
  int32_t v = g.add_value("x", 100);
  Node embed{OpKind::kEmbed};
  embed.out = v;
  g.add_node(embed);
  for (int i = 0; i < 20; ++i) {
    Node n{OpKind::kScale};
    n.in[0] = v;
    n.out = v = g.add_value("y", 100);
    g.add_node(n);
  }
  g.logits = v;
  const ArenaPlan plan = plan_memory(g, 1, 1);
  EXPECT_EQ(plan.arena_bytes, 448);  // every scale in place; 400 bytes rounded up to 64
  EXPECT_EQ(plan.naive_bytes, 21 * 448);
  expect_plan_runs(g, plan, 1, 1, "chain");
}

}  // namespace
}  // namespace hearth::graph
