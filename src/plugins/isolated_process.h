// Runs a piece of code in a forked child process and collects what it writes,
// so that plugin code which crashes, hangs or scribbles over memory costs the
// host one error instead of the process. The child's stdout and stderr are
// captured (the tail is kept for messages), never mixed into the host's.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace hearth::plugins {

struct ChildOutcome {
  std::string data;      // everything the body wrote to its result descriptor
  std::string log_tail;  // the last few hundred bytes the child printed (stdout and stderr)
  bool timed_out = false;
  bool too_much_output = false;  // it wrote more than max_bytes and was killed
  int exit_status = -1;          // its exit status when it exited normally, else -1
  int signal = 0;                // the signal that ended it, else 0
};

// Forks; the child runs body(result_fd) and exits with 0 (or 125 if body
// throws), never returning to the caller's code. The parent waits at most
// `timeout`, then kills the child (and any process group it started). Throws
// Error(kIo) only when the OS refuses the pipe or the fork.
ChildOutcome run_isolated(const std::function<void(int result_fd)>& body, std::chrono::milliseconds timeout,
                          size_t max_bytes = size_t{256} << 20);

// Writes all of `bytes` to `fd` (retrying short writes); false on failure.
bool write_all(int fd, const void* bytes, size_t size);

}  // namespace hearth::plugins
