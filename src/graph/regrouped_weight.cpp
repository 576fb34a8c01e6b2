#include "graph/regrouped_weight.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "backends/cpu/q4k_x8.h"
#include "core/error.h"

namespace hearth::graph {

namespace {

bool regrouping_allowed() {
  const char* v = std::getenv("HEARTH_REGROUP");
  return !(v && std::strcmp(v, "0") == 0);
}

}  // namespace

int mark_regroupable(Graph& g, const std::function<void(const void*, size_t)>& release) {
  if (!regrouping_allowed() || !cpu::q4k_x8_available()) return 0;
  std::vector<uint8_t> matmul_use(g.weights.size(), 0);
  for (const Node& n : g.nodes)
    if (n.weight >= 0 && n.op == OpKind::kMatMul) matmul_use[static_cast<size_t>(n.weight)] = 1;
  int marked = 0;
  for (size_t i = 0; i < g.weights.size(); ++i) {
    Weight& w = g.weights[i];
    if (w.type != DType::kQ4_K || !matmul_use[i] || !cpu::q4k_x8_fits(w.rows, w.cols)) continue;
    if (!w.regrouped) w.regrouped = std::make_shared<RegroupedWeight>();
    w.regrouped->release = release;
    ++marked;
  }
  return marked;
}

const void* regrouped_data(const Weight& w, ThreadPool* pool) {
  if (!w.regrouped) return nullptr;
  RegroupedWeight& r = *w.regrouped;
  std::call_once(r.once, [&] {
    const size_t size = cpu::q4k_x8_bytes(w.rows, w.cols);
    // 2 MiB-aligned, so that the kernel may back it with huge pages: a 7B
    // model's 3.6 GiB of copies otherwise take a million page faults to fill.
    constexpr size_t kHuge = size_t{2} << 20;
    const size_t align = size >= kHuge ? kHuge : 64;
    void* p = std::aligned_alloc(align, (size + align - 1) / align * align);
#ifdef MADV_HUGEPAGE
    if (p && align == kHuge) ::madvise(p, (size + align - 1) / align * align, MADV_HUGEPAGE);
#endif
    if (!p)
      throw Error(ErrorCode::kOutOfMemory, "cannot allocate " + std::to_string(size) + " bytes to regroup weight " + w.name);
    // In slices of 64 rows, spread over the pool: a 7B model regroups 3.6 GiB
    // before its first token.
    constexpr int64_t kSliceRows = 64;
    const int64_t row_bytes = dtype_row_bytes(w.type, w.cols);
    const int64_t slices = (w.rows + kSliceRows - 1) / kSliceRows;
    auto pack_slice = [&](int64_t s, int) {
      const int64_t r0 = s * kSliceRows, n = std::min(kSliceRows, w.rows - r0);
      cpu::q4k_x8_pack(static_cast<const uint8_t*>(w.data) + r0 * row_bytes, n, w.cols,
                       static_cast<uint8_t*>(p) + cpu::q4k_x8_bytes(r0, w.cols));
    };
    if (pool && slices > 1) {
      pool->parallel_for(slices, pack_slice);
    } else {
      for (int64_t s = 0; s < slices; ++s) pack_slice(s, 0);
    }
    r.bytes.reset(static_cast<uint8_t*>(p));
    r.size.store(size);
    if (r.release) r.release(w.data, static_cast<size_t>(weight_bytes(w)));
  });
  return r.bytes.get();
}

int64_t regrouped_bytes(const Graph& g) {
  int64_t total = 0;
  for (const Weight& w : g.weights)
    if (w.regrouped) total += static_cast<int64_t>(w.regrouped->size.load());
  return total;
}

int64_t regrouped_growth_bytes(const Graph& g) {
  int64_t growth = 0, largest = 0;
  for (const Weight& w : g.weights) {
    if (!w.regrouped) continue;
    const int64_t original = weight_bytes(w);
    growth += static_cast<int64_t>(cpu::q4k_x8_bytes(w.rows, w.cols)) - original;
    largest = std::max(largest, original);
  }
  return growth + largest;
}

cpu::MatMulTarget matmul_target(const Weight& w, float* y, ThreadPool* pool) {
  if (const void* grouped = regrouped_data(w, pool)) return {w.type, w.rows, grouped, y, true};
  return {w.type, w.rows, w.data, y, false};
}

}  // namespace hearth::graph
