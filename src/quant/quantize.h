// Reference (scalar) conversion between f32 and every block format Hearth reads
// and writes, byte-compatible with GGUF. These are the definitions the fast
// kernels in backends/cpu are tested against.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace hearth::quant {

// True when quantize_row / dequantize_row handle this type.
bool can_quantize(DType type);
bool can_dequantize(DType type);

// n must be a multiple of the type's block size; throws Error(kUnsupported) for
// a type without a reference conversion.
void quantize_row(DType type, const float* x, void* y, int64_t n);
void dequantize_row(DType type, const void* x, float* y, int64_t n);

}  // namespace hearth::quant
