#include "models/graph_builder.h"

#include <cmath>

#include "backends/cpu/vec_dot.h"
#include "core/error.h"
#include "formats/gguf.h"

namespace hearth::models {

using graph::Node;
using graph::NodeParams;
using graph::OpKind;
using graph::Rows;

GraphBuilder::GraphBuilder(const formats::GgufFile& file, const HParams& hp) : file_(file), hp_(hp) {
  g_.n_layers = static_cast<int32_t>(hp.n_layer);
  g_.kv_dim_k = hp.n_head_kv * hp.head_dim_k;
  g_.kv_dim_v = hp.n_head_kv * hp.head_dim_v;
}

std::optional<int32_t> GraphBuilder::optional_weight(const std::string& name, int64_t cols, int64_t rows) {
  const formats::GgufTensorInfo* t = file_.find_tensor(name);
  if (!t) return std::nullopt;
  int64_t t_rows = 1;
  for (size_t i = 1; i < t->dims.size(); ++i) t_rows *= t->dims[i];
  if (t->dims[0] != cols || t_rows != rows)
    throw Error(ErrorCode::kFormat, file_.path() + ": tensor '" + name + "' has shape " +
                                        std::to_string(t->dims[0]) + "x" + std::to_string(t_rows) + ", expected " +
                                        std::to_string(cols) + "x" + std::to_string(rows));
  if (rows > 1 && !cpu::has_weight_kernels(t->type))
    throw Error(ErrorCode::kUnsupported, file_.path() + ": tensor '" + name + "' has type " +
                                             std::string(dtype_name(t->type)) + ", which this build cannot multiply");
  return g_.add_weight({name, t->type, cols, rows, file_.tensor_data(*t)});
}

int32_t GraphBuilder::weight(const std::string& name, int64_t cols, int64_t rows) {
  auto w = optional_weight(name, cols, rows);
  if (!w) throw Error(ErrorCode::kFormat, file_.path() + ": tensor '" + name + "' is missing");
  return *w;
}

std::optional<int32_t> GraphBuilder::optional_vector(const std::string& name, int64_t n) {
  auto w = optional_weight(name, n, 1);
  if (w && g_.weights[*w].type != DType::kF32)
    throw Error(ErrorCode::kUnsupported, file_.path() + ": tensor '" + name + "' must be f32, not " +
                                             std::string(dtype_name(g_.weights[*w].type)));
  return w;
}

int32_t GraphBuilder::vector(const std::string& name, int64_t n) {
  auto w = optional_vector(name, n);
  if (!w) throw Error(ErrorCode::kFormat, file_.path() + ": tensor '" + name + "' is missing");
  return *w;
}

int32_t GraphBuilder::value_like(int32_t x, int64_t cols, const char* what) {
  return g_.add_value(what, cols, g_.values[x].rows);
}

int32_t GraphBuilder::unary(OpKind op, int32_t x, int64_t cols, const NodeParams& p, int32_t w) {
  Node n{op};
  n.in[0] = x;
  n.weight = w;
  n.p = p;
  n.out = value_like(x, cols, graph::op_name(op));
  return g_.add_node(n);
}

int32_t GraphBuilder::embed(int32_t table) {
  Node n{OpKind::kEmbed};
  n.weight = table;
  n.out = g_.add_value("embed", g_.weights[table].cols, Rows::kTokens);
  return g_.add_node(n);
}

int32_t GraphBuilder::rms_norm(int32_t x, std::optional<int32_t> weight, float eps, int64_t group) {
  NodeParams p;
  p.eps = eps;
  p.group = group;
  return unary(OpKind::kRmsNorm, x, g_.values[x].cols, p, weight.value_or(-1));
}

int32_t GraphBuilder::matmul(int32_t x, int32_t weight) {
  const graph::Weight& w = g_.weights[weight];
  if (g_.values[x].cols != w.cols)
    throw Error(ErrorCode::kInternal, "matmul of " + std::to_string(g_.values[x].cols) + " columns by '" + w.name + "'");
  return unary(OpKind::kMatMul, x, w.rows, {}, weight);
}

int32_t GraphBuilder::add(int32_t a, int32_t b) {
  Node n{OpKind::kAdd};
  n.in[0] = a;
  n.in[1] = b;
  n.out = value_like(a, g_.values[a].cols, "add");
  return g_.add_node(n);
}

int32_t GraphBuilder::add_bias(int32_t x, int32_t bias) {
  return unary(OpKind::kAddBias, x, g_.values[x].cols, {}, bias);
}

int32_t GraphBuilder::scale(int32_t x, float s) {
  NodeParams p;
  p.scale = s;
  return unary(OpKind::kScale, x, g_.values[x].cols, p);
}

int32_t GraphBuilder::rope(int32_t x, int64_t n_head, int64_t head_dim, int64_t n_rot, float freq_base,
                           float freq_scale, graph::RopeKind kind, std::optional<int32_t> freq_factors) {
  NodeParams p;
  p.n_head = n_head;
  p.head_dim = head_dim;
  p.n_rot = n_rot;
  p.freq_base = freq_base;
  p.freq_scale = freq_scale;
  p.rope = kind;
  if (freq_factors) {
    const graph::Weight& w = g_.weights[*freq_factors];
    const auto* f = static_cast<const float*>(w.data);
    for (int64_t i = 0; i < w.cols; ++i)
      if (!(f[i] > 0.0f) || !std::isfinite(f[i]))
        throw Error(ErrorCode::kFormat, file_.path() + ": tensor '" + w.name + "' holds a frequency factor that is not a positive number (element " + std::to_string(i) + ")");
  }
  return unary(OpKind::kRope, x, g_.values[x].cols, p, freq_factors.value_or(-1));
}

void GraphBuilder::store_kv(int32_t layer, int32_t k, int32_t v) {
  Node n{OpKind::kStoreKv};
  n.in[0] = k;
  n.in[1] = v;
  n.p.layer = layer;
  g_.add_node(n);
}

int32_t GraphBuilder::attention(int32_t layer, int32_t q, float scale, int64_t sliding_window, float softcap) {
  NodeParams p;
  p.layer = layer;
  p.n_head = hp_.n_head;
  p.n_head_kv = hp_.n_head_kv;
  p.head_dim = hp_.head_dim_k;
  p.head_dim_v = hp_.head_dim_v;
  p.scale = scale;
  p.sliding_window = sliding_window;
  p.softcap = softcap;
  return unary(OpKind::kAttention, q, hp_.n_head * hp_.head_dim_v, p);
}

int32_t GraphBuilder::swiglu(int32_t gate, int32_t up) {
  Node n{OpKind::kSwiGlu};
  n.in[0] = gate;
  n.in[1] = up;
  n.out = value_like(gate, g_.values[gate].cols, "swiglu");
  return g_.add_node(n);
}

int32_t GraphBuilder::geglu(int32_t gate, int32_t up) {
  Node n{OpKind::kGeGlu};
  n.in[0] = gate;
  n.in[1] = up;
  n.out = value_like(gate, g_.values[gate].cols, "geglu");
  return g_.add_node(n);
}

int32_t GraphBuilder::last_rows(int32_t x) {
  Node n{OpKind::kLastRows};
  n.in[0] = x;
  n.out = g_.add_value("last_rows", g_.values[x].cols, Rows::kOutputs);
  return g_.add_node(n);
}

graph::Graph GraphBuilder::finish(int32_t logits) {
  g_.logits = logits;
  return std::move(g_);
}

}  // namespace hearth::models
