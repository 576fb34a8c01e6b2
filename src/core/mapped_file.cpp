#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace hearth {
namespace {

[[noreturn]] void fail_errno(ErrorCode code, const std::string& path, const char* action, int err) {
  throw Error(code, path + ": " + action + ": " + std::strerror(err));
}

// Closes the descriptor on every path out of open(); the mapping outlives it.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::unique_ptr<MappedFile> MappedFile::open(const std::string& path) {
  // O_NONBLOCK so that a FIFO given by mistake is rejected below instead of
  // blocking until some writer shows up; it changes nothing for regular files.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) throw Error(ErrorCode::kNotFound, path + ": no such file (" + std::strerror(err) + ")");
    fail_errno(ErrorCode::kIo, path, "cannot open", err);
  }
  FdCloser closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_errno(ErrorCode::kIo, path, "cannot stat", errno);
  if (S_ISDIR(st.st_mode))
    throw Error(ErrorCode::kIo, path + ": is a directory, not a file (" + std::strerror(EISDIR) + ")");
  if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::kIo, path + ": not a regular file, cannot be mapped");
  if (st.st_size == 0) throw Error(ErrorCode::kFormat, path + ": file is empty");

  const auto size = static_cast<size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) fail_errno(ErrorCode::kIo, path, "cannot map", errno);

  std::unique_ptr<MappedFile> file(new MappedFile());
  file->data_ = static_cast<const uint8_t*>(p);
  file->size_ = size;
  file->path_ = path;
  return file;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace hearth
