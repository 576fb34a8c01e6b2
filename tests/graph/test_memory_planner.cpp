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

TEST(MemoryPlanner, ValuesAliveTogetherNeverOverlap) {
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    Graph g = random_graph(seed, 60);
    const int64_t tokens = 7, outputs = 3;
    const ArenaPlan plan = plan_memory(g, tokens, outputs);
    std::vector<int64_t> first(g.values.size(), -1), last(g.values.size(), -1);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      if (first[n.out] < 0) first[n.out] = static_cast<int64_t>(i);
      last[n.out] = std::max(last[n.out], static_cast<int64_t>(i));
      for (int32_t in : n.in)
        if (in >= 0) last[in] = std::max(last[in], static_cast<int64_t>(i));
    }
    last[g.logits] = static_cast<int64_t>(g.nodes.size());
    auto bytes = [&](size_t v) {
      return g.values[v].cols * (g.values[v].rows == Rows::kTokens ? tokens : outputs) * 4;
    };
    for (size_t a = 0; a < g.values.size(); ++a) {
      ASSERT_GE(g.values[a].offset, 0);
      ASSERT_EQ(g.values[a].offset % 64, 0);
      ASSERT_LE(g.values[a].offset + bytes(a), plan.arena_bytes);
      for (size_t b = a + 1; b < g.values.size(); ++b) {
        const bool alive_together = first[a] <= last[b] && first[b] <= last[a];
        const bool overlap = g.values[a].offset < g.values[b].offset + bytes(b) &&
                             g.values[b].offset < g.values[a].offset + bytes(a);
        ASSERT_FALSE(alive_together && overlap) << "seed " << seed << " values " << a << " and " << b;
      }
    }
    EXPECT_LT(plan.arena_bytes, plan.naive_bytes);
  }
}

TEST(MemoryPlanner, AChainReusesTwoBuffers) {
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
  EXPECT_EQ(plan.arena_bytes, 2 * 448);  // two 400-byte values, each rounded up to 64 bytes
  EXPECT_EQ(plan.naive_bytes, 21 * 448);
}

}  // namespace
}  // namespace hearth::graph
