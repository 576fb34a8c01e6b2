#include "helper_process.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace asr_whisper {
namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  bool open() { return ::pipe2(fd, O_CLOEXEC) == 0; }
  void close_all() {
    for (int& f : fd)
      if (f >= 0) ::close(f), f = -1;
  }
};

// Up to this much stderr is kept (its end is what explains a failure).
constexpr std::size_t kMaxStderr = 64 * 1024;

}  // namespace

HelperResult run_helper(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                        const std::string& input) {
  HelperResult r;
  Pipe in, out, err, status;
  if (!in.open() || !out.open() || !err.open() || !status.open()) {
    r.error = std::string("cannot create pipes: ") + std::strerror(errno);
    in.close_all(), out.close_all(), err.close_all(), status.close_all();
    return r;
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    r.error = std::string("cannot fork: ") + std::strerror(errno);
    in.close_all(), out.close_all(), err.close_all(), status.close_all();
    return r;
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(in.fd[0], 0), ::dup2(out.fd[1], 1), ::dup2(err.fd[1], 2);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    const int e = errno;  // the status pipe (close-on-exec) tells the parent exec failed
    (void)!::write(status.fd[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(in.fd[0]), in.fd[0] = -1;
  ::close(out.fd[1]), out.fd[1] = -1;
  ::close(err.fd[1]), err.fd[1] = -1;
  ::close(status.fd[1]), status.fd[1] = -1;

  int exec_errno = 0;
  const bool exec_failed = ::read(status.fd[0], &exec_errno, sizeof exec_errno) == sizeof exec_errno;
  status.close_all();

  std::signal(SIGPIPE, SIG_IGN);  // a helper that dies early must not kill us
  ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
  std::size_t written = 0;
  if (input.empty()) ::close(in.fd[1]), in.fd[1] = -1;
  char buf[65536];
  while (in.fd[1] >= 0 || out.fd[0] >= 0 || err.fd[0] >= 0) {
    pollfd fds[3];
    int n = 0;
    if (in.fd[1] >= 0) fds[n++] = {in.fd[1], POLLOUT, 0};
    if (out.fd[0] >= 0) fds[n++] = {out.fd[0], POLLIN, 0};
    if (err.fd[0] >= 0) fds[n++] = {err.fd[0], POLLIN, 0};
    if (::poll(fds, nfds_t(n), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents) continue;
      const int fd = fds[i].fd;
      if (fd == in.fd[1]) {
        const ssize_t w = ::write(fd, input.data() + written, input.size() - written);
        if (w > 0) written += std::size_t(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) ::close(fd), in.fd[1] = -1;
      } else {
        const ssize_t got = ::read(fd, buf, sizeof buf);
        if (got > 0) {
          std::string& dest = fd == out.fd[0] ? r.out : r.err;
          dest.append(buf, std::size_t(got));
          if (&dest == &r.err && r.err.size() > kMaxStderr) r.err.erase(0, r.err.size() - kMaxStderr);
        } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
          ::close(fd);
          (fd == out.fd[0] ? out.fd[0] : err.fd[0]) = -1;
        }
      }
    }
  }
  in.close_all(), out.close_all(), err.close_all();
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (exec_failed) {
    r.error = "cannot run " + argv[0] + ": " + std::strerror(exec_errno);
    return r;
  }
  r.started = true;
  if (WIFEXITED(wstatus)) r.exit_code = WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) r.signal = WTERMSIG(wstatus);
  return r;
}

}  // namespace asr_whisper
