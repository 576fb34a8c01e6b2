// Memory report of a session: where its bytes are (weights mapped or copied and
// how much of them is resident, repacked weights, the planned activation arena
// beside the naive figure, kernel scratch, the KV pool) and the process's
// resident and peak resident size. Printed by `hearth run --memory-report` and
// `hearth bench --memory`.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/session.h"

namespace hearth::runtime {

struct MemoryReport {
  int64_t weights_mapped = 0;    // file bytes mapped (0 when read into the heap)
  int64_t weights_heap = 0;      // file bytes read into the heap (--no-mmap)
  int64_t weights_resident = 0;  // of the file's bytes, those in RAM now (page cache or heap)
  bool weights_locked = false;   // mlock granted (--mlock)
  int64_t repacked = 0;          // weights copied into a kernel's layout (graph/regrouped_weight.h)
  int64_t arena = 0;             // planned activation arena
  int64_t arena_naive = 0;       // one buffer per activation
  int64_t scratch = 0;           // kernel scratch
  int64_t kv_pool = 0;           // the KV pool's buffer (reserved; pages come in as blocks fill)
  int64_t kv_in_use = 0;         // blocks this pool has handed out
  double kv_wasted = 0;          // share of the positions in those blocks that hold nothing
  int64_t rss = 0;               // process resident size now
  int64_t peak_rss = 0;          // process peak resident size
};

MemoryReport memory_report(const Session& session);
std::string format_memory_report(const MemoryReport& report);
nlohmann::ordered_json memory_report_json(const MemoryReport& report);

}  // namespace hearth::runtime
