// Row kernels for aarch64 (dot_neon.cpp: Advanced SIMD; dot_neondot.cpp: with
// the dot-product extension). Activations use the scalar level's converters:
// one row's conversion is small next to the dot products over every weight row.
#pragma once

#include "backends/cpu/vec_dot.h"

namespace hearth::cpu {

// The kernel for a weight type at this level, or null (none written, or not an
// aarch64 build). Call these only where isa_supported() says the level runs.
VecDotFn vec_dot_neon(DType weight_type);
VecDotFn vec_dot_neondot(DType weight_type);

}  // namespace hearth::cpu
