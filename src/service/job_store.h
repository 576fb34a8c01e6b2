// JobStore: the asynchronous jobs of POST /v1/jobs, persisted in SQLite so a
// restarted server still answers for finished jobs and reports interrupted ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;

namespace hearth::service {

enum class JobStatus { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

// "queued", "running", "succeeded", "failed", "cancelled" (the API's words).
const char* job_status_name(JobStatus status);
std::optional<JobStatus> parse_job_status(std::string_view name);
// Succeeded, failed and cancelled are final: no call changes such a job again.
bool is_final(JobStatus status);

struct Job {
  std::string id;    // "job_" + 24 hex digits (96 random bits)
  std::string kind;  // "chat.completion", "text_completion", ...
  JobStatus status = JobStatus::kQueued;
  int64_t created_at = 0;                // unix seconds
  std::optional<int64_t> started_at;     // set by mark_running
  std::optional<int64_t> finished_at;    // set on reaching a final status
  std::string request_json;              // the request body, as given to create()
  std::optional<std::string> result_json;  // set only when succeeded
  std::optional<std::string> error;        // set only when failed
  std::optional<double> progress;          // 0..1 while running, if the worker reports it
};

// The API object: {"id", "object": "job", "kind", "status", "created_at",
// "started_at", "finished_at", "result", "error": {"message"} or null,
// "progress"}. Absent times, result and progress are null.
nlohmann::ordered_json to_json(const Job& job);

// The message a job interrupted by a stopped server fails with.
inline constexpr std::string_view kInterruptedMessage =
    "the server stopped before this job finished";

// Which finished jobs prune() deletes. Unfinished jobs are never deleted.
struct JobRetention {
  int64_t max_finished = 10000;        // keep at most this many finished jobs (the newest); <0: no limit
  int64_t max_age_seconds = 7 * 86400; // delete finished jobs finished longer ago; <0: no limit
};

struct JobStoreOptions {
  JobRetention retention;
  // How long a call waits for another process holding SQLite's lock (a reader
  // such as the sqlite3 shell) before failing with kBusy.
  int busy_timeout_ms = 5000;
  // Unix seconds now; replaceable so tests can age jobs without waiting.
  std::function<int64_t()> clock;
};

// Thread-safe: every member may be called from any thread at any time. Each
// write is one transaction, committed and fsynced (synchronous=FULL on the WAL)
// before the call returns, so neither kill -9 nor a power cut loses a job a
// caller was told about. Only one JobStore (in any process) may have a file
// open: a second gets kBusy, because opening marks unfinished jobs failed.
//
// Transition calls (mark_running, set_progress, succeed, fail, cancel) throw
// hearth::Error kNotFound for an unknown id and return false, changing
// nothing, when the job's status does not allow the transition; a worker that
// gets false from succeed() has lost a race with cancel() and drops its result.
// SQLite failures (disk full, I/O error) throw hearth::Error naming the file.
class JobStore {
 public:
  // Opens `path`, creating it (and its parent directory) if absent. Throws
  // hearth::Error: kFormat for a file that is not a SQLite database, is
  // corrupt, or belongs to another program; kUnsupported for a schema newer
  // than this build's; kBusy if another JobStore has it open; kIo otherwise.
  // Then every job left queued or running by an earlier process becomes failed
  // with kInterruptedMessage (see interrupted_on_open()), and prune() runs.
  explicit JobStore(const std::filesystem::path& path, JobStoreOptions options = {});
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // How many jobs opening marked failed because an earlier process stopped.
  int64_t interrupted_on_open() const { return interrupted_on_open_; }

  // A new queued job. Throws kInvalidArgument if request_json is not JSON or
  // kind is empty.
  Job create(std::string_view kind, std::string_view request_json);
  // queued -> running (sets started_at). False if not queued (e.g. cancelled).
  bool mark_running(const std::string& id);
  // Progress in [0, 1] (clamped; NaN is 0) of a running job. False if it is
  // not running. Each call is a durable write (an fsync): report a few times a
  // second at most, not per token.
  bool set_progress(const std::string& id, double progress);
  // running -> succeeded with the result. False if not running (cancelled,
  // failed, or never marked running); the stored job is left as it was.
  // Throws kInvalidArgument if result_json is not JSON.
  bool succeed(const std::string& id, std::string_view result_json);
  // queued or running -> failed with the message. False if already final.
  bool fail(const std::string& id, std::string_view message);
  // queued or running -> cancelled. False if already final (a finished job
  // stays as it is).
  bool cancel(const std::string& id);

  std::optional<Job> get(const std::string& id) const;
  // Up to `limit` jobs, newest first; with `after`, only those created before
  // that job (OpenAI's cursor: pass the last id of the previous page). Ask for
  // limit + 1 to learn whether there is a next page. Throws kNotFound for an
  // unknown `after`.
  std::vector<Job> list(size_t limit, const std::optional<std::string>& after = std::nullopt) const;

  // Deletes finished jobs beyond options.retention; returns how many. Also
  // runs on open and every kPruneInterval creates, so the file stays bounded.
  int64_t prune();
  static constexpr int kPruneInterval = 64;

 private:
  struct Statements;

  void open_database();
  void initialize_schema();
  int64_t recover_interrupted();
  int64_t prune_locked();
  int64_t now() const;

  std::filesystem::path path_;
  JobStoreOptions options_;
  int lock_fd_ = -1;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> statements_;
  int64_t interrupted_on_open_ = 0;
  int creates_since_prune_ = 0;
  mutable std::mutex mutex_;  // one connection, prepared statements reused: calls take turns
};

}  // namespace hearth::service
