// Scheduler: which of the served models are resident. A model is loaded on
// first use, kept while requests hold it, evicted least-recently-used when
// another needs its memory under the budget, and unloaded after an idle
// keep-alive. Each resident model has one Engine (continuous batching).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "formats/gguf.h"
#include "runtime/engine.h"
#include "runtime/token_constraint.h"

namespace hearth::service {

struct ModelEntry {
  std::string id;    // the name clients send as "model"
  std::string path;  // its GGUF file
};

struct SchedulerOptions {
  int64_t memory_budget = 0;  // bytes for all resident models; 0: the machine's physical RAM
  runtime::EngineOptions engine;
  FileLoadOptions load;
  // How long an unused model stays resident; negative: until evicted for another.
  std::chrono::milliseconds keep_alive = std::chrono::minutes(5);
  // How long a load waits for busy models to become idle so that it can evict them.
  std::chrono::milliseconds load_wait = std::chrono::seconds(30);
};

struct ModelStatus {
  std::string id;
  std::string path;
  bool resident = false;
  int in_use = 0;           // leases held
  int64_t bytes = 0;        // memory counted against the budget while resident
  int64_t loads = 0;
  int64_t evictions = 0;    // unloads for another model or after the keep-alive
  runtime::EngineStats engine;  // when resident
  int64_t created = 0;      // unix seconds: the file's modification time
};

class Scheduler {
 public:
  struct Resident;

  // Holds a model resident while it exists.
  class Lease {
   public:
    explicit Lease(std::shared_ptr<Resident> r);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    runtime::Engine& engine() const;
    const std::string& model_id() const;
    const std::shared_ptr<const models::Model>& model() const;
    // The model's vocabulary index for constrained decoding, built on first
    // use and kept while the model is resident.
    std::shared_ptr<const runtime::TokenVocabulary> vocabulary() const;

   private:
    std::shared_ptr<Resident> resident_;
  };

  Scheduler(std::vector<ModelEntry> models, SchedulerOptions options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  bool knows(const std::string& id) const;
  // The model resident and held. Throws Error(kNotFound) for an id not served,
  // Error(kOutOfMemory) when it cannot fit even after evicting every idle
  // model, Error(kBusy) when stopping; load errors pass through (naming the file).
  std::unique_ptr<Lease> acquire(const std::string& id);
  std::vector<ModelStatus> status() const;
  int64_t memory_budget() const { return budget_; }
  int64_t resident_bytes() const;
  // Unloads idle models past their keep-alive (also done every second by a sweeper).
  void sweep();
  // Stops giving out leases; lets every engine finish within the deadline.
  void drain(std::chrono::steady_clock::duration deadline);

 private:
  struct Slot;
  using Clock = std::chrono::steady_clock;

  Slot* find(const std::string& id) const;
  void unload_locked(Slot& slot);
  void release(Resident& r);

  SchedulerOptions options_;
  int64_t budget_;
  std::vector<std::unique_ptr<Slot>> slots_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::thread sweeper_;
  friend class Lease;
};

}  // namespace hearth::service
