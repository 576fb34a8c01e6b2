// Dot-product kernels for f32, f16, bf16 and the 32-element block formats.
#include "backends/cpu/vec_dot.h"

namespace hearth::cpu {

bool legacy_weight_kernels(DType weight_type, Isa isa, WeightKernels* out) { return false; }

}  // namespace hearth::cpu
