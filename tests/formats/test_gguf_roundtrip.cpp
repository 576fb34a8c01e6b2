#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <thread>

#include "core/dtype.h"
#include "formats/gguf.h"
#include "gguf_test_util.h"

namespace hearth::formats {
namespace {

using testing::expect_error;
using testing::read_bytes;
using testing::ScratchDir;
using testing::write_bytes;

// One value of every type, with extremes, and arrays of each (nested and of strings).
std::vector<std::pair<std::string, GgufValue>> every_value() {
  using L8 = std::numeric_limits<int8_t>;
  using L16 = std::numeric_limits<int16_t>;
  using L32 = std::numeric_limits<int32_t>;
  using L64 = std::numeric_limits<int64_t>;
  std::vector<std::pair<std::string, GgufValue>> v;
  v.emplace_back("t.u8", GgufValue::make_uint(GgufType::kUint8, 255));
  v.emplace_back("t.i8", GgufValue::make_int(GgufType::kInt8, L8::min()));
  v.emplace_back("t.u16", GgufValue::make_uint(GgufType::kUint16, 65535));
  v.emplace_back("t.i16", GgufValue::make_int(GgufType::kInt16, L16::min()));
  v.emplace_back("t.u32", GgufValue::u32(std::numeric_limits<uint32_t>::max()));
  v.emplace_back("t.i32", GgufValue::i32(L32::min()));
  v.emplace_back("t.f32", GgufValue::f32(-1.5e-30f));
  v.emplace_back("t.bool_true", GgufValue::make_bool(true));
  v.emplace_back("t.bool_false", GgufValue::make_bool(false));
  v.emplace_back("t.string", GgufValue::str("h\xc3\xa9llo, w\0rld"));
  v.emplace_back("t.string_with_nul", GgufValue::str(std::string("a\0b", 3)));
  v.emplace_back("t.empty_string", GgufValue::str(""));
  v.emplace_back("t.u64", GgufValue::make_uint(GgufType::kUint64, std::numeric_limits<uint64_t>::max()));
  v.emplace_back("t.i64", GgufValue::make_int(GgufType::kInt64, L64::min()));
  v.emplace_back("t.f64", GgufValue::make_float(GgufType::kFloat64, 3.141592653589793));
  v.emplace_back("t.f64_inf", GgufValue::make_float(GgufType::kFloat64, -INFINITY));
  v.emplace_back("t.f32_nan", GgufValue::f32(NAN));
  const GgufType scalar_types[] = {GgufType::kUint8, GgufType::kInt8, GgufType::kUint16, GgufType::kInt16,
                                   GgufType::kUint32, GgufType::kInt32, GgufType::kUint64, GgufType::kInt64};
  for (GgufType t : scalar_types) {
    std::vector<GgufValue> elems;
    for (int i = 0; i < 5; ++i) elems.push_back(GgufValue::make_uint(t, static_cast<uint64_t>(i * 31)));
    v.emplace_back(std::string("arr.") + gguf_type_name(t), GgufValue::make_array(t, elems));
  }
  v.emplace_back("arr.float32", GgufValue::f32_array({1.0f, -2.5f, 1e30f}));
  v.emplace_back("arr.float64", GgufValue::make_array(GgufType::kFloat64, {GgufValue::make_float(GgufType::kFloat64, 1e300)}));
  v.emplace_back("arr.bool", GgufValue::make_array(GgufType::kBool, {GgufValue::make_bool(true), GgufValue::make_bool(false)}));
  v.emplace_back("arr.string", GgufValue::string_array({"<s>", "", "\xe2\x96\x81the", std::string(300, 'x')}));
  v.emplace_back("arr.empty", GgufValue::make_array(GgufType::kString, {}));
  v.emplace_back("arr.nested", GgufValue::make_array(GgufType::kArray, {GgufValue::i32_array({1, 2}),
                                                                        GgufValue::string_array({"a", "b"}),
                                                                        GgufValue::make_array(GgufType::kFloat32, {})}));
  // The deepest nesting the reader takes.
  GgufValue deep = GgufValue::i32_array({42});
  for (int d = 1; d < kGgufMaxArrayDepth; ++d) deep = GgufValue::make_array(GgufType::kArray, {deep, deep});
  v.emplace_back("arr.deepest", deep);
  return v;
}

TEST(GgufRoundTrip, EveryValueTypeSurvivesWriteAndOpen) {
  ScratchDir dir;
  const std::string path = dir.file("values.gguf");
  GgufWriter w;
  const auto values = every_value();
  for (const auto& [k, v] : values) w.set(k, v);
  w.write(path);

  auto f = GgufFile::open(path);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_FALSE(f->has("general.alignment"));  // only written when not the default
  EXPECT_EQ(f->metadata().size(), values.size());
  EXPECT_TRUE(f->tensors().empty());
  for (const auto& [k, v] : values) {
    const GgufValue* got = f->find(k);
    ASSERT_NE(got, nullptr) << k;
    EXPECT_EQ(*got, v) << k;
  }
  EXPECT_EQ(f->get_string("t.string_with_nul"), std::string("a\0b", 3));
  EXPECT_EQ(f->find("t.u8")->type(), GgufType::kUint8);
  EXPECT_TRUE(std::isnan(f->get_float("t.f32_nan")));
  const auto& deep = f->find("arr.deepest")->as_array()[1].as_array()[0].as_array()[1].as_array();
  EXPECT_EQ(deep[0].as_int(), 42);
  const auto strings = f->get_string_array("arr.string");
  ASSERT_EQ(strings.size(), 4u);
  EXPECT_EQ(strings[2], "\xe2\x96\x81the");
  EXPECT_EQ(strings[3].size(), 300u);
  // Reader strings are views into the mapping, not copies.
  const uint8_t* base = f->mapping()->data();
  EXPECT_GE(reinterpret_cast<const uint8_t*>(strings[3].data()), base);
  EXPECT_LT(reinterpret_cast<const uint8_t*>(strings[3].data()), base + f->file_size());
}

// Flat arrays are kept encoded in the mapping and decoded on first use (once,
// even when several threads ask at the same time); the typed getters read the
// bytes directly and agree with the decoded elements.
TEST(GgufRoundTrip, FlatArraysAreDecodedOnlyWhenAskedAndAgree) {
  ScratchDir dir;
  const std::string path = dir.file("arrays.gguf");
  GgufWriter w;
  for (const auto& [k, v] : every_value()) w.set(k, v);
  w.write(path);
  auto f = GgufFile::open(path);
  const uint8_t* base = f->mapping()->data();
  for (const char* key : {"arr.string", "arr.float32", "arr.int32", "arr.bool", "arr.uint64"}) {
    const GgufValue* v = f->find(key);
    ASSERT_NE(v, nullptr) << key;
    const auto bytes = v->encoded_bytes();
    ASSERT_FALSE(bytes.empty()) << key;
    EXPECT_GE(bytes.data(), base) << key;
    EXPECT_LE(bytes.data() + bytes.size(), base + f->file_size()) << key;
  }
  EXPECT_TRUE(f->find("arr.nested")->encoded_bytes().empty());  // nested arrays are decoded at open
  EXPECT_EQ(f->find("arr.string")->array_size(), 4u);

  const GgufValue* strings = f->find("arr.string");
  std::vector<const std::vector<GgufValue>*> seen(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&, t] { seen[t] = &strings->as_array(); });
  for (auto& t : threads) t.join();
  for (int t = 1; t < 4; ++t) EXPECT_EQ(seen[t], seen[0]);
  const auto views = f->get_string_array("arr.string");
  ASSERT_EQ(views.size(), seen[0]->size());
  for (size_t i = 0; i < views.size(); ++i) EXPECT_EQ(views[i], (*seen[0])[i].as_string());
  const auto ints = f->get_int_array("arr.int32");
  const auto& decoded = f->find("arr.int32")->as_array();
  ASSERT_EQ(ints.size(), decoded.size());
  for (size_t i = 0; i < ints.size(); ++i) EXPECT_EQ(ints[i], decoded[i].as_int());
  EXPECT_EQ(f->get_float_array("arr.float32"), (std::vector<float>{1.0f, -2.5f, 1e30f}));
  expect_error([&] { f->get_float_array("arr.string"); }, ErrorCode::kFormat, {"arr.string"});
  expect_error([&] { f->get_string_array("t.u8"); }, ErrorCode::kFormat, {"t.u8"});
}

TEST(GgufRoundTrip, ToBytesMatchesTheWrittenFileAndKeepsInsertionOrder) {
  ScratchDir dir;
  GgufWriter w;
  w.set("zzz.first", GgufValue::u32(1));
  w.set("aaa.second", GgufValue::u32(2));
  w.set("mmm.third", GgufValue::str("x"));
  w.set("zzz.first", GgufValue::u32(9));  // replaces, keeps its place
  const std::vector<uint8_t> image = w.to_bytes();
  const std::string path = dir.file("order.gguf");
  w.write(path);
  EXPECT_EQ(read_bytes(path), image);

  const std::string s(image.begin(), image.end());
  const size_t first = s.find("zzz.first"), second = s.find("aaa.second"), third = s.find("mmm.third");
  ASSERT_NE(first, std::string::npos);
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_EQ(s.find("zzz.first", first + 1), std::string::npos);  // written once
  auto f = GgufFile::parse(image.data(), image.size(), "order.gguf");
  EXPECT_EQ(f->get_uint("zzz.first"), 9u);
  EXPECT_EQ(f->metadata().size(), 3u);
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

struct TensorSpec {
  std::string name;
  DType type;
  std::vector<int64_t> dims;
};

size_t tensor_bytes(const TensorSpec& t) {
  int64_t n = dtype_row_bytes(t.type, t.dims[0]);
  for (size_t i = 1; i < t.dims.size(); ++i) n *= t.dims[i];
  return static_cast<size_t>(n);
}

class GgufAlignment : public ::testing::TestWithParam<uint64_t> {};

TEST_P(GgufAlignment, TensorsAreAlignedZeroCopyAndIntact) {
  const uint64_t alignment = GetParam();
  const std::vector<TensorSpec> specs = {
      {"odd.f32", DType::kF32, {3}},
      {"m.f16", DType::kF16, {5, 3}},
      {"q.q8_0", DType::kQ8_0, {64, 3}},
      {"k.q4_k", DType::kQ4_K, {256, 2, 1}},
      {"b.bf16", DType::kBF16, {7, 1, 1, 2}},
      {"i.i8", DType::kI8, {1}},
  };
  GgufWriter w(alignment);
  w.set("general.name", GgufValue::str("aligned"));
  std::vector<std::vector<uint8_t>> payloads;
  for (size_t i = 0; i < specs.size(); ++i) {
    payloads.push_back(random_bytes(tensor_bytes(specs[i]), static_cast<uint32_t>(i + alignment)));
    w.add_tensor(specs[i].name, specs[i].type, specs[i].dims, payloads.back().data(), payloads.back().size());
  }
  ScratchDir dir;
  const std::string path = dir.file("aligned.gguf");
  w.write(path);

  auto f = GgufFile::open(path);
  EXPECT_EQ(f->alignment(), alignment);
  EXPECT_EQ(f->has("general.alignment"), alignment != 32);
  if (alignment != 32) {
    EXPECT_EQ(f->get_uint("general.alignment"), alignment);
  }
  EXPECT_EQ(f->data_offset() % alignment, 0u);
  ASSERT_NE(f->mapping(), nullptr);
  EXPECT_EQ(f->data_section(), f->mapping()->data() + f->data_offset());
  ASSERT_EQ(f->tensors().size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const GgufTensorInfo& t = f->tensors()[i];
    EXPECT_EQ(t.name, specs[i].name);
    EXPECT_EQ(t.type, specs[i].type);
    EXPECT_EQ(t.dims, specs[i].dims);
    EXPECT_EQ(t.offset % alignment, 0u) << t.name;
    EXPECT_EQ(static_cast<size_t>(t.n_bytes()), payloads[i].size());
    EXPECT_EQ(f->find_tensor(specs[i].name), &t);
    const uint8_t* p = f->tensor_data(t);
    EXPECT_EQ(p, f->mapping()->data() + f->data_offset() + t.offset) << "not zero-copy: " << t.name;
    EXPECT_EQ(std::memcmp(p, payloads[i].data(), payloads[i].size()), 0) << t.name;
  }
  EXPECT_EQ(f->tensors()[3].n_elements(), 512);
  EXPECT_EQ(f->find_tensor("nope"), nullptr);

  // parse() of the same bytes is zero-copy over the caller's buffer.
  const std::vector<uint8_t> image = read_bytes(path);
  auto g = GgufFile::parse(image.data(), image.size(), "image");
  EXPECT_EQ(g->mapping(), nullptr);
  for (const auto& t : g->tensors()) EXPECT_EQ(g->tensor_data(t), image.data() + g->data_offset() + t.offset);
  // The file ends exactly where the last tensor's data ends.
  const auto& last = g->tensors().back();
  EXPECT_EQ(g->data_offset() + last.offset + static_cast<uint64_t>(last.n_bytes()), image.size());
}

INSTANTIATE_TEST_SUITE_P(Gguf, GgufAlignment, ::testing::Values(1, 8, 32, 64, 4096));

TEST(GgufRoundTrip, Version2IsRead) {
  GgufWriter w;
  w.set("k", GgufValue::u32(5));
  std::vector<uint8_t> image = w.to_bytes();
  image[4] = 2;
  auto f = GgufFile::parse(image.data(), image.size(), "v2.gguf");
  EXPECT_EQ(f->version(), 2u);
  EXPECT_EQ(f->get_uint("k"), 5u);
}

TEST(GgufRoundTrip, MetadataOnlyFileWithoutPaddingIsRead) {
  GgufWriter w;
  w.set("k", GgufValue::str("abc"));  // header 24 + kv 8+1+4+8+3 = 48: 16 bytes of padding follow
  std::vector<uint8_t> image = w.to_bytes();
  ASSERT_EQ(image.size(), 64u);
  image.resize(48);
  auto f = GgufFile::parse(image.data(), image.size(), "nopad.gguf");
  EXPECT_EQ(f->get_string("k"), "abc");
  EXPECT_EQ(f->data_offset(), 48u);
  image.resize(50);  // a cut inside the padding is still a truncation
  image[48] = image[49] = 0;
  testing::expect_error([&] { GgufFile::parse(image.data(), 50, "cut.gguf"); }, ErrorCode::kFormat,
                        {"cut.gguf", "truncated"});
}

TEST(GgufGetters, CoerceAndNameFileAndKey) {
  GgufWriter w;
  w.set("i32.pos", GgufValue::i32(7));
  w.set("i32.neg", GgufValue::i32(-7));
  w.set("u8", GgufValue::make_uint(GgufType::kUint8, 200));
  w.set("f64", GgufValue::make_float(GgufType::kFloat64, 2.5));
  w.set("s", GgufValue::str("text"));
  w.set("b", GgufValue::make_bool(true));
  w.set("ints", GgufValue::make_array(GgufType::kInt16, {GgufValue::make_int(GgufType::kInt16, -3),
                                                          GgufValue::make_int(GgufType::kInt16, 4)}));
  w.set("u64s", GgufValue::make_array(GgufType::kUint64, {GgufValue::make_uint(GgufType::kUint64, UINT64_MAX)}));
  w.set("floats", GgufValue::f32_array({0.5f, -1}));
  w.set("mixed_nested", GgufValue::make_array(GgufType::kArray, {GgufValue::i32_array({1})}));
  const auto image = w.to_bytes();
  auto f = GgufFile::parse(image.data(), image.size(), "getters.gguf");

  EXPECT_EQ(f->get_uint("i32.pos"), 7u);
  EXPECT_EQ(f->get_uint("u8"), 200u);
  EXPECT_DOUBLE_EQ(f->get_float("u8"), 200.0);
  EXPECT_DOUBLE_EQ(f->get_float("i32.neg"), -7.0);
  EXPECT_DOUBLE_EQ(f->get_float("f64"), 2.5);
  EXPECT_EQ(f->get_string("s"), "text");
  EXPECT_TRUE(f->get_bool_or("b", false));
  EXPECT_FALSE(f->get_bool_or("missing", false));
  EXPECT_EQ(f->get_uint_or("missing", 11), 11u);
  EXPECT_EQ(f->get_uint_or("u8", 11), 200u);
  EXPECT_EQ(f->get_string_or("missing", "fb"), "fb");
  EXPECT_EQ(f->get_string_or("s", "fb"), "text");
  EXPECT_DOUBLE_EQ(f->get_float_or("missing", 0.25), 0.25);
  EXPECT_EQ(f->get_int_array("ints"), (std::vector<int64_t>{-3, 4}));
  EXPECT_EQ(f->get_float_array("ints"), (std::vector<float>{-3, 4}));
  EXPECT_EQ(f->get_float_array("floats"), (std::vector<float>{0.5f, -1}));

  expect_error([&] { f->get_uint("i32.neg"); }, ErrorCode::kFormat, {"getters.gguf", "i32.neg", "negative"});
  expect_error([&] { f->get_uint("missing"); }, ErrorCode::kNotFound, {"getters.gguf", "missing", "not found"});
  expect_error([&] { f->get_string("missing"); }, ErrorCode::kNotFound, {"getters.gguf", "missing"});
  expect_error([&] { f->get_float("missing"); }, ErrorCode::kNotFound, {"getters.gguf", "missing"});
  expect_error([&] { f->get_string_array("missing"); }, ErrorCode::kNotFound, {"getters.gguf"});
  expect_error([&] { f->get_string("u8"); }, ErrorCode::kFormat, {"getters.gguf", "'u8'", "uint8"});
  expect_error([&] { f->get_string_or("u8", "x"); }, ErrorCode::kFormat, {"getters.gguf", "u8"});
  expect_error([&] { f->get_uint_or("s", 1); }, ErrorCode::kFormat, {"getters.gguf", "'s'"});
  expect_error([&] { f->get_float("s"); }, ErrorCode::kFormat, {"getters.gguf", "'s'"});
  expect_error([&] { f->get_bool_or("u8", false); }, ErrorCode::kFormat, {"getters.gguf", "bool"});
  expect_error([&] { f->get_string_array("ints"); }, ErrorCode::kFormat, {"getters.gguf", "ints", "int16"});
  expect_error([&] { f->get_string_array("s"); }, ErrorCode::kFormat, {"getters.gguf", "array"});
  expect_error([&] { f->get_int_array("u64s"); }, ErrorCode::kFormat, {"getters.gguf", "u64s"});
  expect_error([&] { f->get_int_array("floats"); }, ErrorCode::kFormat, {"getters.gguf", "float32"});
  expect_error([&] { f->get_float_array("mixed_nested"); }, ErrorCode::kFormat, {"getters.gguf", "array"});
}

TEST(GgufWriter, RejectsBadTensors) {
  GgufWriter w;
  std::vector<uint8_t> buf(4096);
  expect_error([&] { w.add_tensor("t", DType::kF32, {4}, buf.data(), 15); }, ErrorCode::kInvalidArgument,
               {"'t'", "16", "15"});
  expect_error([&] { w.add_tensor("t", DType::kQ8_0, {31}, buf.data(), 34); }, ErrorCode::kInvalidArgument,
               {"'t'", "block size 32"});
  expect_error([&] { w.add_tensor("t", DType::kF32, {4, 0}, buf.data(), 0); }, ErrorCode::kInvalidArgument,
               {"'t'", "dimension 1"});
  expect_error([&] { w.add_tensor("t", DType::kF32, {}, buf.data(), 0); }, ErrorCode::kInvalidArgument, {"'t'"});
  expect_error([&] { w.add_tensor("t", DType::kF32, {1, 1, 1, 1, 1}, buf.data(), 4); }, ErrorCode::kInvalidArgument,
               {"'t'", "5 dimensions"});
  expect_error([&] { w.add_tensor("", DType::kF32, {1}, buf.data(), 4); }, ErrorCode::kInvalidArgument, {"empty"});
  expect_error([&] { w.add_tensor("t", DType::kF32, {1}, nullptr, 4); }, ErrorCode::kInvalidArgument, {"no data"});
  expect_error([&] { w.add_tensor("t", static_cast<DType>(4), {32}, buf.data(), 18); }, ErrorCode::kInvalidArgument,
               {"'t'", "unknown dtype"});
  w.add_tensor("t", DType::kQ4_0, {64}, buf.data(), 36);
  expect_error([&] { w.add_tensor("t", DType::kF32, {1}, buf.data(), 4); }, ErrorCode::kInvalidArgument,
               {"'t'", "twice"});
}

TEST(GgufWriter, RejectsBadAlignmentAndMetadata) {
  expect_error([] { GgufWriter w(0); }, ErrorCode::kInvalidArgument, {"alignment 0"});
  expect_error([] { GgufWriter w(48); }, ErrorCode::kInvalidArgument, {"alignment 48"});
  expect_error([] { GgufWriter w(uint64_t{1} << 33); }, ErrorCode::kInvalidArgument, {"alignment"});
  GgufWriter w;
  expect_error([&] { w.set("general.alignment", GgufValue::u32(24)); }, ErrorCode::kInvalidArgument,
               {"general.alignment"});
  expect_error([&] { w.set("general.alignment", GgufValue::make_uint(GgufType::kUint64, 64)); },
               ErrorCode::kInvalidArgument, {"general.alignment"});
  expect_error([&] { w.set("", GgufValue::u32(1)); }, ErrorCode::kInvalidArgument, {"empty"});
  GgufValue deep = GgufValue::i32_array({1});
  for (int d = 0; d < kGgufMaxArrayDepth; ++d) deep = GgufValue::make_array(GgufType::kArray, {deep});
  expect_error([&] { w.set("deep", deep); }, ErrorCode::kInvalidArgument, {"'deep'", "nested"});
}

TEST(GgufWriter, GeneralAlignmentKeySetsTheLayout) {
  GgufWriter w;
  w.set("general.alignment", GgufValue::u32(256));
  const std::vector<uint8_t> data(4, 1);
  w.add_tensor("a", DType::kI8, {4}, data.data(), 4);
  w.add_tensor("b", DType::kI8, {4}, data.data(), 4);
  const auto image = w.to_bytes();
  auto f = GgufFile::parse(image.data(), image.size(), "a256.gguf");
  EXPECT_EQ(f->alignment(), 256u);
  EXPECT_EQ(f->data_offset() % 256, 0u);
  EXPECT_EQ(f->find_tensor("b")->offset, 256u);
  EXPECT_EQ(f->metadata().size(), 1u);  // the key is not written twice
}

TEST(GgufWriter, WriteIsAtomicAndReportsIoErrors) {
  ScratchDir dir;
  const std::string path = dir.file("model.gguf");
  write_bytes(path, {'o', 'l', 'd'});
  GgufWriter w;
  w.set("general.name", GgufValue::str("new"));
  w.write(path);
  EXPECT_EQ(GgufFile::open(path)->get_string("general.name"), "new");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u) << "temporary file left behind";

  const std::string bad = dir.file("no/such/dir/model.gguf");
  expect_error([&] { w.write(bad); }, ErrorCode::kIo, {bad, "No such file"});
}

TEST(GgufWriter, OpenedFilesRewriteToTheSameContents) {
  // Re-serializing what the reader produced (views into the mapping) must round-trip.
  GgufWriter w(64);
  for (const auto& [k, v] : every_value()) w.set(k, v);
  const std::vector<uint8_t> payload = random_bytes(34 * 4, 3);
  w.add_tensor("q", DType::kQ8_0, {32, 4}, payload.data(), payload.size());
  const auto image = w.to_bytes();
  auto f = GgufFile::parse(image.data(), image.size(), "first");
  GgufWriter again(f->alignment());
  for (const auto& [k, v] : f->metadata()) again.set(k, v);
  for (const auto& t : f->tensors())
    again.add_tensor(t.name, t.type, t.dims, f->tensor_data(t), static_cast<size_t>(t.n_bytes()));
  const auto image2 = again.to_bytes();
  auto g = GgufFile::parse(image2.data(), image2.size(), "second");
  EXPECT_EQ(g->metadata(), f->metadata());
  ASSERT_EQ(g->tensors().size(), 1u);
  EXPECT_EQ(std::memcmp(g->tensor_data(g->tensors()[0]), payload.data(), payload.size()), 0);
}

}  // namespace
}  // namespace hearth::formats
