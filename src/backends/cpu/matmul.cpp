#include "backends/cpu/matmul.h"

#include <algorithm>

#include "backends/cpu/vec_dot.h"
#include "core/thread_pool.h"

namespace hearth::cpu {
namespace {

// Weight rows handed to a task at a time: small enough to balance two to
// sixteen threads, large enough that a task's rows stay in cache while every
// token row streams past them.
constexpr int64_t kRowsPerTask = 16;

}  // namespace

size_t matmul_scratch_bytes(const MatMulShape& shape) {
  const WeightKernels kernels = weight_kernels(shape.weight_type);
  return static_cast<size_t>(dtype_row_bytes(kernels.act_type, shape.k) * shape.n_tokens);
}

void matmul(const MatMulShape& shape, const void* w, const float* x, float* y, void* scratch,
            ThreadPool* pool) {
  const WeightKernels kernels = weight_kernels(shape.weight_type);
  const int64_t act_row_bytes = dtype_row_bytes(kernels.act_type, shape.k);
  const int64_t w_row_bytes = dtype_row_bytes(shape.weight_type, shape.k);
  auto* act = static_cast<uint8_t*>(scratch);
  const auto* weights = static_cast<const uint8_t*>(w);

  auto convert = [&](int64_t t, int) {
    kernels.act_from_float(x + t * shape.k, act + t * act_row_bytes, shape.k);
  };
  if (pool && shape.n_tokens > 1) {
    pool->parallel_for(shape.n_tokens, convert);
  } else {
    for (int64_t t = 0; t < shape.n_tokens; ++t) convert(t, 0);
  }

  const int64_t n_tasks = (shape.n_out + kRowsPerTask - 1) / kRowsPerTask;
  auto run = [&](int64_t task, int) {
    const int64_t j0 = task * kRowsPerTask;
    const int64_t j1 = std::min(shape.n_out, j0 + kRowsPerTask);
    for (int64_t t = 0; t < shape.n_tokens; ++t) {
      const uint8_t* a = act + t * act_row_bytes;
      float* out = y + t * shape.n_out;
      for (int64_t j = j0; j < j1; ++j) out[j] = kernels.vec_dot(shape.k, weights + j * w_row_bytes, a);
    }
  };
  if (pool) {
    pool->parallel_for(n_tasks, run);
  } else {
    for (int64_t task = 0; task < n_tasks; ++task) run(task, 0);
  }
}

}  // namespace hearth::cpu
