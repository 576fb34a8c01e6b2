// MappedFile: the bytes of a whole file in memory, read-only: a memory mapping
// (the zero-copy base of model loading: pages come in on first touch and stay
// shared with the page cache) or, on request, a private copy read into the heap.
// Throws hearth::Error naming the path when it cannot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace hearth {

struct FileLoadOptions {
  bool read_into_heap = false;  // copy the file into private memory instead of mapping it
  bool lock = false;            // mlock the bytes so they are never paged out
};

class MappedFile {
 public:
  static std::unique_ptr<MappedFile> open(const std::string& path, const FileLoadOptions& options = {});
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  bool mapped() const { return !heap_; }
  // Whether lock was asked for and granted; lock_error() says why not otherwise
  // (e.g. RLIMIT_MEMLOCK) — locking is best effort, never fatal.
  bool locked() const { return locked_; }
  const std::string& lock_error() const { return lock_error_; }
  // Bytes of the file in RAM now: the mapped pages the page cache holds
  // (mincore; a token's forward pass reads them without going to disk), or the
  // whole size for a heap copy. -1 if the system cannot tell.
  int64_t resident_bytes() const;
  // The caller will not read [p, p + n) of the mapping again (a copy replaces
  // it): its whole pages are unmapped from the process, which stops counting
  // them as resident (the page cache may keep them; a later read maps them
  // back from the file). Nothing for a heap copy or a locked mapping.
  void release(const void* p, size_t n) const;

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
  bool heap_ = false;
  bool locked_ = false;
  std::string lock_error_;
};

}  // namespace hearth
