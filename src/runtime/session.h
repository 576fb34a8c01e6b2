// Session: one conversation with a model — its KV cache (blocks of a pool, its
// own or one shared with other sessions), the tokens evaluated so far, and an
// executor sized for its context. decode() feeds new tokens and returns the
// logits of the last one.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "graph/executor.h"
#include "models/model.h"
#include "runtime/kv_pool.h"

namespace hearth::runtime {

struct SessionOptions {
  int64_t n_ctx = 0;     // 0: min(model's training context, 4096)
  int64_t n_batch = 256; // tokens per forward pass during prompt processing
  int n_threads = 0;     // 0: all hardware threads
  DType kv_type = DType::kF16;     // kF16 or kQ8_0
  int64_t kv_block_positions = 16;
  // A pool shared with other sessions of the same model; null: the session gets
  // its own, with room for n_ctx positions.
  std::shared_ptr<KvPool> kv_pool;
  // Nodes to run on an OpenCL device (runtime/device_placement); none: all on the CPU.
  graph::Offload offload;
};

// The context a session gets for a requested n_ctx (0: the model's training
// context, at most 4096); throws Error for negative or absurd sizes.
int64_t resolve_context(const models::Model& model, int64_t requested);

// The sizes a session of this model with these options runs at (what its
// executor is planned for): context, prompt batch, threads, and the one row of
// logits each decode() asks for. Throws Error for invalid sizes.
struct SessionShape {
  int64_t n_ctx = 0;
  int64_t n_batch = 0;
  int n_threads = 0;
  int64_t max_outputs = 1;
};
SessionShape session_shape(const models::Model& model, const SessionOptions& options);

// The pool shape a session of this model with these options uses.
KvPoolShape kv_pool_shape(const models::Model& model, const SessionOptions& options);

class Session {
 public:
  Session(std::shared_ptr<const models::Model> model, const SessionOptions& options);

  // Evaluates tokens after those already in the context; returns the logits
  // (n_vocab floats) of the last one, valid until the next call.
  std::span<const float> decode(std::span<const int32_t> tokens);
  // Drops every token from position n on (n <= n_past()).
  void truncate(int64_t n);

  int64_t n_past() const { return static_cast<int64_t>(history_.size()); }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_vocab() const { return executor_->n_vocab(); }
  const std::vector<int32_t>& history() const { return history_; }
  const models::Model& model() const { return *model_; }
  const graph::Executor& executor() const { return *executor_; }
  const KvSequence& kv() const { return kv_; }
  int n_threads() const { return pool_.size(); }

 private:
  Session(std::shared_ptr<const models::Model> model, const SessionOptions& options, const SessionShape& shape);

  std::shared_ptr<const models::Model> model_;
  int64_t n_ctx_;
  int64_t n_batch_;
  ThreadPool pool_;
  KvSequence kv_;
  std::unique_ptr<graph::Executor> executor_;
  std::vector<int32_t> history_;
  std::vector<int32_t> positions_;
};

}  // namespace hearth::runtime
