// helper_process: runs a program with bytes on its stdin and collects its
// stdout and stderr, without deadlocking on full pipes. The child dies with the
// calling process (the host kills a plugin call that overruns its timeout).
#pragma once

#include <string>
#include <vector>

namespace asr_whisper {

struct HelperResult {
  bool started = false;  // false: exec failed; `error` says why
  int exit_code = -1;    // when it exited normally
  int signal = 0;        // when a signal killed it
  std::string out;
  std::string err;
  std::string error;
};

// argv[0] is the program's path. `env` entries ("NAME=value") are added to the
// inherited environment.
HelperResult run_helper(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                        const std::string& input);

}  // namespace asr_whisper
