#include "runtime/kv_pool.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>

#include "core/error.h"

namespace hearth::runtime {
namespace {

constexpr int64_t kPageBytes = 4096;

int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  if (a < 0 || b < 0 || (b != 0 && a > std::numeric_limits<int64_t>::max() / b))
    throw Error(ErrorCode::kInvalidArgument, std::string("KV cache ") + what + " overflows");
  return a * b;
}

}  // namespace

int64_t kv_block_bytes(const KvPoolShape& s) {
  if (s.n_layers <= 0 || s.kv_dim <= 0)
    throw Error(ErrorCode::kInvalidArgument, "KV cache needs layers and a key width");
  if (s.block_positions <= 0 || s.block_positions > 65536)
    throw Error(ErrorCode::kInvalidArgument,
                "KV block size must be 1..65536 positions, got " + std::to_string(s.block_positions));
  if (s.type != DType::kF16 && s.type != DType::kQ8_0)
    throw Error(ErrorCode::kUnsupported,
                "KV cache type " + std::string(dtype_name(s.type)) + " is not supported (f16 or q8_0)");
  const int64_t block = dtype_info(s.type).block_elems;
  if (s.kv_dim % block != 0)
    throw Error(ErrorCode::kUnsupported, "KV cache type " + std::string(dtype_name(s.type)) +
                                             " needs a key width that is a multiple of " + std::to_string(block) +
                                             ", this model's is " + std::to_string(s.kv_dim));
  const int64_t row = dtype_row_bytes(s.type, s.kv_dim);
  return checked_mul(checked_mul(row, s.block_positions, "block"), 2 * int64_t{s.n_layers}, "block");
}

int64_t kv_bytes_for(const KvPoolShape& shape, int64_t positions) {
  const int64_t blocks = (positions + shape.block_positions - 1) / shape.block_positions;
  return checked_mul(kv_block_bytes(shape), blocks, "size");
}

DType parse_kv_type(const std::string& name) {
  if (name == "f16") return DType::kF16;
  if (name == "q8_0") return DType::kQ8_0;
  throw Error(ErrorCode::kInvalidArgument, "unknown KV cache type '" + name + "' (f16 or q8_0)");
}

double KvPoolStats::wasted_fraction() const {
  const int64_t capacity = blocks_in_use * block_positions;
  return capacity > 0 ? 1.0 - static_cast<double>(positions_held) / static_cast<double>(capacity) : 0.0;
}

KvPool::KvPool(const KvPoolShape& shape, int64_t n_blocks)
    : shape_(shape), block_bytes_(kv_block_bytes(shape)), n_blocks_(n_blocks) {
  if (n_blocks <= 0 || n_blocks > std::numeric_limits<int32_t>::max())
    throw Error(ErrorCode::kInvalidArgument, "KV pool needs 1 to 2^31-1 blocks, got " + std::to_string(n_blocks));
  const int64_t bytes = checked_mul(block_bytes_, n_blocks, "pool");
  const int64_t rounded = (bytes + kPageBytes - 1) / kPageBytes * kPageBytes;
  // Not written here: the pages stay unbacked until a block is first used.
  storage_ = static_cast<uint8_t*>(std::aligned_alloc(kPageBytes, static_cast<size_t>(rounded)));
  if (!storage_)
    throw Error(ErrorCode::kOutOfMemory, "KV cache pool of " + std::to_string(bytes) +
                                             " bytes does not fit in memory; use a smaller context (-c) or "
                                             "--kv-type q8_0");
  free_.resize(static_cast<size_t>(n_blocks));
  for (int64_t i = 0; i < n_blocks; ++i) free_[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  std::make_heap(free_.begin(), free_.end(), std::greater<>());
}

KvPool::~KvPool() { std::free(storage_); }

int64_t KvPool::free_blocks() const {
  std::lock_guard lock(mutex_);
  return static_cast<int64_t>(free_.size());
}

KvPoolStats KvPool::stats() const {
  std::lock_guard lock(mutex_);
  KvPoolStats s;
  s.blocks = n_blocks_;
  s.blocks_in_use = n_blocks_ - static_cast<int64_t>(free_.size());
  s.peak_blocks_in_use = peak_in_use_;
  s.positions_held = positions_held_;
  s.block_positions = shape_.block_positions;
  s.bytes = block_bytes_ * n_blocks_;
  return s;
}

bool KvPool::take(int64_t n, std::vector<int32_t>& blocks) {
  std::lock_guard lock(mutex_);
  if (n < 0 || n > static_cast<int64_t>(free_.size())) return false;
  for (int64_t i = 0; i < n; ++i) {
    std::pop_heap(free_.begin(), free_.end(), std::greater<>());
    blocks.push_back(free_.back());
    free_.pop_back();
  }
  peak_in_use_ = std::max(peak_in_use_, n_blocks_ - static_cast<int64_t>(free_.size()));
  return true;
}

void KvPool::give_back(int64_t n, std::vector<int32_t>& blocks) {
  std::lock_guard lock(mutex_);
  n = std::min<int64_t>(n, static_cast<int64_t>(blocks.size()));
  for (int64_t i = 0; i < n; ++i) {
    free_.push_back(blocks.back());
    blocks.pop_back();
    std::push_heap(free_.begin(), free_.end(), std::greater<>());
  }
}

void KvPool::add_positions(int64_t delta) {
  std::lock_guard lock(mutex_);
  positions_held_ += delta;
}

graph::KvView KvPool::view(const std::vector<int32_t>& blocks) const {
  graph::KvView v;
  v.type = shape_.type;
  v.base = storage_;
  v.row_bytes = dtype_row_bytes(shape_.type, shape_.kv_dim);
  v.block_positions = shape_.block_positions;
  v.block_bytes = block_bytes_;
  v.blocks = blocks.data();
  v.n_blocks = static_cast<int64_t>(blocks.size());
  return v;
}

KvSequence::KvSequence(std::shared_ptr<KvPool> pool, int64_t max_positions) : pool_(std::move(pool)) {
  if (!pool_) throw Error(ErrorCode::kInvalidArgument, "KV sequence needs a pool");
  const int64_t per_block = pool_->shape().block_positions;
  blocks_.reserve(static_cast<size_t>(std::clamp<int64_t>((max_positions + per_block - 1) / per_block, 0,
                                                          pool_->n_blocks())));
  view_ = pool_->view(blocks_);
}

KvSequence::~KvSequence() {
  pool_->add_positions(-filled_);
  pool_->give_back(static_cast<int64_t>(blocks_.size()), blocks_);
}

int64_t KvSequence::capacity() const {
  return static_cast<int64_t>(blocks_.size()) * pool_->shape().block_positions;
}

bool KvSequence::try_resize(int64_t n) {
  if (n < 0) throw Error(ErrorCode::kInvalidArgument, "KV sequence size must not be negative");
  const int64_t per_block = pool_->shape().block_positions;
  const int64_t need = (n + per_block - 1) / per_block;
  const auto have = static_cast<int64_t>(blocks_.size());
  if (need > have && !pool_->take(need - have, blocks_)) return false;
  if (filled_ > n) set_filled(n);
  if (need < have) pool_->give_back(have - need, blocks_);
  view_ = pool_->view(blocks_);
  return true;
}

void KvSequence::resize(int64_t n) {
  if (try_resize(n)) return;
  const int64_t per_block = pool_->shape().block_positions;
  const int64_t need = (n + per_block - 1) / per_block - static_cast<int64_t>(blocks_.size());
  throw Error(ErrorCode::kOutOfMemory, "KV cache pool is full: " + std::to_string(n) + " positions need " +
                                           std::to_string(need) + " more blocks of " + std::to_string(per_block) +
                                           ", " + std::to_string(pool_->free_blocks()) + " of " +
                                           std::to_string(pool_->n_blocks()) + " are free");
}

void KvSequence::set_filled(int64_t n) {
  if (n < 0 || n > capacity())
    throw Error(ErrorCode::kInvalidArgument, "KV sequence cannot hold " + std::to_string(n) + " positions");
  pool_->add_positions(n - filled_);
  filled_ = n;
}

}  // namespace hearth::runtime
