// MemoryPlanner: lays every activation of a graph into one arena. Each value
// lives from the node that writes it to the last node that reads it; values
// whose lifetimes do not overlap share bytes (greedy by size, lowest offset),
// and an element-wise node writes over an input of its shape that nothing
// reads after it (in place).
#pragma once

#include <cstdint>

#include "graph/graph.h"

namespace hearth::graph {

struct ArenaPlan {
  int64_t arena_bytes = 0;  // planned arena size
  int64_t naive_bytes = 0;  // sum of all values if each had its own buffer
};

// Element-wise ops whose kernels may write over an input (whole rows, never a
// partial overlap): add, mul, scale, bias, SwiGLU, GeGLU, RMSNorm, RoPE.
bool computes_in_place(OpKind op);

// Sets Value::offset for every value of g, sized for max_tokens token rows and
// max_outputs output rows. Offsets are 64-byte aligned.
ArenaPlan plan_memory(Graph& g, int64_t max_tokens, int64_t max_outputs);

}  // namespace hearth::graph
