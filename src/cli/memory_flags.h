// Flags about memory shared by the commands that load a model to run it (run,
// chat, bench): the KV cache type, the memory budget, and how the weights are
// loaded (mapped, or read into the heap; locked or not).
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "models/model.h"
#include "runtime/session.h"

namespace hearth::cli {

struct MemoryFlags {
  std::string kv_type = "f16";
  std::string max_memory;  // empty: the machine's physical RAM
  bool no_mmap = false;
  bool mlock = false;
};

void add_memory_flags(CLI::App* app, MemoryFlags& flags);

// Loads the model as the flags say (a heap copy is refused up front when the
// file alone is over the budget); warns on stderr when --mlock is not granted.
std::shared_ptr<const models::Model> load_model(const std::string& name_or_path, const MemoryFlags& flags);

// Sets the KV type on options and throws Error(kOutOfMemory) with advice when a
// session of the model with these options would not fit the memory budget.
void apply_memory_flags(const models::Model& model, const MemoryFlags& flags, runtime::SessionOptions& options);

}  // namespace hearth::cli
