#include "runtime/memory_budget.h"

#include "core/byte_size.h"
#include "core/error.h"
#include "core/process_memory.h"
#include "graph/executor.h"
#include "graph/regrouped_weight.h"

namespace hearth::runtime {
namespace {

constexpr int64_t kOverhead = int64_t{64} << 20;

}  // namespace

MemoryEstimate estimate_memory(const models::Model& model, const SessionShape& s, const KvPoolShape& kv,
                               int64_t kv_positions) {
  MemoryEstimate e;
  e.n_ctx = s.n_ctx;
  e.weights = model.weight_bytes();
  e.repacked = graph::regrouped_growth_bytes(model.graph());
  const graph::ExecutorMemory ex =
      graph::Executor::memory_needed(model.graph(), s.n_batch, s.n_ctx, s.n_threads, s.max_outputs);
  e.arena = ex.arena;
  e.arena_naive = ex.arena_naive;
  e.scratch = ex.scratch;
  e.kv_per_position = kv_block_bytes(kv) / kv.block_positions;
  e.kv = kv_positions > 0 ? kv_bytes_for(kv, kv_positions) : 0;
  e.overhead = kOverhead;
  return e;
}

MemoryEstimate estimate_memory(const models::Model& model, const SessionOptions& options) {
  const SessionShape s = session_shape(model, options);
  return estimate_memory(model, s, kv_pool_shape(model, options), options.kv_pool ? 0 : s.n_ctx);
}

int64_t default_memory_budget() {
  const int64_t physical = system_memory().physical;
  return physical > 0 ? physical : int64_t{1} << 62;
}

void check_memory_budget(const MemoryEstimate& e, int64_t budget, DType kv_type) {
  if (e.total() <= budget) return;
  std::string msg = "the model needs about " + format_bytes(e.total()) + " (weights " + format_bytes(e.weights + e.repacked) +
                    ", KV cache " + format_bytes(e.kv) + " for " + std::to_string(e.n_ctx) +
                    " positions, activations " + format_bytes(e.arena + e.scratch) + ", runtime " +
                    format_bytes(e.overhead) + "), more than the memory budget of " + format_bytes(budget) + "; ";
  const int64_t fixed = e.weights + e.repacked + e.arena + e.scratch + e.overhead;
  if (fixed >= budget || e.kv_per_position <= 0) {
    msg += "the weights alone do not fit: use a smaller quantization (hearth quantize) or a larger --max-memory";
  } else {
    const int64_t fits = (budget - fixed) / e.kv_per_position;
    if (fits >= 16) {
      msg += "a context of up to " + std::to_string(fits / 16 * 16) + " positions fits (-c " +
             std::to_string(fits / 16 * 16) + ")";
    } else {
      msg += "not even a short context fits";
    }
    // q8_0 rows take 34 bytes per 32 values, f16 ones 64.
    if (kv_type == DType::kF16 && fixed + e.kv * 34 / 64 <= budget)
      msg += ", or keep the context with --kv-type q8_0";
  }
  throw Error(ErrorCode::kOutOfMemory, msg);
}

}  // namespace hearth::runtime
