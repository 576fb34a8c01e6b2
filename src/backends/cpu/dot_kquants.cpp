// Dot-product kernels for the 256-element super-block formats (q4_k q5_k q6_k).
#include "backends/cpu/vec_dot.h"

namespace hearth::cpu {

bool kquant_weight_kernels(DType weight_type, Isa isa, WeightKernels* out) { return false; }

}  // namespace hearth::cpu
