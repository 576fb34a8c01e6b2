// GGUF reader: parses and validates a whole file before anything else may touch it.
#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "formats/gguf.h"

namespace hearth::formats {
namespace {

// The file layout is little-endian and read with memcpy into native integers.
static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes a little-endian host");

constexpr uint32_t kMaxDims = 4;
constexpr size_t kMaxShownChars = 80;
// Fewest bytes one metadata entry / one tensor info can take: used to reject a
// count before reserving memory for it.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;               // key length, 1-byte key, type, u8
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;  // name, n_dims, one dim, type, offset

// A key or tensor name as it can be put in a message: hostile bytes escaped, long names cut.
std::string shown(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMaxShownChars; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > kMaxShownChars) out += "...";
  return out;
}

// Bytes the smallest encoding of one value of this type takes.
uint64_t min_value_bytes(GgufType t) {
  switch (t) {
    case GgufType::kUint8: case GgufType::kInt8: case GgufType::kBool: return 1;
    case GgufType::kUint16: case GgufType::kInt16: return 2;
    case GgufType::kUint32: case GgufType::kInt32: case GgufType::kFloat32: return 4;
    case GgufType::kUint64: case GgufType::kInt64: case GgufType::kFloat64: return 8;
    case GgufType::kString: return 8;   // length only
    case GgufType::kArray: return 4 + 8;  // element type and count
  }
  return 1;
}

bool valid_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::kFloat64); }

// Bounds-checked sequential reads over the image; every failure names the file,
// the field, the item being read and the offset.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, const std::string& name)
      : data_(data), size_(size), name_(name) {}

  uint64_t pos() const { return pos_; }
  const std::string& name() const { return name_; }
  uint64_t remaining() const { return size_ - pos_; }
  void set_item(std::string item) { item_ = std::move(item); }
  const std::string& item() const { return item_; }

  [[noreturn]] void fail(ErrorCode code, const std::string& problem) const {
    throw Error(code, name_ + ": " + problem);
  }
  [[noreturn]] void fail(const std::string& problem) const { fail(ErrorCode::kFormat, problem); }

  void need(uint64_t n, const char* field) const {
    if (n > remaining()) {
      fail("truncated: " + std::string(field) + (item_.empty() ? "" : " of " + item_) + " at offset " +
           std::to_string(pos_) + " needs " + std::to_string(n) + " bytes but only " +
           std::to_string(remaining()) + " remain (file size " + std::to_string(size_) + ")");
    }
  }

  template <class T>
  T read(const char* field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  const uint8_t* here() const { return data_ + pos_; }
  void skip(uint64_t n, const char* field) {
    need(n, field);
    pos_ += n;
  }

  std::string_view read_string(const char* field) {
    const uint64_t len = read<uint64_t>(field);
    if (len > remaining()) {
      fail(std::string(field) + (item_.empty() ? "" : " of " + item_) + ": length " + std::to_string(len) +
           " at offset " + std::to_string(pos_ - 8) + " exceeds the " + std::to_string(remaining()) +
           " bytes left in the file");
    }
    std::string_view s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& name_;
  std::string item_;  // what is being read, e.g. "metadata key 'general.name'"
};

GgufValue read_value(Cursor& c, GgufType type, int depth) {
  switch (type) {
    case GgufType::kUint8: return GgufValue::make_uint(type, c.read<uint8_t>("uint8 value"));
    case GgufType::kInt8: return GgufValue::make_int(type, c.read<int8_t>("int8 value"));
    case GgufType::kUint16: return GgufValue::make_uint(type, c.read<uint16_t>("uint16 value"));
    case GgufType::kInt16: return GgufValue::make_int(type, c.read<int16_t>("int16 value"));
    case GgufType::kUint32: return GgufValue::make_uint(type, c.read<uint32_t>("uint32 value"));
    case GgufType::kInt32: return GgufValue::make_int(type, c.read<int32_t>("int32 value"));
    case GgufType::kUint64: return GgufValue::make_uint(type, c.read<uint64_t>("uint64 value"));
    case GgufType::kInt64: return GgufValue::make_int(type, c.read<int64_t>("int64 value"));
    case GgufType::kFloat32: return GgufValue::make_float(type, c.read<float>("float32 value"));
    case GgufType::kFloat64: return GgufValue::make_float(type, c.read<double>("float64 value"));
    case GgufType::kBool: {
      const uint64_t at = c.pos();
      const uint8_t b = c.read<uint8_t>("bool value");
      if (b > 1)
        c.fail("bool value of " + c.item() + " at offset " + std::to_string(at) + " is " +
               std::to_string(b) + ", expected 0 or 1");
      return GgufValue::make_bool(b != 0);
    }
    case GgufType::kString: return GgufValue::make_string_view(c.read_string("string"));
    case GgufType::kArray: {
      if (depth >= kGgufMaxArrayDepth)
        c.fail(c.item() + ": arrays nested more than " + std::to_string(kGgufMaxArrayDepth) +
               " levels deep at offset " + std::to_string(c.pos()));
      const uint64_t at = c.pos();
      const uint32_t elem = c.read<uint32_t>("array element type");
      if (!valid_type(elem))
        c.fail(c.item() + ": unknown array element type " + std::to_string(elem) + " at offset " +
               std::to_string(at));
      const auto elem_type = static_cast<GgufType>(elem);
      const uint64_t count = c.read<uint64_t>("array length");
      if (count > c.remaining() / min_value_bytes(elem_type))
        c.fail(c.item() + ": array of " + std::to_string(count) + " " + gguf_type_name(elem_type) +
               " at offset " + std::to_string(at) + " cannot fit in the " +
               std::to_string(c.remaining()) + " bytes left in the file");
      if (elem_type == GgufType::kArray) {
        std::vector<GgufValue> elems;
        elems.reserve(static_cast<size_t>(count));
        for (uint64_t i = 0; i < count; ++i) elems.push_back(read_value(c, elem_type, depth + 1));
        return GgufValue::make_array(elem_type, std::move(elems));
      }
      // Flat arrays are checked here (bounds, bools) but decoded only if asked.
      const uint8_t* first = c.here();
      const uint64_t start = c.pos();
      if (elem_type == GgufType::kString) {
        for (uint64_t i = 0; i < count; ++i) c.read_string("string");
      } else if (elem_type == GgufType::kBool) {
        for (uint64_t i = 0; i < count; ++i) read_value(c, elem_type, depth + 1);
      } else {
        c.skip(count * min_value_bytes(elem_type), "array elements");
      }
      const std::span<const uint8_t> bytes(first, static_cast<size_t>(c.pos() - start));
      return GgufValue::make_encoded_array(elem_type, count, bytes,
                                           [bytes, elem_type, count, depth, name = c.name()] {
                                             Cursor elements(bytes.data(), bytes.size(), name);
                                             std::vector<GgufValue> elems;
                                             elems.reserve(static_cast<size_t>(count));
                                             for (uint64_t i = 0; i < count; ++i)
                                               elems.push_back(read_value(elements, elem_type, depth + 1));
                                             return elems;
                                           });
    }
  }
  c.fail("internal: unhandled value type");
}

}  // namespace

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

int64_t GgufTensorInfo::n_bytes() const {
  int64_t n = dtype_row_bytes(type, dims.empty() ? 0 : dims[0]);
  for (size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  return n;
}

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path, const FileLoadOptions& options) {
  auto mapping = MappedFile::open(path, options);
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->base_ = mapping->data();
  file->size_ = mapping->size();
  file->path_ = path;
  file->mapping_ = std::move(mapping);
  file->parse_all();
  return file;
}

std::unique_ptr<GgufFile> GgufFile::parse(const uint8_t* data, size_t size, const std::string& name) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->base_ = data;
  file->size_ = size;
  file->path_ = name;
  file->parse_all();
  return file;
}

void GgufFile::parse_all() {
  Cursor c(base_, size_, path_);

  // ---- header ----
  if (size_ < 4) c.fail("not a GGUF file: only " + std::to_string(size_) + " bytes, too short for the magic");
  if (std::memcmp(base_, "FUGG", 4) == 0)
    c.fail(ErrorCode::kUnsupported,
           "byte-swapped (big-endian) GGUF file; only little-endian GGUF files are supported");
  if (std::memcmp(base_, "GGUF", 4) != 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "not a GGUF file: magic is %02x %02x %02x %02x, expected 'GGUF'",
                  base_[0], base_[1], base_[2], base_[3]);
    c.fail(buf);
  }
  c.read<uint32_t>("magic");
  version_ = c.read<uint32_t>("version");
  if (version_ > 0xffff && __builtin_bswap32(version_) <= 3)
    c.fail(ErrorCode::kUnsupported, "byte-swapped (big-endian) GGUF file (version field reads " +
                                        std::to_string(__builtin_bswap32(version_)) +
                                        " when swapped); only little-endian GGUF files are supported");
  if (version_ == 1)
    c.fail(ErrorCode::kUnsupported,
           "GGUF version 1 is not supported (it predates 64-bit counts); convert the file to version 3");
  if (version_ != 2 && version_ != 3)
    c.fail(ErrorCode::kUnsupported,
           "unsupported GGUF version " + std::to_string(version_) + " (supported: 2 and 3)");
  const uint64_t tensor_count = c.read<uint64_t>("tensor count");
  const uint64_t kv_count = c.read<uint64_t>("metadata count");
  if (kv_count > c.remaining() / kMinKvBytes)
    c.fail("metadata count " + std::to_string(kv_count) + " cannot fit in the " + std::to_string(c.remaining()) +
           " bytes after the header (truncated or corrupt file)");
  if (tensor_count > c.remaining() / kMinTensorInfoBytes)
    c.fail("tensor count " + std::to_string(tensor_count) + " cannot fit in the " + std::to_string(c.remaining()) +
           " bytes after the header (truncated or corrupt file)");
  if (kv_count * kMinKvBytes + tensor_count * kMinTensorInfoBytes > c.remaining())
    c.fail(std::to_string(kv_count) + " metadata entries and " + std::to_string(tensor_count) +
           " tensor infos cannot fit in the " + std::to_string(c.remaining()) +
           " bytes after the header (truncated or corrupt file)");

  // ---- metadata ----
  for (uint64_t i = 0; i < kv_count; ++i) {
    c.set_item("metadata entry " + std::to_string(i));
    const uint64_t at = c.pos();
    const std::string_view key = c.read_string("key");
    if (key.empty()) c.fail("metadata entry " + std::to_string(i) + " at offset " + std::to_string(at) + " has an empty key");
    c.set_item("metadata key '" + shown(key) + "'");
    if (metadata_.find(key) != metadata_.end())
      c.fail("duplicate metadata key '" + shown(key) + "' at offset " + std::to_string(at));
    const uint64_t type_at = c.pos();
    const uint32_t type = c.read<uint32_t>("value type");
    if (!valid_type(type))
      c.fail(c.item() + ": unknown value type " + std::to_string(type) + " at offset " + std::to_string(type_at));
    GgufValue value = read_value(c, static_cast<GgufType>(type), 0);
    metadata_.emplace(std::string(key), std::move(value));
  }

  alignment_ = kGgufDefaultAlignment;
  if (const GgufValue* a = find("general.alignment")) {
    if (a->type() != GgufType::kUint32)
      c.fail(std::string("general.alignment must be uint32, not ") + gguf_type_name(a->type()));
    const uint64_t v = a->as_uint();
    if (v == 0 || (v & (v - 1)) != 0)
      c.fail("general.alignment must be a nonzero power of two, got " + std::to_string(v));
    alignment_ = v;
  }

  // ---- tensor infos ----
  tensors_.reserve(static_cast<size_t>(tensor_count));
  for (uint64_t i = 0; i < tensor_count; ++i) {
    c.set_item("tensor info " + std::to_string(i));
    const uint64_t at = c.pos();
    const std::string_view name = c.read_string("name");
    if (name.empty()) c.fail("tensor info " + std::to_string(i) + " at offset " + std::to_string(at) + " has an empty name");
    const std::string tname = "tensor '" + shown(name) + "'";
    c.set_item(tname);
    if (tensor_index_.find(name) != tensor_index_.end())
      c.fail("duplicate " + tname + " at offset " + std::to_string(at));

    const uint32_t n_dims = c.read<uint32_t>("dimension count");
    if (n_dims < 1 || n_dims > kMaxDims)
      c.fail(tname + " has " + std::to_string(n_dims) + " dimensions (expected 1 to " + std::to_string(kMaxDims) + ")");
    GgufTensorInfo info;
    info.name = std::string(name);
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = c.read<uint64_t>("dimension");
      if (dim == 0) c.fail(tname + " has dimension " + std::to_string(d) + " equal to 0");
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          __builtin_mul_overflow(n_elements, static_cast<int64_t>(dim), &n_elements))
        c.fail(tname + " has too many elements (dimension " + std::to_string(d) + " is " + std::to_string(dim) + ")");
      info.dims.push_back(static_cast<int64_t>(dim));
    }

    const uint32_t type_id = c.read<uint32_t>("type");
    const std::optional<DTypeInfo> dt = dtype_info(type_id);
    if (!dt)
      c.fail(ErrorCode::kUnsupported,
             tname + " has tensor type " + std::to_string(type_id) + ", which this build does not know");
    info.type = static_cast<DType>(type_id);
    if (info.dims[0] % dt->block_elems != 0)
      c.fail(tname + " (" + std::string(dt->name) + ") has innermost dimension " + std::to_string(info.dims[0]) +
             ", not a multiple of the block size " + std::to_string(dt->block_elems));
    int64_t n_bytes = 0;
    bool overflow = __builtin_mul_overflow(info.dims[0] / dt->block_elems, dt->block_bytes, &n_bytes);
    for (size_t d = 1; d < info.dims.size(); ++d)
      overflow = overflow || __builtin_mul_overflow(n_bytes, info.dims[d], &n_bytes);
    if (overflow) c.fail(tname + " data size overflows 64 bits");

    info.offset = c.read<uint64_t>("data offset");
    if (info.offset % alignment_ != 0)
      c.fail(tname + " data offset " + std::to_string(info.offset) + " is not a multiple of the alignment " +
             std::to_string(alignment_));
    tensor_index_.emplace(info.name, tensors_.size());
    tensors_.push_back(std::move(info));
  }
  c.set_item("");

  // ---- data section ----
  const uint64_t infos_end = c.pos();
  data_offset_ = (infos_end + alignment_ - 1) / alignment_ * alignment_;
  if (data_offset_ > size_) {
    // A metadata-only file has nothing after its headers: accept it whether or not
    // its writer padded it, but a cut inside the padding is still a truncation.
    if (tensors_.empty() && infos_end == size_) {
      data_offset_ = size_;
    } else {
      c.fail("truncated: the tensor data section should start at offset " + std::to_string(data_offset_) +
             " but the file size is " + std::to_string(size_));
    }
  }
  const uint64_t data_size = size_ - data_offset_;
  for (const GgufTensorInfo& t : tensors_) {
    const auto n = static_cast<uint64_t>(t.n_bytes());
    if (t.offset > data_size || n > data_size - t.offset)
      c.fail("tensor '" + shown(t.name) + "' data (offset " + std::to_string(t.offset) + ", " + std::to_string(n) +
             " bytes) runs past the end of the file (data section at " + std::to_string(data_offset_) +
             ", file size " + std::to_string(size_) + ")");
  }
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

namespace {

[[noreturn]] void missing_key(const std::string& path, std::string_view key) {
  throw Error(ErrorCode::kNotFound, path + ": metadata key '" + std::string(key) + "' not found");
}

// Runs an accessor on a value and puts the file and key in front of its message.
template <class F>
auto with_context(const std::string& path, std::string_view key, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(e.code(), path + ": metadata key '" + std::string(key) + "': " + e.what());
  }
}

}  // namespace

std::string GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) missing_key(path_, key);
  return with_context(path_, key, [&] { return std::string(v->as_string()); });
}

std::string GgufFile::get_string_or(std::string_view key, std::string fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  return with_context(path_, key, [&] { return std::string(v->as_string()); });
}

uint64_t GgufFile::get_uint(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) missing_key(path_, key);
  return with_context(path_, key, [&] { return v->as_uint(); });
}

uint64_t GgufFile::get_uint_or(std::string_view key, uint64_t fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  return with_context(path_, key, [&] { return v->as_uint(); });
}

double GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) missing_key(path_, key);
  return with_context(path_, key, [&] { return v->as_float(); });
}

double GgufFile::get_float_or(std::string_view key, double fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  return with_context(path_, key, [&] { return v->as_float(); });
}

bool GgufFile::get_bool_or(std::string_view key, bool fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  return with_context(path_, key, [&] { return v->as_bool(); });
}

namespace {

// Calls f on each element of an array value: read straight from its encoded
// bytes when it has them (no decoding into GgufValues), else from as_array().
template <class F>
void for_each_element(const GgufValue& v, const std::string& path, F&& f) {
  const uint64_t count = v.array_size();
  const std::span<const uint8_t> bytes = v.encoded_bytes();
  if (bytes.empty()) {
    for (const GgufValue& e : v.as_array()) f(e);
    return;
  }
  Cursor c(bytes.data(), bytes.size(), path);
  for (uint64_t i = 0; i < count; ++i) f(read_value(c, v.array_type(), 1));
}

}  // namespace

std::vector<std::string_view> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) missing_key(path_, key);
  return with_context(path_, key, [&] {
    std::vector<std::string_view> out;
    out.reserve(static_cast<size_t>(v->array_size()));
    for_each_element(*v, path_, [&](const GgufValue& e) { out.push_back(e.as_string()); });
    return out;
  });
}

std::vector<float> GgufFile::get_float_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) missing_key(path_, key);
  return with_context(path_, key, [&] {
    std::vector<float> out;
    out.reserve(static_cast<size_t>(v->array_size()));
    for_each_element(*v, path_, [&](const GgufValue& e) { out.push_back(static_cast<float>(e.as_float())); });
    return out;
  });
}

std::vector<int64_t> GgufFile::get_int_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) missing_key(path_, key);
  return with_context(path_, key, [&] {
    std::vector<int64_t> out;
    out.reserve(static_cast<size_t>(v->array_size()));
    for_each_element(*v, path_, [&](const GgufValue& e) { out.push_back(e.as_int()); });
    return out;
  });
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const uint8_t* GgufFile::tensor_data(const GgufTensorInfo& info) const {
  const uint64_t data_size = size_ - data_offset_;
  const auto n = static_cast<uint64_t>(info.n_bytes());
  // Guards against an info that does not come from this file.
  if (info.offset > data_size || n > data_size - info.offset)
    throw Error(ErrorCode::kInvalidArgument, path_ + ": tensor '" + info.name + "' (offset " +
                                                 std::to_string(info.offset) + ", " + std::to_string(n) +
                                                 " bytes) lies outside this file's data section");
  return base_ + data_offset_ + info.offset;
}

}  // namespace hearth::formats
