// Executor: runs a planned graph on the CPU backend. Everything a pass needs
// (arena, matmul and attention scratch) is allocated once here, so a forward
// pass performs no heap allocation.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "backends/cpu/ops.h"
#include "core/function_ref.h"
#include "graph/device_executor.h"
#include "graph/graph.h"
#include "graph/memory_planner.h"

namespace hearth {
class ThreadPool;
}

namespace hearth::graph {

// Where one sequence's keys and values are: blocks of block_positions positions
// in one buffer (runtime::KvPool). A block holds, layer by layer, the layer's
// keys then its values, one row of row_bytes per position (kv_dim_k elements of
// `type`); the sequence's position p is in block blocks[p / block_positions].
struct KvView {
  DType type = DType::kF16;  // kF16 or kQ8_0
  uint8_t* base = nullptr;   // block 0
  int64_t row_bytes = 0;
  int64_t block_positions = 0;
  int64_t block_bytes = 0;          // 2 * n_layers * block_positions * row_bytes
  const int32_t* blocks = nullptr;  // the sequence's block table
  int64_t n_blocks = 0;

  int64_t capacity() const { return n_blocks * block_positions; }
  // Bytes from a block's start to layer l's keys (values follow them).
  int64_t keys_offset(int32_t layer) const { return 2 * layer * block_positions * row_bytes; }
  int64_t values_offset(int32_t layer) const { return keys_offset(layer) + block_positions * row_bytes; }
};

// One sequence's part of a batch: rows [first, first + n_tokens) of the batch
// are its next tokens, at positions n_past, n_past + 1, ... of its own cache.
struct BatchSequence {
  int64_t first = 0;
  int64_t n_tokens = 0;
  int64_t n_past = 0;
  const KvView* kv = nullptr;
};

// The tokens of one forward pass. One sequence: set n_past and kv. Several
// (continuous batching): set sequences, which must cover the batch's rows in
// order; each attends over its own cache only.
struct Batch {
  const int32_t* tokens = nullptr;
  const int32_t* positions = nullptr;  // per row: its sequence's n_past + its index in it
  int64_t n_tokens = 0;
  int64_t n_past = 0;           // one sequence: tokens already in its cache
  const KvView* kv = nullptr;   // one sequence: its caches (every layer of the graph)
  const BatchSequence* sequences = nullptr;
  int64_t n_sequences = 0;
  int64_t n_outputs = 1;        // rows whose logits are wanted:
  const int32_t* output_rows = nullptr;  // these rows, in this order; null: the last n_outputs
};

// The rows a value has in this batch: one per token, or one per wanted output.
inline int64_t value_rows(const Value& v, const Batch& batch) {
  return v.rows == Rows::kTokens ? batch.n_tokens : batch.n_outputs;
}

// What an executor allocates: its planned arena (beside the naive figure of one
// buffer per value) and its kernel scratch.
struct ExecutorMemory {
  int64_t arena = 0;
  int64_t arena_naive = 0;
  int64_t scratch = 0;
  DeviceMemory device;  // on the OpenCL device, when nodes run there
};

class Executor {
 public:
  // The memory an executor of g for these sizes would allocate; allocates none.
  static ExecutorMemory memory_needed(const Graph& g, int64_t max_tokens, int64_t max_context, int n_threads,
                                      int64_t max_outputs = 0);

  // Plans the arena of g for batches of up to max_tokens tokens, of which up to
  // max_outputs (0: max_tokens) want logits. With an offload, the nodes it
  // marks run on its OpenCL device and the rest here.
  Executor(Graph g, int64_t max_tokens, int64_t max_context, ThreadPool* pool, int64_t max_outputs = 0,
           Offload offload = {});
  ~Executor();

  // Runs one forward pass; returns n_outputs rows of logits (valid until the next run).
  // Throws hearth::Error for a batch that does not fit what was planned.
  const float* run(const Batch& batch);

  const Graph& graph() const { return graph_; }
  const ArenaPlan& plan() const { return plan_; }
  int64_t max_tokens() const { return max_tokens_; }
  int64_t scratch_bytes() const { return static_cast<int64_t>(scratch_bytes_); }
  ExecutorMemory memory() const {
    return {plan_.arena_bytes, plan_.naive_bytes, scratch_bytes(), device_ ? device_->memory() : DeviceMemory{}};
  }
  // The device part of each pass; null when everything runs on the CPU.
  const DeviceExecutor* device() const { return device_.get(); }
  int64_t n_vocab() const { return graph_.values[graph_.logits].cols; }

 private:
  float* value(int32_t id) { return reinterpret_cast<float*>(arena_ + graph_.values[id].offset); }
  void run_node(const Node& node, const Batch& batch, std::span<const BatchSequence> sequences);
  void group_matmuls();
  void run_matmul_group(size_t first, const Batch& batch);
  // Runs fn(first_row, n_rows) over [0, rows), split across the pool when the
  // op is big enough (prompt processing) and on the caller otherwise.
  void for_rows(int64_t rows, int64_t cols, FunctionRef<void(int64_t, int64_t)> fn);

  Graph graph_;
  ArenaPlan plan_;
  std::vector<cpu::AttentionJob> attention_jobs_;  // one per sequence of the batch, reserved once
  std::vector<int32_t> matmul_group_;  // per node: matmuls run together from here (1: alone)
  int64_t max_tokens_;
  int64_t max_outputs_;
  int64_t max_context_;
  ThreadPool* pool_;
  uint8_t* arena_ = nullptr;
  uint8_t* scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
  std::unique_ptr<DeviceExecutor> device_;
};

}  // namespace hearth::graph
