// Model quantizer: rewrites a GGUF model with its weight matrices converted to
// one type (f32, f16, bf16 or a block format), everything else kept, so that the
// result loads in Hearth and in llama.cpp. The engine behind `hearth quantize`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "formats/gguf.h"

namespace hearth::models {

// The types a model can be quantized to, in the order help and errors list them.
const std::vector<DType>& quantize_target_types();
// "f32, f16, bf16, q8_0, ..." for messages.
std::string quantize_target_names();
// A target type by name (case-insensitive, as dtype_name spells it); throws
// Error(kInvalidArgument) listing the accepted names for anything else.
DType parse_quantize_type(std::string_view name);

// llama.cpp's general.file_type (LLAMA_FTYPE_*) for a model whose matrices are
// target; a pure K-quant is the "_S" variant (no per-tensor upgrades).
uint32_t llama_file_type(DType target);

// Whether a tensor is a weight matrix the quantizer converts: 2-D, named *.weight,
// and not one llama.cpp keeps exact (norms, MoE routers, position embeddings).
bool is_quantizable_weight(const formats::GgufTensorInfo& tensor);

// The type a weight matrix with rows of row_length elements gets when target is
// asked for: target when its block fits the row, else llama.cpp's fallback
// (q4_k → q5_0, q5_k → q5_1, q6_k → q8_0), else f16 (block size 1 always fits).
DType type_for_row_length(DType target, int64_t row_length);

struct QuantizeOptions {
  DType type = DType::kQ8_0;
  int n_threads = 0;  // 0: all hardware threads
};

// Why a tensor ended up with its output type.
enum class ConversionKind {
  kConverted,  // requantized to the requested type
  kFallback,   // requantized to a fallback: the requested block does not fit its rows
  kCopied,     // a weight matrix already of the chosen type: bytes copied unchanged
  kKept,       // not a weight matrix (norm, bias, ...): kept as it is
};
const char* conversion_kind_name(ConversionKind kind);  // "converted", "fallback", "copied", "kept"

// How many tensors went from one type to another, for one reason.
struct Conversion {
  DType from;
  DType to;
  ConversionKind kind;
  int64_t count = 0;
  int64_t bytes_in = 0;  // tensor data
  int64_t bytes_out = 0;
};

struct QuantizeReport {
  std::string input;
  std::string output;
  DType type = DType::kQ8_0;
  uint32_t file_type = 0;  // the general.file_type written
  int n_threads = 0;
  int64_t n_tensors = 0;
  std::vector<Conversion> conversions;  // one per distinct (from, to, kind), first-seen order
  uint64_t file_bytes_in = 0;
  uint64_t file_bytes_out = 0;
  double seconds = 0;
};

// Reads in, writes out (atomically: on any failure no file is left at out).
// Throws hearth::Error naming the file and the problem: a missing or corrupt
// input, out naming the same file as in, a type that is not a target, a tensor
// that must be converted but cannot be dequantized, an unwritable output.
QuantizeReport quantize_model(const std::string& in, const std::string& out, const QuantizeOptions& options);

}  // namespace hearth::models
