#include "core/dtype.h"

#include <cctype>

#include "core/error.h"

namespace hearth {
namespace {

struct Entry {
  DType type;
  DTypeInfo info;
};

// Block sizes and byte counts are those of the GGUF block layouts.
constexpr Entry kTable[] = {
    {DType::kF32, {"f32", 1, 4, false}},       {DType::kF16, {"f16", 1, 2, false}},
    {DType::kQ4_0, {"q4_0", 32, 18, true}},    {DType::kQ4_1, {"q4_1", 32, 20, true}},
    {DType::kQ5_0, {"q5_0", 32, 22, true}},    {DType::kQ5_1, {"q5_1", 32, 24, true}},
    {DType::kQ8_0, {"q8_0", 32, 34, true}},    {DType::kQ8_1, {"q8_1", 32, 36, true}},
    {DType::kQ2_K, {"q2_k", 256, 84, true}},   {DType::kQ3_K, {"q3_k", 256, 110, true}},
    {DType::kQ4_K, {"q4_k", 256, 144, true}},  {DType::kQ5_K, {"q5_k", 256, 176, true}},
    {DType::kQ6_K, {"q6_k", 256, 210, true}},  {DType::kQ8_K, {"q8_k", 256, 292, true}},
    {DType::kI8, {"i8", 1, 1, false}},         {DType::kI16, {"i16", 1, 2, false}},
    {DType::kI32, {"i32", 1, 4, false}},       {DType::kI64, {"i64", 1, 8, false}},
    {DType::kF64, {"f64", 1, 8, false}},       {DType::kBF16, {"bf16", 1, 2, false}},
};

}  // namespace

std::optional<DTypeInfo> dtype_info(uint32_t ggml_type_id) {
  for (const auto& e : kTable)
    if (static_cast<uint32_t>(e.type) == ggml_type_id) return e.info;
  return std::nullopt;
}

const DTypeInfo& dtype_info(DType type) {
  for (const auto& e : kTable)
    if (e.type == type) return e.info;
  throw Error(ErrorCode::kInternal, "dtype_info: unknown dtype id " +
                                        std::to_string(static_cast<uint32_t>(type)));
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& e : kTable) {
    if (e.info.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(name[i])) != e.info.name[i]) same = false;
    if (same) return e.type;
  }
  return std::nullopt;
}

int64_t dtype_row_bytes(DType type, int64_t n) {
  const DTypeInfo& info = dtype_info(type);
  return n / info.block_elems * info.block_bytes;
}

}  // namespace hearth
