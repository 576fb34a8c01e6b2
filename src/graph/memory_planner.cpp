#include "graph/memory_planner.h"

#include <algorithm>
#include <numeric>
#include <vector>

namespace hearth::graph {
namespace {

constexpr int64_t kAlign = 64;

int64_t align_up(int64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

struct Interval {
  int64_t first = -1, last = -1;  // node indices
};

}  // namespace

bool computes_in_place(OpKind op) {
  switch (op) {
    case OpKind::kAdd: case OpKind::kMul: case OpKind::kScale: case OpKind::kAddBias:
    case OpKind::kSwiGlu: case OpKind::kGeGlu: case OpKind::kRmsNorm: case OpKind::kRope:
      return true;
    default:
      return false;
  }
}

ArenaPlan plan_memory(Graph& g, int64_t max_tokens, int64_t max_outputs) {
  const size_t n = g.values.size();
  std::vector<Interval> life(n);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    const auto idx = static_cast<int64_t>(i);
    if (node.out >= 0 && life[node.out].first < 0) life[node.out].first = idx;
    if (node.out >= 0) life[node.out].last = std::max(life[node.out].last, idx);
    for (int32_t in : node.in)
      if (in >= 0) life[in].last = std::max(life[in].last, idx);
  }
  // The logits are read after the pass: they live to the end.
  if (g.logits >= 0) life[g.logits].last = static_cast<int64_t>(g.nodes.size());

  std::vector<int64_t> size(n);
  ArenaPlan plan;
  for (size_t v = 0; v < n; ++v) {
    const int64_t rows = g.values[v].rows == Rows::kTokens ? max_tokens : max_outputs;
    size[v] = align_up(g.values[v].cols * rows * static_cast<int64_t>(sizeof(float)));
    if (life[v].first >= 0) plan.naive_bytes += size[v];
  }

  // In place: an element-wise node whose input of the same shape is read last
  // by it writes its output over that input. Such chains share one buffer,
  // planned as one value living from the first write to the last read.
  std::vector<size_t> buffer(n);
  std::iota(buffer.begin(), buffer.end(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    if (node.out < 0 || !computes_in_place(node.op) || life[node.out].first != static_cast<int64_t>(i)) continue;
    for (int32_t in : node.in) {
      if (in < 0 || in == node.out || life[in].last != static_cast<int64_t>(i) ||
          g.values[in].cols != g.values[node.out].cols || g.values[in].rows != g.values[node.out].rows)
        continue;
      const size_t root = buffer[in];  // always a chain's first value
      buffer[node.out] = root;
      life[root].last = std::max(life[root].last, life[node.out].last);
      break;
    }
  }

  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return size[a] > size[b]; });

  std::vector<size_t> placed;
  for (size_t v : order) {
    if (life[v].first < 0 || buffer[v] != v) continue;  // never written, or in another's buffer
    // Collect the byte ranges of placed values alive at the same time, then take
    // the lowest gap that fits.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (size_t u : placed)
      if (life[u].first <= life[v].last && life[v].first <= life[u].last)
        busy.emplace_back(g.values[u].offset, g.values[u].offset + size[u]);
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (begin - offset >= size[v]) break;
      offset = std::max(offset, end);
    }
    g.values[v].offset = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + size[v]);
    placed.push_back(v);
  }
  for (size_t v = 0; v < n; ++v)
    if (buffer[v] != v) g.values[v].offset = g.values[buffer[v]].offset;
  return plan;
}

}  // namespace hearth::graph
