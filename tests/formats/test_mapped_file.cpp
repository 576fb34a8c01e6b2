#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "core/mapped_file.h"
#include "gguf_test_util.h"

namespace hearth {
namespace {

using formats::testing::expect_error;
using formats::testing::ScratchDir;
using formats::testing::write_bytes;

// n bytes of the pattern i * mul + add, so that a misplaced page shows.
std::vector<uint8_t> patterned_bytes(size_t n, unsigned mul, unsigned add) {
  std::vector<uint8_t> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(i * mul + add);
  return bytes;
}

TEST(MappedFile, MapsTheWholeFile) {
  ScratchDir dir;
  const std::vector<uint8_t> bytes = patterned_bytes(10000, 7, 3);
  const std::string path = dir.file("data.bin");
  write_bytes(path, bytes);
  auto file = MappedFile::open(path);
  ASSERT_EQ(file->size(), bytes.size());
  EXPECT_EQ(file->path(), path);
  EXPECT_EQ(std::memcmp(file->data(), bytes.data(), bytes.size()), 0);
}

// A released range is only dropped from the process: reading it again gives
// the file's bytes (mapped back in), for whole and partial pages, and ranges
// outside the mapping or on a heap copy are ignored.
TEST(MappedFile, ReleasedPagesReadBackTheFilesBytes) {
  ScratchDir dir;
  const std::vector<uint8_t> bytes = patterned_bytes(5 * 4096 + 123, 31, 5);
  const std::string path = dir.file("data.bin");
  write_bytes(path, bytes);
  auto file = MappedFile::open(path);
  ASSERT_EQ(std::memcmp(file->data(), bytes.data(), bytes.size()), 0);
  file->release(file->data() + 100, 3 * 4096);  // pages 1 and 2 whole, the ends partial
  file->release(file->data(), bytes.size());
  file->release(bytes.data(), bytes.size());  // not the mapping's
  EXPECT_EQ(std::memcmp(file->data(), bytes.data(), bytes.size()), 0);
  FileLoadOptions heap;
  heap.read_into_heap = true;
  auto copy = MappedFile::open(path, heap);
  copy->release(copy->data(), copy->size());
  EXPECT_EQ(std::memcmp(copy->data(), bytes.data(), bytes.size()), 0);
}

TEST(MappedFile, ReadIntoHeapGivesTheSameBytes) {
  ScratchDir dir;
  const std::vector<uint8_t> bytes = patterned_bytes(3 * 4096 + 17, 13, 1);
  const std::string path = dir.file("data.bin");
  write_bytes(path, bytes);
  FileLoadOptions heap;
  heap.read_into_heap = true;
  auto copy = MappedFile::open(path, heap);
  auto mapped = MappedFile::open(path);
  EXPECT_FALSE(copy->mapped());
  EXPECT_TRUE(mapped->mapped());
  ASSERT_EQ(copy->size(), bytes.size());
  EXPECT_EQ(std::memcmp(copy->data(), bytes.data(), bytes.size()), 0);
  EXPECT_EQ(copy->resident_bytes(), static_cast<int64_t>(bytes.size()));
  // Just written, so the page cache holds it: every mapped byte is resident.
  EXPECT_EQ(mapped->resident_bytes(), static_cast<int64_t>(bytes.size()));
  std::filesystem::remove(path);
  EXPECT_EQ(copy->data()[4096], bytes[4096]);
}

TEST(MappedFile, LockIsGrantedOrSaysWhyNot) {
  ScratchDir dir;
  const std::string path = dir.file("lock.bin");
  write_bytes(path, std::vector<uint8_t>(8192, 5));
  for (bool heap : {false, true}) {
    FileLoadOptions o;
    o.lock = true;
    o.read_into_heap = heap;
    auto file = MappedFile::open(path, o);
    EXPECT_NE(file->locked(), !file->lock_error().empty()) << file->lock_error();
    EXPECT_EQ(file->data()[8191], 5);
  }
  EXPECT_FALSE(MappedFile::open(path)->locked());
}

TEST(MappedFile, MappingStaysValidAfterTheFileIsRemoved) {
  ScratchDir dir;
  const std::string path = dir.file("gone.bin");
  write_bytes(path, {1, 2, 3, 4});
  auto file = MappedFile::open(path);
  std::filesystem::remove(path);
  EXPECT_EQ(file->data()[3], 4);
}

TEST(MappedFile, MissingFileIsNotFound) {
  ScratchDir dir;
  const std::string path = dir.file("missing.gguf");
  expect_error([&] { MappedFile::open(path); }, ErrorCode::kNotFound, {path, "no such file"});
}

TEST(MappedFile, DirectoryIsRejected) {
  ScratchDir dir;
  const std::string path = dir.path().string();
  expect_error([&] { MappedFile::open(path); }, ErrorCode::kIo, {path, "directory"});
}

TEST(MappedFile, EmptyFileIsAFormatError) {
  ScratchDir dir;
  const std::string path = dir.file("empty.gguf");
  write_bytes(path, {});
  expect_error([&] { MappedFile::open(path); }, ErrorCode::kFormat, {path, "empty"});
}

TEST(MappedFile, UnreadableFileIsAnIoError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files regardless of their permissions";
  ScratchDir dir;
  const std::string path = dir.file("secret.gguf");
  write_bytes(path, {1, 2, 3});
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  expect_error([&] { MappedFile::open(path); }, ErrorCode::kIo, {path, "Permission denied"});
}

TEST(MappedFile, FifoIsRejectedWithoutBlocking) {
  ScratchDir dir;
  const std::string path = dir.file("pipe");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  expect_error([&] { MappedFile::open(path); }, ErrorCode::kIo, {path, "not a regular file"});
}

}  // namespace
}  // namespace hearth
