#include "runtime/session.h"

#include <algorithm>
#include <string>
#include <thread>

#include "backends/cpu/ops.h"
#include "core/error.h"

namespace hearth::runtime {
namespace {

std::shared_ptr<KvPool> own_or_shared_pool(const models::Model& m, const SessionOptions& o, int64_t n_ctx) {
  const KvPoolShape shape = kv_pool_shape(m, o);
  if (!o.kv_pool) return std::make_shared<KvPool>(shape, (n_ctx + shape.block_positions - 1) / shape.block_positions);
  const KvPoolShape& have = o.kv_pool->shape();
  if (have.n_layers != shape.n_layers || have.kv_dim != shape.kv_dim || have.type != shape.type ||
      have.block_positions != shape.block_positions)
    throw Error(ErrorCode::kInvalidArgument, "the shared KV pool was made for another model or KV type");
  return o.kv_pool;
}

}  // namespace

int64_t resolve_context(const models::Model& m, int64_t requested) {
  if (requested < 0) throw Error(ErrorCode::kInvalidArgument, "context size must be positive, got " + std::to_string(requested));
  if (requested == 0) return std::min<int64_t>(m.hparams().n_ctx_train, 4096);
  if (requested > (int64_t{1} << 24))
    throw Error(ErrorCode::kInvalidArgument, "context size " + std::to_string(requested) + " is absurdly large");
  return requested;
}

SessionShape session_shape(const models::Model& m, const SessionOptions& o) {
  if (o.n_batch <= 0) throw Error(ErrorCode::kInvalidArgument, "batch size must be positive");
  SessionShape shape;
  shape.n_ctx = resolve_context(m, o.n_ctx);
  shape.n_batch = std::min(o.n_batch, shape.n_ctx);
  shape.n_threads = o.n_threads > 0 ? o.n_threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  return shape;
}

KvPoolShape kv_pool_shape(const models::Model& m, const SessionOptions& o) {
  const models::HParams& hp = m.hparams();
  if (!cpu::attention_supports(o.kv_type, hp.head_dim_k, hp.head_dim_v))
    throw Error(ErrorCode::kUnsupported, "KV cache type " + std::string(dtype_name(o.kv_type)) +
                                             " does not fit this model's head sizes (" +
                                             std::to_string(hp.head_dim_k) + "/" + std::to_string(hp.head_dim_v) +
                                             "); use --kv-type f16");
  KvPoolShape shape;
  shape.n_layers = m.graph().n_layers;
  shape.kv_dim = m.graph().kv_dim_k;
  shape.type = o.kv_type;
  shape.block_positions = o.kv_block_positions;
  return shape;
}

Session::Session(std::shared_ptr<const models::Model> model, const SessionOptions& options)
    : Session(model, options, session_shape(*model, options)) {}

Session::Session(std::shared_ptr<const models::Model> model, const SessionOptions& options, const SessionShape& shape)
    : model_(std::move(model)),
      n_ctx_(shape.n_ctx),
      n_batch_(shape.n_batch),
      pool_(shape.n_threads),
      kv_(own_or_shared_pool(*model_, options, n_ctx_), n_ctx_) {
  executor_ = std::make_unique<graph::Executor>(model_->graph(), n_batch_, n_ctx_, &pool_, shape.max_outputs,
                                                options.offload);
  history_.reserve(static_cast<size_t>(n_ctx_));
  positions_.resize(static_cast<size_t>(n_batch_));
}

std::span<const float> Session::decode(std::span<const int32_t> tokens) {
  if (tokens.empty()) throw Error(ErrorCode::kInvalidArgument, "decode needs at least one token");
  if (n_past() + static_cast<int64_t>(tokens.size()) > n_ctx_)
    throw Error(ErrorCode::kInvalidArgument,
                "context is full: " + std::to_string(n_past()) + " + " + std::to_string(tokens.size()) +
                    " tokens exceed the context of " + std::to_string(n_ctx_) + " (raise -c)");
  const float* logits = nullptr;
  for (size_t start = 0; start < tokens.size(); start += static_cast<size_t>(n_batch_)) {
    const auto count = static_cast<int64_t>(std::min<size_t>(static_cast<size_t>(n_batch_), tokens.size() - start));
    for (int64_t i = 0; i < count; ++i) positions_[i] = static_cast<int32_t>(n_past() + i);
    kv_.resize(n_past() + count);
    graph::Batch batch;
    batch.tokens = tokens.data() + start;
    batch.positions = positions_.data();
    batch.n_tokens = count;
    batch.n_past = n_past();
    batch.n_outputs = 1;
    batch.kv = &kv_.view();
    logits = executor_->run(batch);
    kv_.set_filled(n_past() + count);
    history_.insert(history_.end(), tokens.begin() + static_cast<std::ptrdiff_t>(start),
                    tokens.begin() + static_cast<std::ptrdiff_t>(start + count));
  }
  return {logits, static_cast<size_t>(executor_->n_vocab())};
}

void Session::truncate(int64_t n) {
  if (n < 0 || n > n_past()) throw Error(ErrorCode::kInvalidArgument, "cannot truncate to " + std::to_string(n));
  history_.resize(static_cast<size_t>(n));
  kv_.resize(n);
}

}  // namespace hearth::runtime
