// GGUF v2/v3 reader (memory-mapped, zero-copy) and writer.
// The reader validates everything it is given: a malformed file throws
// hearth::Error(kFormat) naming the file and the problem, it never crashes; a file
// this build cannot read (GGUF v1, big-endian, unknown tensor type) throws kUnsupported.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"

namespace hearth::formats {

// Metadata value types, numbered as in the GGUF specification.
enum class GgufType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5,
  kFloat32 = 6, kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};
const char* gguf_type_name(GgufType type);  // "uint8", ..., "float64"; "invalid" otherwise

// Arrays may hold arrays, but only this many levels deep (counting the outer
// one): the reader recurses per level, so a hostile file must not choose the depth.
inline constexpr int kGgufMaxArrayDepth = 4;
// Alignment of the tensor data when a file has no general.alignment key.
inline constexpr uint64_t kGgufDefaultAlignment = 32;

// One metadata value. Scalars are stored widened; strings are views into the
// mapping (reader) or owned (values built for the writer). Arrays hold their
// element type and their elements; an array read from a file keeps its encoded
// bytes and is decoded into elements only when as_array() is first called (the
// big ones, a vocabulary's tokens and merges, are read straight from the bytes
// by GgufFile's typed getters and never decoded).
class GgufValue {
 public:
  GgufValue() = default;
  // make_uint/make_int take any integer type and make_float float32/float64;
  // a value that does not fit the type, or a wrong type, throws Error(kInvalidArgument).
  // make_array requires every element to have type elem_type.
  static GgufValue make_uint(GgufType type, uint64_t v);
  static GgufValue make_int(GgufType type, int64_t v);
  static GgufValue make_float(GgufType type, double v);
  static GgufValue make_bool(bool v);
  static GgufValue make_string(std::string v);            // owned copy
  static GgufValue make_string_view(std::string_view v);  // points at external bytes
  static GgufValue make_array(GgufType elem_type, std::vector<GgufValue> elems);
  // An array whose count elements are encoded in bytes (which must outlive the
  // value); decode turns them into elements, once, on first use of as_array().
  static GgufValue make_encoded_array(GgufType elem_type, uint64_t count, std::span<const uint8_t> bytes,
                                      std::function<std::vector<GgufValue>()> decode);
  // Convenience builders for the writer.
  static GgufValue u32(uint32_t v) { return make_uint(GgufType::kUint32, v); }
  static GgufValue i32(int32_t v) { return make_int(GgufType::kInt32, v); }
  static GgufValue f32(float v) { return make_float(GgufType::kFloat32, v); }
  static GgufValue str(std::string v) { return make_string(std::move(v)); }
  static GgufValue string_array(const std::vector<std::string>& v);
  static GgufValue f32_array(const std::vector<float>& v);
  static GgufValue i32_array(const std::vector<int32_t>& v);

  GgufType type() const { return type_; }
  GgufType array_type() const { return array_type_; }  // element type when type() == kArray

  bool is_integer() const;  // any of the integer types (not bool)
  bool is_float() const;    // float32 or float64
  // Checked accessors: throw Error(kFormat) on a type mismatch or an integer out of range.
  uint64_t as_uint() const;
  int64_t as_int() const;
  double as_float() const;  // accepts integer types too
  bool as_bool() const;
  std::string_view as_string() const;
  const std::vector<GgufValue>& as_array() const;  // thread-safe, also when it decodes
  uint64_t array_size() const;                      // without decoding
  // The encoded elements of an array read from a file; empty otherwise.
  std::span<const uint8_t> encoded_bytes() const;

  // Same type and same contents; floats compare bit for bit (any NaN equals any NaN).
  friend bool operator==(const GgufValue& a, const GgufValue& b);

 private:
  GgufType type_ = GgufType::kUint8;
  GgufType array_type_ = GgufType::kUint8;
  uint64_t u_ = 0;
  int64_t i_ = 0;
  double f_ = 0;
  std::string owned_;
  std::string_view view_;
  bool owns_string_ = false;
  struct ArrayStore;
  std::shared_ptr<ArrayStore> array_;
};

struct GgufTensorInfo {
  std::string name;
  DType type;
  std::vector<int64_t> dims;  // dims[0] is the innermost (contiguous) dimension, as in GGUF
  uint64_t offset = 0;        // relative to the start of the tensor data section
  int64_t n_elements() const;
  int64_t n_bytes() const;    // validated at open against the file size
};

class GgufFile {
 public:
  // Maps and parses path; throws hearth::Error naming the file on any problem.
  static std::unique_ptr<GgufFile> open(const std::string& path, const FileLoadOptions& options = {});
  // Parses an in-memory image (used by the fuzzer); bytes must outlive the object.
  static std::unique_ptr<GgufFile> parse(const uint8_t* data, size_t size, const std::string& name);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }

  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return metadata_; }
  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // Typed getters: a missing key throws Error(kNotFound) naming the key and file;
  // the *_or variants return the fallback instead. Wrong types throw kFormat.
  std::string get_string(std::string_view key) const;
  std::string get_string_or(std::string_view key, std::string fallback) const;
  uint64_t get_uint(std::string_view key) const;
  uint64_t get_uint_or(std::string_view key, uint64_t fallback) const;
  double get_float(std::string_view key) const;
  double get_float_or(std::string_view key, double fallback) const;
  bool get_bool_or(std::string_view key, bool fallback) const;
  std::vector<std::string_view> get_string_array(std::string_view key) const;
  std::vector<float> get_float_array(std::string_view key) const;
  std::vector<int64_t> get_int_array(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  // Pointer to a tensor's bytes inside the mapping (zero-copy).
  const uint8_t* tensor_data(const GgufTensorInfo& info) const;
  const uint8_t* data_section() const { return base_ + data_offset_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return size_; }
  // The mapping behind open(); null for parse(), whose bytes belong to the caller.
  const MappedFile* mapping() const { return mapping_.get(); }

 private:
  GgufFile() = default;
  void parse_all();

  std::unique_ptr<MappedFile> mapping_;
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue, std::less<>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

// Builds a GGUF v3 file: metadata in insertion order, tensors laid out with the
// requested alignment (general.alignment is written when it is not 32).
class GgufWriter {
 public:
  explicit GgufWriter(uint64_t alignment = 32);
  void set(const std::string& key, GgufValue value);  // replaces an existing key
  // data must hold dtype_row_bytes(type, dims[0]) * (product of other dims) bytes; copied.
  void add_tensor(const std::string& name, DType type, std::vector<int64_t> dims, const void* data,
                  size_t n_bytes);

  // Streaming mode, for files larger than memory: the tensor's bytes are made at
  // write time, tensor by tensor in the order added, by a producer that hands them
  // to the sink in as many pieces as it likes. It must hand over exactly the bytes
  // the dims call for (else write throws Error(kInternal) and leaves no file). A
  // producer may throw; write then removes its temporary file and rethrows. It
  // runs once per write()/to_bytes(), so anything it reads must live until then.
  using TensorSink = std::function<void(const void* data, size_t n_bytes)>;
  using TensorProducer = std::function<void(const TensorSink& sink)>;
  void add_tensor_stream(const std::string& name, DType type, std::vector<int64_t> dims,
                         TensorProducer producer);

  // Writes atomically (temporary file + rename); throws Error(kIo) on failure.
  void write(const std::string& path) const;
  std::vector<uint8_t> to_bytes() const;

 private:
  struct PendingTensor {
    std::string name;
    DType type;
    std::vector<int64_t> dims;
    uint64_t n_bytes = 0;
    std::vector<uint8_t> data;  // empty when producer is set
    TensorProducer producer;
  };
  // Validates name and dims against the tensors added so far; returns the byte size.
  uint64_t check_tensor(const std::string& name, DType type, const std::vector<int64_t>& dims) const;
  uint64_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace hearth::formats
