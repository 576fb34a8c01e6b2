// Engine: continuous batching for one model. Every running sequence is decoded
// in one forward pass per step; new requests join between steps; prompts are
// processed in chunks beside the decoding sequences so that a long prompt does
// not stall running generations; every sequence's keys and values live in one
// shared KV pool. One worker thread per engine runs the steps.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/thread_pool.h"
#include "graph/executor.h"
#include "models/model.h"
#include "runtime/generator.h"
#include "runtime/kv_pool.h"
#include "runtime/memory_budget.h"
#include "runtime/token_constraint.h"

namespace hearth::runtime {

struct EngineOptions {
  int max_sequences = 4;       // sequences decoded together
  int64_t n_ctx = 0;           // most positions one sequence holds (0: the model's, at most 4096)
  int64_t kv_positions = 0;    // positions in the shared pool (0: n_ctx for every sequence)
  int64_t step_tokens = 128;   // most tokens in one forward pass (decoding rows + prompt chunks)
  int n_threads = 0;           // 0: all hardware threads
  DType kv_type = DType::kF16;
  int64_t kv_block_positions = 16;
  int64_t max_waiting = 64;    // requests waiting for a free sequence; more are refused (kBusy)
};

// The sizes an engine runs at, resolved from its options; throws Error for
// invalid ones (naming the option).
struct EngineShape {
  int max_sequences = 0;
  int64_t n_ctx = 0;
  int64_t kv_blocks = 0;
  int64_t step_tokens = 0;
  int n_threads = 0;
  KvPoolShape kv;
};
EngineShape engine_shape(const models::Model& model, const EngineOptions& options);

// What an engine of this model would allocate (the KV figure is its whole pool).
MemoryEstimate estimate_engine_memory(const models::Model& model, const EngineOptions& options);

// One generated token and the text that became final with it (see
// TextStream; empty while a character or a possible stop string is incomplete).
struct EngineEvent {
  int32_t token = -1;
  std::string text;
  int64_t n_generated = 0;  // tokens generated so far, this one included
};

struct EngineResult {
  std::vector<int32_t> tokens;  // generated ids (a stopping end-of-generation token is not included)
  std::string text;             // decoded, stop string removed
  // "stop" (end of generation, stop string, or a constraint that is complete),
  // "length" (token limit or context full), "cancelled", or "error".
  std::string finish_reason;
  std::string error;            // finish_reason "error": what went wrong
  int64_t prompt_tokens = 0;
  double queued_ms = 0;         // from submit to a sequence being free for it
  double first_token_ms = 0;    // from submit to its first sampled token
  double total_ms = 0;          // from submit to the end
};

struct EngineRequest {
  std::vector<int32_t> prompt;
  GenerateOptions options;
  // Limits what may be sampled (a grammar); null: anything.
  std::unique_ptr<TokenConstraint> constraint;
  // Non-empty: the constraint applies only once the output contains this text,
  // to what follows it (whitespace right after it dropped); output that then
  // breaks the grammar at once leaves the request unconstrained.
  std::string constraint_after;
  // Called on the engine's thread, so they must be quick. on_event returning
  // false cancels the request.
  std::function<bool(const EngineEvent&)> on_event;
  std::function<void(EngineResult&&)> on_done;  // exactly once per accepted request
};

struct EngineStats {
  int active = 0;               // sequences holding a slot
  int64_t waiting = 0;          // requests queued for one
  int64_t kv_blocks = 0;
  int64_t kv_blocks_reserved = 0;  // what running sequences may grow to
  int64_t kv_blocks_in_use = 0;
  int64_t kv_bytes = 0;
  int64_t steps = 0;
  int64_t prompt_tokens = 0;    // evaluated since the engine started
  int64_t generated_tokens = 0;
};

class Engine {
 public:
  Engine(std::shared_ptr<const models::Model> model, const EngineOptions& options);
  ~Engine();  // cancels what is left and joins the worker
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request and returns its id. Throws Error(kInvalidArgument) for
  // one that can never run (empty prompt, prompt longer than the context, bad
  // sampling), Error(kBusy) when the waiting queue is full or the engine is
  // stopping. Once it returns, on_done will be called exactly once.
  uint64_t submit(EngineRequest request);
  // Cancels a queued or running request; its KV blocks are free before the
  // next step. Unknown or finished ids are ignored.
  void cancel(uint64_t id);
  // Stops taking requests, lets running and queued ones finish until the
  // deadline, then cancels the rest; returns when all are done.
  void drain(std::chrono::steady_clock::duration deadline);

  EngineStats stats() const;
  const EngineShape& shape() const { return shape_; }
  const models::Model& model() const { return *model_; }
  // Bytes the engine allocated: arena, scratch and the KV pool.
  int64_t allocated_bytes() const;

 private:
  struct Sequence;
  using Clock = std::chrono::steady_clock;

  void worker();
  void admit_locked(std::vector<std::pair<std::unique_ptr<Sequence>, const char*>>& dropped);
  void step();
  void finish(Sequence& s, const std::string& reason, const std::string& error = {});
  void sample_output(Sequence& s, const float* logits);

  std::shared_ptr<const models::Model> model_;
  EngineShape shape_;
  int64_t max_waiting_;
  ThreadPool threads_;
  std::shared_ptr<KvPool> pool_;
  std::unique_ptr<graph::Executor> executor_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::unique_ptr<Sequence>> waiting_;   // guarded by mutex_
  std::vector<std::unique_ptr<Sequence>> active_;   // admitted by the worker under mutex_
  std::vector<uint64_t> cancelled_;                 // guarded by mutex_
  int64_t reserved_blocks_ = 0;
  uint64_t next_id_ = 1;
  bool stopping_ = false;   // no new requests
  bool quit_ = false;       // the worker ends
  std::atomic<int64_t> steps_{0}, prompt_tokens_{0}, generated_tokens_{0};

  // Per-step buffers, reserved once.
  std::vector<int32_t> tokens_, positions_, output_rows_;
  std::vector<graph::BatchSequence> parts_;
  std::vector<Sequence*> outputs_;  // whose logits each output row is
  std::vector<Sequence*> stepped_;  // whose tokens each part is

  std::thread worker_;
};

}  // namespace hearth::runtime
