#include <gtest/gtest.h>

#include <cstdint>
#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/memory_pool.h"

namespace hearth {
namespace {

using Policy = MemoryPool::Policy;

uintptr_t addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

size_t block_size(size_t bytes) {
  const size_t g = MemoryPool::kGranule;
  return (std::max<size_t>(bytes, 1) + g - 1) / g * g;
}

// A byte pattern that differs between blocks (by id) and along each block.
uint8_t pattern(uint64_t id, size_t i) { return static_cast<uint8_t>(id * 0x9E3779B1u + i * 31 + (i >> 8)); }

void fill(void* p, size_t n, uint64_t id) {
  auto* b = static_cast<uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) b[i] = pattern(id, i);
}

bool intact(const void* p, size_t n, uint64_t id) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i)
    if (b[i] != pattern(id, i)) return false;
  return true;
}

template <typename F>
ErrorCode code_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no hearth::Error thrown";
  return ErrorCode::kInternal;
}

TEST(MemoryPool, RejectsBadCapacityAndAlignment) {
  EXPECT_EQ(code_of([] { MemoryPool pool(0); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([] { MemoryPool pool(std::numeric_limits<size_t>::max()); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([] { MemoryPool pool(std::numeric_limits<size_t>::max() - 10); }), ErrorCode::kInvalidArgument);

  MemoryPool pool(1024);
  for (size_t bad : {size_t{0}, size_t{3}, size_t{48}, size_t{100}}) {
    try {
      pool.allocate(16, bad);
      ADD_FAILURE() << "alignment " << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(std::to_string(bad)), std::string::npos) << e.what();
    }
    EXPECT_EQ(code_of([&] { pool.allocate_or_throw(16, bad); }), ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(pool.stats().live_blocks, 0u);
}

TEST(MemoryPool, RegionThatCannotBeAllocatedIsOutOfMemory) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan aborts on oversized allocations instead of returning null";
#else
  const size_t huge = size_t{1} << 62;  // valid as a size, far beyond any address space
  try {
    MemoryPool pool(huge);
    ADD_FAILURE() << "a region of 2^62 bytes was allocated";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kOutOfMemory);
    EXPECT_NE(std::string(e.what()).find(std::to_string(huge)), std::string::npos) << e.what();
  }
#endif
}

TEST(MemoryPool, CapacityIsRoundedToRegionAlignment) {
  MemoryPool pool(1000);
  EXPECT_EQ(pool.capacity(), 1024u);
  const auto s = pool.stats();
  EXPECT_EQ(s.capacity, 1024u);
  EXPECT_EQ(s.free_ranges, 1u);
  EXPECT_EQ(s.largest_free_range, 1024u);
  EXPECT_EQ(s.fragmentation, 0.0);
}

TEST(MemoryPool, ReturnsAlignedPointersInsideTheRegion) {
  for (Policy policy : {Policy::kFirstFit, Policy::kBestFit}) {
    MemoryPool pool(1 << 18, policy);
    void* first = pool.allocate(1, 1);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(addr(first) % MemoryPool::kRegionAlignment, 0u);  // the empty pool hands out its base
    const uintptr_t base = addr(first);
    std::vector<void*> blocks{first};
    for (size_t alignment = 1; alignment <= 8192; alignment *= 2) {
      for (size_t bytes : {1, 7, 100, 1000}) {
        void* p = pool.allocate(bytes, alignment);
        ASSERT_NE(p, nullptr) << "alignment " << alignment << " bytes " << bytes;
        EXPECT_EQ(addr(p) % alignment, 0u) << "alignment " << alignment;
        EXPECT_EQ(addr(p) % MemoryPool::kGranule, 0u);
        EXPECT_GE(addr(p), base);
        EXPECT_LE(addr(p) + bytes, base + pool.capacity());
        EXPECT_TRUE(pool.owns(p));
        blocks.push_back(p);
      }
    }
    for (void* p : blocks) pool.free(p);
    EXPECT_EQ(pool.stats().free_ranges, 1u);
  }
}

TEST(MemoryPool, OwnsMeansInsideTheRegion) {
  MemoryPool pool(256);
  void* p = pool.allocate(16);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(pool.owns(p));
  EXPECT_TRUE(pool.owns(static_cast<uint8_t*>(p) + 255));
  EXPECT_FALSE(pool.owns(static_cast<uint8_t*>(p) + 256));  // one past the end
  int local = 0;
  EXPECT_FALSE(pool.owns(&local));
  EXPECT_FALSE(pool.owns(nullptr));
}

TEST(MemoryPool, ZeroByteAllocationIsAUniqueGranule) {
  MemoryPool pool(256);
  void* a = pool.allocate(0);
  void* b = pool.allocate(0, 1);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(pool.stats().bytes_in_use, 2 * MemoryPool::kGranule);
  EXPECT_EQ(pool.stats().live_blocks, 2u);
  pool.free(a);
  pool.free(b);
  EXPECT_EQ(pool.stats().bytes_in_use, 0u);
  EXPECT_EQ(pool.stats().free_ranges, 1u);
}

TEST(MemoryPool, ExhaustionReturnsNullOrThrowsWithNumbers) {
  MemoryPool pool(1024);
  void* a = pool.allocate(600);
  ASSERT_NE(a, nullptr);
  // 1024 - 608 = 416 bytes are left in one range.
  EXPECT_EQ(pool.allocate(417, 16), nullptr);
  EXPECT_EQ(pool.allocate(std::numeric_limits<size_t>::max()), nullptr);
  EXPECT_EQ(pool.stats().failed_allocations, 2u);
  try {
    pool.allocate_or_throw(5000, 64);
    ADD_FAILURE() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kOutOfMemory);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("5000"), std::string::npos) << msg;
    EXPECT_NE(msg.find("416 bytes free"), std::string::npos) << msg;
    EXPECT_NE(msg.find("largest free range 416"), std::string::npos) << msg;
  }
  const auto s = pool.stats();
  EXPECT_EQ(s.failed_allocations, 3u);
  EXPECT_EQ(s.allocations, 1u);
  EXPECT_EQ(s.bytes_in_use, 608u);
  // What is left can still be taken whole.
  void* b = pool.allocate_or_throw(416, 16);
  EXPECT_EQ(addr(b), addr(a) + 608);
  EXPECT_EQ(pool.allocate(0), nullptr);
  EXPECT_EQ(pool.stats().largest_free_range, 0u);
  EXPECT_EQ(pool.stats().fragmentation, 0.0);
}

TEST(MemoryPool, AlignmentPaddingCanRuleOutAFit) {
  // The region is only 64-aligned, so a free range starting 16 bytes past it needs
  // at least 48 bytes of padding to reach any boundary of 64 or more.
  MemoryPool pool(8192);
  void* a = pool.allocate(16, 16);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(pool.stats().largest_free_range, 8176u);
  EXPECT_EQ(pool.allocate(8160, 64), nullptr);
  EXPECT_EQ(pool.allocate(8160, 4096), nullptr);
  EXPECT_EQ(pool.stats().failed_allocations, 2u);
  void* b = pool.allocate(8160, 16);
  EXPECT_EQ(addr(b), addr(a) + 16);
}

TEST(MemoryPool, AlignmentPaddingStaysFree) {
  MemoryPool pool(16384);
  void* a = pool.allocate(16, 16);
  ASSERT_NE(a, nullptr);
  void* b = pool.allocate(1024, 4096);
  ASSERT_NE(b, nullptr);
  const uintptr_t expected = (addr(a) + 16 + 4095) / 4096 * 4096;
  EXPECT_EQ(addr(b), expected);
  const size_t pad = expected - addr(a) - 16;  // at least 48, see above
  const auto s = pool.stats();
  EXPECT_EQ(s.bytes_in_use, 16u + 1024u);  // the padding is not counted
  EXPECT_EQ(s.free_ranges, 2u);            // the padding and the tail
  // The padding is its own free range and can be handed out exactly.
  void* c = pool.allocate(pad, 16);
  EXPECT_EQ(addr(c), addr(a) + 16);
  EXPECT_EQ(pool.stats().free_ranges, 1u);
}

TEST(MemoryPool, FreeCoalescesWithBothNeighbours) {
  for (Policy policy : {Policy::kFirstFit, Policy::kBestFit}) {
    MemoryPool pool(3 * 1024, policy);
    void* a = pool.allocate(1024);
    void* b = pool.allocate(1024);
    void* c = pool.allocate(1024);
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(pool.stats().free_ranges, 0u);
    pool.free(a);
    pool.free(c);
    auto s = pool.stats();
    EXPECT_EQ(s.free_ranges, 2u);
    EXPECT_EQ(s.largest_free_range, 1024u);
    EXPECT_DOUBLE_EQ(s.fragmentation, 0.5);
    EXPECT_EQ(pool.allocate(2048), nullptr);  // 2048 bytes free, but not in one piece
    pool.free(b);
    s = pool.stats();
    EXPECT_EQ(s.free_ranges, 1u);
    EXPECT_EQ(s.largest_free_range, 3u * 1024);
    EXPECT_EQ(s.bytes_in_use, 0u);
    EXPECT_EQ(s.live_blocks, 0u);
    EXPECT_EQ(s.fragmentation, 0.0);
    void* all = pool.allocate(3 * 1024);
    EXPECT_EQ(all, a);
  }
}

// Builds the layout [hole 256][used 64][hole 128][used 576] in a 1024-byte pool
// and returns the base address.
uintptr_t make_two_holes(MemoryPool& pool) {
  void* h1 = pool.allocate(256);
  void* u1 = pool.allocate(64);
  void* h2 = pool.allocate(128);
  void* u2 = pool.allocate(576);
  EXPECT_TRUE(h1 && u1 && h2 && u2);
  EXPECT_EQ(addr(u2) + 576, addr(h1) + 1024);
  pool.free(h1);
  pool.free(h2);
  return addr(h1);
}

TEST(MemoryPool, FirstFitAndBestFitChooseDifferentHoles) {
  MemoryPool first(1024, Policy::kFirstFit);
  const uintptr_t first_base = make_two_holes(first);
  EXPECT_EQ(addr(first.allocate(100, 16)), first_base);  // lowest hole that fits

  MemoryPool best(1024, Policy::kBestFit);
  const uintptr_t best_base = make_two_holes(best);
  EXPECT_EQ(addr(best.allocate(100, 16)), best_base + 320);  // smallest hole that fits
  // Too big for the small hole: best-fit falls back to the big one.
  EXPECT_EQ(addr(best.allocate(200, 16)), best_base);
}

TEST(MemoryPool, StatisticsOnAKnownLayout) {
  MemoryPool pool(1024);
  const uintptr_t base = make_two_holes(pool);
  auto s = pool.stats();
  EXPECT_EQ(s.capacity, 1024u);
  EXPECT_EQ(s.bytes_in_use, 64u + 576u);
  EXPECT_EQ(s.peak_in_use, 1024u);
  EXPECT_EQ(s.live_blocks, 2u);
  EXPECT_EQ(s.free_ranges, 2u);
  EXPECT_EQ(s.largest_free_range, 256u);
  EXPECT_EQ(s.allocations, 4u);
  EXPECT_EQ(s.failed_allocations, 0u);
  EXPECT_DOUBLE_EQ(s.fragmentation, 1.0 - 256.0 / 384.0);  // one third

  // Splitting the big hole: free runs 160 + 128 = 288, largest 160.
  void* p = pool.allocate(96);
  EXPECT_EQ(addr(p), base);
  s = pool.stats();
  EXPECT_EQ(s.bytes_in_use, 736u);
  EXPECT_EQ(s.largest_free_range, 160u);
  EXPECT_DOUBLE_EQ(s.fragmentation, 1.0 - 160.0 / 288.0);

  // reset() frees everything but keeps the lifetime counters.
  pool.reset();
  s = pool.stats();
  EXPECT_EQ(s.bytes_in_use, 0u);
  EXPECT_EQ(s.live_blocks, 0u);
  EXPECT_EQ(s.free_ranges, 1u);
  EXPECT_EQ(s.largest_free_range, 1024u);
  EXPECT_EQ(s.peak_in_use, 1024u);
  EXPECT_EQ(s.allocations, 5u);
  EXPECT_EQ(addr(pool.allocate(1024)), base);
}

TEST(MemoryPool, BadFreesThrowAndChangeNothing) {
  MemoryPool pool(1024);
  MemoryPool other(1024);
  void* a = pool.allocate(64);
  void* b = pool.allocate(64);
  void* foreign = other.allocate(64);
  ASSERT_TRUE(a && b && foreign);
  pool.free(a);
  const auto before = pool.stats();
  int local = 0;
  for (void* bad : {a,                                         // double free
                    static_cast<void*>(static_cast<uint8_t*>(b) + 16),  // interior pointer
                    static_cast<void*>(static_cast<uint8_t*>(b) + 64),  // free space
                    foreign, static_cast<void*>(&local)}) {
    EXPECT_EQ(code_of([&] { pool.free(bad); }), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(pool.stats(), before);
  }
  pool.free(nullptr);
  EXPECT_EQ(pool.stats(), before);
  // The pool still works: b frees and everything coalesces.
  pool.free(b);
  EXPECT_EQ(pool.stats().free_ranges, 1u);
  EXPECT_EQ(pool.stats().largest_free_range, 1024u);
  EXPECT_EQ(code_of([&] { pool.free(b); }), ErrorCode::kInvalidArgument);
  other.free(foreign);
}

struct Live {
  size_t bytes;
  size_t alignment;
  uint64_t id;
};

// Checks the tracked live blocks (keyed by address) against the pool.
void check_layout(const MemoryPool& pool, const std::map<uintptr_t, Live>& live, uintptr_t base,
                  size_t expected_in_use) {
  uintptr_t prev_end = base;
  for (const auto& [a, blk] : live) {
    ASSERT_GE(a, prev_end) << "blocks overlap at offset " << a - base;
    ASSERT_EQ(a % blk.alignment, 0u);
    prev_end = a + block_size(blk.bytes);
    ASSERT_LE(prev_end, base + pool.capacity()) << "block runs past the region";
  }
  const auto s = pool.stats();
  ASSERT_EQ(s.bytes_in_use, expected_in_use);
  ASSERT_EQ(s.live_blocks, live.size());
  ASSERT_LE(s.largest_free_range, s.capacity - s.bytes_in_use);
  ASSERT_GE(s.fragmentation, 0.0);
  ASSERT_LT(s.fragmentation, 1.0);
}

void stress(Policy policy, uint32_t seed) {
  SCOPED_TRACE("policy " + std::to_string(int(policy)) + " seed " + std::to_string(seed));
  MemoryPool pool(300000, policy);  // rounded up to 300032
  void* probe = pool.allocate(1, 1);  // the empty pool hands out its base
  ASSERT_NE(probe, nullptr);
  const uintptr_t base = addr(probe);
  pool.free(probe);

  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> size_dist(1, 4096);
  std::uniform_int_distribution<int> log_align(0, 12);
  std::map<uintptr_t, Live> live;
  size_t in_use = 0;
  uint64_t next_id = 1, successes = 0, failures = 0;
  for (int op = 0; op < 20000; ++op) {
    const bool do_alloc = live.empty() || rng() % 100 < 55;
    if (do_alloc) {
      const size_t bytes = rng() % 50 == 0 ? 0 : size_dist(rng);
      const size_t alignment = size_t{1} << log_align(rng);
      void* p = pool.allocate(bytes, alignment);
      if (p == nullptr) {
        // A failure is only allowed when no free range could hold the block
        // even with the worst-case padding (range starts are kGranule-aligned).
        const size_t worst_pad = alignment > MemoryPool::kGranule ? alignment - MemoryPool::kGranule : 0;
        ASSERT_GT(block_size(bytes) + worst_pad, pool.stats().largest_free_range);
        ++failures;
      } else {
        ASSERT_TRUE(pool.owns(p));
        ASSERT_TRUE(live.emplace(addr(p), Live{bytes, alignment, next_id}).second) << "address handed out twice";
        fill(p, bytes, next_id++);
        in_use += block_size(bytes);
        ++successes;
      }
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      ASSERT_TRUE(intact(reinterpret_cast<void*>(it->first), it->second.bytes, it->second.id))
          << "block overwritten (overlap)";
      pool.free(reinterpret_cast<void*>(it->first));
      in_use -= block_size(it->second.bytes);
      live.erase(it);
    }
    check_layout(pool, live, base, in_use);
    if (::testing::Test::HasFatalFailure()) return;
    if (op % 1000 == 999) {
      for (const auto& [a, blk] : live) ASSERT_TRUE(intact(reinterpret_cast<void*>(a), blk.bytes, blk.id));
    }
  }
  EXPECT_GT(successes, 5000u);
  EXPECT_GT(failures, 0u);  // the 55% allocation bias drives the pool into exhaustion
  EXPECT_EQ(pool.stats().failed_allocations, failures);

  for (const auto& [a, blk] : live) {
    ASSERT_TRUE(intact(reinterpret_cast<void*>(a), blk.bytes, blk.id));
    pool.free(reinterpret_cast<void*>(a));
  }
  const auto s = pool.stats();
  EXPECT_EQ(s.bytes_in_use, 0u);
  EXPECT_EQ(s.live_blocks, 0u);
  EXPECT_EQ(s.free_ranges, 1u);
  EXPECT_EQ(s.largest_free_range, s.capacity);
  EXPECT_EQ(s.fragmentation, 0.0);
  EXPECT_EQ(addr(pool.allocate(s.capacity, 1)), base);
}

TEST(MemoryPool, RandomStressFirstFit) {
  for (uint32_t seed : {1u, 2u, 3u, 12345u}) stress(Policy::kFirstFit, seed);
}

TEST(MemoryPool, RandomStressBestFit) {
  for (uint32_t seed : {1u, 2u, 3u, 12345u}) stress(Policy::kBestFit, seed);
}

TEST(MemoryPool, ConcurrentThreadsNeverShareBytes) {
  for (Policy policy : {Policy::kFirstFit, Policy::kBestFit}) {
    MemoryPool pool(64 * 1024, policy);
    constexpr int kThreads = 4;
    std::vector<int> corrupted(kThreads, 0), outside(kThreads, 0), succeeded(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(100 + t);
        struct Held {
          void* p;
          size_t n;
          uint64_t id;
        };
        std::vector<Held> held;
        uint64_t id = uint64_t(t) << 32;
        for (int i = 0; i < 3000; ++i) {
          if (held.size() < 6 && rng() % 2 == 0) {
            const size_t n = 1 + rng() % 2048;
            void* p = pool.allocate(n, size_t{1} << (rng() % 8));
            if (p == nullptr) continue;  // the other threads hold the space right now
            if (!pool.owns(p)) ++outside[t];
            fill(p, n, ++id);
            held.push_back({p, n, id});
            ++succeeded[t];
          } else if (!held.empty()) {
            const size_t k = rng() % held.size();
            if (!intact(held[k].p, held[k].n, held[k].id)) ++corrupted[t];
            pool.free(held[k].p);
            held.erase(held.begin() + k);
          }
        }
        for (const Held& h : held) {
          if (!intact(h.p, h.n, h.id)) ++corrupted[t];
          pool.free(h.p);
        }
      });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) {
      EXPECT_EQ(corrupted[t], 0) << "thread " << t;
      EXPECT_EQ(outside[t], 0) << "thread " << t;
      EXPECT_GT(succeeded[t], 100) << "thread " << t;
    }
    const auto s = pool.stats();
    EXPECT_EQ(s.live_blocks, 0u);
    EXPECT_EQ(s.bytes_in_use, 0u);
    EXPECT_EQ(s.free_ranges, 1u);
    EXPECT_EQ(s.largest_free_range, s.capacity);
  }
}

}  // namespace
}  // namespace hearth
