#include "runtime/kv_cache.h"

#include <string>

#include "core/error.h"

namespace hearth::runtime {

KvCache::KvCache(int32_t n_layers, int64_t kv_dim, int64_t capacity) : capacity_(capacity) {
  const int64_t per_layer = kv_dim * capacity;
  const int64_t total = per_layer * 2 * n_layers;
  if (capacity <= 0 || kv_dim <= 0 || total / 2 / n_layers / capacity != kv_dim)
    throw Error(ErrorCode::kInvalidArgument, "invalid KV cache size: " + std::to_string(capacity) + " positions");
  try {
    storage_.assign(static_cast<size_t>(total), 0);
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::kOutOfMemory, "KV cache of " + std::to_string(total * 2) +
                                             " bytes does not fit in memory; use a smaller context (-c)");
  }
  views_.resize(static_cast<size_t>(n_layers));
  for (int32_t l = 0; l < n_layers; ++l) {
    views_[l].k = storage_.data() + (2 * l) * per_layer;
    views_[l].v = storage_.data() + (2 * l + 1) * per_layer;
  }
}

}  // namespace hearth::runtime
