// Weights the CPU reads in a layout of its own: q4_K matrices regrouped in
// 8-row groups (backends/cpu/q4k_x8.h), whose kernels (AVX2, AVX-512 VNNI)
// consume weights about twice as fast as the per-row ones. The copy is made the
// first time a matmul reads the weight (so `hearth info` or a model the
// scheduler only maps costs nothing), counted in the memory report, and the
// original bytes are handed to `release` (the model drops their mapped pages,
// which nothing reads again). HEARTH_REGROUP=0 turns it off.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>

#include "backends/cpu/matmul.h"
#include "core/thread_pool.h"
#include "graph/graph.h"

namespace hearth::graph {

struct RegroupedWeight {
  std::once_flag once;
  std::unique_ptr<uint8_t, decltype(&std::free)> bytes{nullptr, &std::free};
  std::atomic<size_t> size{0};  // set once bytes holds the copy
  // Called with the original bytes once regrouped (the model drops their
  // mapped pages; what other ops still read of them, a tied embedding's rows,
  // is mapped back from the file page by page); optional.
  std::function<void(const void* data, size_t bytes)> release;
};

// Marks the weights of g the CPU would rather read regrouped: q4_K matrices
// that matmuls read and whose shape fits, on a CPU with the kernel, unless
// HEARTH_REGROUP=0. A weight other ops read as well (a tied embedding, whose
// rows are looked up in the original layout) is read there from the mapping
// as before. Each marked weight hands its original bytes to `release` once
// its copy is made (optional). Returns how many it marked.
int mark_regroupable(Graph& g, const std::function<void(const void* data, size_t bytes)>& release = {});

// The regrouped bytes of w, made on the first call (thread-safe; spread over
// pool when one is given, which must be idle); null when w is not marked.
// Throws Error(kOutOfMemory) when the copy cannot be allocated.
const void* regrouped_data(const Weight& w, ThreadPool* pool = nullptr);

// Bytes of the regrouped copies made so far.
int64_t regrouped_bytes(const Graph& g);

// What regrouping every marked weight adds to the weights' bytes at most: the
// copies' growth over the originals (8-row groups hold the unpacked scales,
// 2.8% more), plus the largest original, which is resident beside its copy
// until the copy is made and the original released.
int64_t regrouped_growth_bytes(const Graph& g);

// The matmul target for w writing y: the regrouped copy where there is one
// (made now, on pool, if this is its first use).
cpu::MatMulTarget matmul_target(const Weight& w, float* y, ThreadPool* pool = nullptr);

}  // namespace hearth::graph
