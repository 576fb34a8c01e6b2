#include "runtime/engine.h"

#include <algorithm>
#include <exception>
#include <string>

#include "core/error.h"
#include "runtime/sampler.h"
#include "runtime/text_stream.h"
#include "runtime/token_constraint.h"

namespace hearth::runtime {
namespace {

constexpr int kMaxSequences = 256;

double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

int64_t blocks_for(int64_t positions, int64_t block_positions) {
  return (positions + block_positions - 1) / block_positions;
}

}  // namespace

EngineShape engine_shape(const models::Model& model, const EngineOptions& o) {
  auto bad = [](const std::string& what) { throw Error(ErrorCode::kInvalidArgument, what); };
  if (o.max_sequences < 1 || o.max_sequences > kMaxSequences)
    bad("parallel sequences must be within 1.." + std::to_string(kMaxSequences) + ", got " +
        std::to_string(o.max_sequences));
  if (o.step_tokens < 1 || o.step_tokens > 8192)
    bad("tokens per step must be within 1..8192, got " + std::to_string(o.step_tokens));
  if (o.kv_positions < 0) bad("KV pool size must not be negative");
  if (o.max_waiting < 0) bad("the waiting queue size must not be negative");
  SessionOptions so;
  so.n_ctx = o.n_ctx;
  so.n_batch = o.step_tokens;
  so.n_threads = o.n_threads;
  so.kv_type = o.kv_type;
  so.kv_block_positions = o.kv_block_positions;
  const SessionShape session = session_shape(model, so);
  EngineShape s;
  s.max_sequences = o.max_sequences;
  s.n_ctx = session.n_ctx;
  s.n_threads = session.n_threads;
  // Every decoding sequence needs a row of each step.
  s.step_tokens = std::max<int64_t>(o.step_tokens, o.max_sequences);
  s.kv = kv_pool_shape(model, so);
  const int64_t positions = o.kv_positions > 0 ? o.kv_positions : s.n_ctx * o.max_sequences;
  if (positions < s.n_ctx)
    bad("the KV pool (" + std::to_string(positions) + " positions) is smaller than one context of " +
        std::to_string(s.n_ctx));
  s.kv_blocks = blocks_for(positions, s.kv.block_positions);
  if (s.kv_blocks > (int64_t{1} << 30)) bad("the KV pool of " + std::to_string(positions) + " positions is absurd");
  return s;
}

MemoryEstimate estimate_engine_memory(const models::Model& model, const EngineOptions& options) {
  const EngineShape s = engine_shape(model, options);
  SessionShape executor;
  executor.n_ctx = s.n_ctx;
  executor.n_batch = s.step_tokens;
  executor.n_threads = s.n_threads;
  executor.max_outputs = s.max_sequences;
  return estimate_memory(model, executor, s.kv, s.kv_blocks * s.kv.block_positions);
}

struct Engine::Sequence {
  uint64_t id = 0;
  EngineRequest request;
  int32_t max_tokens = 0;  // what may be generated, within the context
  Sampler sampler;
  TextStream stream;
  std::vector<int32_t> history;  // prompt, then generated tokens
  int64_t prompt_size = 0;
  int64_t n_past = 0;            // positions in its cache
  std::unique_ptr<KvSequence> kv;
  int64_t reserved_blocks = 0;
  EngineResult result;
  Clock::time_point submitted, admitted;
  bool sampled_any = false;
  bool constraint_armed = false;  // the constraint applies (constraint_after was seen, or there is none)
  bool cancel_requested = false;
  bool done = false;

  Sequence(EngineRequest&& r, int64_t n_ctx)
      : request(std::move(r)), sampler(request.options.sampling), stream(request.options.stop) {
    prompt_size = static_cast<int64_t>(request.prompt.size());
    // The last sampled token is never fed back, so a prompt of n_ctx tokens
    // still gets one generated token.
    const int64_t room = n_ctx - prompt_size + 1;
    max_tokens = static_cast<int32_t>(std::min<int64_t>(request.options.max_tokens, room));
    history = std::move(request.prompt);  // the prompt is read from here on
    history.reserve(static_cast<size_t>(prompt_size + max_tokens));
    constraint_armed = request.constraint && request.constraint_after.empty();
  }
  TokenConstraint* constraint() const { return constraint_armed ? request.constraint.get() : nullptr; }
  // After new output: arms the constraint once its trigger text has appeared.
  void arm_constraint(size_t text_before) {
    if (constraint_armed || !request.constraint) return;
    const std::string& text = stream.text();
    const std::string& trigger = request.constraint_after;
    const size_t from = text_before >= trigger.size() ? text_before - trigger.size() + 1 : 0;
    const size_t at = text.find(trigger, from);
    if (at == std::string::npos) return;
    size_t rest = at + trigger.size();
    while (rest < text.size() && (text[rest] == ' ' || text[rest] == '\n' || text[rest] == '\t' || text[rest] == '\r'))
      ++rest;
    try {
      request.constraint->accept_text(std::string_view(text).substr(rest));
      constraint_armed = true;
    } catch (const Error&) {
      request.constraint.reset();  // the output already left the grammar
    }
  }
  bool prefilling() const { return n_past < prompt_size; }
  int64_t generated() const { return static_cast<int64_t>(result.tokens.size()); }
};

Engine::Engine(std::shared_ptr<const models::Model> model, const EngineOptions& options)
    : model_(std::move(model)),
      shape_(engine_shape(*model_, options)),
      max_waiting_(options.max_waiting),
      threads_(shape_.n_threads) {
  pool_ = std::make_shared<KvPool>(shape_.kv, shape_.kv_blocks);
  executor_ = std::make_unique<graph::Executor>(model_->graph(), shape_.step_tokens, shape_.n_ctx, &threads_,
                                                shape_.max_sequences);
  const auto rows = static_cast<size_t>(shape_.step_tokens);
  tokens_.reserve(rows);
  positions_.reserve(rows);
  output_rows_.reserve(static_cast<size_t>(shape_.max_sequences));
  parts_.reserve(static_cast<size_t>(shape_.max_sequences));
  outputs_.reserve(static_cast<size_t>(shape_.max_sequences));
  active_.reserve(static_cast<size_t>(shape_.max_sequences));
  worker_ = std::thread([this] { worker(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    quit_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

uint64_t Engine::submit(EngineRequest request) {
  const auto n = static_cast<int64_t>(request.prompt.size());
  if (n == 0) throw Error(ErrorCode::kInvalidArgument, "the prompt is empty (no tokens)");
  if (n > shape_.n_ctx)
    throw Error(ErrorCode::kInvalidArgument, "the prompt (" + std::to_string(n) +
                                                 " tokens) is longer than the context of " +
                                                 std::to_string(shape_.n_ctx) + " tokens");
  const int32_t vocab = model_->tokenizer().n_vocab();
  for (int32_t id : request.prompt)
    if (id < 0 || id >= vocab)
      throw Error(ErrorCode::kInvalidArgument, "token id " + std::to_string(id) + " is outside the vocabulary of " +
                                                   std::to_string(vocab));
  if (request.options.max_tokens < 0)
    throw Error(ErrorCode::kInvalidArgument, "the token limit must not be negative");
  auto seq = std::make_unique<Sequence>(std::move(request), shape_.n_ctx);  // validates sampling and stops
  seq->submitted = Clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopping_) throw Error(ErrorCode::kBusy, "the engine is shutting down");
  if (static_cast<int64_t>(waiting_.size()) >= max_waiting_ &&
      static_cast<int>(active_.size()) >= shape_.max_sequences)
    throw Error(ErrorCode::kBusy, "too many requests are waiting (" + std::to_string(waiting_.size()) + ")");
  seq->id = next_id_++;
  const uint64_t id = seq->id;
  waiting_.push_back(std::move(seq));
  lock.unlock();
  wake_.notify_all();
  return id;
}

void Engine::cancel(uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_.push_back(id);
  }
  wake_.notify_all();
}

void Engine::drain(std::chrono::steady_clock::duration deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  stopping_ = true;
  const auto until = Clock::now() + deadline;
  idle_.wait_until(lock, until, [&] { return waiting_.empty() && active_.empty(); });
  if (waiting_.empty() && active_.empty()) return;
  for (const auto& s : waiting_) cancelled_.push_back(s->id);
  for (const auto& s : active_) cancelled_.push_back(s->id);
  lock.unlock();
  wake_.notify_all();
  lock.lock();
  idle_.wait(lock, [&] { return waiting_.empty() && active_.empty(); });
}

EngineStats Engine::stats() const {
  EngineStats st;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    st.active = static_cast<int>(active_.size());
    st.waiting = static_cast<int64_t>(waiting_.size());
    st.kv_blocks_reserved = reserved_blocks_;
  }
  const KvPoolStats kv = pool_->stats();
  st.kv_blocks = kv.blocks;
  st.kv_blocks_in_use = kv.blocks_in_use;
  st.kv_bytes = kv.bytes;
  st.steps = steps_.load();
  st.prompt_tokens = prompt_tokens_.load();
  st.generated_tokens = generated_tokens_.load();
  return st;
}

int64_t Engine::allocated_bytes() const {
  const graph::ExecutorMemory m = executor_->memory();
  return m.arena + m.scratch + pool_->stats().bytes;
}

void Engine::finish(Sequence& s, const std::string& reason, const std::string& error) {
  if (s.done) return;
  s.done = true;
  s.result.finish_reason = reason;
  s.result.error = error;
  s.result.prompt_tokens = s.prompt_size;
  if (s.request.on_event) {
    EngineEvent tail;
    tail.text = s.stream.take_ready(/*end=*/true);
    tail.n_generated = s.generated();
    if (!tail.text.empty() && reason != "cancelled") s.request.on_event(tail);
  }
  s.result.text = s.stream.text();
  const auto now = Clock::now();
  s.result.total_ms = ms_between(s.submitted, now);
  if (!s.sampled_any) s.result.first_token_ms = s.result.total_ms;
  if (s.request.on_done) s.request.on_done(std::move(s.result));
}

// Moves waiting requests into free slots, in order, while the pool can promise
// each the blocks its whole generation may need (so that no running sequence
// ever runs out of KV blocks halfway).
void Engine::admit_locked(std::vector<std::pair<std::unique_ptr<Sequence>, const char*>>& dropped) {
  while (!waiting_.empty() && static_cast<int>(active_.size()) < shape_.max_sequences) {
    Sequence& s = *waiting_.front();
    if (s.max_tokens <= 0) {  // nothing to generate: the prompt need not run
      dropped.emplace_back(std::move(waiting_.front()), "length");
      waiting_.pop_front();
      continue;
    }
    const int64_t positions = std::min<int64_t>(s.prompt_size + s.max_tokens, shape_.n_ctx);
    const int64_t need = blocks_for(positions, shape_.kv.block_positions);
    if (reserved_blocks_ + need > shape_.kv_blocks) break;
    s.reserved_blocks = need;
    reserved_blocks_ += need;
    s.kv = std::make_unique<KvSequence>(pool_, positions);
    s.admitted = Clock::now();
    s.result.queued_ms = ms_between(s.submitted, s.admitted);
    active_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
}

void Engine::sample_output(Sequence& s, const float* logits) {
  const models::Tokenizer& tok = model_->tokenizer();
  const std::span<const float> row(logits, static_cast<size_t>(executor_->n_vocab()));
  TokenConstraint* constraint = s.constraint();
  const int32_t id = s.sampler.sample(row, s.history, constraint);
  if (!s.sampled_any) {
    s.sampled_any = true;
    s.result.first_token_ms = ms_between(s.submitted, Clock::now());
  }
  // Under a constraint an end token is allowed only once the match is complete,
  // and it ends the output whatever stop_at_end_of_generation says.
  if ((s.request.options.stop_at_end_of_generation || constraint) && tok.is_end_of_generation(id))
    return finish(s, "stop");
  if (constraint) constraint->accept(id);
  s.result.tokens.push_back(id);
  s.history.push_back(id);
  generated_tokens_.fetch_add(1, std::memory_order_relaxed);
  const size_t text_before = s.stream.text().size();
  const bool stopped = s.stream.append(tok.token_to_piece(id));
  s.arm_constraint(text_before);
  constraint = s.constraint();
  if (s.request.on_event) {
    EngineEvent e;
    e.token = id;
    e.text = s.stream.take_ready();
    e.n_generated = s.generated();
    if (!s.request.on_event(e)) return finish(s, "cancelled");
  }
  if (stopped || (constraint && constraint->must_end())) return finish(s, "stop");
  if (s.generated() >= s.max_tokens || s.n_past >= shape_.n_ctx) return finish(s, "length");
}

void Engine::step() {
  tokens_.clear();
  positions_.clear();
  parts_.clear();
  output_rows_.clear();
  outputs_.clear();
  stepped_.clear();
  int64_t budget = shape_.step_tokens;
  auto add = [&](Sequence& s, int64_t count, bool wants_logits) {
    const auto first = static_cast<int64_t>(tokens_.size());
    s.kv->resize(s.n_past + count);
    for (int64_t i = 0; i < count; ++i) {
      tokens_.push_back(s.history[static_cast<size_t>(s.n_past + i)]);
      positions_.push_back(static_cast<int32_t>(s.n_past + i));
    }
    parts_.push_back({first, count, s.n_past, &s.kv->view()});
    stepped_.push_back(&s);
    if (wants_logits) {
      output_rows_.push_back(static_cast<int32_t>(first + count - 1));
      outputs_.push_back(&s);
    }
    budget -= count;
  };
  // Decoding sequences first (one row each: they must never wait), then prompt
  // chunks in the order the requests arrived, as far as the step has room.
  for (auto& s : active_)
    if (!s->done && !s->prefilling()) add(*s, 1, true);
  for (auto& s : active_) {
    if (s->done || !s->prefilling() || budget <= 0) continue;
    const int64_t chunk = std::min(budget, s->prompt_size - s->n_past);
    add(*s, chunk, s->n_past + chunk == s->prompt_size);
  }
  if (tokens_.empty()) return;

  graph::Batch batch;
  batch.tokens = tokens_.data();
  batch.positions = positions_.data();
  batch.n_tokens = static_cast<int64_t>(tokens_.size());
  batch.sequences = parts_.data();
  batch.n_sequences = static_cast<int64_t>(parts_.size());
  // A step of prompt chunks that all end before their prompts do still asks
  // for one row: the executor computes at least one.
  if (outputs_.empty()) output_rows_.push_back(static_cast<int32_t>(batch.n_tokens - 1));
  batch.n_outputs = static_cast<int64_t>(output_rows_.size());
  batch.output_rows = output_rows_.data();
  const float* logits = executor_->run(batch);
  steps_.fetch_add(1, std::memory_order_relaxed);

  int64_t prompt_rows = 0;
  for (size_t i = 0; i < stepped_.size(); ++i) {
    Sequence& s = *stepped_[i];
    if (s.prefilling()) prompt_rows += parts_[i].n_tokens;
    s.n_past += parts_[i].n_tokens;
    s.kv->set_filled(s.n_past);
  }
  prompt_tokens_.fetch_add(prompt_rows, std::memory_order_relaxed);
  const int64_t n_vocab = executor_->n_vocab();
  for (size_t i = 0; i < outputs_.size(); ++i) sample_output(*outputs_[i], logits + static_cast<int64_t>(i) * n_vocab);
}

void Engine::worker() {
  std::vector<std::pair<std::unique_ptr<Sequence>, const char*>> dropped;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    // Cancellations first, so that their blocks are free for admissions.
    for (uint64_t id : cancelled_) {
      for (auto it = waiting_.begin(); it != waiting_.end(); ++it)
        if ((*it)->id == id) {
          dropped.emplace_back(std::move(*it), "cancelled");
          waiting_.erase(it);
          break;
        }
      for (auto& s : active_)
        if (s->id == id) s->cancel_requested = true;
    }
    cancelled_.clear();
    if (quit_) {
      for (auto& s : waiting_) dropped.emplace_back(std::move(s), "cancelled");
      waiting_.clear();
      for (auto& s : active_) s->cancel_requested = true;
    }
    admit_locked(dropped);
    if (active_.empty() && dropped.empty()) {
      idle_.notify_all();
      if (quit_) return;
      wake_.wait(lock, [&] { return quit_ || !cancelled_.empty() || !waiting_.empty(); });
      continue;
    }
    lock.unlock();
    // Callbacks run without the lock, so they may call submit() or cancel().
    for (auto& [s, reason] : dropped) finish(*s, reason);
    dropped.clear();
    for (auto& s : active_)
      if (s->cancel_requested) finish(*s, "cancelled");
    try {
      step();
    } catch (const std::exception& e) {
      for (auto& s : active_) finish(*s, "error", e.what());
    }
    lock.lock();
    for (auto it = active_.begin(); it != active_.end();) {
      if ((*it)->done) {
        reserved_blocks_ -= (*it)->reserved_blocks;
        it = active_.erase(it);  // gives its KV blocks back
      } else {
        ++it;
      }
    }
  }
}

}  // namespace hearth::runtime
