#include "graph/executor.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "backends/cpu/matmul.h"
#include "backends/cpu/ops.h"
#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "graph/regrouped_weight.h"
#include "quant/quantize.h"

namespace hearth::graph {
namespace {

uint8_t* aligned_alloc_bytes(size_t bytes, const char* what) {
  const size_t rounded = (std::max<size_t>(bytes, 64) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw Error(ErrorCode::kOutOfMemory, std::string("cannot allocate ") + what + " of " +
                                                   std::to_string(rounded) + " bytes");
  return static_cast<uint8_t*>(p);
}

cpu::KvLayerView layer_view(const KvView& kv, int32_t layer) {
  cpu::KvLayerView v;
  v.type = kv.type;
  v.k = kv.base + kv.keys_offset(layer);
  v.v = kv.base + kv.values_offset(layer);
  v.row_bytes = kv.row_bytes;
  v.block_positions = kv.block_positions;
  v.block_stride = kv.block_bytes;
  v.blocks = kv.blocks;
  return v;
}

cpu::AttentionParams attention_params(const Node& node, const Graph& g, int64_t n_tokens, int64_t n_past) {
  cpu::AttentionParams ap;
  ap.n_tokens = n_tokens;
  ap.n_past = n_past;
  ap.n_head = node.p.n_head;
  ap.n_head_kv = node.p.n_head_kv;
  ap.head_dim_k = node.p.head_dim;
  ap.head_dim_v = node.p.head_dim_v;
  ap.scale = node.p.scale;
  ap.sliding_window = node.p.sliding_window;
  ap.softcap = node.p.softcap;
  return ap;
}

// Scratch serves one node at a time: the largest matmul's converted activations
// or the attention's per-thread buffers.
size_t scratch_bytes_for(const Graph& g, int64_t max_tokens, int64_t max_context, int threads) {
  size_t scratch = 0;
  for (const Node& node : g.nodes) {
    if (node.op == OpKind::kMatMul) {
      const Weight& w = g.weights[node.weight];
      scratch = std::max(scratch, cpu::matmul_scratch_bytes({w.type, w.cols, w.rows, max_tokens}));
    } else if (node.op == OpKind::kAttention) {
      // The most positions a batch can attend over: a full batch at the end of the context.
      const cpu::AttentionParams ap =
          attention_params(node, g, max_tokens, std::max<int64_t>(0, max_context - max_tokens));
      scratch = std::max(scratch, static_cast<size_t>(cpu::attention_scratch_floats(ap, threads)) * sizeof(float));
    }
  }
  return scratch;
}

}  // namespace

ExecutorMemory Executor::memory_needed(const Graph& g, int64_t max_tokens, int64_t max_context, int n_threads,
                                       int64_t max_outputs) {
  Graph copy = g;  // the planner writes offsets
  const ArenaPlan plan = plan_memory(copy, max_tokens, max_outputs > 0 ? std::min(max_outputs, max_tokens) : max_tokens);
  return {plan.arena_bytes, plan.naive_bytes,
          static_cast<int64_t>(scratch_bytes_for(g, max_tokens, max_context, std::max(1, n_threads)))};
}

Executor::Executor(Graph g, int64_t max_tokens, int64_t max_context, ThreadPool* pool, int64_t max_outputs,
                   Offload offload)
    : graph_(std::move(g)),
      max_tokens_(max_tokens),
      max_outputs_(max_outputs > 0 ? std::min(max_outputs, max_tokens) : max_tokens),
      max_context_(max_context),
      pool_(pool) {
  if (max_tokens <= 0 || max_context <= 0)
    throw Error(ErrorCode::kInvalidArgument, "executor needs a positive batch size and context");
  if (graph_.kv_dim_k != graph_.kv_dim_v)
    throw Error(ErrorCode::kUnsupported, "key and value caches of different widths are not supported");
  plan_ = plan_memory(graph_, max_tokens_, max_outputs_);
  scratch_bytes_ = scratch_bytes_for(graph_, max_tokens, max_context, pool ? pool->size() : 1);
  if (offload.device)
    device_ = std::make_unique<DeviceExecutor>(graph_, plan_.arena_bytes, max_tokens_, std::move(offload));
  group_matmuls();
  attention_jobs_.reserve(static_cast<size_t>(max_tokens_));  // at most one sequence per row
  arena_ = aligned_alloc_bytes(static_cast<size_t>(plan_.arena_bytes), "activation arena");
  scratch_ = aligned_alloc_bytes(scratch_bytes_, "kernel scratch");
}

Executor::~Executor() {
  std::free(arena_);
  std::free(scratch_);
}

const float* Executor::run(const Batch& batch) {
  if (batch.n_tokens <= 0 || batch.n_tokens > max_tokens_)
    throw Error(ErrorCode::kInvalidArgument, "batch of " + std::to_string(batch.n_tokens) +
                                                 " tokens; this executor takes 1 to " + std::to_string(max_tokens_));
  if (!batch.tokens || !batch.positions) throw Error(ErrorCode::kInvalidArgument, "batch has no tokens or positions");
  if (batch.n_outputs <= 0 || batch.n_outputs > batch.n_tokens || batch.n_outputs > max_outputs_)
    throw Error(ErrorCode::kInvalidArgument, "n_outputs must be within 1..n_tokens and at most " +
                                                 std::to_string(max_outputs_) + " for this executor");
  if (batch.output_rows)
    for (int64_t i = 0; i < batch.n_outputs; ++i)
      if (batch.output_rows[i] < 0 || batch.output_rows[i] >= batch.n_tokens)
        throw Error(ErrorCode::kInvalidArgument, "output row " + std::to_string(batch.output_rows[i]) +
                                                     " is outside the batch of " + std::to_string(batch.n_tokens));
  const BatchSequence single{0, batch.n_tokens, batch.n_past, batch.kv};
  const std::span<const BatchSequence> sequences =
      batch.sequences ? std::span(batch.sequences, static_cast<size_t>(batch.n_sequences)) : std::span(&single, 1);
  if (sequences.empty()) throw Error(ErrorCode::kInvalidArgument, "batch has no sequences");
  int64_t next_row = 0;
  for (const BatchSequence& seq : sequences) {
    if (seq.first != next_row || seq.n_tokens <= 0 || seq.first + seq.n_tokens > batch.n_tokens)
      throw Error(ErrorCode::kInvalidArgument, "batch sequences must cover its rows in order, each with tokens");
    next_row += seq.n_tokens;
    if (!seq.kv || !seq.kv->base || !seq.kv->blocks) throw Error(ErrorCode::kInvalidArgument, "batch has no KV cache");
    if (seq.kv->row_bytes != dtype_row_bytes(seq.kv->type, graph_.kv_dim_k))
      throw Error(ErrorCode::kInvalidArgument, "KV cache rows do not match the model's key width");
    const int64_t available = std::min(seq.kv->capacity(), max_context_);
    if (seq.n_past < 0 || seq.n_past + seq.n_tokens > available)
      throw Error(ErrorCode::kInvalidArgument, "context full: " + std::to_string(seq.n_past + seq.n_tokens) +
                                                   " positions needed, " + std::to_string(available) + " available");
    for (int64_t t = 0; t < seq.n_tokens; ++t)
      if (batch.positions[seq.first + t] != seq.n_past + t)
        throw Error(ErrorCode::kInvalidArgument, "batch row " + std::to_string(seq.first + t) + " has position " +
                                                     std::to_string(batch.positions[seq.first + t]) + ", expected " +
                                                     std::to_string(seq.n_past + t));
  }
  if (next_row != batch.n_tokens)
    throw Error(ErrorCode::kInvalidArgument, "batch sequences must cover its rows in order, each with tokens");
  const std::vector<Node>& nodes = graph_.nodes;
  if (device_) device_->begin_pass(batch);
  for (size_t i = 0; i < nodes.size();) {
    if (device_) {
      device_->copy_inputs(i, arena_, batch);
      if (device_->on_device(i)) {
        device_->run(i, batch);
        ++i;
        continue;
      }
    }
    if (matmul_group_[i] > 1) {
      run_matmul_group(i, batch);
      i += static_cast<size_t>(matmul_group_[i]);
    } else {
      run_node(nodes[i], batch, sequences);
      ++i;
    }
  }
  if (device_) device_->end_pass(arena_, batch);
  return value(graph_.logits);
}

void Executor::group_matmuls() {
  // Consecutive matmuls of one input (a layer's q, k and v; its gate and up)
  // run as one group. No node between them, so no order changes.
  const std::vector<Node>& nodes = graph_.nodes;
  matmul_group_.assign(nodes.size(), 1);
  constexpr int kMaxGroup = 8;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].op != OpKind::kMatMul || (device_ && device_->on_device(i))) continue;
    const DType first = graph_.weights[nodes[i].weight].type;
    size_t j = i + 1;
    while (j < nodes.size() && j - i < kMaxGroup && nodes[j].op == OpKind::kMatMul &&
           !(device_ && device_->on_device(j)) &&
           nodes[j].in[0] == nodes[i].in[0] && nodes[j].out != nodes[i].in[0] &&
           graph_.weights[nodes[j].weight].cols == graph_.weights[nodes[i].weight].cols &&
           cpu::matmul_share_input(first, graph_.weights[nodes[j].weight].type))
      ++j;
    matmul_group_[i] = static_cast<int32_t>(j - i);
    i = j - 1;
  }
}

void Executor::run_matmul_group(size_t first, const Batch& batch) {
  const Node& head = graph_.nodes[first];
  const int64_t rows = value_rows(graph_.values[head.out], batch);
  cpu::MatMulTarget targets[8];
  const int n = matmul_group_[first];
  for (int i = 0; i < n; ++i) {
    const Node& node = graph_.nodes[first + static_cast<size_t>(i)];
    targets[i] = matmul_target(graph_.weights[node.weight], value(node.out), pool_);
  }
  cpu::matmul_group(graph_.weights[head.weight].cols, rows, targets, n, value(head.in[0]), scratch_, pool_);
}

void Executor::for_rows(int64_t rows, int64_t cols, FunctionRef<void(int64_t, int64_t)> fn) {
  // Below this many elements a row-wise op is over before the other threads
  // would have woken up (token generation is always below it).
  constexpr int64_t kParallelElements = 16384;
  if (!pool_ || pool_->size() < 2 || rows < 2 || rows * cols < kParallelElements) {
    fn(0, rows);
    return;
  }
  pool_->parallel_chunks(rows, [&](int64_t r0, int64_t r1, int) {
    if (r1 > r0) fn(r0, r1 - r0);
  });
}

void Executor::run_node(const Node& node, const Batch& batch, std::span<const BatchSequence> sequences) {
  const Graph& g = graph_;
  auto rows_of = [&](int32_t v) {
    return value_rows(g.values[v], batch);
  };
  float* out = node.out >= 0 ? value(node.out) : nullptr;
  const float* in0 = node.in[0] >= 0 ? value(node.in[0]) : nullptr;
  const float* in1 = node.in[1] >= 0 ? value(node.in[1]) : nullptr;
  const int64_t rows = node.out >= 0 ? rows_of(node.out) : rows_of(node.in[0]);
  const int64_t cols = node.out >= 0 ? g.values[node.out].cols : g.values[node.in[0]].cols;
  const int64_t n = rows * cols;
  // out = op(in0, in1) element by element, rows split across the threads.
  auto binary = [&](void (*op)(const float*, const float*, float*, int64_t)) {
    for_rows(rows, cols, [&](int64_t r0, int64_t nr) {
      op(in0 + r0 * cols, in1 + r0 * cols, out + r0 * cols, nr * cols);
    });
  };

  switch (node.op) {
    case OpKind::kEmbed: {
      const Weight& w = g.weights[node.weight];
      const int64_t row_bytes = dtype_row_bytes(w.type, w.cols);
      for (int64_t t = 0; t < rows; ++t) {
        const int32_t tok = batch.tokens[t];
        if (tok < 0 || tok >= w.rows)
          throw Error(ErrorCode::kInvalidArgument,
                      "token id " + std::to_string(tok) + " is outside the vocabulary (0.." +
                          std::to_string(w.rows - 1) + ")");
        quant::dequantize_row(w.type, static_cast<const uint8_t*>(w.data) + tok * row_bytes, out + t * cols, cols);
      }
      break;
    }
    case OpKind::kRmsNorm: {
      const int64_t group = node.p.group > 0 ? node.p.group : cols;
      const float* weight = node.weight >= 0 ? static_cast<const float*>(g.weights[node.weight].data) : nullptr;
      for_rows(rows, cols, [&](int64_t r0, int64_t nr) {
        cpu::rms_norm(in0 + r0 * cols, weight, out + r0 * cols, nr * cols / group, group, node.p.eps);
      });
      break;
    }
    case OpKind::kMatMul: {
      const Weight& w = g.weights[node.weight];
      const cpu::MatMulTarget target = matmul_target(w, out, pool_);
      cpu::matmul_group(w.cols, rows, &target, 1, in0, scratch_, pool_);
      break;
    }
    case OpKind::kAdd: binary(cpu::add); break;
    case OpKind::kMul: binary(cpu::mul); break;
    case OpKind::kAddBias:
      cpu::add_row_broadcast(in0, static_cast<const float*>(g.weights[node.weight].data), out, rows, cols);
      break;
    case OpKind::kScale: cpu::scale(in0, node.p.scale, out, n); break;
    case OpKind::kRope: {
      const float* factors = node.weight >= 0 ? static_cast<const float*>(g.weights[node.weight].data) : nullptr;
      for_rows(rows, cols, [&](int64_t r0, int64_t nr) {
        if (out != in0) std::copy(in0 + r0 * cols, in0 + (r0 + nr) * cols, out + r0 * cols);
        cpu::rope(out + r0 * cols, nr, node.p.n_head, node.p.head_dim, node.p.n_rot, batch.positions + r0,
                  node.p.freq_base, node.p.freq_scale,
                  node.p.rope == RopeKind::kNeox ? cpu::RopeMode::kNeox : cpu::RopeMode::kNormal, factors);
      });
      break;
    }
    case OpKind::kStoreKv: {
      const int64_t width = g.kv_dim_k;
      for (const BatchSequence& seq : sequences) {
        const KvView& kv = *seq.kv;
        const cpu::KvLayerView layer = layer_view(kv, node.p.layer);
        uint8_t* keys = kv.base + kv.keys_offset(node.p.layer);  // layer.k, writable
        uint8_t* values = kv.base + kv.values_offset(node.p.layer);
        for (int64_t t = seq.first; t < seq.first + seq.n_tokens; ++t) {
          const int64_t row = layer.row_offset(seq.n_past + (t - seq.first));
          quant::quantize_row(kv.type, in0 + t * width, keys + row, width);
          quant::quantize_row(kv.type, in1 + t * width, values + row, width);
        }
      }
      break;
    }
    case OpKind::kAttention: {
      // Each sequence's queries over its own cache.
      const int64_t q_cols = g.values[node.in[0]].cols;
      attention_jobs_.clear();
      for (const BatchSequence& seq : sequences)
        attention_jobs_.push_back({attention_params(node, g, seq.n_tokens, seq.n_past), in0 + seq.first * q_cols,
                                   layer_view(*seq.kv, node.p.layer), out + seq.first * cols});
      cpu::attention_batch(attention_jobs_, reinterpret_cast<float*>(scratch_), pool_);
      break;
    }
    case OpKind::kSwiGlu: binary(cpu::swiglu); break;
    case OpKind::kGeGlu: binary(cpu::geglu); break;
    case OpKind::kLastRows: {
      const int64_t in_rows = rows_of(node.in[0]);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t from = batch.output_rows ? batch.output_rows[r] : in_rows - rows + r;
        std::copy(in0 + from * cols, in0 + (from + 1) * cols, out + r * cols);
      }
      break;
    }
  }
}

}  // namespace hearth::graph
