// Model quantizer: plans every tensor's output type, converts the weight matrices
// row by row over a thread pool while the atomic writer streams the new GGUF out.
#include "models/model_quantizer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "quant/quantize.h"

namespace hearth::models {
namespace {

namespace fs = std::filesystem;

// llama.cpp writes this with every quantized file (GGML_QNT_VERSION); its loader
// uses it to recognise files made before the block layouts last changed.
constexpr uint32_t kQuantizationVersion = 2;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

struct TensorPlan {
  DType to;
  ConversionKind kind;
};

TensorPlan plan_tensor(const formats::GgufTensorInfo& t, DType target) {
  if (!is_quantizable_weight(t)) return {t.type, ConversionKind::kKept};
  const DType to = type_for_row_length(target, t.dims[0]);
  if (to == t.type) return {to, ConversionKind::kCopied};
  return {to, to == target ? ConversionKind::kConverted : ConversionKind::kFallback};
}

// Checks the paths before any work, so that a minutes-long conversion does not
// end in an error that was knowable at the start.
void check_paths(const std::string& in, const std::string& out) {
  std::error_code ec;
  if (in.empty()) throw Error(ErrorCode::kInvalidArgument, "quantize: no input file given");
  if (out.empty()) throw Error(ErrorCode::kInvalidArgument, "quantize: no output file given");
  if (!fs::exists(in, ec)) throw Error(ErrorCode::kNotFound, in + ": no such file");
  if (fs::is_directory(in, ec))
    throw Error(ErrorCode::kInvalidArgument, in + ": is a directory, not a GGUF file");
  if (fs::exists(out, ec)) {
    if (fs::is_directory(out, ec))
      throw Error(ErrorCode::kInvalidArgument, out + ": is a directory; give the output file's name");
    // equivalent() also catches hard links and symlinks to the input.
    if (fs::equivalent(in, out, ec))
      throw Error(ErrorCode::kInvalidArgument,
                  out + ": is the input file itself; write the quantized model to a new file");
  } else if (fs::weakly_canonical(in, ec) == fs::weakly_canonical(out, ec)) {
    throw Error(ErrorCode::kInvalidArgument,
                out + ": is the input file itself; write the quantized model to a new file");
  }
  fs::path dir = fs::path(out).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorCode::kNotFound, out + ": the output directory " + dir.string() + " does not exist");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw Error(ErrorCode::kIo,
                out + ": cannot write to the output directory " + dir.string() + ": " + std::strerror(errno));
}

// About this many output bytes are converted at a time: large enough that the
// threads share out plenty of rows, small enough that memory stays flat however
// large the model.
constexpr int64_t kChunkBytes = int64_t{8} << 20;

// Converts one tensor while the writer streams it out: chunk by chunk of rows, each
// row expanded to f32 and quantized to `to`, the chunk's rows spread over the pool.
void convert_tensor(const formats::GgufTensorInfo& t, const uint8_t* src, DType to, ThreadPool& pool,
                    const formats::GgufWriter::TensorSink& sink) {
  const int64_t cols = t.dims[0];
  const int64_t rows = t.n_elements() / cols;
  const int64_t in_row = dtype_row_bytes(t.type, cols), out_row = dtype_row_bytes(to, cols);
  const int64_t chunk_rows = std::clamp<int64_t>(kChunkBytes / out_row, 1, rows);
  std::vector<uint8_t> dst(static_cast<size_t>(out_row * chunk_rows));
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.size()),
                                          std::vector<float>(static_cast<size_t>(cols)));
  // Several tasks per thread keep both cores busy when one of them is slowed by other work.
  const int64_t per_task = std::max<int64_t>(1, chunk_rows / (pool.size() * 8));
  std::mutex failure_mutex;
  std::exception_ptr failure;
  for (int64_t first = 0; first < rows; first += chunk_rows) {
    const int64_t n = std::min(chunk_rows, rows - first);
    pool.parallel_for((n + per_task - 1) / per_task, [&](int64_t task, int thread) {
      try {  // parallel_for's tasks must not throw
        float* f = scratch[static_cast<size_t>(thread)].data();
        for (int64_t r = task * per_task, end = std::min(n, r + per_task); r < end; ++r) {
          quant::dequantize_row(t.type, src + (first + r) * in_row, f, cols);
          quant::quantize_row(to, f, dst.data() + r * out_row, cols);
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    });
    if (failure) std::rethrow_exception(failure);
    sink(dst.data(), static_cast<size_t>(n * out_row));
  }
}

void count(std::vector<Conversion>& conversions, DType from, DType to, ConversionKind kind, int64_t bytes_in,
           int64_t bytes_out) {
  auto it = std::find_if(conversions.begin(), conversions.end(),
                         [&](const Conversion& c) { return c.from == from && c.to == to && c.kind == kind; });
  if (it == conversions.end()) it = conversions.insert(conversions.end(), Conversion{from, to, kind});
  ++it->count;
  it->bytes_in += bytes_in;
  it->bytes_out += bytes_out;
}

}  // namespace

const std::vector<DType>& quantize_target_types() {
  static const std::vector<DType> types = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0,
                                           DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                           DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};
  return types;
}

std::string quantize_target_names() {
  std::string names;
  for (DType t : quantize_target_types()) names += (names.empty() ? "" : ", ") + std::string(dtype_name(t));
  return names;
}

DType parse_quantize_type(std::string_view name) {
  const std::optional<DType> t = dtype_from_name(name);
  const auto& targets = quantize_target_types();
  if (!t || std::find(targets.begin(), targets.end(), *t) == targets.end())
    throw Error(ErrorCode::kInvalidArgument, "unknown quantization type '" + std::string(name) +
                                                 "' (accepted: " + quantize_target_names() + ")");
  return *t;
}

uint32_t llama_file_type(DType target) {
  switch (target) {
    case DType::kF32: return 0;    // LLAMA_FTYPE_ALL_F32
    case DType::kF16: return 1;    // MOSTLY_F16
    case DType::kQ4_0: return 2;   // MOSTLY_Q4_0
    case DType::kQ4_1: return 3;   // MOSTLY_Q4_1
    case DType::kQ8_0: return 7;   // MOSTLY_Q8_0
    case DType::kQ5_0: return 8;   // MOSTLY_Q5_0
    case DType::kQ5_1: return 9;   // MOSTLY_Q5_1
    case DType::kQ4_K: return 14;  // MOSTLY_Q4_K_S
    case DType::kQ5_K: return 16;  // MOSTLY_Q5_K_S
    case DType::kQ6_K: return 18;  // MOSTLY_Q6_K
    case DType::kBF16: return 32;  // MOSTLY_BF16
    default: break;
  }
  throw Error(ErrorCode::kInvalidArgument, "no llama.cpp file type for " + std::string(dtype_name(target)) +
                                               " (accepted: " + quantize_target_names() + ")");
}

bool is_quantizable_weight(const formats::GgufTensorInfo& t) {
  if (t.dims.size() != 2 || !ends_with(t.name, ".weight")) return false;
  // Kept exact as llama.cpp keeps them: small tensors whose precision matters more
  // than their size (norms, MoE routers, position and token-type embeddings, Mamba's
  // convolution, T5's relative attention bias).
  for (std::string_view keep :
       {"_norm.weight", "ffn_gate_inp.weight", "ssm_conv1d.weight", "attn_rel_b.weight"})
    if (t.name.find(keep) != std::string::npos) return false;
  return t.name != "position_embd.weight" && t.name != "token_types.weight";
}

DType type_for_row_length(DType target, int64_t row_length) {
  auto fits = [&](DType t) { return row_length > 0 && row_length % dtype_info(t).block_elems == 0; };
  if (fits(target)) return target;
  DType fallback = DType::kF16;
  switch (target) {
    case DType::kQ4_K: fallback = DType::kQ5_0; break;
    case DType::kQ5_K: fallback = DType::kQ5_1; break;
    case DType::kQ6_K: fallback = DType::kQ8_0; break;
    default: break;
  }
  return fits(fallback) ? fallback : DType::kF16;
}

const char* conversion_kind_name(ConversionKind kind) {
  switch (kind) {
    case ConversionKind::kConverted: return "converted";
    case ConversionKind::kFallback: return "fallback";
    case ConversionKind::kCopied: return "copied";
    case ConversionKind::kKept: return "kept";
  }
  return "?";
}

QuantizeReport quantize_model(const std::string& in, const std::string& out, const QuantizeOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const auto& targets = quantize_target_types();
  if (std::find(targets.begin(), targets.end(), options.type) == targets.end() ||
      !quant::can_quantize(options.type))
    throw Error(ErrorCode::kInvalidArgument, "cannot quantize to " + std::string(dtype_name(options.type)) +
                                                 " (accepted: " + quantize_target_names() + ")");
  if (options.n_threads < 0)
    throw Error(ErrorCode::kInvalidArgument,
                "thread count must be 0 (all) or positive, got " + std::to_string(options.n_threads));
  check_paths(in, out);
  const std::unique_ptr<formats::GgufFile> file = formats::GgufFile::open(in);

  // Every tensor's fate is decided, and checked, before the first is converted.
  std::vector<TensorPlan> plans;
  for (const formats::GgufTensorInfo& t : file->tensors()) {
    plans.push_back(plan_tensor(t, options.type));
    const TensorPlan& p = plans.back();
    if ((p.kind == ConversionKind::kConverted || p.kind == ConversionKind::kFallback) &&
        !quant::can_dequantize(t.type))
      throw Error(ErrorCode::kUnsupported, in + ": tensor '" + t.name + "' has type " +
                                               std::string(dtype_name(t.type)) +
                                               ", which this build cannot dequantize, so it cannot become " +
                                               std::string(dtype_name(p.to)));
  }

  QuantizeReport report;
  report.input = in;
  report.output = out;
  report.type = options.type;
  report.file_type = llama_file_type(options.type);
  report.n_tensors = static_cast<int64_t>(file->tensors().size());
  report.file_bytes_in = file->file_size();

  // The writer re-derives general.alignment from the alignment it is given, so the
  // input's key is not copied (a key of another integer type would be refused).
  formats::GgufWriter writer(file->alignment());
  for (const auto& [key, value] : file->metadata())
    if (key != "general.alignment") writer.set(key, value);
  writer.set("general.file_type", formats::GgufValue::u32(report.file_type));
  writer.set("general.quantization_version", formats::GgufValue::u32(kQuantizationVersion));
  writer.set("general.quantized_by", formats::GgufValue::str("hearth"));

  // Tensors are produced while the writer streams the file out: kept ones straight
  // from the input's mapping, converted ones a chunk at a time, so memory use does
  // not grow with the model.
  ThreadPool pool(options.n_threads);
  report.n_threads = pool.size();
  for (size_t i = 0; i < plans.size(); ++i) {
    const formats::GgufTensorInfo& t = file->tensors()[i];
    const TensorPlan& p = plans[i];
    const uint8_t* src = file->tensor_data(t);
    const int64_t bytes_out = dtype_row_bytes(p.to, t.dims[0]) * (t.n_elements() / t.dims[0]);
    count(report.conversions, t.type, p.to, p.kind, t.n_bytes(), bytes_out);
    if (p.kind == ConversionKind::kKept || p.kind == ConversionKind::kCopied) {
      const auto n_bytes = static_cast<size_t>(t.n_bytes());
      writer.add_tensor_stream(
          t.name, t.type, t.dims,
          [src, n_bytes](const formats::GgufWriter::TensorSink& sink) { sink(src, n_bytes); });
    } else {
      writer.add_tensor_stream(t.name, p.to, t.dims,
                               [&t, src, to = p.to, &pool](const formats::GgufWriter::TensorSink& sink) {
                                 convert_tensor(t, src, to, pool, sink);
                               });
    }
  }
  writer.write(out);

  std::error_code ec;
  report.file_bytes_out = fs::file_size(out, ec);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace hearth::models
