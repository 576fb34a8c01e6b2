// ThreadPool: a fixed set of workers that run one parallel loop at a time. The
// calling thread takes part, and idle workers spin briefly before sleeping so
// that the many tiny loops of token generation start with little latency.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "core/function_ref.h"

namespace hearth {

class ThreadPool {
 public:
  // n_threads counts the caller; 0 means the number of hardware threads.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(task, thread) for task in [0, n_tasks), spread over the threads;
  // returns when all are done. fn must not throw. Not reentrant. Allocates nothing.
  void parallel_for(int64_t n_tasks, FunctionRef<void(int64_t, int)> fn);

  // Splits [0, n) into one contiguous chunk per thread: fn(begin, end, thread).
  void parallel_chunks(int64_t n, FunctionRef<void(int64_t, int64_t, int)> fn);

 private:
  void worker_main(int index);
  void run_tasks(int thread);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::optional<FunctionRef<void(int64_t, int)>> job_;
  int64_t n_tasks_ = 0;
  std::atomic<int64_t> next_task_{0};
  std::atomic<int> pending_{0};
  std::atomic<uint32_t> generation_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace hearth
