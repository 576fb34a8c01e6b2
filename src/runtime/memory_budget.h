// Memory budget: what a session of a model will need (weights, activation
// arena, kernel scratch, KV cache for its context), checked against a budget
// (--max-memory, by default the machine's physical RAM) before anything large
// is allocated or any weight page is read, so that a model that cannot fit is
// refused with advice instead of being killed for lack of memory halfway.
#pragma once

#include <cstdint>
#include <string>

#include "models/model.h"
#include "runtime/session.h"

namespace hearth::runtime {

struct MemoryEstimate {
  int64_t weights = 0;      // tensor bytes of the file (all of them may become resident)
  int64_t repacked = 0;     // what regrouped copies add (graph/regrouped_weight.h), at their peak
  int64_t arena = 0;        // planned activation arena
  int64_t arena_naive = 0;  // one buffer per activation, for comparison
  int64_t scratch = 0;      // kernel scratch
  int64_t kv = 0;           // this session's own KV pool (0 when it shares one)
  int64_t kv_per_position = 0;
  int64_t overhead = 0;     // fixed allowance: code, tokenizer tables, thread stacks
  int64_t n_ctx = 0;        // the context the figures are for
  int64_t total() const { return weights + repacked + arena + scratch + kv + overhead; }
};

MemoryEstimate estimate_memory(const models::Model& model, const SessionOptions& options);
// The same for an executor planned for `shape` beside a KV pool of this shape
// holding kv_positions positions (0: the pool is shared, counted elsewhere).
MemoryEstimate estimate_memory(const models::Model& model, const SessionShape& shape, const KvPoolShape& kv,
                               int64_t kv_positions);

// The budget when none is given: the machine's physical RAM.
int64_t default_memory_budget();

// Throws Error(kOutOfMemory) when the estimate does not fit the budget, saying
// what each part needs and what would fit: the largest context, or a q8_0 KV
// cache, or — when the weights alone are too big — a smaller quantization.
void check_memory_budget(const MemoryEstimate& estimate, int64_t budget, DType kv_type);

}  // namespace hearth::runtime
