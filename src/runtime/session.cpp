#include "runtime/session.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace hearth::runtime {
namespace {

int64_t resolve_ctx(const models::Model& m, int64_t requested) {
  if (requested < 0) throw Error(ErrorCode::kInvalidArgument, "context size must be positive, got " + std::to_string(requested));
  if (requested == 0) return std::min<int64_t>(m.hparams().n_ctx_train, 4096);
  if (requested > (int64_t{1} << 24))
    throw Error(ErrorCode::kInvalidArgument, "context size " + std::to_string(requested) + " is absurdly large");
  return requested;
}

}  // namespace

Session::Session(std::shared_ptr<const models::Model> model, const SessionOptions& options)
    : model_(std::move(model)),
      n_ctx_(resolve_ctx(*model_, options.n_ctx)),
      n_batch_(std::clamp<int64_t>(options.n_batch, 1, n_ctx_)),
      pool_(options.n_threads),
      kv_(static_cast<int32_t>(model_->hparams().n_layer), model_->graph().kv_dim_k, n_ctx_) {
  if (options.n_batch <= 0) throw Error(ErrorCode::kInvalidArgument, "batch size must be positive");
  executor_ = std::make_unique<graph::Executor>(model_->graph(), n_batch_, n_ctx_, &pool_);
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
    graph::Batch batch;
    batch.tokens = tokens.data() + start;
    batch.positions = positions_.data();
    batch.n_tokens = count;
    batch.n_past = n_past();
    batch.n_outputs = 1;
    batch.kv = kv_.layers();
    batch.kv_capacity = kv_.capacity();
    logits = executor_->run(batch);
    history_.insert(history_.end(), tokens.begin() + static_cast<std::ptrdiff_t>(start),
                    tokens.begin() + static_cast<std::ptrdiff_t>(start + count));
  }
  return {logits, static_cast<size_t>(executor_->n_vocab())};
}

void Session::truncate(int64_t n) {
  if (n < 0 || n > n_past()) throw Error(ErrorCode::kInvalidArgument, "cannot truncate to " + std::to_string(n));
  history_.resize(static_cast<size_t>(n));
}

}  // namespace hearth::runtime
