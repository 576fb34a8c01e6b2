// Matrix multiplication of f32 activations by weights of any supported dtype:
// y[t][j] = sum_k w[j][k] * x[t][k], threaded over weight rows.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "core/sum_order.h"

namespace hearth {
class ThreadPool;
}

namespace hearth::cpu {

struct MatMulShape {
  DType weight_type = DType::kF32;
  int64_t k = 0;         // inner dimension (weight row length)
  int64_t n_out = 0;     // weight rows = output columns
  int64_t n_tokens = 0;  // activation rows
};

// Bytes of scratch matmul needs for the converted activations of this shape.
size_t matmul_scratch_bytes(const MatMulShape& shape);

// w: n_out rows of k elements in weight_type, row-major; x: n_tokens rows of k
// floats; y: n_tokens rows of n_out floats. pool may be null (single thread).
void matmul(const MatMulShape& shape, const void* w, const float* x, float* y, void* scratch,
            ThreadPool* pool);

// One weight matrix of a group that multiplies the same input.
struct MatMulTarget {
  DType weight_type = DType::kF32;
  int64_t n_out = 0;
  const void* w = nullptr;
  float* y = nullptr;  // n_tokens rows of n_out floats
  // w is q4_K in 8-row groups (q4k_x8.h), read by the grouped kernel; only
  // where q4k_x8_available() and the shape fits.
  bool q4k_x8 = false;
};

// How matmul sums each result for this weight type and token count (the same
// inside a matmul_group): another backend computing in this order gives the
// same floats. kOther for the kernels no order describes.
SumOrder matmul_sum_order(DType weight_type, int64_t n_tokens);

// True when a and b convert their input the same way, so one conversion serves both.
bool matmul_share_input(DType a, DType b);

// Several matmuls of one input x (n_tokens rows of k floats), such as a layer's
// query, key and value projections: x is converted once and every target's rows
// are spread over the threads in one parallel loop. All targets must share the
// input conversion (matmul_share_input); scratch: the most matmul_scratch_bytes
// asks for any of them.
void matmul_group(int64_t k, int64_t n_tokens, const MatMulTarget* targets, int n_targets, const float* x,
                  void* scratch, ThreadPool* pool);

}  // namespace hearth::cpu
