// DType: element types of tensors, numbered exactly as GGUF/ggml number them so a
// tensor's type field in a GGUF file maps straight onto this enum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hearth {

enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kBF16 = 30,
};

struct DTypeInfo {
  std::string_view name;   // "f32", "q4_k", ...: as ggml names them
  int64_t block_elems;     // elements per block (1 for plain types)
  int64_t block_bytes;     // bytes per block
  bool quantized;
};

// Info for a known GGUF type id; nullopt for ids this build does not know.
std::optional<DTypeInfo> dtype_info(uint32_t ggml_type_id);
const DTypeInfo& dtype_info(DType type);  // type must be a known enumerator

inline std::string_view dtype_name(DType type) { return dtype_info(type).name; }
std::optional<DType> dtype_from_name(std::string_view name);  // case-insensitive

// Bytes used by a row of n elements; n must be a multiple of the block size.
int64_t dtype_row_bytes(DType type, int64_t n);

}  // namespace hearth
