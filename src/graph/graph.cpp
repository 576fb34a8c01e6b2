#include "graph/graph.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace hearth::graph {

const char* op_name(OpKind op) {
  switch (op) {
    case OpKind::kEmbed: return "embed";
    case OpKind::kRmsNorm: return "rms_norm";
    case OpKind::kMatMul: return "matmul";
    case OpKind::kAdd: return "add";
    case OpKind::kMul: return "mul";
    case OpKind::kAddBias: return "add_bias";
    case OpKind::kScale: return "scale";
    case OpKind::kRope: return "rope";
    case OpKind::kStoreKv: return "store_kv";
    case OpKind::kAttention: return "attention";
    case OpKind::kSwiGlu: return "swiglu";
    case OpKind::kGeGlu: return "geglu";
    case OpKind::kLastRows: return "last_rows";
  }
  return "?";
}

int32_t Graph::add_weight(Weight w) {
  weights.push_back(std::move(w));
  return static_cast<int32_t>(weights.size() - 1);
}

int32_t Graph::add_value(std::string name, int64_t cols, Rows rows) {
  values.push_back(Value{std::move(name), cols, rows, -1});
  return static_cast<int32_t>(values.size() - 1);
}

int32_t Graph::add_node(const Node& node) {
  nodes.push_back(node);
  return node.out;
}

int64_t weight_bytes_read_per_token(const Graph& graph) {
  // A tied embedding is both looked up (one row) and used as the LM head
  // (all rows): count the largest read each weight sees, once.
  std::vector<int64_t> bytes(graph.weights.size(), 0);
  for (const Node& node : graph.nodes) {
    if (node.weight < 0) continue;
    const Weight& w = graph.weights[static_cast<size_t>(node.weight)];
    const int64_t row = dtype_row_bytes(w.type, w.cols);
    const int64_t read = node.op == OpKind::kEmbed ? row : row * w.rows;
    int64_t& b = bytes[static_cast<size_t>(node.weight)];
    b = std::max(b, read);
  }
  int64_t total = 0;
  for (int64_t b : bytes) total += b;
  return total;
}

}  // namespace hearth::graph
