// Row kernels for aarch64 (dot_neon.cpp: Advanced SIMD; dot_neondot.cpp: with
// the dot-product extension). Activations use the scalar level's converters:
// one row's conversion is small next to the dot products over every weight row.
#pragma once

#include "backends/cpu/vec_dot.h"

namespace hearth::cpu {

// The row kernel for a weight type at an aarch64 level (kNeon, kNeonDot), or
// null: another level, one this CPU lacks, no kernel written, or not an
// aarch64 build.
VecDotFn arm_vec_dot(DType weight_type, Isa isa);

// The two levels' kernels (dot_neon.cpp, dot_neondot.cpp); arm_vec_dot is
// the one to call: it checks that the CPU runs the level.
VecDotFn vec_dot_neon(DType weight_type);
VecDotFn vec_dot_neondot(DType weight_type);

}  // namespace hearth::cpu
