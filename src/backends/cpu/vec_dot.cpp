#include "backends/cpu/vec_dot.h"

#include <string>

#include "core/error.h"

namespace hearth::cpu {

WeightKernels weight_kernels(DType weight_type, Isa isa) {
  for (int level = static_cast<int>(isa); level >= 0; --level) {
    WeightKernels k;
    const Isa at = static_cast<Isa>(level);
    if (!isa_supported(at)) continue;
    if (legacy_weight_kernels(weight_type, at, &k) || kquant_weight_kernels(weight_type, at, &k)) return k;
  }
  throw Error(ErrorCode::kUnsupported,
              "no matmul kernel for weight type " + std::string(dtype_name(weight_type)));
}

bool has_weight_kernels(DType weight_type) {
  WeightKernels k;
  return legacy_weight_kernels(weight_type, Isa::kScalar, &k) ||
         kquant_weight_kernels(weight_type, Isa::kScalar, &k);
}

}  // namespace hearth::cpu
