#include "service/scheduler.h"

#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "core/byte_size.h"
#include "core/error.h"
#include "runtime/memory_budget.h"

namespace hearth::service {

struct Scheduler::Resident {
  Scheduler* owner = nullptr;
  std::string id;
  std::shared_ptr<const models::Model> model;
  std::unique_ptr<runtime::Engine> engine;
  int in_use = 0;  // guarded by the scheduler's mutex
  Clock::time_point last_used;
  int64_t bytes = 0;
  std::once_flag vocabulary_once;
  std::shared_ptr<const runtime::TokenVocabulary> vocabulary;
};

struct Scheduler::Slot {
  ModelEntry entry;
  std::shared_ptr<Resident> resident;  // null while not loaded
  bool loading = false;
  int64_t loading_bytes = 0;  // held for a load in progress once it has made room
  int64_t loads = 0;
  int64_t evictions = 0;
  int64_t created = 0;
};

namespace {

int64_t file_mtime(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : 0;
}

// The engine options for a model under a budget: its KV pool shrunk (down to
// one context) when the full pool would not fit. Throws Error(kOutOfMemory)
// with advice when not even that fits.
runtime::EngineOptions fit_to_budget(const models::Model& model, runtime::EngineOptions o, int64_t budget,
                                     runtime::MemoryEstimate& estimate) {
  estimate = runtime::estimate_engine_memory(model, o);
  if (estimate.total() <= budget) return o;
  const int64_t fixed = estimate.total() - estimate.kv;
  const runtime::EngineShape shape = runtime::engine_shape(model, o);
  const int64_t fits = estimate.kv_per_position > 0 && budget > fixed ? (budget - fixed) / estimate.kv_per_position : 0;
  if (fits < shape.n_ctx) {
    runtime::EngineOptions one = o;
    one.kv_positions = shape.n_ctx;
    runtime::check_memory_budget(runtime::estimate_engine_memory(model, one), budget, o.kv_type);
  }
  o.kv_positions = fits / shape.kv.block_positions * shape.kv.block_positions;
  estimate = runtime::estimate_engine_memory(model, o);
  return o;
}

}  // namespace

Scheduler::Lease::Lease(std::shared_ptr<Resident> r) : resident_(std::move(r)) {}

Scheduler::Lease::~Lease() { resident_->owner->release(*resident_); }

runtime::Engine& Scheduler::Lease::engine() const { return *resident_->engine; }
const std::string& Scheduler::Lease::model_id() const { return resident_->id; }
const std::shared_ptr<const models::Model>& Scheduler::Lease::model() const { return resident_->model; }

std::shared_ptr<const runtime::TokenVocabulary> Scheduler::Lease::vocabulary() const {
  Resident& r = *resident_;
  std::call_once(r.vocabulary_once,
                 [&r] { r.vocabulary = std::make_shared<const runtime::TokenVocabulary>(r.model->tokenizer()); });
  return r.vocabulary;
}

Scheduler::Scheduler(std::vector<ModelEntry> models, SchedulerOptions options)
    : options_(std::move(options)),
      budget_(options_.memory_budget > 0 ? options_.memory_budget : runtime::default_memory_budget()) {
  for (auto& m : models) {
    if (find(m.id)) throw Error(ErrorCode::kInvalidArgument, "two models are named '" + m.id + "'");
    auto slot = std::make_unique<Slot>();
    slot->created = file_mtime(m.path);
    slot->entry = std::move(m);
    slots_.push_back(std::move(slot));
  }
  sweeper_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      changed_.wait_for(lock, std::chrono::seconds(1));
      if (stopping_) break;
      lock.unlock();
      sweep();
      lock.lock();
    }
  });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  sweeper_.join();
}

Scheduler::Slot* Scheduler::find(const std::string& id) const {
  for (const auto& s : slots_)
    if (s->entry.id == id) return s.get();
  return nullptr;
}

bool Scheduler::knows(const std::string& id) const { return find(id) != nullptr; }

int64_t Scheduler::resident_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t total = 0;
  for (const auto& s : slots_) total += (s->resident ? s->resident->bytes : 0) + s->loading_bytes;
  return total;
}

void Scheduler::unload_locked(Slot& slot) {
  // The engine is idle (no lease holds it); whoever drops the last reference joins its worker.
  slot.resident.reset();
  ++slot.evictions;
}

std::unique_ptr<Scheduler::Lease> Scheduler::acquire(const std::string& id) {
  Slot* slot = find(id);
  if (!slot) throw Error(ErrorCode::kNotFound, "the model '" + id + "' is not served here");
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (stopping_) throw Error(ErrorCode::kBusy, "the server is shutting down");
    if (slot->resident) {
      ++slot->resident->in_use;
      return std::make_unique<Lease>(slot->resident);
    }
    if (!slot->loading) break;
    changed_.wait(lock);
  }
  slot->loading = true;
  lock.unlock();

  std::vector<std::shared_ptr<Resident>> evicted;  // destroyed outside the lock
  try {
    auto r = std::make_shared<Resident>();
    r->owner = this;
    r->id = id;
    r->model = models::Model::load(slot->entry.path, options_.load);  // maps; reads no weight pages
    runtime::MemoryEstimate estimate;
    const runtime::EngineOptions engine_options = fit_to_budget(*r->model, options_.engine, budget_, estimate);
    r->bytes = estimate.total();

    lock.lock();
    const auto deadline = Clock::now() + options_.load_wait;
    for (;;) {
      int64_t used = 0;
      for (const auto& s : slots_) used += (s->resident ? s->resident->bytes : 0) + s->loading_bytes;
      if (used + r->bytes <= budget_) break;
      // The least recently used idle model goes first.
      Slot* victim = nullptr;
      for (const auto& s : slots_)
        if (s->resident && s->resident->in_use == 0 &&
            (!victim || s->resident->last_used < victim->resident->last_used))
          victim = s.get();
      if (victim) {
        evicted.push_back(victim->resident);
        unload_locked(*victim);
        continue;
      }
      if (stopping_ || changed_.wait_until(lock, deadline) == std::cv_status::timeout)
        throw Error(ErrorCode::kOutOfMemory,
                    "the model '" + id + "' needs about " + format_bytes(r->bytes) + " but only " +
                        format_bytes(std::max<int64_t>(0, budget_ - used)) + " of the memory budget of " +
                        format_bytes(budget_) + " are free, and the models holding the rest are busy");
    }
    slot->loading_bytes = r->bytes;
    lock.unlock();
    evicted.clear();

    r->engine = std::make_unique<runtime::Engine>(r->model, engine_options);
    r->last_used = Clock::now();
    lock.lock();
    slot->loading_bytes = 0;
    slot->loading = false;
    ++slot->loads;
    r->in_use = 1;
    slot->resident = r;
    lock.unlock();
    changed_.notify_all();
    return std::make_unique<Lease>(std::move(r));
  } catch (...) {
    if (!lock.owns_lock()) lock.lock();
    slot->loading = false;
    slot->loading_bytes = 0;
    lock.unlock();
    changed_.notify_all();
    throw;
  }
}

void Scheduler::release(Resident& r) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --r.in_use;
    r.last_used = Clock::now();
  }
  changed_.notify_all();
}

void Scheduler::sweep() {
  if (options_.keep_alive.count() < 0) return;
  std::vector<std::shared_ptr<Resident>> expired;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = Clock::now();
    for (const auto& s : slots_)
      if (s->resident && s->resident->in_use == 0 && now - s->resident->last_used >= options_.keep_alive) {
        expired.push_back(s->resident);
        unload_locked(*s);
      }
  }
  if (!expired.empty()) changed_.notify_all();
}

std::vector<ModelStatus> Scheduler::status() const {
  std::vector<std::shared_ptr<Resident>> residents;
  std::vector<ModelStatus> out;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& s : slots_) {
      ModelStatus st;
      st.id = s->entry.id;
      st.path = s->entry.path;
      st.resident = s->resident != nullptr;
      st.in_use = s->resident ? s->resident->in_use : 0;
      st.bytes = s->resident ? s->resident->bytes : 0;
      st.loads = s->loads;
      st.evictions = s->evictions;
      st.created = s->created;
      out.push_back(st);
      residents.push_back(s->resident);
    }
  }
  for (size_t i = 0; i < out.size(); ++i)
    if (residents[i]) out[i].engine = residents[i]->engine->stats();
  return out;
}

void Scheduler::drain(std::chrono::steady_clock::duration deadline) {
  std::vector<std::shared_ptr<Resident>> residents;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    for (const auto& s : slots_)
      if (s->resident) residents.push_back(s->resident);
  }
  changed_.notify_all();
  const auto until = Clock::now() + deadline;
  for (const auto& r : residents) r->engine->drain(std::max(Clock::duration::zero(), until - Clock::now()));
}

}  // namespace hearth::service
