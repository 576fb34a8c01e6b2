// MemoryPool: one aligned host region reserved up front and carved into blocks by
// first-fit or best-fit, with coalescing free and usage statistics. Meant for host
// allocations that are not planned ahead (request buffers, tokenizer scratch).
// Thread-safe: every operation takes one internal std::mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <utility>

namespace hearth {

class MemoryPool {
 public:
  enum class Policy { kFirstFit, kBestFit };

  // Block sizes and offsets are multiples of kGranule: a request of n bytes takes
  // max(n, 1) rounded up to kGranule. allocate(0) therefore returns a unique,
  // non-null pointer to kGranule bytes that must be freed like any other block.
  static constexpr size_t kGranule = 16;
  // The region starts on this boundary; its size is capacity rounded up to it.
  static constexpr size_t kRegionAlignment = 64;

  struct Stats {
    size_t capacity = 0;            // managed bytes (the constructor's capacity rounded up to 64)
    size_t bytes_in_use = 0;        // sum of live block sizes (requests rounded up to kGranule); the
                                    // padding skipped to align a block stays free and is NOT counted,
                                    // so bytes_in_use + free bytes == capacity always
    size_t peak_in_use = 0;         // highest bytes_in_use seen since construction (survives reset())
    size_t live_blocks = 0;         // blocks handed out and not yet freed
    size_t free_ranges = 0;         // maximal runs of free bytes (neighbours are always coalesced)
    size_t largest_free_range = 0;  // size of the biggest free run (0 when full)
    uint64_t allocations = 0;         // successful allocations since construction (survives reset())
    uint64_t failed_allocations = 0;  // requests that found no fitting range (survives reset())
    // 1 - largest_free_range / (capacity - bytes_in_use); 0 when nothing is free.
    // 0 means all free bytes form one run; near 1 means they are scattered in small runs.
    double fragmentation = 0.0;

    bool operator==(const Stats&) const = default;
  };

  // Throws Error(kInvalidArgument) for capacity 0 or one too large to round up or
  // address, and Error(kOutOfMemory) naming the byte count if the region cannot be
  // allocated.
  explicit MemoryPool(size_t capacity, Policy policy = Policy::kFirstFit);
  ~MemoryPool();
  MemoryPool(const MemoryPool&) = delete;
  MemoryPool& operator=(const MemoryPool&) = delete;

  // Returns a block of at least `bytes` bytes whose address is a multiple of
  // `alignment`, or nullptr when no free range fits (exhaustion is not an error
  // here: callers may fall back to the heap). Throws Error(kInvalidArgument) if
  // alignment is not a power of two.
  void* allocate(size_t bytes, size_t alignment = 64);
  // Like allocate(), but exhaustion throws Error(kOutOfMemory) stating the request,
  // the free bytes and the largest free range.
  void* allocate_or_throw(size_t bytes, size_t alignment = 64);

  // Returns a block and merges it with free neighbours on both sides. nullptr is a
  // no-op. A pointer that is not a live block of this pool (foreign, interior or
  // already freed) throws Error(kInvalidArgument) and leaves the pool unchanged.
  void free(void* p);

  // True when p points into this pool's region (live block or not): lets a caller
  // that falls back to the heap decide where a pointer goes back. Lock-free.
  bool owns(const void* p) const;

  // Frees every block at once. Live pointers become invalid; peak_in_use,
  // allocations and failed_allocations are lifetime counters and are kept.
  void reset();

  Stats stats() const;
  size_t capacity() const { return capacity_; }
  Policy policy() const { return policy_; }

 private:
  void* allocate_locked(size_t bytes, size_t alignment);
  void add_free(size_t offset, size_t size);
  void remove_free(std::map<size_t, size_t>::iterator it);
  size_t largest_free_locked() const;

  uint8_t* base_ = nullptr;
  size_t capacity_ = 0;
  Policy policy_;

  mutable std::mutex mutex_;
  // All metadata lives outside the region, so overrunning a block cannot corrupt it.
  std::map<size_t, size_t> free_by_offset_;           // offset -> size; no two are adjacent
  std::set<std::pair<size_t, size_t>> free_by_size_;  // (size, offset): best-fit and largest
  std::map<size_t, size_t> live_;                     // offset -> size of blocks handed out
  size_t in_use_ = 0;
  size_t peak_ = 0;
  uint64_t allocations_ = 0;
  uint64_t failed_ = 0;
};

}  // namespace hearth
