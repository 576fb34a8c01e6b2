// Session: one conversation with a model — its KV cache, the tokens evaluated
// so far, and an executor sized for its context. decode() feeds new tokens and
// returns the logits of the last one.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "graph/executor.h"
#include "models/model.h"
#include "runtime/kv_cache.h"

namespace hearth::runtime {

struct SessionOptions {
  int64_t n_ctx = 0;     // 0: min(model's training context, 4096)
  int64_t n_batch = 256; // tokens per forward pass during prompt processing
  int n_threads = 0;     // 0: all hardware threads
};

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
  const KvCache& kv_cache() const { return kv_; }
  int n_threads() const { return pool_.size(); }

 private:
  std::shared_ptr<const models::Model> model_;
  int64_t n_ctx_;
  int64_t n_batch_;
  ThreadPool pool_;
  KvCache kv_;
  std::unique_ptr<graph::Executor> executor_;
  std::vector<int32_t> history_;
  std::vector<int32_t> positions_;
};

}  // namespace hearth::runtime
