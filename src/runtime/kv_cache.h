// KvCache: the keys and values of one sequence, f16, one contiguous buffer per
// layer sized for the whole context.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/executor.h"

namespace hearth::runtime {

class KvCache {
 public:
  KvCache(int32_t n_layers, int64_t kv_dim, int64_t capacity);
  const graph::KvLayer* layers() const { return views_.data(); }
  int64_t capacity() const { return capacity_; }
  int64_t bytes() const { return static_cast<int64_t>(storage_.size() * sizeof(uint16_t)); }

 private:
  int64_t capacity_;
  std::vector<uint16_t> storage_;
  std::vector<graph::KvLayer> views_;
};

}  // namespace hearth::runtime
