// Helpers for the GGUF tests: scratch directories, raw byte builders for files the
// writer would refuse to produce, and checks on the errors the reader throws.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/gguf.h"

namespace hearth::formats::testing {

// A fresh directory under the system temp dir, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hearth-gguf-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Little-endian byte appender.
struct Bytes {
  std::vector<uint8_t> b;
  template <class T>
  Bytes& pod(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof v);
    return *this;
  }
  Bytes& u8(uint8_t v) { return pod(v); }
  Bytes& u32(uint32_t v) { return pod(v); }
  Bytes& u64(uint64_t v) { return pod(v); }
  Bytes& raw(const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    b.insert(b.end(), c, c + n);
    return *this;
  }
  Bytes& str(std::string_view s) { return u64(s.size()).raw(s.data(), s.size()); }
  Bytes& append(const Bytes& other) { return raw(other.b.data(), other.b.size()); }
};

// One metadata entry: key, type, and the already encoded payload.
inline Bytes kv(std::string_view key, GgufType type, const Bytes& payload) {
  Bytes out;
  out.str(key).u32(static_cast<uint32_t>(type)).append(payload);
  return out;
}
inline Bytes kv_u32(std::string_view key, uint32_t v) { return kv(key, GgufType::kUint32, Bytes().u32(v)); }
inline Bytes kv_string(std::string_view key, std::string_view v) {
  return kv(key, GgufType::kString, Bytes().str(v));
}

struct RawTensor {
  std::string name;
  uint32_t n_dims;
  std::vector<uint64_t> dims;
  uint32_t type;
  uint64_t offset;
};

// A GGUF image assembled field by field, so that tests can break any one field.
struct RawGguf {
  std::string magic = "GGUF";
  uint32_t version = 3;
  std::optional<uint64_t> tensor_count;  // overrides tensors.size()
  std::optional<uint64_t> kv_count;      // overrides kvs.size()
  std::vector<Bytes> kvs;
  std::vector<RawTensor> tensors;
  uint64_t alignment = 32;  // used to pad up to the data section
  std::vector<uint8_t> data;

  std::vector<uint8_t> bytes() const {
    Bytes out;
    out.raw(magic.data(), 4).u32(version);
    out.u64(tensor_count.value_or(tensors.size())).u64(kv_count.value_or(kvs.size()));
    for (const Bytes& k : kvs) out.append(k);
    for (const RawTensor& t : tensors) {
      out.str(t.name).u32(t.n_dims);
      for (uint64_t d : t.dims) out.u64(d);
      out.u32(t.type).u64(t.offset);
    }
    while (out.b.size() % alignment != 0) out.u8(0);
    out.raw(data.data(), data.size());
    return out.b;
  }
};

// A small valid file: two metadata entries, an f32 tensor and a q8_0 tensor.
inline RawGguf baseline_raw() {
  RawGguf g;
  g.kvs.push_back(kv_string("general.architecture", "llama"));
  g.kvs.push_back(kv_u32("llama.block_count", 2));
  g.tensors.push_back({"a.weight", 1, {4}, static_cast<uint32_t>(DType::kF32), 0});
  g.tensors.push_back({"b.weight", 2, {32, 2}, static_cast<uint32_t>(DType::kQ8_0), 32});
  g.data.assign(32 + 2 * 34, 0x5a);
  return g;
}

// Runs f, which must throw hearth::Error with this code and a message holding every needle.
inline void expect_error(const std::function<void()>& f, ErrorCode code, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "no error thrown; expected " << error_code_name(code);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << "message: " << e.what();
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos)
        << "message '" << e.what() << "' lacks '" << n << "'";
  }
}

}  // namespace hearth::formats::testing
