#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mapped_file.h"
#include "gguf_test_util.h"

namespace hearth {
namespace {

using formats::testing::expect_error;
using formats::testing::ScratchDir;
using formats::testing::write_bytes;

TEST(MappedFile, MapsTheWholeFile) {
  ScratchDir dir;
  std::vector<uint8_t> bytes(10000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + 3);
  const std::string path = dir.file("data.bin");
  write_bytes(path, bytes);
  auto file = MappedFile::open(path);
  ASSERT_EQ(file->size(), bytes.size());
  EXPECT_EQ(file->path(), path);
  EXPECT_EQ(std::memcmp(file->data(), bytes.data(), bytes.size()), 0);
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
