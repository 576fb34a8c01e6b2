// MappedFile: a read-only memory mapping of a whole file (the zero-copy base of
// model loading). Throws hearth::Error naming the path when it cannot map.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace hearth {

class MappedFile {
 public:
  static std::unique_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace hearth
