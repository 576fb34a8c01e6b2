// GgufWriter's streaming mode: tensors whose bytes a producer makes at write time
// give the same file as tensors added whole, and a producer that misbehaves leaves
// no file behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>
#include <random>

#include "core/dtype.h"
#include "formats/gguf.h"
#include "gguf_test_util.h"

namespace hearth::formats {
namespace {

using testing::expect_error;
using testing::read_bytes;
using testing::ScratchDir;

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// A producer that hands over bytes in uneven pieces, some of them empty.
GgufWriter::TensorProducer pieces_of(std::vector<uint8_t> bytes) {
  return [bytes = std::move(bytes)](const GgufWriter::TensorSink& sink) {
    size_t at = 0, step = 1;
    while (at < bytes.size()) {
      const size_t n = std::min(step, bytes.size() - at);
      sink(bytes.data() + at, n);
      sink(bytes.data() + at, 0);
      at += n;
      step = step * 3 + 1;
    }
  };
}

size_t entries_in(const std::filesystem::path& dir) {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

TEST(GgufStreaming, SameBytesAsWholeTensors) {
  const auto f32 = random_bytes(4 * 100, 1);
  const auto q8 = random_bytes(34 * 3 * 7, 2);
  const auto big =
      random_bytes(static_cast<size_t>(dtype_row_bytes(DType::kQ4_K, 4096) * 600), 3);  // > 1 MiB

  GgufWriter whole(64), streamed(64);
  for (GgufWriter* w : {&whole, &streamed}) {
    w->set("general.architecture", GgufValue::str("llama"));
    w->set("x.count", GgufValue::u32(7));
  }
  whole.add_tensor("a", DType::kF32, {100}, f32.data(), f32.size());
  whole.add_tensor("b", DType::kQ8_0, {96, 7}, q8.data(), q8.size());
  whole.add_tensor("c", DType::kQ4_K, {4096, 600}, big.data(), big.size());
  streamed.add_tensor_stream("a", DType::kF32, {100}, pieces_of(f32));
  streamed.add_tensor("b", DType::kQ8_0, {96, 7}, q8.data(), q8.size());  // modes mix
  streamed.add_tensor_stream("c", DType::kQ4_K, {4096, 600}, [&big](const GgufWriter::TensorSink& sink) {
    sink(big.data(), big.size());  // one piece larger than the write buffer
  });

  const std::vector<uint8_t> want = whole.to_bytes();
  EXPECT_EQ(streamed.to_bytes(), want);
  EXPECT_EQ(streamed.to_bytes(), want);  // producers run again on every write

  ScratchDir dir;
  streamed.write(dir.file("s.gguf"));
  EXPECT_EQ(read_bytes(dir.file("s.gguf")), want);
  auto file = GgufFile::open(dir.file("s.gguf"));
  const GgufTensorInfo* c = file->find_tensor("c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(std::memcmp(file->tensor_data(*c), big.data(), big.size()), 0);
}

TEST(GgufStreaming, ValidatesDimsWhenAdded) {
  GgufWriter w;
  auto nothing = [](const GgufWriter::TensorSink&) {};
  expect_error(
      [&] {
        w.add_tensor_stream("q", DType::kQ8_0, {33, 2}, nothing);
      },
      ErrorCode::kInvalidArgument, {"'q'", "block size 32"});
  expect_error([&] { w.add_tensor_stream("e", DType::kF32, {}, nothing); }, ErrorCode::kInvalidArgument,
               {"'e'"});
  expect_error([&] { w.add_tensor_stream("n", DType::kF32, {4}, nullptr); }, ErrorCode::kInvalidArgument,
               {"'n'", "producer"});
  w.add_tensor_stream("t", DType::kF32, {4}, nothing);
  expect_error([&] { w.add_tensor_stream("t", DType::kF32, {4}, nothing); }, ErrorCode::kInvalidArgument,
               {"'t'", "twice"});
}

TEST(GgufStreaming, WrongByteCountLeavesNoFile) {
  ScratchDir dir;
  const std::string path = dir.file("bad.gguf");
  const std::vector<uint8_t> bytes(4 * 8, 1);
  for (size_t n : {size_t{4 * 7}, size_t{4 * 9}}) {  // short, then long
    GgufWriter w;
    w.add_tensor_stream("t", DType::kF32, {8}, [&](const GgufWriter::TensorSink& sink) {
      std::vector<uint8_t> b(n, 1);
      sink(b.data(), b.size());
    });
    expect_error([&] { w.write(path); }, ErrorCode::kInternal, {"'t'"});
    EXPECT_THROW(w.to_bytes(), Error);
    EXPECT_EQ(entries_in(dir.path()), 0u) << "a temporary or partial file was left behind";
  }
}

TEST(GgufStreaming, ProducerErrorPropagatesAndKeepsTheOldFile) {
  ScratchDir dir;
  const std::string path = dir.file("m.gguf");
  GgufWriter good;
  const float one = 1.0f;
  good.add_tensor("t", DType::kF32, {1}, &one, sizeof one);
  good.write(path);
  const auto before = read_bytes(path);

  GgufWriter w;
  w.add_tensor_stream("t", DType::kF32, {1},
                      [](const GgufWriter::TensorSink&) { throw Error(ErrorCode::kIo, "source went away"); });
  expect_error([&] { w.write(path); }, ErrorCode::kIo, {"source went away"});
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(entries_in(dir.path()), 1u);
}

}  // namespace
}  // namespace hearth::formats
