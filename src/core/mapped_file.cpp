#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

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

std::unique_ptr<MappedFile> MappedFile::open(const std::string& path, const FileLoadOptions& options) {
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
  std::unique_ptr<MappedFile> file(new MappedFile());
  file->size_ = size;
  file->path_ = path;
  if (options.read_into_heap) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    auto* buffer = static_cast<uint8_t*>(std::aligned_alloc(page, (size + page - 1) / page * page));
    if (!buffer)
      throw Error(ErrorCode::kOutOfMemory, path + ": cannot allocate " + std::to_string(size) + " bytes to read it into");
    file->data_ = buffer;
    file->heap_ = true;
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::pread(fd, buffer + done, std::min<size_t>(size - done, size_t{1} << 30),
                                static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail_errno(ErrorCode::kIo, path, "cannot read", errno);
      if (n == 0) throw Error(ErrorCode::kIo, path + ": file shrank while being read");
      done += static_cast<size_t>(n);
    }
  } else {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) fail_errno(ErrorCode::kIo, path, "cannot map", errno);
    file->data_ = static_cast<const uint8_t*>(p);
  }
  if (options.lock) {
    if (::mlock(file->data_, size) == 0) {
      file->locked_ = true;
    } else {
      file->lock_error_ = std::strerror(errno);
    }
  }
  return file;
}

MappedFile::~MappedFile() {
  if (data_ == nullptr) return;
  if (locked_) ::munlock(data_, size_);
  if (heap_) {
    std::free(const_cast<uint8_t*>(data_));
  } else {
    ::munmap(const_cast<uint8_t*>(data_), size_);
  }
}

void MappedFile::release(const void* p, size_t n) const {
  if (heap_ || locked_ || n == 0) return;
  const auto begin = reinterpret_cast<uintptr_t>(p);
  const auto base = reinterpret_cast<uintptr_t>(data_);
  if (begin < base || begin + n > base + size_) return;  // not ours
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (begin + page - 1) / page * page;  // whole pages only: neighbours may still be read
  const uintptr_t last = (begin + n) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

int64_t MappedFile::resident_bytes() const {
  if (heap_) return static_cast<int64_t>(size_);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t pages = (size_ + page - 1) / page;
  std::vector<unsigned char> in_core(pages);
#ifdef __APPLE__
  auto* vec = reinterpret_cast<char*>(in_core.data());  // macOS declares char*
#else
  unsigned char* vec = in_core.data();
#endif
  if (::mincore(const_cast<uint8_t*>(data_), size_, vec) != 0) return -1;
  int64_t resident = 0;
  for (size_t i = 0; i < pages; ++i)
    if (in_core[i] & 1) resident += static_cast<int64_t>(std::min(page, size_ - i * page));
  return resident;
}

}  // namespace hearth
