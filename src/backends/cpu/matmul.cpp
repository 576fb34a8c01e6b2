#include "backends/cpu/matmul.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "backends/cpu/q4k_x8.h"
#include "backends/cpu/vec_dot.h"
#include "core/error.h"
#include "core/thread_pool.h"

namespace hearth::cpu {
namespace {

// Weight rows per chunk of work: few enough that threads finishing early can
// even out the end, enough that a chunk's rows stay in cache while every
// token row of a batch streams past them.
constexpr int64_t kRowsPerTask = 16;
static_assert(kRowsPerTask % kQ4KGroupRows == 0, "a task must hold whole 8-row groups of grouped q4_K");

// The kernels of each weight type, looked up once: a generated token runs a
// few hundred matmuls, each too short to pay for the search.
const WeightKernels& kernels_for(DType type) {
  constexpr size_t kIds = 64;  // above every GGUF type id
  static const auto table = [] {
    std::array<WeightKernels, kIds> t{};
    for (uint32_t id = 0; id < kIds; ++id) {
      if (!dtype_info(id)) continue;
      const auto type_id = static_cast<DType>(id);
      if (has_weight_kernels(type_id)) t[id] = weight_kernels(type_id);
    }
    return t;
  }();
  const auto id = static_cast<size_t>(type);
  if (id >= kIds || !table[id].vec_dot) weight_kernels(type);  // throws, naming the type
  return table[id];
}

// Whether a matmul of n_tokens uses the panel kernels of these weight kernels.
bool panels_for(const WeightKernels& kernels, int64_t n_tokens) {
  return kernels.panel_dot && n_tokens >= kernels.panel_min_tokens;
}

// Which kernel multiplies n_tokens rows by a weight of these kernels. It depends
// on the weight type and the token count alone (not on the group the matmul is
// part of), so matmul_sum_order can tell another backend how each result is summed.
enum class Path { kPanels, kTiles, kRows };
Path path_for(const WeightKernels& kernels, int64_t n_tokens) {
  if (panels_for(kernels, n_tokens)) return Path::kPanels;
  // One token (generation): a row at a time; vec_dot streams a row faster than a tile of rows does.
  if (!kernels.tile_dot || n_tokens == 1) return Path::kRows;
  return Path::kTiles;
}

int64_t panel_groups(int64_t n_tokens) { return (n_tokens + kPanelTokens - 1) / kPanelTokens; }

// The panels follow the converted rows in the scratch, 64-byte aligned.
constexpr int64_t kPanelAlign = 64;

}  // namespace

size_t matmul_scratch_bytes(const MatMulShape& shape) {
  const WeightKernels& kernels = kernels_for(shape.weight_type);
  int64_t bytes = dtype_row_bytes(kernels.act_type, shape.k) * shape.n_tokens;
  if (panels_for(kernels, shape.n_tokens))
    bytes += kPanelAlign + panel_groups(shape.n_tokens) * panel_group_bytes(kernels.act_type, shape.k);
  return static_cast<size_t>(bytes);
}

SumOrder matmul_sum_order(DType weight_type, int64_t n_tokens) {
  const WeightKernels& kernels = kernels_for(weight_type);
  switch (path_for(kernels, n_tokens)) {
    case Path::kPanels: return kernels.panel_order;
    case Path::kTiles: return kernels.tile_order;
    case Path::kRows: break;
  }
  return kernels.vec_order;
}

bool matmul_share_input(DType a, DType b) {
  const WeightKernels& ka = kernels_for(a);
  const WeightKernels& kb = kernels_for(b);
  return ka.act_type == kb.act_type && ka.act_from_float == kb.act_from_float;
}

void matmul(const MatMulShape& shape, const void* w, const float* x, float* y, void* scratch,
            ThreadPool* pool) {
  const MatMulTarget target{shape.weight_type, shape.n_out, w, y};
  matmul_group(shape.k, shape.n_tokens, &target, 1, x, scratch, pool);
}

void matmul_group(int64_t k, int64_t n_tokens, const MatMulTarget* targets, int n_targets, const float* x,
                  void* scratch, ThreadPool* pool) {
  constexpr int kMaxTargets = 8;
  if (n_targets < 1 || n_targets > kMaxTargets)
    throw Error(ErrorCode::kInternal, "matmul_group takes 1 to 8 targets, got " + std::to_string(n_targets));
  const WeightKernels& first = kernels_for(targets[0].weight_type);
  const int64_t act_row_bytes = dtype_row_bytes(first.act_type, k);
  auto* act = static_cast<uint8_t*>(scratch);
  // Panels when a target takes them for this many tokens. The targets share the
  // activation type, so one set of panels serves all that take them; the others
  // read the converted rows, which the panels are built from.
  PanelPackFn pack = nullptr;
  for (int i = 0; i < n_targets; ++i) {
    if (targets[i].q4k_x8) {
      if (targets[i].weight_type != DType::kQ4_K || !q4k_x8_available() || !q4k_x8_fits(targets[i].n_out, k))
        throw Error(ErrorCode::kInternal, "matmul_group: a grouped q4_K target this CPU or shape cannot take");
      continue;  // reads the converted rows
    }
    const WeightKernels& kt = kernels_for(targets[i].weight_type);
    if (!panels_for(kt, n_tokens)) continue;
    if (pack && kt.panel_pack != pack)
      throw Error(ErrorCode::kInternal, "matmul_group: targets that share an input pack their panels differently");
    pack = kt.panel_pack;
  }
  const bool panels = pack != nullptr;
  const int64_t group_bytes = panel_group_bytes(first.act_type, k);
  const auto act_end = reinterpret_cast<uintptr_t>(act + n_tokens * act_row_bytes);
  auto* panel = reinterpret_cast<uint8_t*>((act_end + kPanelAlign - 1) / kPanelAlign * kPanelAlign);
  auto convert = [&](int64_t t, int) { first.act_from_float(x + t * k, act + t * act_row_bytes, k); };
  if (panels) {
    // Each group of tokens converted and interleaved by one thread.
    auto convert_group = [&](int64_t g, int) {
      const int64_t t0 = g * kPanelTokens;
      const int tokens = static_cast<int>(std::min<int64_t>(kPanelTokens, n_tokens - t0));
      for (int64_t t = t0; t < t0 + tokens; ++t) convert(t, 0);
      pack(act + t0 * act_row_bytes, act_row_bytes, tokens, k, panel + g * group_bytes);
    };
    const int64_t n_groups = panel_groups(n_tokens);
    if (pool && n_groups > 1) {
      pool->parallel_for(n_groups, convert_group);
    } else {
      for (int64_t g = 0; g < n_groups; ++g) convert_group(g, 0);
    }
  } else if (pool && n_tokens > 1) {
    pool->parallel_for(n_tokens, convert);
  } else {
    for (int64_t t = 0; t < n_tokens; ++t) convert(t, 0);
  }

  // Chunks of kRowsPerTask rows of every target, numbered one after another.
  int64_t chunk_end[kMaxTargets];
  int64_t n_chunks = 0;
  for (int i = 0; i < n_targets; ++i) {
    n_chunks += (targets[i].n_out + kRowsPerTask - 1) / kRowsPerTask;
    chunk_end[i] = n_chunks;
  }

  auto run_chunk = [&](int64_t task) {
    int i = 0;
    while (task >= chunk_end[i]) ++i;
    const MatMulTarget& t = targets[i];
    const int64_t first_row = (task - (i ? chunk_end[i - 1] : 0)) * kRowsPerTask;
    if (t.q4k_x8) {  // kRowsPerTask is a multiple of the 8-row groups
      const int64_t last_row = std::min(t.n_out, first_row + kRowsPerTask);
      q4k_x8_matmul(k, t.w, first_row / kQ4KGroupRows, last_row / kQ4KGroupRows, act, act_row_bytes, n_tokens, t.y,
                    t.n_out);
      return;
    }
    const WeightKernels& kernels = kernels_for(t.weight_type);
    const int64_t w_row_bytes = dtype_row_bytes(t.weight_type, k);
    const auto* weights = static_cast<const uint8_t*>(t.w);
    const int64_t j0 = first_row;
    const int64_t j1 = std::min(t.n_out, j0 + kRowsPerTask);
    const Path path = path_for(kernels, n_tokens);
    // For each panel call's worth of tokens, the task's rows panel_rows at a
    // time: the rows' weights stay in L1 while the panels stream past.
    if (path == Path::kPanels) {
      for (int64_t tok = 0; tok < n_tokens; tok += kernels.panel_tokens) {
        const int cols = static_cast<int>(std::min<int64_t>(kernels.panel_tokens, n_tokens - tok));
        const uint8_t* p = panel + tok / kPanelTokens * group_bytes;
        for (int64_t j = j0; j < j1; j += kernels.panel_rows) {
          const int rows = static_cast<int>(std::min<int64_t>(kernels.panel_rows, j1 - j));
          kernels.panel_dot(k, weights + j * w_row_bytes, w_row_bytes, p, group_bytes, t.y + tok * t.n_out + j,
                            t.n_out, rows, cols);
        }
      }
      return;
    }
    if (path == Path::kRows) {
      for (int64_t tok = 0; tok < n_tokens; ++tok) {
        const uint8_t* a = act + tok * act_row_bytes;
        float* out = t.y + tok * t.n_out;
        for (int64_t j = j0; j < j1; ++j) out[j] = kernels.vec_dot(k, weights + j * w_row_bytes, a);
      }
      return;
    }
    // For each group of tile_cols tokens, the task's rows tile_rows at a time,
    // so a weight block loaded from memory serves several tokens and an
    // activation block several rows.
    for (int64_t tok = 0; tok < n_tokens; tok += kernels.tile_cols) {
      const int cols = static_cast<int>(std::min<int64_t>(kernels.tile_cols, n_tokens - tok));
      for (int64_t j = j0; j < j1; j += kernels.tile_rows) {
        const int rows = static_cast<int>(std::min<int64_t>(kernels.tile_rows, j1 - j));
        kernels.tile_dot(k, weights + j * w_row_bytes, w_row_bytes, act + tok * act_row_bytes, act_row_bytes,
                         t.y + tok * t.n_out + j, t.n_out, rows, cols);
      }
    }
  };
  if (!pool || pool->size() == 1 || n_chunks == 1) {
    for (int64_t c = 0; c < n_chunks; ++c) run_chunk(c);
    return;
  }
  // Each thread owns one contiguous share of the chunks and walks it in order,
  // so its reads form one long stream the hardware prefetcher follows (handing
  // out chunks round-robin instead cost 30% of generation speed). A thread
  // that finishes early takes chunks from the front of the other shares.
  struct alignas(64) Cursor {
    std::atomic<int64_t> next;
    int64_t end;
  };
  constexpr int kMaxShares = 64;
  const int n_shares = static_cast<int>(std::min<int64_t>({pool->size(), kMaxShares, n_chunks}));
  Cursor cursors[kMaxShares];
  for (int s = 0; s < n_shares; ++s) {
    cursors[s].next.store(n_chunks * s / n_shares, std::memory_order_relaxed);
    cursors[s].end = n_chunks * (s + 1) / n_shares;
  }
  pool->parallel_for(n_shares, [&](int64_t share, int) {
    for (int step = 0; step < n_shares; ++step) {
      Cursor& c = cursors[(share + step) % n_shares];
      for (int64_t chunk; (chunk = c.next.fetch_add(1, std::memory_order_relaxed)) < c.end;) run_chunk(chunk);
    }
  });
}

}  // namespace hearth::cpu
