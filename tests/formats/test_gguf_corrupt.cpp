// Every malformed input must end in a hearth::Error that names the file, never a crash.
#include <gtest/gtest.h>

#include "formats/gguf.h"
#include "gguf_test_util.h"

namespace hearth::formats {
namespace {

using namespace testing;  // NOLINT: the helpers of gguf_test_util.h

// Expects the image to be rejected both in memory and from a file, with the code
// and every needle in the message (plus the file name).
void expect_rejected(const std::vector<uint8_t>& image, ErrorCode code, std::vector<std::string> needles) {
  auto in_memory = needles;
  in_memory.push_back("corrupt.gguf");
  expect_error([&] { GgufFile::parse(image.data(), image.size(), "corrupt.gguf"); }, code, in_memory);
  ScratchDir dir;
  const std::string path = dir.file("corrupt.gguf");
  write_bytes(path, image);
  needles.push_back(path);
  expect_error([&] { GgufFile::open(path); }, code, needles);
}

TEST(GgufCorrupt, BaselineIsValid) {
  const auto image = baseline_raw().bytes();
  auto f = GgufFile::parse(image.data(), image.size(), "baseline.gguf");
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  ASSERT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(f->find_tensor("b.weight")->n_bytes(), 68);
  EXPECT_EQ(f->data_offset() + 32 + 68, image.size());
}

TEST(GgufCorrupt, BadMagic) {
  RawGguf g = baseline_raw();
  g.magic = "GGML";
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"not a GGUF file", "47 47 4d 4c"});
  expect_rejected({'G', 'G'}, ErrorCode::kFormat, {"not a GGUF file"});
}

TEST(GgufCorrupt, ByteSwappedFilesAreDetected) {
  RawGguf g = baseline_raw();
  g.version = 0x03000000;  // version 3 written big-endian
  expect_rejected(g.bytes(), ErrorCode::kUnsupported, {"big-endian"});
  g = baseline_raw();
  g.magic = "FUGG";  // magic written as a big-endian integer
  expect_rejected(g.bytes(), ErrorCode::kUnsupported, {"big-endian"});
}

TEST(GgufCorrupt, VersionOneAndUnknownVersions) {
  RawGguf g = baseline_raw();
  g.version = 1;
  expect_rejected(g.bytes(), ErrorCode::kUnsupported, {"version 1"});
  g.version = 0;
  expect_rejected(g.bytes(), ErrorCode::kUnsupported, {"version 0"});
  g.version = 4;
  expect_rejected(g.bytes(), ErrorCode::kUnsupported, {"version 4"});
}

TEST(GgufCorrupt, EveryTruncationIsAFormatError) {
  GgufWriter w(64);
  w.set("general.architecture", GgufValue::str("llama"));
  w.set("u8", GgufValue::make_uint(GgufType::kUint8, 1));
  w.set("i16", GgufValue::make_int(GgufType::kInt16, -2));
  w.set("f64", GgufValue::make_float(GgufType::kFloat64, 0.5));
  w.set("b", GgufValue::make_bool(true));
  w.set("tokens", GgufValue::string_array({"a", "bc", ""}));
  w.set("nested", GgufValue::make_array(GgufType::kArray, {GgufValue::f32_array({1, 2})}));
  const std::vector<uint8_t> f32(4 * 3, 7), q8(34, 9);
  w.add_tensor("t.f32", DType::kF32, {3}, f32.data(), f32.size());
  w.add_tensor("t.q8", DType::kQ8_0, {32}, q8.data(), q8.size());
  const std::vector<uint8_t> image = w.to_bytes();
  ASSERT_NO_THROW(GgufFile::parse(image.data(), image.size(), "whole.gguf"));

  for (size_t n = 0; n < image.size(); ++n) {
    // A copy of exactly n bytes, so that ASan catches any read past the cut.
    const std::vector<uint8_t> prefix(image.begin(), image.begin() + static_cast<std::ptrdiff_t>(n));
    try {
      GgufFile::parse(prefix.data(), prefix.size(), "cut.gguf");
      ADD_FAILURE() << "a prefix of " << n << " bytes was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kFormat) << n << ": " << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("cut.gguf: ", 0), 0u) << e.what();
    }
  }
  // A few through open(), the empty file included.
  ScratchDir dir;
  for (size_t n : {size_t{0}, size_t{3}, size_t{30}, image.size() / 2, image.size() - 1}) {
    const std::string path = dir.file("cut" + std::to_string(n) + ".gguf");
    write_bytes(path, std::vector<uint8_t>(image.begin(), image.begin() + static_cast<std::ptrdiff_t>(n)));
    expect_error([&] { GgufFile::open(path); }, ErrorCode::kFormat, {path});
  }
}

TEST(GgufCorrupt, AbsurdCountsAreRejectedBeforeAllocating) {
  RawGguf g = baseline_raw();
  g.tensor_count = uint64_t{1} << 62;
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"tensor count 4611686018427387904"});
  g = baseline_raw();
  g.kv_count = UINT64_MAX;
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"metadata count 18446744073709551615"});
  g = baseline_raw();
  g.kv_count = 3;  // one more than present: fits the count check, then runs into the tensor infos
  expect_rejected(g.bytes(), ErrorCode::kFormat, {});
  g = baseline_raw();
  g.kvs.push_back(kv("arr", GgufType::kArray, Bytes().u32(static_cast<uint32_t>(GgufType::kUint64)).u64(1ull << 60)));
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'arr'", "array of 1152921504606846976 uint64"});
}

TEST(GgufCorrupt, HugeStringLengths) {
  RawGguf g = baseline_raw();
  g.kvs.push_back(kv("name", GgufType::kString, Bytes().u64(UINT64_MAX - 3)));
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'name'", "length 18446744073709551612", "exceeds"});
  g = baseline_raw();
  g.kvs.insert(g.kvs.begin(), Bytes().u64(1ull << 40));  // a key length
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"metadata entry 0", "length 1099511627776"});
  g = baseline_raw();
  g.kvs.push_back(kv("toks", GgufType::kArray,
                     Bytes().u32(static_cast<uint32_t>(GgufType::kString)).u64(1).u64(1ull << 50)));
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'toks'", "length 1125899906842624"});
}

TEST(GgufCorrupt, BadValues) {
  RawGguf g = baseline_raw();
  g.kvs.push_back(kv("flag", GgufType::kBool, Bytes().u8(2)));
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'flag'", "bool", "is 2"});
  g = baseline_raw();
  g.kvs.push_back(kv("what", static_cast<GgufType>(13), Bytes().u32(0)));
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'what'", "unknown value type 13"});
  g = baseline_raw();
  g.kvs.push_back(kv("arr", GgufType::kArray, Bytes().u32(99).u64(0)));
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'arr'", "unknown array element type 99"});
  g = baseline_raw();
  g.kvs.push_back(kv("", GgufType::kUint32, Bytes().u32(0)));
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"empty key"});
  // Nesting one level deeper than the reader takes.
  Bytes deep;
  for (int d = 0; d < kGgufMaxArrayDepth; ++d) deep.u32(static_cast<uint32_t>(GgufType::kArray)).u64(1);
  deep.u32(static_cast<uint32_t>(GgufType::kUint8)).u64(0);
  g = baseline_raw();
  g.kvs.push_back(kv("deep", GgufType::kArray, deep));
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'deep'", "nested"});
}

TEST(GgufCorrupt, DuplicateKeyAndTensorName) {
  RawGguf g = baseline_raw();
  g.kvs.push_back(kv_u32("llama.block_count", 3));
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"duplicate metadata key 'llama.block_count'"});
  g = baseline_raw();
  g.tensors[1].name = "a.weight";
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"duplicate tensor 'a.weight'"});
  g = baseline_raw();
  g.tensors[1].name = "";
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"tensor info 1", "empty name"});
}

TEST(GgufCorrupt, BadAlignment) {
  for (uint32_t a : {0u, 48u, 3u}) {
    RawGguf g = baseline_raw();
    g.kvs.push_back(kv_u32("general.alignment", a));
    expect_rejected(g.bytes(), ErrorCode::kFormat, {"general.alignment", "power of two", std::to_string(a)});
  }
  RawGguf g = baseline_raw();
  g.kvs.push_back(kv("general.alignment", GgufType::kUint64, Bytes().u64(32)));
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"general.alignment", "uint32", "uint64"});
}

TEST(GgufCorrupt, BadTensorInfos) {
  RawGguf g = baseline_raw();
  g.tensors[0].n_dims = 5;
  g.tensors[0].dims = {4, 1, 1, 1, 1};
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'a.weight'", "5 dimensions"});
  g = baseline_raw();
  g.tensors[0].n_dims = 0;
  g.tensors[0].dims = {};
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'a.weight'", "0 dimensions"});
  g = baseline_raw();
  g.tensors[1].dims = {32, 0};
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'b.weight'", "dimension 1 equal to 0"});
  g = baseline_raw();
  g.tensors[0].type = 4;  // a retired ggml type id
  expect_rejected(g.bytes(), ErrorCode::kUnsupported, {"'a.weight'", "tensor type 4"});
  g = baseline_raw();
  g.tensors[0].type = 0xdeadbeef;
  expect_rejected(g.bytes(), ErrorCode::kUnsupported, {"'a.weight'", "3735928559"});
  g = baseline_raw();
  g.tensors[1].dims = {31, 2};
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'b.weight'", "31", "block size 32"});
  g = baseline_raw();
  g.tensors[1].dims = {1ull << 32, 1ull << 32};
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'b.weight'", "too many elements"});
  g = baseline_raw();
  g.tensors[1].dims = {1ull << 63};
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'b.weight'", "too many elements"});
  g = baseline_raw();
  g.tensors[0].dims = {1ull << 62};  // elements fit, bytes (4 each) do not
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'a.weight'", "overflows"});
}

TEST(GgufCorrupt, BadTensorOffsets) {
  RawGguf g = baseline_raw();
  g.tensors[1].offset = 40;
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'b.weight'", "offset 40", "alignment 32"});
  g = baseline_raw();
  g.tensors[1].offset = 64;  // aligned, but 64 + 68 > 100 bytes of data
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'b.weight'", "offset 64, 68 bytes", "past the end"});
  g = baseline_raw();
  g.tensors[1].offset = UINT64_MAX - 31;  // aligned, and offset + size wraps around
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'b.weight'", "past the end"});
  g = baseline_raw();
  g.data.resize(g.data.size() - 1);
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"'b.weight'", "past the end"});
}

TEST(GgufCorrupt, HostileNamesAreEscapedInMessages) {
  RawGguf g = baseline_raw();
  g.kvs.push_back(kv_u32(std::string("bad\n\x01key", 8), 1));
  g.kvs.push_back(kv_u32(std::string("bad\n\x01key", 8), 2));
  expect_rejected(g.bytes(), ErrorCode::kFormat, {"bad\\x0a\\x01key"});
}

}  // namespace
}  // namespace hearth::formats
