#include "core/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HEARTH_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define HEARTH_CPU_RELAX() __asm__ __volatile__("yield")  // the spin-wait hint, not a system call
#else
#define HEARTH_CPU_RELAX() std::this_thread::yield()
#endif

namespace hearth {
namespace {
constexpr int kSpinIterations = 20000;  // roughly 50-100 us before a worker sleeps
constexpr int kPausesBeforeYield = 256;  // then give the core away: another process may need it

// Spin-waits politely: pause instructions first, then yields, so that an
// oversubscribed machine (two multi-threaded processes on two cores) still runs
// whichever thread has the work.
inline void relax(int spins) {
  if (spins < kPausesBeforeYield) {
    HEARTH_CPU_RELAX();
  } else {
    std::this_thread::yield();
  }
}
}

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  n_threads_ = n_threads;
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_main(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run_tasks(int thread) {
  for (;;) {
    const int64_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (task >= n_tasks_) break;
    (*job_)(task, thread);
  }
}

void ThreadPool::worker_main(int index) {
  uint32_t seen = 0;
  for (;;) {
    int spins = 0;
    uint32_t gen;
    while ((gen = generation_.load(std::memory_order_acquire)) == seen) {
      if (++spins < kSpinIterations) {
        relax(spins);
      } else {
        generation_.wait(seen, std::memory_order_acquire);
      }
    }
    seen = gen;
    if (stop_.load()) return;
    run_tasks(index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::parallel_for(int64_t n_tasks, FunctionRef<void(int64_t, int)> fn) {
  if (n_tasks <= 0) return;
  if (n_threads_ == 1 || n_tasks == 1) {
    for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  job_ = fn;
  n_tasks_ = n_tasks;
  next_task_.store(0, std::memory_order_relaxed);
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  run_tasks(0);
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) relax(spins);
  job_.reset();
}

void ThreadPool::parallel_chunks(int64_t n, FunctionRef<void(int64_t, int64_t, int)> fn) {
  if (n <= 0) return;
  const int64_t parts = std::min<int64_t>(n_threads_, n);
  const int64_t per = (n + parts - 1) / parts;
  parallel_for(parts, [&](int64_t p, int thread) {
    const int64_t begin = p * per;
    const int64_t end = std::min(n, begin + per);
    if (begin < end) fn(begin, end, thread);
  });
}

}  // namespace hearth
