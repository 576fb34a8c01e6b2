// Jinja interpreter: a template parsed once and rendered many times, with limits
// that turn runaway templates (unbounded loops, recursion, output) into errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/jinja_parser.h"
#include "runtime/jinja_value.h"

namespace hearth::runtime::jinja {

struct RenderLimits {
  size_t max_output_bytes = size_t{16} << 20;  // the output, and any one string built on the way
  uint64_t max_loop_iterations = 1'000'000;    // all loops of one render together, range() sizes included
  int max_call_depth = 64;                     // nested macro calls (recursive macros)
};

struct RenderOptions {
  RenderLimits limits;
  // The time strftime_now() formats (local time zone); null: the system clock.
  std::function<std::time_t()> clock;
};

// Besides the context, every render sees the globals chat templates expect:
// range, dict, namespace, raise_exception(msg) and strftime_now(format).
class Template {
 public:
  // Throws hearth::Error(kFormat) naming the line and column of a syntax error.
  static Template parse(std::string_view source, const ParseOptions& options = {});

  // Thread-safe: a render keeps all its state to itself. Throws
  // hearth::Error(kInvalidArgument) naming the line and column of a failing
  // expression, a limit exceeded, or a message from raise_exception.
  std::string render(const ValueDict& context, const RenderOptions& options = {}) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace hearth::runtime::jinja
