#include "runtime/memory_report.h"

#include <cstdio>

#include "core/byte_size.h"
#include "core/process_memory.h"
#include "graph/regrouped_weight.h"

namespace hearth::runtime {

MemoryReport memory_report(const Session& session) {
  MemoryReport r;
  const MappedFile* file = session.model().file().mapping();
  if (file) {
    (file->mapped() ? r.weights_mapped : r.weights_heap) = static_cast<int64_t>(file->size());
    r.weights_resident = file->resident_bytes();
    r.weights_locked = file->locked();
  }
  r.repacked = graph::regrouped_bytes(session.model().graph());
  const graph::ExecutorMemory ex = session.executor().memory();
  r.arena = ex.arena;
  r.arena_naive = ex.arena_naive;
  r.scratch = ex.scratch;
  const KvPoolStats kv = session.kv().pool().stats();
  r.kv_pool = kv.bytes;
  r.kv_in_use = kv.blocks_in_use * session.kv().pool().block_bytes();
  r.kv_wasted = kv.wasted_fraction();
  const ProcessMemory pm = process_memory();
  r.rss = pm.resident;
  r.peak_rss = pm.peak_resident;
  return r;
}

std::string format_memory_report(const MemoryReport& r) {
  std::string out;
  auto line = [&](const char* label, const std::string& value) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "  %-18s %s\n", label, value.c_str());
    out += buf;
  };
  auto percent = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * v);
    return std::string(buf);
  };
  out += "memory\n";
  if (r.weights_heap > 0) {
    line("weights (heap)", format_bytes(r.weights_heap) + " read into memory (--no-mmap)");
  } else {
    line("weights mapped", format_bytes(r.weights_mapped) + (r.weights_locked ? ", locked" : ""));
  }
  line("weights resident", format_bytes(r.weights_resident));
  line("repacked weights", format_bytes(r.repacked));
  const double saved = r.arena_naive > 0 ? 1.0 - static_cast<double>(r.arena) / static_cast<double>(r.arena_naive) : 0;
  line("activation arena", format_bytes(r.arena) + " planned, " + format_bytes(r.arena_naive) + " naive (" +
                               percent(saved) + " smaller)");
  line("kernel scratch", format_bytes(r.scratch));
  line("KV pool", format_bytes(r.kv_pool) + ", " + format_bytes(r.kv_in_use) + " in use (" + percent(r.kv_wasted) +
                      " of it unfilled)");
  line("process RSS", format_bytes(r.rss) + " now, " + format_bytes(r.peak_rss) + " peak");
  return out;
}

nlohmann::ordered_json memory_report_json(const MemoryReport& r) {
  return {{"weights_mapped", r.weights_mapped}, {"weights_heap", r.weights_heap},
          {"weights_resident", r.weights_resident}, {"weights_locked", r.weights_locked},
          {"repacked", r.repacked},   {"arena", r.arena},
          {"arena_naive", r.arena_naive}, {"scratch", r.scratch},
          {"kv_pool", r.kv_pool},     {"kv_in_use", r.kv_in_use},
          {"kv_wasted_fraction", r.kv_wasted}, {"rss", r.rss},
          {"peak_rss", r.peak_rss}};
}

}  // namespace hearth::runtime
