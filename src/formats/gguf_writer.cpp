// GGUF v3 writer: lays out metadata and tensors and streams them to memory or to a file.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "formats/gguf.h"

namespace hearth::formats {
namespace {

constexpr uint32_t kVersion = 3;
constexpr size_t kMaxDims = 4;
constexpr size_t kWriteBuffer = 1 << 20;

bool power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

[[noreturn]] void bad_argument(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "GgufWriter: " + message);
}

int array_depth(const GgufValue& v) {
  if (v.type() != GgufType::kArray) return 0;
  int deepest = 0;
  if (v.array_type() == GgufType::kArray)
    for (const GgufValue& e : v.as_array()) deepest = std::max(deepest, array_depth(e));
  return deepest + 1;
}

// Serializes values through put(const void*, size_t).
template <class Put>
struct Emitter {
  Put& put;
  uint64_t written = 0;

  void bytes(const void* p, size_t n) {
    put(p, n);
    written += n;
  }
  template <class T>
  void pod(T v) {
    bytes(&v, sizeof v);
  }
  void string(std::string_view s) {
    pod<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void zeros(uint64_t n) {
    static const uint8_t kZeros[256] = {};
    while (n > 0) {
      const size_t chunk = n < sizeof kZeros ? static_cast<size_t>(n) : sizeof kZeros;
      bytes(kZeros, chunk);
      n -= chunk;
    }
  }
  void pad_to(uint64_t alignment) { zeros(align_up(written, alignment) - written); }

  void payload(const GgufValue& v) {
    switch (v.type()) {
      case GgufType::kUint8: pod(static_cast<uint8_t>(v.as_uint())); break;
      case GgufType::kInt8: pod(static_cast<int8_t>(v.as_int())); break;
      case GgufType::kUint16: pod(static_cast<uint16_t>(v.as_uint())); break;
      case GgufType::kInt16: pod(static_cast<int16_t>(v.as_int())); break;
      case GgufType::kUint32: pod(static_cast<uint32_t>(v.as_uint())); break;
      case GgufType::kInt32: pod(static_cast<int32_t>(v.as_int())); break;
      case GgufType::kUint64: pod(static_cast<uint64_t>(v.as_uint())); break;
      case GgufType::kInt64: pod(static_cast<int64_t>(v.as_int())); break;
      case GgufType::kFloat32: pod(static_cast<float>(v.as_float())); break;
      case GgufType::kFloat64: pod(static_cast<double>(v.as_float())); break;
      case GgufType::kBool: pod(static_cast<uint8_t>(v.as_bool() ? 1 : 0)); break;
      case GgufType::kString: string(v.as_string()); break;
      case GgufType::kArray: {
        pod(static_cast<uint32_t>(v.array_type()));
        pod<uint64_t>(v.array_size());
        // An array read from a file is copied as it was encoded there.
        if (const auto encoded = v.encoded_bytes(); !encoded.empty()) {
          bytes(encoded.data(), encoded.size());
        } else {
          for (const GgufValue& e : v.as_array()) payload(e);
        }
        break;
      }
    }
  }
};

}  // namespace

GgufWriter::GgufWriter(uint64_t alignment) : alignment_(alignment) {
  if (!power_of_two(alignment) || alignment > UINT32_MAX)
    bad_argument("alignment " + std::to_string(alignment) + " is not a power of two that fits 32 bits");
}

void GgufWriter::set(const std::string& key, GgufValue value) {
  if (key.empty()) bad_argument("metadata key is empty");
  if (array_depth(value) > kGgufMaxArrayDepth)
    bad_argument("metadata key '" + key + "': arrays nested more than " +
                 std::to_string(kGgufMaxArrayDepth) + " levels deep cannot be read back");
  if (key == "general.alignment") {
    if (value.type() != GgufType::kUint32 || !power_of_two(value.as_uint()))
      bad_argument("general.alignment must be a uint32 power of two");
    alignment_ = value.as_uint();
  }
  for (auto& kv : metadata_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

uint64_t GgufWriter::check_tensor(const std::string& name, DType type,
                                  const std::vector<int64_t>& dims) const {
  if (name.empty()) bad_argument("tensor name is empty");
  for (const auto& t : tensors_)
    if (t.name == name) bad_argument("tensor '" + name + "' added twice");
  if (!dtype_info(static_cast<uint32_t>(type)))
    bad_argument("tensor '" + name + "': unknown dtype " + std::to_string(static_cast<uint32_t>(type)));
  const DTypeInfo& info = dtype_info(type);
  if (dims.empty() || dims.size() > kMaxDims)
    bad_argument("tensor '" + name + "' has " + std::to_string(dims.size()) + " dimensions (expected 1 to 4)");
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] < 1) bad_argument("tensor '" + name + "' dimension " + std::to_string(i) + " is " + std::to_string(dims[i]));
  if (dims[0] % info.block_elems != 0)
    bad_argument("tensor '" + name + "' (" + std::string(info.name) + "): innermost dimension " +
                 std::to_string(dims[0]) + " is not a multiple of the block size " + std::to_string(info.block_elems));
  int64_t expected = 0;
  bool overflow = __builtin_mul_overflow(dims[0] / info.block_elems, info.block_bytes, &expected);
  for (size_t i = 1; i < dims.size(); ++i) overflow = overflow || __builtin_mul_overflow(expected, dims[i], &expected);
  if (overflow) bad_argument("tensor '" + name + "' is too large");
  return static_cast<uint64_t>(expected);
}

void GgufWriter::add_tensor(const std::string& name, DType type, std::vector<int64_t> dims, const void* data,
                            size_t n_bytes) {
  const uint64_t expected = check_tensor(name, type, dims);
  if (expected != n_bytes)
    bad_argument("tensor '" + name + "' (" + std::string(dtype_name(type)) + ") needs " +
                 std::to_string(expected) + " bytes for its dims, got " + std::to_string(n_bytes));
  if (data == nullptr) bad_argument("tensor '" + name + "' has no data");
  const auto* p = static_cast<const uint8_t*>(data);
  tensors_.push_back(
      PendingTensor{name, type, std::move(dims), expected, std::vector<uint8_t>(p, p + n_bytes), {}});
}

void GgufWriter::add_tensor_stream(const std::string& name, DType type, std::vector<int64_t> dims,
                                   TensorProducer producer) {
  const uint64_t n_bytes = check_tensor(name, type, dims);
  if (!producer) bad_argument("tensor '" + name + "' has no producer");
  tensors_.push_back(PendingTensor{name, type, std::move(dims), n_bytes, {}, std::move(producer)});
}

namespace {

// Emits the whole file image; shared by to_bytes and write so both produce the same bytes.
template <class Put>
void emit_file(Put& put, uint64_t alignment, const std::vector<std::pair<std::string, GgufValue>>& metadata,
               const auto& tensors) {
  bool has_alignment_key = false;
  for (const auto& kv : metadata) has_alignment_key = has_alignment_key || kv.first == "general.alignment";
  const bool add_alignment_key = !has_alignment_key && alignment != kGgufDefaultAlignment;

  Emitter<Put> out{put};
  out.bytes("GGUF", 4);
  out.pod(kVersion);
  out.pod(static_cast<uint64_t>(tensors.size()));
  out.pod(static_cast<uint64_t>(metadata.size() + (add_alignment_key ? 1 : 0)));
  auto emit_kv = [&](const std::string& key, const GgufValue& value) {
    out.string(key);
    out.pod(static_cast<uint32_t>(value.type()));
    out.payload(value);
  };
  for (const auto& [key, value] : metadata) emit_kv(key, value);
  if (add_alignment_key) emit_kv("general.alignment", GgufValue::u32(static_cast<uint32_t>(alignment)));

  uint64_t offset = 0;
  for (const auto& t : tensors) {
    offset = align_up(offset, alignment);
    out.string(t.name);
    out.pod(static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) out.pod(static_cast<uint64_t>(d));
    out.pod(static_cast<uint32_t>(t.type));
    out.pod(offset);
    offset += t.n_bytes;
  }
  out.pad_to(alignment);
  // No padding after the last tensor: the file ends where its data ends, so any
  // truncation of a written file is detectable.
  for (const auto& t : tensors) {
    out.pad_to(alignment);
    if (!t.producer) {
      out.bytes(t.data.data(), t.data.size());
      continue;
    }
    // A producer that hands over too much is stopped before the excess reaches the
    // output, so the offsets written above stay true up to the error.
    uint64_t produced = 0;
    const GgufWriter::TensorSink sink = [&](const void* p, size_t n) {
      if (n > t.n_bytes - produced)
        throw Error(ErrorCode::kInternal, "GgufWriter: the producer of tensor '" + t.name +
                                              "' handed over more than " + std::to_string(t.n_bytes) +
                                              " bytes");
      produced += n;
      out.bytes(p, n);
    };
    t.producer(sink);
    if (produced != t.n_bytes)
      throw Error(ErrorCode::kInternal, "GgufWriter: the producer of tensor '" + t.name + "' handed over " +
                                            std::to_string(produced) + " bytes, expected " +
                                            std::to_string(t.n_bytes));
  }
}

}  // namespace

std::vector<uint8_t> GgufWriter::to_bytes() const {
  std::vector<uint8_t> image;
  auto put = [&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    image.insert(image.end(), b, b + n);
  };
  emit_file(put, alignment_, metadata_, tensors_);
  return image;
}

void GgufWriter::write(const std::string& path) const {
  // Same directory as the target so that rename() is atomic (one file system).
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    throw Error(ErrorCode::kIo, path + ": cannot create temporary file '" + tmp + "': " + std::strerror(errno));

  int error = 0;
  const char* action = "cannot write";
  std::vector<uint8_t> buffer;
  buffer.reserve(kWriteBuffer);
  auto write_all = [&](const uint8_t* p, size_t n) {
    while (n > 0 && error == 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w < 0) {
        if (errno != EINTR) error = errno;
        continue;
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  };
  auto flush = [&] {
    write_all(buffer.data(), buffer.size());
    buffer.clear();
  };
  auto put = [&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    if (buffer.size() + n > kWriteBuffer) flush();
    if (n >= kWriteBuffer) {
      write_all(b, n);  // tensor data goes straight out, not through the buffer
    } else {
      buffer.insert(buffer.end(), b, b + n);
    }
  };
  try {
    emit_file(put, alignment_, metadata_, tensors_);
    flush();
  } catch (...) {  // e.g. bad_alloc: leave no descriptor and no temporary file behind
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (error == 0 && ::fsync(fd) != 0) {
    error = errno;
    action = "cannot sync";
  }
  if (::close(fd) != 0 && error == 0) {
    error = errno;
    action = "cannot close";
  }
  if (error == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = errno;
    action = "cannot rename the temporary file into place";
  }
  if (error != 0) {
    ::unlink(tmp.c_str());
    throw Error(ErrorCode::kIo, path + ": " + action + ": " + std::strerror(error));
  }
}

}  // namespace hearth::formats
