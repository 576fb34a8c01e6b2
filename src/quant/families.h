// How quantize.cpp finds each family's reference row conversions. Each family
// (legacy.cpp: q4_0 q4_1 q5_0 q5_1 q8_0 q8_1; kquants.cpp: q4_k q5_k q6_k q8_k)
// fills *out and returns true for the types it owns.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace hearth::quant {

using QuantizeRowFn = void (*)(const float* x, void* y, int64_t n);
using DequantizeRowFn = void (*)(const void* x, float* y, int64_t n);

struct RowConverters {
  QuantizeRowFn quantize = nullptr;      // null: this type is never produced from floats
  DequantizeRowFn dequantize = nullptr;  // null: this type is never expanded to floats
};

bool legacy_row_converters(DType type, RowConverters* out);
bool kquant_row_converters(DType type, RowConverters* out);

}  // namespace hearth::quant
