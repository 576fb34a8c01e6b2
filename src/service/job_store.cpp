#include "service/job_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <sys/random.h>
#endif

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>
#include <utility>

#include "core/error.h"

namespace hearth::service {
namespace {

// "HRTJ": marks the file as Hearth's job store, so a SQLite database of another
// program is refused instead of having a table added to it.
constexpr int32_t kApplicationId = 0x4852544A;
// Bump with a migration in initialize_schema() whenever the schema changes.
constexpr int kSchemaVersion = 1;
constexpr int kIdRandomBytes = 12;  // 24 hex digits: 96 bits, unguessable

// The status column stores the API's words, so the file reads well in the sqlite3 shell.
// finished_at is set exactly for final statuses: the CHECK keeps that true,
// and recovery and retention rely on it (both scan the finished_at index).
constexpr const char* kSchema = R"sql(
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  request TEXT NOT NULL,
  result TEXT,
  error TEXT,
  progress REAL,
  CHECK ((status IN ('queued', 'running')) = (finished_at IS NULL))
);
CREATE INDEX jobs_by_finished ON jobs (finished_at);
)sql";

constexpr const char* kColumns =
    "id, kind, status, created_at, started_at, finished_at, request, result, error, progress";

std::string problem_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB: return "not a SQLite database";
    case SQLITE_CORRUPT: return "the database is corrupt";
    case SQLITE_FULL: return "the disk is full";
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return "the database is locked by another process";
    case SQLITE_READONLY: return "the database is read-only";
    case SQLITE_CANTOPEN: return "cannot open the file";
    case SQLITE_IOERR: return "an I/O error";
    default: return "SQLite error";
  }
}

ErrorCode code_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: return ErrorCode::kFormat;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ErrorCode::kBusy;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISUSE: return ErrorCode::kInternal;
    default: return ErrorCode::kIo;
  }
}

std::string hex_id() {
  unsigned char bytes[kIdRandomBytes];
  // getentropy reads the kernel's CSPRNG (getrandom on Linux): ids are
  // capabilities for GET/DELETE, so a seeded PRNG would make them guessable.
  if (::getentropy(bytes, sizeof bytes) != 0) {
    throw Error(ErrorCode::kIo, std::string("job store: no random bytes for a job id: ") +
                                    std::strerror(errno));
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "job_";
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string column_text(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string();
}
std::optional<std::string> column_optional_text(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return column_text(s, i);
}
std::optional<int64_t> column_optional_int(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(s, i);
}

}  // namespace

const char* job_status_name(JobStatus status) {
  switch (status) {
    case JobStatus::kQueued: return "queued";
    case JobStatus::kRunning: return "running";
    case JobStatus::kSucceeded: return "succeeded";
    case JobStatus::kFailed: return "failed";
    case JobStatus::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<JobStatus> parse_job_status(std::string_view name) {
  for (JobStatus s : {JobStatus::kQueued, JobStatus::kRunning, JobStatus::kSucceeded,
                      JobStatus::kFailed, JobStatus::kCancelled}) {
    if (name == job_status_name(s)) return s;
  }
  return std::nullopt;
}

bool is_final(JobStatus status) {
  return status == JobStatus::kSucceeded || status == JobStatus::kFailed ||
         status == JobStatus::kCancelled;
}

nlohmann::ordered_json to_json(const Job& job) {
  using ordered_json = nlohmann::ordered_json;
  auto optional_int = [](const std::optional<int64_t>& v) {
    return v ? ordered_json(*v) : ordered_json(nullptr);
  };
  ordered_json out;
  out["id"] = job.id;
  out["object"] = "job";
  out["kind"] = job.kind;
  out["status"] = job_status_name(job.status);
  out["created_at"] = job.created_at;
  out["started_at"] = optional_int(job.started_at);
  out["finished_at"] = optional_int(job.finished_at);
  if (job.result_json) {
    // Validated by succeed(); a file edited by hand still must not make GET throw.
    ordered_json result = ordered_json::parse(*job.result_json, nullptr, false);
    out["result"] = result.is_discarded() ? ordered_json(*job.result_json) : std::move(result);
  } else {
    out["result"] = nullptr;
  }
  out["error"] = job.error ? ordered_json{{"message", *job.error}} : ordered_json(nullptr);
  out["progress"] = job.progress ? ordered_json(*job.progress) : ordered_json(nullptr);
  return out;
}

// A prepared statement kept for the store's lifetime; `use()` hands it out
// reset, with bindings cleared, so no call sees another's leftovers.
class CachedStatement {
 public:
  CachedStatement() = default;
  CachedStatement(const CachedStatement&) = delete;
  CachedStatement& operator=(const CachedStatement&) = delete;
  ~CachedStatement() { sqlite3_finalize(stmt_); }

  void prepare(sqlite3* db, const std::string& sql, const std::filesystem::path& path) {
    const int rc = sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc != SQLITE_OK) {
      throw Error(code_of(rc), "job store " + path.string() + ": " + problem_of(rc) +
                                   " preparing a statement: " + sqlite3_errmsg(db));
    }
  }
  sqlite3_stmt* use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return stmt_;
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

struct JobStore::Statements {
  CachedStatement insert, get, exists, seq_of, list, mark_running, set_progress, succeed, fail,
      cancel;
};

namespace {

// Resets a cached statement when a call leaves (also by exception), so its read
// transaction never outlives the call and blocks a checkpoint.
struct ResetOnExit {
  sqlite3_stmt* stmt;
  ~ResetOnExit() { sqlite3_reset(stmt); }
};

}  // namespace

[[noreturn]] static void throw_sqlite(sqlite3* db, int rc, const std::filesystem::path& path,
                                      const std::string& doing) {
  // "job store PATH: the database is corrupt (database disk image is malformed, while reading a job)"
  std::string message = "job store " + path.string() + ": " + problem_of(rc) + " (";
  const char* detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (detail && *detail) message += std::string(detail) + ", ";
  message += "while " + doing + ")";
  throw Error(code_of(rc), message);
}

JobStore::JobStore(const std::filesystem::path& path, JobStoreOptions options)
    : path_(path), options_(std::move(options)) {
  if (!options_.clock) options_.clock = system_now;
  try {
    open_database();
  } catch (...) {
    statements_.reset();
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
    if (lock_fd_ >= 0) ::close(lock_fd_);
    lock_fd_ = -1;
    throw;
  }
}

JobStore::~JobStore() {
  statements_.reset();  // statements first: close fails while any is unfinalized
  if (db_) sqlite3_close_v2(db_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

int64_t JobStore::now() const { return options_.clock(); }

void JobStore::open_database() {
  const std::string where = "job store " + path_.string();
  if (path_.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (ec) {
      throw Error(ErrorCode::kIo, where + ": cannot create its directory " +
                                      path_.parent_path().string() + ": " + ec.message());
    }
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path_, ec)) {
    throw Error(ErrorCode::kInvalidArgument, where + ": is a directory, not a database file");
  }

  // Opening fails every unfinished job, which would be wrong while another
  // server is still running them: one process at a time. flock on a side file,
  // not the database, because SQLite's own fcntl locks on it must stay its own.
  const std::string lock_path = path_.string() + ".lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    throw Error(ErrorCode::kIo, where + ": cannot open its lock file " + lock_path + ": " +
                                    std::strerror(errno));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      throw Error(ErrorCode::kBusy, where + ": already open in another server (lock " +
                                        lock_path + " is held)");
    }
    throw Error(ErrorCode::kIo, where + ": cannot lock " + lock_path + ": " + std::strerror(errno));
  }

  int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, path_, "opening it");
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, std::max(0, options_.busy_timeout_ms));

  auto exec = [&](const char* sql, const char* doing) {
    char* err = nullptr;
    const int r = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    sqlite3_free(err);
    if (r != SQLITE_OK) throw_sqlite(db_, r, path_, doing);
  };
  // One integer or text row from a PRAGMA.
  auto pragma = [&](const char* sql, const char* doing) {
    sqlite3_stmt* s = nullptr;
    int r = sqlite3_prepare_v2(db_, sql, -1, &s, nullptr);
    if (r != SQLITE_OK) throw_sqlite(db_, r, path_, doing);
    std::string value;
    r = sqlite3_step(s);
    if (r == SQLITE_ROW) value = column_text(s, 0);
    const int done = (r == SQLITE_ROW || r == SQLITE_DONE) ? SQLITE_OK : r;
    sqlite3_finalize(s);
    if (done != SQLITE_OK) throw_sqlite(db_, done, path_, doing);
    return value;
  };

  // The first statement that reads the file is where a non-database shows.
  pragma("PRAGMA journal_mode = WAL", "switching it to WAL journaling");
  // FULL fsyncs the WAL at every commit. NORMAL would already survive kill -9
  // (a commit is in the OS's page cache when write() returns), but not a power
  // cut or kernel crash; a job costs seconds of inference and a handful of
  // writes, so one fsync each is cheap for a result that is never lost.
  exec("PRAGMA synchronous = FULL", "setting synchronous");
  // Checkpoints keep the WAL from growing; this truncates it back afterwards.
  exec("PRAGMA journal_size_limit = 4194304", "setting the WAL size limit");

  // Corruption caught here is one clear error, not a failure on some later GET.
  // Cheap: retention keeps the file small.
  const std::string check = pragma("PRAGMA quick_check(1)", "checking its integrity");
  if (check != "ok") {
    std::string detail = check.substr(0, 200);
    if (detail.rfind("*** in database main ***\n", 0) == 0) detail.erase(0, 25);
    std::replace(detail.begin(), detail.end(), '\n', ' ');
    throw Error(ErrorCode::kFormat, where + ": the database is corrupt (integrity check: " + detail + ")");
  }

  const int64_t app_id = std::stoll(pragma("PRAGMA application_id", "reading its application id"));
  const int64_t version = std::stoll(pragma("PRAGMA user_version", "reading its schema version"));
  const int64_t objects =
      std::stoll(pragma("SELECT count(*) FROM sqlite_master", "reading its schema"));
  if (app_id == 0 && version == 0 && objects == 0) {
    initialize_schema();
  } else if (app_id != kApplicationId) {
    throw Error(ErrorCode::kFormat,
                where + ": is a SQLite database of another program (application_id " +
                    std::to_string(app_id) + "), not a Hearth job store");
  } else if (version > kSchemaVersion) {
    throw Error(ErrorCode::kUnsupported,
                where + ": has schema version " + std::to_string(version) +
                    ", written by a newer Hearth; this build reads up to version " +
                    std::to_string(kSchemaVersion));
  } else if (version < 1) {
    throw Error(ErrorCode::kFormat, where + ": has an unknown schema version " +
                                        std::to_string(version));
  }

  statements_ = std::make_unique<Statements>();
  Statements& st = *statements_;
  const std::string select = std::string("SELECT ") + kColumns + " FROM jobs ";
  st.insert.prepare(db_,
                    "INSERT INTO jobs (id, kind, status, created_at, request) "
                    "VALUES (?1, ?2, 'queued', ?3, ?4)",
                    path_);
  st.get.prepare(db_, select + "WHERE id = ?1", path_);
  st.exists.prepare(db_, "SELECT 1 FROM jobs WHERE id = ?1", path_);
  st.seq_of.prepare(db_, "SELECT seq FROM jobs WHERE id = ?1", path_);
  st.list.prepare(db_, select + "WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2", path_);
  st.mark_running.prepare(db_,
                          "UPDATE jobs SET status = 'running', started_at = ?2 "
                          "WHERE id = ?1 AND status = 'queued'",
                          path_);
  st.set_progress.prepare(db_, "UPDATE jobs SET progress = ?2 WHERE id = ?1 AND status = 'running'",
                          path_);
  st.succeed.prepare(db_,
                     "UPDATE jobs SET status = 'succeeded', result = ?2, finished_at = ?3, "
                     "progress = 1.0 WHERE id = ?1 AND status = 'running'",
                     path_);
  st.fail.prepare(db_,
                  "UPDATE jobs SET status = 'failed', error = ?2, finished_at = ?3 "
                  "WHERE id = ?1 AND finished_at IS NULL",
                  path_);
  st.cancel.prepare(db_,
                    "UPDATE jobs SET status = 'cancelled', finished_at = ?2 "
                    "WHERE id = ?1 AND finished_at IS NULL",
                    path_);

  interrupted_on_open_ = recover_interrupted();
  prune_locked();
}

void JobStore::initialize_schema() {
  // One transaction: a crash halfway leaves an empty file, which is initialized
  // again next time, never a half-made schema.
  std::string sql = "BEGIN IMMEDIATE;";
  sql += kSchema;
  sql += "PRAGMA application_id = " + std::to_string(kApplicationId) + ";";
  sql += "PRAGMA user_version = " + std::to_string(kSchemaVersion) + ";";
  sql += "COMMIT;";
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw_sqlite(db_, rc, path_, "creating its tables");
  }
}

int64_t JobStore::recover_interrupted() {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db_,
                              "UPDATE jobs SET status = 'failed', error = ?1, finished_at = ?2 "
                              "WHERE finished_at IS NULL",
                              -1, &s, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, path_, "preparing recovery");
  sqlite3_bind_text(s, 1, kInterruptedMessage.data(), static_cast<int>(kInterruptedMessage.size()),
                    SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, now());
  rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) throw_sqlite(db_, rc, path_, "marking interrupted jobs failed");
  return sqlite3_changes(db_);
}

int64_t JobStore::prune() {
  std::lock_guard lock(mutex_);
  return prune_locked();
}

int64_t JobStore::prune_locked() {
  creates_since_prune_ = 0;
  const JobRetention& r = options_.retention;
  int64_t deleted = 0;
  auto run = [&](const char* sql, int64_t value, const char* doing) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &s, nullptr);
    if (rc != SQLITE_OK) throw_sqlite(db_, rc, path_, doing);
    sqlite3_bind_int64(s, 1, value);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) throw_sqlite(db_, rc, path_, doing);
    deleted += sqlite3_changes(db_);
  };
  if (r.max_age_seconds >= 0) {
    // finished_at is NULL for unfinished jobs, and NULL < x is never true.
    run("DELETE FROM jobs WHERE finished_at < ?1", now() - r.max_age_seconds,
        "deleting old finished jobs");
  }
  if (r.max_finished >= 0) {
    run("DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs WHERE finished_at IS NOT NULL "
        "ORDER BY finished_at DESC, seq DESC LIMIT -1 OFFSET ?1)",
        r.max_finished, "deleting finished jobs beyond the retention count");
  }
  return deleted;
}

Job JobStore::create(std::string_view kind, std::string_view request_json) {
  if (kind.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "job store " + path_.string() + ": a job needs a kind");
  }
  if (!nlohmann::json::accept(request_json)) {
    throw Error(ErrorCode::kInvalidArgument, "job store " + path_.string() + ": the request of a " +
                                                 std::string(kind) + " job is not valid JSON");
  }
  Job job;
  job.kind = std::string(kind);
  job.request_json = std::string(request_json);

  std::lock_guard lock(mutex_);
  job.created_at = now();
  // 96 random bits do not collide in practice; the UNIQUE constraint makes sure.
  for (int attempt = 0;; ++attempt) {
    job.id = hex_id();
    sqlite3_stmt* s = statements_->insert.use();
    ResetOnExit reset{s};
    sqlite3_bind_text(s, 1, job.id.data(), static_cast<int>(job.id.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 2, job.kind.data(), static_cast<int>(job.kind.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, job.created_at);
    sqlite3_bind_text64(s, 4, job.request_json.data(), job.request_json.size(), SQLITE_STATIC,
                        SQLITE_UTF8);
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) break;
    if ((rc & 0xff) != SQLITE_CONSTRAINT || attempt >= 3) {
      throw_sqlite(db_, rc, path_, "creating a job");
    }
  }
  if (++creates_since_prune_ >= kPruneInterval) prune_locked();
  return job;
}

// Runs a prepared UPDATE whose ?1 is the id; true if it changed the job. No
// change means the job's status did not allow it, or there is no such job:
// told apart here, under the lock, so nothing can come between.
static bool finish_update(sqlite3* db, sqlite3_stmt* s, sqlite3_stmt* exists,
                          const std::string& id, const std::filesystem::path& path,
                          const char* doing) {
  ResetOnExit reset{s};
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) throw_sqlite(db, rc, path, doing);
  if (sqlite3_changes(db) > 0) return true;
  ResetOnExit reset_exists{exists};
  sqlite3_bind_text(exists, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  const int found = sqlite3_step(exists);
  if (found == SQLITE_ROW) return false;
  if (found != SQLITE_DONE) throw_sqlite(db, found, path, doing);
  throw Error(ErrorCode::kNotFound, "job store " + path.string() + ": no job " + id);
}

bool JobStore::mark_running(const std::string& id) {
  std::lock_guard lock(mutex_);
  sqlite3_stmt* s = statements_->mark_running.use();
  sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, now());
  return finish_update(db_, s, statements_->exists.use(), id, path_, "marking a job running");
}

bool JobStore::set_progress(const std::string& id, double progress) {
  if (std::isnan(progress)) progress = 0;
  progress = std::clamp(progress, 0.0, 1.0);
  std::lock_guard lock(mutex_);
  sqlite3_stmt* s = statements_->set_progress.use();
  sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  sqlite3_bind_double(s, 2, progress);
  return finish_update(db_, s, statements_->exists.use(), id, path_, "setting a job's progress");
}

bool JobStore::succeed(const std::string& id, std::string_view result_json) {
  if (!nlohmann::json::accept(result_json)) {
    throw Error(ErrorCode::kInvalidArgument,
                "job store " + path_.string() + ": the result of job " + id + " is not valid JSON");
  }
  std::lock_guard lock(mutex_);
  sqlite3_stmt* s = statements_->succeed.use();
  sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  sqlite3_bind_text64(s, 2, result_json.data(), result_json.size(), SQLITE_STATIC, SQLITE_UTF8);
  sqlite3_bind_int64(s, 3, now());
  return finish_update(db_, s, statements_->exists.use(), id, path_, "storing a job's result");
}

bool JobStore::fail(const std::string& id, std::string_view message) {
  std::lock_guard lock(mutex_);
  sqlite3_stmt* s = statements_->fail.use();
  sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  sqlite3_bind_text64(s, 2, message.data(), message.size(), SQLITE_STATIC, SQLITE_UTF8);
  sqlite3_bind_int64(s, 3, now());
  return finish_update(db_, s, statements_->exists.use(), id, path_, "marking a job failed");
}

bool JobStore::cancel(const std::string& id) {
  std::lock_guard lock(mutex_);
  sqlite3_stmt* s = statements_->cancel.use();
  sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, now());
  return finish_update(db_, s, statements_->exists.use(), id, path_, "cancelling a job");
}

static Job read_job(sqlite3_stmt* s, const std::filesystem::path& path) {
  Job job;
  job.id = column_text(s, 0);
  job.kind = column_text(s, 1);
  const std::string status = column_text(s, 2);
  const std::optional<JobStatus> parsed = parse_job_status(status);
  if (!parsed) {  // the CHECK constraint forbids it: only a hand-edited file gets here
    throw Error(ErrorCode::kFormat, "job store " + path.string() + ": job " + job.id +
                                        " has an unknown status '" + status + "'");
  }
  job.status = *parsed;
  job.created_at = sqlite3_column_int64(s, 3);
  job.started_at = column_optional_int(s, 4);
  job.finished_at = column_optional_int(s, 5);
  job.request_json = column_text(s, 6);
  job.result_json = column_optional_text(s, 7);
  job.error = column_optional_text(s, 8);
  if (sqlite3_column_type(s, 9) != SQLITE_NULL) job.progress = sqlite3_column_double(s, 9);
  return job;
}

std::optional<Job> JobStore::get(const std::string& id) const {
  std::lock_guard lock(mutex_);
  sqlite3_stmt* s = statements_->get.use();
  ResetOnExit reset{s};
  sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) throw_sqlite(db_, rc, path_, "reading a job");
  return read_job(s, path_);
}

std::vector<Job> JobStore::list(size_t limit, const std::optional<std::string>& after) const {
  std::vector<Job> jobs;
  if (limit == 0) return jobs;
  std::lock_guard lock(mutex_);
  int64_t before_seq = std::numeric_limits<int64_t>::max();
  if (after) {
    sqlite3_stmt* s = statements_->seq_of.use();
    ResetOnExit reset{s};
    sqlite3_bind_text(s, 1, after->data(), static_cast<int>(after->size()), SQLITE_STATIC);
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      throw Error(ErrorCode::kNotFound,
                  "job store " + path_.string() + ": no job " + *after + " to list after");
    }
    if (rc != SQLITE_ROW) throw_sqlite(db_, rc, path_, "listing jobs");
    before_seq = sqlite3_column_int64(s, 0);
  }
  sqlite3_stmt* s = statements_->list.use();
  ResetOnExit reset{s};
  sqlite3_bind_int64(s, 1, before_seq);
  sqlite3_bind_int64(s, 2, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  for (;;) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) throw_sqlite(db_, rc, path_, "listing jobs");
    jobs.push_back(read_job(s, path_));
  }
  return jobs;
}

}  // namespace hearth::service
