#include "quant/quantize.h"

#include <string>

#include "core/error.h"
#include "core/half.h"
#include "quant/families.h"

namespace hearth::quant {
namespace {

void f32_to_f32(const float* x, void* y, int64_t n) {
  float* out = static_cast<float*>(y);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i];
}
void f32_to_f16(const float* x, void* y, int64_t n) {
  uint16_t* out = static_cast<uint16_t*>(y);
  for (int64_t i = 0; i < n; ++i) out[i] = hearth::f32_to_f16(x[i]);
}
void f32_to_bf16(const float* x, void* y, int64_t n) {
  uint16_t* out = static_cast<uint16_t*>(y);
  for (int64_t i = 0; i < n; ++i) out[i] = hearth::f32_to_bf16(x[i]);
}
void f32_from_f32(const void* x, float* y, int64_t n) {
  const float* in = static_cast<const float*>(x);
  for (int64_t i = 0; i < n; ++i) y[i] = in[i];
}
void f16_to_f32(const void* x, float* y, int64_t n) {
  const uint16_t* in = static_cast<const uint16_t*>(x);
  for (int64_t i = 0; i < n; ++i) y[i] = hearth::f16_to_f32(in[i]);
}
void bf16_to_f32(const void* x, float* y, int64_t n) {
  const uint16_t* in = static_cast<const uint16_t*>(x);
  for (int64_t i = 0; i < n; ++i) y[i] = hearth::bf16_to_f32(in[i]);
}

using QuantizeFn = QuantizeRowFn;
using DequantizeFn = DequantizeRowFn;

RowConverters converters(DType type) {
  RowConverters c;
  switch (type) {
    case DType::kF32: return {f32_to_f32, f32_from_f32};
    case DType::kF16: return {f32_to_f16, f16_to_f32};
    case DType::kBF16: return {f32_to_bf16, bf16_to_f32};
    default: break;
  }
  if (legacy_row_converters(type, &c) || kquant_row_converters(type, &c)) return c;
  return {};
}

QuantizeFn quantizer(DType type) { return converters(type).quantize; }
DequantizeFn dequantizer(DType type) { return converters(type).dequantize; }

void check_blocks(DType type, int64_t n) {
  const int64_t block = dtype_info(type).block_elems;
  if (n % block != 0)
    throw Error(ErrorCode::kInvalidArgument, "row of " + std::to_string(n) + " elements is not a multiple of " +
                                                 std::string(dtype_name(type)) + "'s block size " +
                                                 std::to_string(block));
}

}  // namespace

bool can_quantize(DType type) { return quantizer(type) != nullptr; }
bool can_dequantize(DType type) { return dequantizer(type) != nullptr; }

void quantize_row(DType type, const float* x, void* y, int64_t n) {
  QuantizeFn fn = quantizer(type);
  if (!fn) throw Error(ErrorCode::kUnsupported, "cannot quantize to " + std::string(dtype_name(type)));
  check_blocks(type, n);
  fn(x, y, n);
}

void dequantize_row(DType type, const void* x, float* y, int64_t n) {
  DequantizeFn fn = dequantizer(type);
  if (!fn) throw Error(ErrorCode::kUnsupported, "cannot dequantize " + std::string(dtype_name(type)));
  check_blocks(type, n);
  fn(x, y, n);
}

}  // namespace hearth::quant
