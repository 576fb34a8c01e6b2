// A forward pass performs no heap allocation: every buffer it needs (arena,
// kernel scratch, KV blocks, block tables) is set up before. Checked with a
// counting global operator new (every form), active only inside the measured
// region, on the calling thread and the pool's workers alike.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "runtime/session.h"
#include "temp_model.h"

namespace {

std::atomic<bool> g_counting{false};
std::atomic<int64_t> g_allocations{0};

void* counted(std::size_t size, std::size_t align) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (size + align - 1) / align * align)
                                              : std::malloc(size);
  return p;
}

}  // namespace

void* operator new(std::size_t size) {
  if (void* p = counted(size, 0)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = counted(size, 0)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align) {
  if (void* p = counted(size, static_cast<std::size_t>(align))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) {
  if (void* p = counted(size, static_cast<std::size_t>(align))) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted(size, 0); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return counted(size, 0); }
// Every form above allocates with malloc or aligned_alloc, so free releases them all.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace hearth::runtime {
namespace {

// Allocations made while f runs, on any thread.
template <class F>
int64_t allocations_during(F&& f) {
  g_allocations = 0;
  g_counting = true;
  f();
  g_counting = false;
  return g_allocations.load();
}

std::vector<int>* volatile g_kept = nullptr;

TEST(NoAllocation, CounterSeesAllocations) {
  EXPECT_GE(allocations_during([] { g_kept = new std::vector<int>(100); }), 2);
  delete g_kept;
  EXPECT_EQ(allocations_during([] {}), 0);
}

TEST(NoAllocation, ForwardPassesAllocateNothing) {
  const test_env::TempModel file(test_env::small_spec(DType::kQ4_K), "noalloc");
  const auto& model = file.model();
  for (DType kv_type : {DType::kF16, DType::kQ8_0}) {
    SessionOptions o;
    o.n_ctx = 256;
    o.n_batch = 32;
    o.n_threads = 2;
    o.kv_type = kv_type;
    Session session(model, o);
    std::vector<int32_t> prompt(70);
    for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>(i * 7 % 200 + 1);
    session.decode(std::span(prompt).first(3));  // threads started, first blocks taken
    // A prompt in several batches (new blocks taken on the way), then single tokens.
    EXPECT_EQ(allocations_during([&] { session.decode(std::span(prompt).subspan(3)); }), 0)
        << dtype_name(kv_type) << " prompt";
    int32_t next = 5;
    EXPECT_EQ(allocations_during([&] {
                for (int i = 0; i < 40; ++i) session.decode({&next, 1});
              }),
              0)
        << dtype_name(kv_type) << " generation";
    EXPECT_EQ(allocations_during([&] { session.truncate(10); }), 0) << dtype_name(kv_type) << " truncate";
  }
}

}  // namespace
}  // namespace hearth::runtime
