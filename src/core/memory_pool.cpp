#include "core/memory_pool.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <string>

#include "core/error.h"

namespace hearth {
namespace {

constexpr bool is_power_of_two(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

// Callers guarantee x + (a - 1) does not overflow.
constexpr size_t round_up(size_t x, size_t a) { return (x + a - 1) & ~(a - 1); }

std::string pointer_text(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

}  // namespace

MemoryPool::MemoryPool(size_t capacity, Policy policy) : policy_(policy) {
  // Offsets must stay representable as ptrdiff_t, and the rounding below must not wrap.
  constexpr size_t kMax = static_cast<size_t>(std::numeric_limits<std::ptrdiff_t>::max()) - kRegionAlignment;
  if (capacity == 0) throw Error(ErrorCode::kInvalidArgument, "MemoryPool: capacity must be positive");
  if (capacity > kMax)
    throw Error(ErrorCode::kInvalidArgument,
                "MemoryPool: capacity " + std::to_string(capacity) + " bytes is too large");
  capacity_ = round_up(capacity, kRegionAlignment);
  base_ = static_cast<uint8_t*>(std::aligned_alloc(kRegionAlignment, capacity_));
  if (base_ == nullptr)
    throw Error(ErrorCode::kOutOfMemory,
                "MemoryPool: cannot reserve a region of " + std::to_string(capacity_) + " bytes");
  add_free(0, capacity_);
}

MemoryPool::~MemoryPool() { std::free(base_); }

void* MemoryPool::allocate(size_t bytes, size_t alignment) {
  if (!is_power_of_two(alignment))
    throw Error(ErrorCode::kInvalidArgument,
                "MemoryPool: alignment " + std::to_string(alignment) + " is not a power of two");
  std::lock_guard lock(mutex_);
  return allocate_locked(bytes, alignment);
}

void* MemoryPool::allocate_or_throw(size_t bytes, size_t alignment) {
  if (!is_power_of_two(alignment))
    throw Error(ErrorCode::kInvalidArgument,
                "MemoryPool: alignment " + std::to_string(alignment) + " is not a power of two");
  std::lock_guard lock(mutex_);
  if (void* p = allocate_locked(bytes, alignment)) return p;
  throw Error(ErrorCode::kOutOfMemory, "MemoryPool: cannot allocate " + std::to_string(bytes) + " bytes (alignment " +
                                           std::to_string(alignment) + "): " + std::to_string(capacity_ - in_use_) +
                                           " bytes free, largest free range " +
                                           std::to_string(largest_free_locked()) + " bytes");
}

void* MemoryPool::allocate_locked(size_t bytes, size_t alignment) {
  // Block offsets are multiples of kGranule and the base is 64-aligned, so smaller
  // alignments hold by construction.
  alignment = std::max(alignment, kGranule);
  const uintptr_t base = reinterpret_cast<uintptr_t>(base_);
  // Padding needed in front of the range at `offset` to reach the alignment
  // (computed without forming base + offset + alignment, which could wrap).
  const auto padding = [&](size_t offset) { return static_cast<size_t>(-(base + offset) & (alignment - 1)); };

  const size_t size = bytes > capacity_ ? 0 : round_up(std::max<size_t>(bytes, 1), kGranule);
  const auto fits = [&](size_t offset, size_t length) {
    const size_t pad = padding(offset);
    return pad <= length && size <= length - pad;
  };

  bool found = false;
  size_t offset = 0, length = 0;
  if (size != 0 && policy_ == Policy::kFirstFit) {
    for (const auto& [off, len] : free_by_offset_) {  // lowest address first
      if (fits(off, len)) {
        offset = off, length = len, found = true;
        break;
      }
    }
  } else if (size != 0) {
    // Smallest range first (ties: lowest address); padding may rule some out.
    for (auto it = free_by_size_.lower_bound({size, 0}); it != free_by_size_.end(); ++it) {
      if (fits(it->second, it->first)) {
        offset = it->second, length = it->first, found = true;
        break;
      }
    }
  }
  if (!found) {
    ++failed_;
    return nullptr;
  }

  // Carve [start, start + size) out of the range; the padding in front and the
  // tail stay free. Neither can touch another free range (ranges are maximal).
  remove_free(free_by_offset_.find(offset));
  const size_t pad = padding(offset);
  const size_t start = offset + pad;
  if (pad > 0) add_free(offset, pad);
  if (length - pad > size) add_free(start + size, length - pad - size);
  live_.emplace(start, size);
  in_use_ += size;
  peak_ = std::max(peak_, in_use_);
  ++allocations_;
  return base_ + start;
}

void MemoryPool::free(void* p) {
  if (p == nullptr) return;
  // Compare as integers: relational comparison of unrelated pointers is unspecified.
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p), base = reinterpret_cast<uintptr_t>(base_);
  if (addr < base || addr - base >= capacity_)
    throw Error(ErrorCode::kInvalidArgument, "MemoryPool::free: " + pointer_text(p) + " does not belong to this pool");
  std::lock_guard lock(mutex_);
  const auto it = live_.find(addr - base);
  if (it == live_.end())
    throw Error(ErrorCode::kInvalidArgument, "MemoryPool::free: " + pointer_text(p) +
                                                 " is not a live block (double free or interior pointer)");
  const auto [offset, size] = *it;
  live_.erase(it);
  in_use_ -= size;
  add_free(offset, size);
}

bool MemoryPool::owns(const void* p) const {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p), base = reinterpret_cast<uintptr_t>(base_);
  return addr >= base && addr - base < capacity_;
}

void MemoryPool::reset() {
  std::lock_guard lock(mutex_);
  live_.clear();
  free_by_offset_.clear();
  free_by_size_.clear();
  in_use_ = 0;
  add_free(0, capacity_);
}

MemoryPool::Stats MemoryPool::stats() const {
  std::lock_guard lock(mutex_);
  Stats s;
  s.capacity = capacity_;
  s.bytes_in_use = in_use_;
  s.peak_in_use = peak_;
  s.live_blocks = live_.size();
  s.free_ranges = free_by_offset_.size();
  s.largest_free_range = largest_free_locked();
  s.allocations = allocations_;
  s.failed_allocations = failed_;
  const size_t free_bytes = capacity_ - in_use_;
  s.fragmentation = free_bytes == 0 ? 0.0 : 1.0 - double(s.largest_free_range) / double(free_bytes);
  return s;
}

// Inserts a free range, merging it with the free ranges that end where it starts
// and start where it ends, so free ranges are never adjacent.
void MemoryPool::add_free(size_t offset, size_t size) {
  auto next = free_by_offset_.lower_bound(offset);
  if (next != free_by_offset_.end() && next->first == offset + size) {
    size += next->second;
    next = std::next(next);
    remove_free(std::prev(next));
  }
  if (next != free_by_offset_.begin()) {
    const auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      offset = prev->first;
      size += prev->second;
      remove_free(prev);
    }
  }
  free_by_offset_.emplace_hint(next, offset, size);
  free_by_size_.emplace(size, offset);
}

void MemoryPool::remove_free(std::map<size_t, size_t>::iterator it) {
  free_by_size_.erase({it->second, it->first});
  free_by_offset_.erase(it);
}

size_t MemoryPool::largest_free_locked() const {
  return free_by_size_.empty() ? 0 : free_by_size_.rbegin()->first;
}

}  // namespace hearth
