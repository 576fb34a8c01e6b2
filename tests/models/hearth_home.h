// Where the tests find what setup installed, as `hearth` does (cli/model_path.h,
// which module tests cannot link): $HEARTH_HOME, default ~/.cache/hearth.
#pragma once

#include <cstdlib>
#include <string>

namespace hearth::test_env {

inline std::string hearth_home() {
  if (const char* h = std::getenv("HEARTH_HOME"); h && *h) return h;
  const char* user = std::getenv("HOME");
  return std::string(user && *user ? user : ".") + "/.cache/hearth";
}

inline std::string default_model_path() { return hearth_home() + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"; }

}  // namespace hearth::test_env
