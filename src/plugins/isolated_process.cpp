#include "plugins/isolated_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace hearth::plugins {
namespace {

constexpr size_t kLogTail = 600;

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

bool write_all(int fd, const void* bytes, size_t size) {
  const char* p = static_cast<const char*>(bytes);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

ChildOutcome run_isolated(const std::function<void(int)>& body, std::chrono::milliseconds timeout, size_t max_bytes) {
  int result_pipe[2], log_pipe[2];
  if (::pipe2(result_pipe, O_CLOEXEC) != 0)
    throw Error(ErrorCode::kIo, std::string("cannot create a pipe for a plugin call: ") + std::strerror(errno));
  if (::pipe2(log_pipe, O_CLOEXEC) != 0) {
    ::close(result_pipe[0]), ::close(result_pipe[1]);
    throw Error(ErrorCode::kIo, std::string("cannot create a pipe for a plugin call: ") + std::strerror(errno));
  }
  // Whatever the host has buffered but not written would be written again by
  // the child when a plugin calls exit(): flush it first.
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    for (int fd : {result_pipe[0], result_pipe[1], log_pipe[0], log_pipe[1]}) ::close(fd);
    throw Error(ErrorCode::kIo, std::string("cannot fork a process for a plugin call: ") + std::strerror(err));
  }
  if (pid == 0) {
    // The child: its own process group, so a timeout kills whatever it starts;
    // stdin from /dev/null and stdout/stderr into the log pipe, so a chatty
    // library never writes into the host's output.
    ::setpgid(0, 0);
    ::signal(SIGPIPE, SIG_DFL);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_pipe[1], 1);
    ::dup2(log_pipe[1], 2);
    ::close(result_pipe[0]);
    ::close(log_pipe[0]);
    int status = 0;
    try {
      body(result_pipe[1]);
    } catch (...) {
      status = 125;
    }
    // _exit, not exit: the host's static destructors and atexit handlers are not
    // the child's to run (they may flush the host's buffers a second time).
    ::_exit(status);
  }
  ::setpgid(pid, pid);  // also from here, so the group exists before any kill below
  close_fd(result_pipe[1]);
  close_fd(log_pipe[1]);

  ChildOutcome out;
  std::string log;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (result_pipe[0] >= 0 || log_pipe[0] >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      out.timed_out = true;
      break;
    }
    pollfd fds[2];
    int n = 0;
    if (result_pipe[0] >= 0) fds[n++] = {result_pipe[0], POLLIN, 0};
    if (log_pipe[0] >= 0) fds[n++] = {log_pipe[0], POLLIN, 0};
    const int ready = ::poll(fds, n, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    for (int k = 0; k < n; ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t got = ::read(fds[k].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      const bool is_result = fds[k].fd == result_pipe[0];
      if (got <= 0) {
        close_fd(is_result ? result_pipe[0] : log_pipe[0]);
        continue;
      }
      if (is_result) {
        out.data.append(buf, static_cast<size_t>(got));
      } else {
        log.append(buf, static_cast<size_t>(got));
        if (log.size() > 4 * kLogTail) log.erase(0, log.size() - kLogTail);
      }
    }
    if (out.data.size() > max_bytes) {
      out.too_much_output = true;
      break;
    }
  }
  close_fd(result_pipe[0]);
  close_fd(log_pipe[0]);
  if (out.timed_out || out.too_much_output) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  // Wait for the child to end without reaping it, so its pid (the group's id)
  // cannot be reused while whatever it left running in its group is killed. A
  // child that closed its pipes but lives on is still held to the deadline.
  for (int pause_ms = 1;; pause_ms = std::min(pause_ms * 2, 20)) {
    siginfo_t info{};
    const int r = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT | WNOHANG);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || info.si_pid == pid) break;
    if (!out.timed_out && !out.too_much_output && std::chrono::steady_clock::now() >= deadline) {
      out.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
    ::usleep(static_cast<useconds_t>(pause_ms) * 1000);
  }
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) out.exit_status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  out.log_tail = log.size() > kLogTail ? log.substr(log.size() - kLogTail) : log;
  return out;
}

}  // namespace hearth::plugins
