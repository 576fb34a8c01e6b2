#include "graph/graph.h"

#include <utility>

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

}  // namespace hearth::graph
