// Graph IR: the forward pass of a model as a list of nodes over weights (which
// point into the mapped model file) and activations (rows of f32 in a planned
// arena). Built once per model; the row count is bound at run time, so a new
// batch size needs no rebuild.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace hearth::graph {

enum class OpKind : uint8_t {
  kEmbed,      // out[t] = dequantized row tokens[t] of weight
  kRmsNorm,    // out = rms_norm(in0) * weight, normalised in groups of `group` columns
  kMatMul,     // out = in0 · weight^T
  kAdd,        // out = in0 + in1
  kMul,        // out = in0 * in1
  kAddBias,    // out = in0 + weight (broadcast over rows)
  kScale,      // out = in0 * scale
  kRope,       // out = rotary(in0) at the batch's positions (weight: optional frequency factors)
  kStoreKv,    // writes in0 (keys) and in1 (values) into the layer's cache; no output
  kAttention,  // out = causal attention of in0 (queries) over the layer's cache
  kSwiGlu,     // out = silu(in0) * in1
  kGeGlu,      // out = gelu(in0) * in1
  kLastRows,   // out = the rows of in0 whose logits are wanted (the batch's output rows)
};
const char* op_name(OpKind op);

// Which row count an activation has at run time.
enum class Rows : uint8_t {
  kTokens,   // one row per token of the batch
  kOutputs,  // one row per token whose output (logits) is wanted
};

// A copy of a weight in the layout a CPU kernel reads faster, made on first
// use (graph/regrouped_weight.h). Shared by every copy of the graph.
struct RegroupedWeight;

struct Weight {
  std::string name;
  DType type = DType::kF32;
  int64_t cols = 0;  // elements per row (innermost dimension)
  int64_t rows = 0;
  const void* data = nullptr;  // into the model mapping: never copied, except as below
  // Set where the CPU reads this weight regrouped (q4_K in 8-row groups).
  std::shared_ptr<RegroupedWeight> regrouped;
};

// The bytes of w's data in its own type (rows of cols elements).
inline int64_t weight_bytes(const Weight& w) { return dtype_row_bytes(w.type, w.cols) * w.rows; }

struct Value {
  std::string name;
  int64_t cols = 0;
  Rows rows = Rows::kTokens;
  int64_t offset = -1;  // byte offset in the arena, set by the memory planner
};

enum class RopeKind : uint8_t { kNormal, kNeox };

struct NodeParams {
  float eps = 0;             // kRmsNorm
  int64_t group = 0;         // kRmsNorm: columns per normalised group (0: the whole row)
  float scale = 1;           // kScale; kAttention (q.k scale)
  int32_t layer = -1;        // kStoreKv, kAttention: which cache
  int64_t n_head = 0;        // kRope (heads in the row), kAttention (query heads)
  int64_t n_head_kv = 0;     // kAttention
  int64_t head_dim = 0;      // kRope, kAttention (key head size)
  int64_t head_dim_v = 0;    // kAttention
  int64_t n_rot = 0;         // kRope
  float freq_base = 10000;   // kRope
  float freq_scale = 1;      // kRope
  RopeKind rope = RopeKind::kNormal;
  int64_t sliding_window = 0;  // kAttention
  float softcap = 0;           // kAttention
};

struct Node {
  OpKind op;
  int32_t out = -1;                  // value id (-1 for kStoreKv)
  int32_t in[2] = {-1, -1};          // value ids
  int32_t weight = -1;               // weight id
  NodeParams p;
};

struct Graph {
  std::vector<Weight> weights;
  std::vector<Value> values;
  std::vector<Node> nodes;
  int32_t logits = -1;  // the output value
  int32_t n_layers = 0;  // caches the graph reads and writes
  int64_t kv_dim_k = 0;  // per position, per layer: n_head_kv * head_dim
  int64_t kv_dim_v = 0;

  int32_t add_weight(Weight w);
  int32_t add_value(std::string name, int64_t cols, Rows rows = Rows::kTokens);
  int32_t add_node(const Node& node);
};

// Bytes of weights one token's forward pass reads: every weight once, except
// embedding tables, of which a token reads only its own row. Token generation
// cannot run faster than memory bandwidth divided by this.
int64_t weight_bytes_read_per_token(const Graph& graph);

}  // namespace hearth::graph
