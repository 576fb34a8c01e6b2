// KvPool: the keys and values of many sequences in one pool of fixed-size
// blocks, each holding block_positions positions of every layer. A sequence
// (KvSequence) takes blocks as it grows and gives them back when it shrinks or
// ends, so memory follows the tokens sequences hold, not each context's maximum.
// The pool's buffer is reserved once and its pages are touched only when a
// block is first written.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "graph/executor.h"

namespace hearth::runtime {

struct KvPoolShape {
  int32_t n_layers = 0;
  int64_t kv_dim = 0;             // elements per position per layer (keys; values alike)
  DType type = DType::kF16;       // kF16 or kQ8_0
  int64_t block_positions = 16;   // positions per block
};

// Bytes of one block of this shape; throws Error naming what is invalid.
int64_t kv_block_bytes(const KvPoolShape& shape);
// Bytes a pool holding `positions` positions of one sequence needs.
int64_t kv_bytes_for(const KvPoolShape& shape, int64_t positions);
// Parses "f16" / "q8_0" (the --kv-type values).
DType parse_kv_type(const std::string& name);

struct KvPoolStats {
  int64_t blocks = 0;           // in the pool
  int64_t blocks_in_use = 0;
  int64_t peak_blocks_in_use = 0;
  int64_t positions_held = 0;   // positions sequences have filled
  int64_t block_positions = 0;
  int64_t bytes = 0;            // the pool's buffer
  // Share of the positions in blocks in use that hold nothing (partly filled
  // last blocks): 0 when every taken block is full.
  double wasted_fraction() const;
};

class KvPool {
 public:
  KvPool(const KvPoolShape& shape, int64_t n_blocks);
  ~KvPool();
  KvPool(const KvPool&) = delete;
  KvPool& operator=(const KvPool&) = delete;

  const KvPoolShape& shape() const { return shape_; }
  int64_t block_bytes() const { return block_bytes_; }
  int64_t n_blocks() const { return n_blocks_; }
  int64_t free_blocks() const;
  KvPoolStats stats() const;

  // Takes up to n free blocks, appending their ids to blocks; all or nothing:
  // returns false (and takes none) when fewer than n are free.
  bool take(int64_t n, std::vector<int32_t>& blocks);
  // Gives the last n ids of blocks back and removes them from it.
  void give_back(int64_t n, std::vector<int32_t>& blocks);
  // A sequence's filled positions changed by delta (for the waste figure).
  void add_positions(int64_t delta);

  graph::KvView view(const std::vector<int32_t>& blocks) const;

 private:
  KvPoolShape shape_;
  int64_t block_bytes_;
  int64_t n_blocks_;
  uint8_t* storage_ = nullptr;
  mutable std::mutex mutex_;
  // A min-heap: the lowest free id is handed out first, so that blocks whose
  // pages are already resident are reused before untouched ones.
  std::vector<int32_t> free_;
  int64_t peak_in_use_ = 0;
  int64_t positions_held_ = 0;
};

// One sequence's blocks in a pool; gives them all back when destroyed.
class KvSequence {
 public:
  // max_positions: the most the sequence will hold, so that its block table is
  // reserved now and growing it later allocates nothing (0: no reservation).
  explicit KvSequence(std::shared_ptr<KvPool> pool, int64_t max_positions = 0);
  ~KvSequence();
  KvSequence(const KvSequence&) = delete;
  KvSequence& operator=(const KvSequence&) = delete;

  // Makes positions [0, n) writable, taking blocks as needed. try_resize returns
  // false (changing nothing) when the pool has too few free blocks; resize throws
  // Error(kOutOfMemory) saying how many were needed and free. A smaller n gives
  // the blocks past it back.
  bool try_resize(int64_t n);
  void resize(int64_t n);
  // Positions [0, n) hold keys and values (n <= capacity()).
  void set_filled(int64_t n);

  int64_t capacity() const;
  int64_t filled() const { return filled_; }
  const std::vector<int32_t>& blocks() const { return blocks_; }
  const graph::KvView& view() const { return view_; }
  const KvPool& pool() const { return *pool_; }

 private:
  std::shared_ptr<KvPool> pool_;
  std::vector<int32_t> blocks_;
  int64_t filled_ = 0;
  graph::KvView view_;
};

}  // namespace hearth::runtime
