// JobStore: jobs round-trip through SQLite; transitions are enforced (a
// cancelled job never succeeds); many threads share one store; a reopened
// store keeps finished jobs and fails interrupted ones; files that are not a
// job store are refused with one clear error; retention bounds the file; and a
// child killed with SIGKILL mid-write leaves every job it was told about.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <latch>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "service/job_store.h"

namespace hearth::service {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "hearth-jobs-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A clock the test moves by hand, so timestamps and ages are exact.
struct FakeClock {
  std::atomic<int64_t> now{1700000000};
  std::function<int64_t()> fn() {
    return [this] { return now.load(); };
  }
};

JobStoreOptions options_with(FakeClock& clock, JobRetention retention = {-1, -1}) {
  JobStoreOptions o;
  o.clock = clock.fn();
  o.retention = retention;
  return o;
}

// The error opening `path` throws (a failure when it opens).
Error open_error(const fs::path& path) {
  try {
    JobStore store(path);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "opened without an error: " << path;
  return Error(ErrorCode::kInternal, "");
}

// Runs one SQL statement on the file directly, as another program would.
std::string raw_sql(const fs::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string value;
  auto cb = [](void* out, int n, char** values, char**) {
    if (n > 0 && values[0]) *static_cast<std::string*>(out) = values[0];
    return 0;
  };
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), cb, &value, &err);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
  return value;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

TEST(JobStore, CreateAndGetRoundTrip) {
  TempDir dir;
  FakeClock clock;
  JobStore store(dir.path() / "jobs.db", options_with(clock));
  const std::string request = R"({"model":"m","messages":[{"role":"user","content":"héllo \"q\""}]})";
  const Job job = store.create("chat.completion", request);
  EXPECT_TRUE(std::regex_match(job.id, std::regex("job_[0-9a-f]{24}"))) << job.id;
  EXPECT_EQ(job.kind, "chat.completion");
  EXPECT_EQ(job.status, JobStatus::kQueued);
  EXPECT_EQ(job.created_at, clock.now.load());
  EXPECT_EQ(job.request_json, request);

  const std::optional<Job> got = store.get(job.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, job.id);
  EXPECT_EQ(got->kind, "chat.completion");
  EXPECT_EQ(got->status, JobStatus::kQueued);
  EXPECT_EQ(got->created_at, job.created_at);
  EXPECT_FALSE(got->started_at);
  EXPECT_FALSE(got->finished_at);
  EXPECT_EQ(got->request_json, request);
  EXPECT_FALSE(got->result_json);
  EXPECT_FALSE(got->error);
  EXPECT_FALSE(got->progress);

  EXPECT_FALSE(store.get("job_000000000000000000000000"));
  EXPECT_FALSE(store.get(""));
}

TEST(JobStore, IdsAreDistinct) {
  TempDir dir;
  JobStore store(dir.path() / "jobs.db");
  std::set<std::string> ids;
  for (int i = 0; i < 300; ++i) ids.insert(store.create("text_completion", "{}").id);
  EXPECT_EQ(ids.size(), 300u);
}

TEST(JobStore, RejectsBadInput) {
  TempDir dir;
  JobStore store(dir.path() / "jobs.db");
  for (const char* bad : {"", "{", "not json", "{\"a\":1}}"}) {
    try {
      store.create("chat.completion", bad);
      ADD_FAILURE() << "accepted request " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(store.create("", "{}"), Error);
  const Job job = store.create("chat.completion", "{}");
  ASSERT_TRUE(store.mark_running(job.id));
  try {
    store.succeed(job.id, "{oops");
    ADD_FAILURE() << "accepted a result that is not JSON";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(store.get(job.id)->status, JobStatus::kRunning);  // the bad result changed nothing
  EXPECT_TRUE(store.list(100).size() == 1);
}

TEST(JobStore, SuccessfulLifecycle) {
  TempDir dir;
  FakeClock clock;
  JobStore store(dir.path() / "jobs.db", options_with(clock));
  const Job job = store.create("chat.completion", "{}");
  const int64_t t0 = clock.now;
  EXPECT_FALSE(store.set_progress(job.id, 0.5));  // not running yet
  clock.now += 5;
  EXPECT_TRUE(store.mark_running(job.id));
  EXPECT_FALSE(store.mark_running(job.id));  // already running
  EXPECT_TRUE(store.set_progress(job.id, 0.25));
  EXPECT_DOUBLE_EQ(*store.get(job.id)->progress, 0.25);
  EXPECT_TRUE(store.set_progress(job.id, 7));  // clamped
  EXPECT_DOUBLE_EQ(*store.get(job.id)->progress, 1.0);
  clock.now += 10;
  EXPECT_TRUE(store.succeed(job.id, R"({"choices":[]})"));

  const Job done = *store.get(job.id);
  EXPECT_EQ(done.status, JobStatus::kSucceeded);
  EXPECT_EQ(done.created_at, t0);
  EXPECT_EQ(done.started_at, t0 + 5);
  EXPECT_EQ(done.finished_at, t0 + 15);
  EXPECT_EQ(done.result_json, R"({"choices":[]})");
  EXPECT_FALSE(done.error);

  // Final: nothing changes it again, and each call says so.
  EXPECT_FALSE(store.cancel(job.id));
  EXPECT_FALSE(store.fail(job.id, "late"));
  EXPECT_FALSE(store.succeed(job.id, R"({"other":1})"));
  EXPECT_FALSE(store.mark_running(job.id));
  EXPECT_FALSE(store.set_progress(job.id, 0.1));
  const Job after = *store.get(job.id);
  EXPECT_EQ(after.status, JobStatus::kSucceeded);
  EXPECT_EQ(after.result_json, R"({"choices":[]})");
  EXPECT_EQ(after.finished_at, t0 + 15);
  EXPECT_FALSE(after.error);
}

TEST(JobStore, CancelledJobNeverSucceeds) {
  TempDir dir;
  FakeClock clock;
  JobStore store(dir.path() / "jobs.db", options_with(clock));

  // Cancelled while queued: the worker's mark_running says no.
  const Job queued = store.create("chat.completion", "{}");
  EXPECT_TRUE(store.cancel(queued.id));
  EXPECT_FALSE(store.cancel(queued.id));
  EXPECT_FALSE(store.mark_running(queued.id));
  EXPECT_FALSE(store.succeed(queued.id, "{}"));
  EXPECT_FALSE(store.fail(queued.id, "x"));
  Job j = *store.get(queued.id);
  EXPECT_EQ(j.status, JobStatus::kCancelled);
  EXPECT_FALSE(j.started_at);
  EXPECT_EQ(j.finished_at, clock.now.load());
  EXPECT_FALSE(j.result_json);
  EXPECT_FALSE(j.error);

  // Cancelled while running: the worker's result is refused and not stored.
  const Job running = store.create("chat.completion", "{}");
  ASSERT_TRUE(store.mark_running(running.id));
  EXPECT_TRUE(store.cancel(running.id));
  EXPECT_FALSE(store.succeed(running.id, R"({"late":true})"));
  EXPECT_FALSE(store.fail(running.id, "too late"));
  j = *store.get(running.id);
  EXPECT_EQ(j.status, JobStatus::kCancelled);
  EXPECT_TRUE(j.started_at);
  EXPECT_FALSE(j.result_json);
  EXPECT_FALSE(j.error);
}

TEST(JobStore, FailureTransitions) {
  TempDir dir;
  JobStore store(dir.path() / "jobs.db");
  // A queued job can fail without running (e.g. its model could not load).
  const Job a = store.create("chat.completion", "{}");
  EXPECT_TRUE(store.fail(a.id, "model m not found"));
  EXPECT_EQ(store.get(a.id)->status, JobStatus::kFailed);
  EXPECT_EQ(store.get(a.id)->error, "model m not found");
  EXPECT_FALSE(store.cancel(a.id));
  EXPECT_FALSE(store.fail(a.id, "again"));
  EXPECT_EQ(store.get(a.id)->error, "model m not found");

  // succeed() needs a running job: a queued one is refused, unchanged.
  const Job b = store.create("chat.completion", "{}");
  EXPECT_FALSE(store.succeed(b.id, "{}"));
  EXPECT_EQ(store.get(b.id)->status, JobStatus::kQueued);

  const Job c = store.create("chat.completion", "{}");
  ASSERT_TRUE(store.mark_running(c.id));
  EXPECT_TRUE(store.fail(c.id, "out of memory"));
  EXPECT_FALSE(store.succeed(c.id, "{}"));
  EXPECT_EQ(store.get(c.id)->status, JobStatus::kFailed);
  EXPECT_FALSE(store.get(c.id)->result_json);
}

TEST(JobStore, UnknownIdIsNotFound) {
  TempDir dir;
  JobStore store(dir.path() / "jobs.db");
  const std::string id = "job_ffffffffffffffffffffffff";
  const std::vector<std::function<void()>> calls = {
      [&] { store.mark_running(id); }, [&] { store.set_progress(id, 0.5); },
      [&] { store.succeed(id, "{}"); }, [&] { store.fail(id, "x"); },
      [&] { store.cancel(id); }, [&] { store.list(10, id); }};
  for (const auto& call : calls) {
    try {
      call();
      ADD_FAILURE() << "no error for an unknown id";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kNotFound);
      EXPECT_NE(std::string(e.what()).find(id), std::string::npos) << e.what();
    }
  }
}

TEST(JobStore, ToJsonHasTheApiShape) {
  Job job;
  job.id = "job_0123456789abcdef01234567";
  job.kind = "chat.completion";
  job.status = JobStatus::kQueued;
  job.created_at = 1700000000;
  job.request_json = R"({"model":"m"})";
  EXPECT_EQ(to_json(job).dump(),
            R"({"id":"job_0123456789abcdef01234567","object":"job","kind":"chat.completion",)"
            R"("status":"queued","created_at":1700000000,"started_at":null,"finished_at":null,)"
            R"("result":null,"error":null,"progress":null})");

  job.status = JobStatus::kSucceeded;
  job.started_at = 1700000001;
  job.finished_at = 1700000009;
  job.result_json = R"({"object":"chat.completion","choices":[{"index":0}]})";
  job.progress = 1.0;
  EXPECT_EQ(to_json(job).dump(),
            R"({"id":"job_0123456789abcdef01234567","object":"job","kind":"chat.completion",)"
            R"("status":"succeeded","created_at":1700000000,"started_at":1700000001,)"
            R"("finished_at":1700000009,"result":{"object":"chat.completion","choices":[{"index":0}]},)"
            R"("error":null,"progress":1.0})");

  job.status = JobStatus::kFailed;
  job.result_json.reset();
  job.error = "the model \"m\" failed";
  job.progress.reset();
  const auto failed = to_json(job);
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["result"], nullptr);
  EXPECT_EQ(failed["error"].dump(), R"({"message":"the model \"m\" failed"})");

  for (JobStatus s : {JobStatus::kQueued, JobStatus::kRunning, JobStatus::kSucceeded,
                      JobStatus::kFailed, JobStatus::kCancelled}) {
    EXPECT_EQ(parse_job_status(job_status_name(s)), s);
  }
  EXPECT_FALSE(parse_job_status("done"));
  EXPECT_FALSE(is_final(JobStatus::kRunning));
  EXPECT_TRUE(is_final(JobStatus::kCancelled));
}

TEST(JobStore, ListsNewestFirstWithCursor) {
  TempDir dir;
  JobStore store(dir.path() / "jobs.db");
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(store.create("text_completion", "{}").id);
  auto ids_of = [](const std::vector<Job>& jobs) {
    std::vector<std::string> out;
    for (const Job& j : jobs) out.push_back(j.id);
    return out;
  };
  EXPECT_EQ(ids_of(store.list(3)), (std::vector<std::string>{ids[9], ids[8], ids[7]}));
  EXPECT_EQ(ids_of(store.list(3, ids[7])), (std::vector<std::string>{ids[6], ids[5], ids[4]}));
  EXPECT_EQ(ids_of(store.list(100, ids[2])), (std::vector<std::string>{ids[1], ids[0]}));
  EXPECT_TRUE(store.list(100, ids[0]).empty());
  EXPECT_TRUE(store.list(0).empty());
  EXPECT_EQ(store.list(1000).size(), 10u);
}

TEST(JobStore, ManyThreadsShareOneStore) {
  TempDir dir;
  JobStore store(dir.path() / "jobs.db");
  constexpr int kThreads = 8;
  constexpr int kJobsPerThread = 40;
  std::vector<std::vector<std::string>> created(kThreads);
  std::atomic<bool> stop_readers{false};
  std::atomic<int> reader_errors{0};

  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!stop_readers) {
        for (const Job& j : store.list(20)) {
          const std::optional<Job> again = store.get(j.id);
          // Status only moves forward, so a re-read is never less finished.
          if (!again || (is_final(j.status) && again->status != j.status)) ++reader_errors;
        }
      }
    });
  }
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < kJobsPerThread; ++i) {
        const Job job = store.create("chat.completion", "{\"thread\":" + std::to_string(t) + "}");
        created[t].push_back(job.id);
        EXPECT_TRUE(store.mark_running(job.id));
        EXPECT_TRUE(store.set_progress(job.id, 0.5));
        if (i % 2 == 0) {
          EXPECT_TRUE(store.succeed(job.id, "{\"i\":" + std::to_string(i) + "}"));
        } else {
          EXPECT_TRUE(store.fail(job.id, "thread " + std::to_string(t)));
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  stop_readers = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(reader_errors.load(), 0);

  std::set<std::string> all;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kJobsPerThread; ++i) {
      const std::string& id = created[t][i];
      all.insert(id);
      const Job j = *store.get(id);
      EXPECT_EQ(j.request_json, "{\"thread\":" + std::to_string(t) + "}");
      if (i % 2 == 0) {
        EXPECT_EQ(j.status, JobStatus::kSucceeded);
        EXPECT_EQ(j.result_json, "{\"i\":" + std::to_string(i) + "}");
      } else {
        EXPECT_EQ(j.status, JobStatus::kFailed);
        EXPECT_EQ(j.error, "thread " + std::to_string(t));
      }
    }
  }
  EXPECT_EQ(all.size(), size_t{kThreads * kJobsPerThread});
  EXPECT_EQ(store.list(100000).size(), all.size());
}

TEST(JobStore, CancelRacingSucceedHasOneWinner) {
  TempDir dir;
  JobStore store(dir.path() / "jobs.db");
  int cancels_won = 0, succeeds_won = 0;
  for (int round = 0; round < 50; ++round) {
    const Job job = store.create("chat.completion", "{}");
    ASSERT_TRUE(store.mark_running(job.id));
    std::latch start(2);
    bool cancelled = false, succeeded = false;
    std::thread a([&] {
      start.arrive_and_wait();
      cancelled = store.cancel(job.id);
    });
    std::thread b([&] {
      start.arrive_and_wait();
      succeeded = store.succeed(job.id, "{\"r\":1}");
    });
    a.join();
    b.join();
    ASSERT_NE(cancelled, succeeded) << "exactly one of cancel and succeed wins";
    const Job j = *store.get(job.id);
    if (cancelled) {
      ++cancels_won;
      EXPECT_EQ(j.status, JobStatus::kCancelled);
      EXPECT_FALSE(j.result_json);
    } else {
      ++succeeds_won;
      EXPECT_EQ(j.status, JobStatus::kSucceeded);
      EXPECT_EQ(j.result_json, "{\"r\":1}");
    }
  }
  EXPECT_EQ(cancels_won + succeeds_won, 50);
}

TEST(JobStore, ReopenKeepsFinishedJobs) {
  TempDir dir;
  const fs::path path = dir.path() / "jobs.db";
  FakeClock clock;
  std::vector<Job> before;
  {
    JobStore store(path, options_with(clock));
    for (int i = 0; i < 6; ++i) {
      const Job job = store.create("chat.completion", "{\"n\":" + std::to_string(i) + "}");
      clock.now += 1;
      if (i % 3 == 0) {
        store.cancel(job.id);
      } else {
        store.mark_running(job.id);
        clock.now += 1;
        if (i % 3 == 1) store.succeed(job.id, "{\"ok\":" + std::to_string(i) + "}");
        if (i % 3 == 2) store.fail(job.id, "failed " + std::to_string(i));
      }
      before.push_back(*store.get(job.id));
    }
  }
  JobStore store(path, options_with(clock));
  EXPECT_EQ(store.interrupted_on_open(), 0);
  const std::vector<Job> after = store.list(100);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    const Job& b = before[before.size() - 1 - i];
    const Job& a = after[i];
    EXPECT_EQ(to_json(a), to_json(b));
    EXPECT_EQ(a.request_json, b.request_json);
  }
}

TEST(JobStore, InterruptedJobsFailOnReopen) {
  TempDir dir;
  const fs::path path = dir.path() / "jobs.db";
  FakeClock clock;
  std::string queued, running, done;
  {
    JobStore store(path, options_with(clock));
    queued = store.create("chat.completion", "{}").id;
    running = store.create("chat.completion", "{}").id;
    done = store.create("chat.completion", "{}").id;
    store.mark_running(running);
    store.set_progress(running, 0.4);
    store.mark_running(done);
    store.succeed(done, "{\"x\":1}");
  }  // closed with two jobs unfinished: a server stopping mid-work
  clock.now += 100;
  {
    JobStore store(path, options_with(clock));
    EXPECT_EQ(store.interrupted_on_open(), 2);
    for (const std::string& id : {queued, running}) {
      const Job j = *store.get(id);
      EXPECT_EQ(j.status, JobStatus::kFailed);
      EXPECT_EQ(j.error, std::string(kInterruptedMessage));
      EXPECT_EQ(j.finished_at, clock.now.load());
      EXPECT_FALSE(j.result_json);
    }
    EXPECT_FALSE(store.get(queued)->started_at);
    EXPECT_TRUE(store.get(running)->started_at);
    const Job d = *store.get(done);
    EXPECT_EQ(d.status, JobStatus::kSucceeded);
    EXPECT_EQ(d.result_json, "{\"x\":1}");
    EXPECT_FALSE(store.cancel(running));  // already final
  }
  JobStore again(path, options_with(clock));
  EXPECT_EQ(again.interrupted_on_open(), 0);
}

TEST(JobStore, CreatesParentDirectoriesAndUsesWal) {
  TempDir dir;
  const fs::path path = dir.path() / "a" / "b" / "jobs.db";
  {
    JobStore store(path);
    store.create("chat.completion", "{}");
    EXPECT_EQ(store.path(), path);
  }
  EXPECT_TRUE(fs::is_regular_file(path));
  EXPECT_EQ(raw_sql(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw_sql(path, "PRAGMA user_version"), "1");
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM jobs"), "1");
}

TEST(JobStore, SecondOpenOfTheSameFileIsBusy) {
  TempDir dir;
  const fs::path path = dir.path() / "jobs.db";
  auto store = std::make_unique<JobStore>(path);
  const Error e = open_error(path);
  EXPECT_EQ(e.code(), ErrorCode::kBusy);
  EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  store.reset();
  EXPECT_NO_THROW(JobStore{path});
}

TEST(JobStore, RefusesAFileThatIsNotADatabase) {
  TempDir dir;
  const fs::path path = dir.path() / "notes.txt";
  const std::string text = "these are my notes, not a database\n" + std::string(5000, 'x');
  write_file(path, text);
  const Error e = open_error(path);
  EXPECT_EQ(e.code(), ErrorCode::kFormat);
  const std::string message = e.what();
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("not a SQLite database"), std::string::npos) << message;
  EXPECT_EQ(read_file(path), text) << "the file was changed";

  const Error d = open_error(dir.path());
  EXPECT_EQ(d.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(std::string(d.what()).find("directory"), std::string::npos) << d.what();
}

TEST(JobStore, RefusesCorruptDatabases) {
  TempDir dir;
  const fs::path good = dir.path() / "good.db";
  {
    JobStore store(good);
    for (int i = 0; i < 300; ++i) {
      const Job job = store.create("chat.completion", "{\"pad\":\"" + std::string(500, 'a' + i % 26) + "\"}");
      store.mark_running(job.id);
      store.succeed(job.id, "{}");
    }
  }
  const std::string bytes = read_file(good);
  ASSERT_GT(bytes.size(), 20u * 4096) << "the test needs a database of many pages";
  ASSERT_EQ(bytes.substr(0, 16), std::string("SQLite format 3\0", 16));

  std::mt19937 rng(12345);
  auto garbage = [&](size_t n) {
    std::string g(n, '\0');
    for (char& c : g) c = static_cast<char>(rng());
    return g;
  };
  struct Case {
    const char* what;
    std::string content;
  };
  std::vector<Case> cases = {
      {"truncated to half", bytes.substr(0, bytes.size() / 2)},
      {"truncated to one page", bytes.substr(0, 4096)},
      {"truncated inside the header", bytes.substr(0, 60)},
      {"schema page overwritten", bytes.substr(0, 100) + garbage(4096 - 100) + bytes.substr(4096)},
      {"data pages overwritten",
       bytes.substr(0, 3 * 4096) + garbage(8 * 4096) + bytes.substr(11 * 4096)},
      {"header overwritten", garbage(100) + bytes.substr(100)},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].what);
    const fs::path path = dir.path() / ("bad" + std::to_string(i) + ".db");
    write_file(path, cases[i].content);
    const Error e = open_error(path);
    EXPECT_EQ(e.code(), ErrorCode::kFormat) << e.what();
    const std::string message = e.what();
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_TRUE(message.find("corrupt") != std::string::npos ||
                message.find("not a SQLite database") != std::string::npos)
        << message;
  }
}

TEST(JobStore, RefusesAnotherProgramsDatabase) {
  TempDir dir;
  const fs::path path = dir.path() / "other.db";
  raw_sql(path, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')");
  const Error e = open_error(path);
  EXPECT_EQ(e.code(), ErrorCode::kFormat);
  EXPECT_NE(std::string(e.what()).find("another program"), std::string::npos) << e.what();
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM sqlite_master"), "1") << "a table was added";
}

TEST(JobStore, RefusesANewerSchema) {
  TempDir dir;
  const fs::path path = dir.path() / "jobs.db";
  { JobStore store(path); }
  raw_sql(path, "PRAGMA user_version = 99");
  const Error e = open_error(path);
  EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
  const std::string message = e.what();
  EXPECT_NE(message.find("99"), std::string::npos) << message;
  EXPECT_NE(message.find("newer"), std::string::npos) << message;
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
}

TEST(JobStore, RetentionByCountKeepsTheNewestFinished) {
  TempDir dir;
  FakeClock clock;
  JobStore store(dir.path() / "jobs.db", options_with(clock, {5, -1}));
  std::vector<std::string> finished;
  const std::string unfinished_a = store.create("chat.completion", "{}").id;
  for (int i = 0; i < 10; ++i) {
    const Job job = store.create("chat.completion", "{}");
    store.mark_running(job.id);
    clock.now += 1;
    store.succeed(job.id, "{}");
    finished.push_back(job.id);
  }
  const std::string unfinished_b = store.create("chat.completion", "{}").id;
  store.mark_running(unfinished_b);
  EXPECT_EQ(store.prune(), 5);
  EXPECT_EQ(store.prune(), 0);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(store.get(finished[i]).has_value(), i >= 5) << i;
  EXPECT_TRUE(store.get(unfinished_a));
  EXPECT_TRUE(store.get(unfinished_b));
}

TEST(JobStore, RetentionByAgeKeepsUnfinishedJobs) {
  TempDir dir;
  FakeClock clock;
  const int64_t t0 = clock.now;
  JobStore store(dir.path() / "jobs.db", options_with(clock, {-1, 150}));
  const std::string old_running = store.create("chat.completion", "{}").id;
  store.mark_running(old_running);
  std::vector<std::string> finished;
  for (int64_t at : {0, 100, 200}) {
    clock.now = t0 + at;
    const Job job = store.create("chat.completion", "{}");
    store.cancel(job.id);
    finished.push_back(job.id);
  }
  clock.now = t0 + 300;  // cutoff 150: the jobs finished at 0 and 100 go
  EXPECT_EQ(store.prune(), 2);
  EXPECT_FALSE(store.get(finished[0]));
  EXPECT_FALSE(store.get(finished[1]));
  EXPECT_TRUE(store.get(finished[2]));
  EXPECT_TRUE(store.get(old_running));
}

TEST(JobStore, RetentionRunsOnOpenAndWhileCreating) {
  TempDir dir;
  const fs::path path = dir.path() / "jobs.db";
  {
    JobStore store(path, JobStoreOptions{{-1, -1}});
    for (int i = 0; i < 20; ++i) store.cancel(store.create("chat.completion", "{}").id);
  }
  {
    JobStore store(path, JobStoreOptions{{3, -1}});  // opening prunes
    EXPECT_EQ(store.list(100).size(), 3u);
    // 64 creates since open trigger a prune: at the 64th, 63 finished + 1 queued
    // become 3 + 1, and the 6 after it are added.
    for (int i = 0; i < JobStore::kPruneInterval + 6; ++i) {
      store.cancel(store.create("chat.completion", "{}").id);
    }
    EXPECT_EQ(store.list(1000).size(), 3u + 1u + 6u);
  }
}

// ---- kill -9 --------------------------------------------------------------

// What the child tells the parent, one fixed-size record per line, written
// after the call it reports has returned: op, planned end, id.
constexpr size_t kRecordSize = 1 + 1 + 28 + 1;
constexpr char kChildResult[] = R"({"child":"result"})";
constexpr char kChildError[] = "failed on purpose";

[[noreturn]] void child_main(const fs::path& path, int fd) {
  auto report = [&](char op, char plan, const std::string& id) {
    char record[kRecordSize];
    std::memset(record, ' ', sizeof record);
    record[0] = op;
    record[1] = plan;
    std::memcpy(record + 2, id.data(), std::min<size_t>(id.size(), 28));
    record[kRecordSize - 1] = '\n';
    // Records are shorter than PIPE_BUF: each write is whole or not at all.
    if (::write(fd, record, sizeof record) != static_cast<ssize_t>(sizeof record)) ::_exit(4);
  };
  try {
    JobStoreOptions options;
    options.retention = {-1, -1};
    JobStore store(path, options);
    report('O', ' ', "");
    for (uint64_t n = 0;; ++n) {
      const char plan = "QSFX"[n % 4];
      const Job job = store.create("chat.completion", "{\"n\":" + std::to_string(n) + "}");
      report('C', plan, job.id);
      if (plan == 'Q') continue;  // left queued until the next open
      if (!store.mark_running(job.id)) ::_exit(5);
      report('R', plan, job.id);
      store.set_progress(job.id, 0.5);
      bool ok = false;
      if (plan == 'S') ok = store.succeed(job.id, kChildResult);
      if (plan == 'F') ok = store.fail(job.id, kChildError);
      if (plan == 'X') ok = store.cancel(job.id);
      if (!ok) ::_exit(6);
      report(plan, plan, job.id);
    }
  } catch (...) {
    ::_exit(3);
  }
}

struct Reported {
  char last = 0;  // C, R, or the final S/F/X
  char plan = 0;
};

// Forks the child, lets it run `delay_ms` after it opened the store (or kills
// it at once if negative), SIGKILLs it and reads everything it reported.
void run_and_kill(const fs::path& path, int delay_ms, std::map<std::string, Reported>& reported) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    child_main(path, fds[1]);
  }
  ::close(fds[1]);

  std::string buffer;
  bool opened = false;
  auto read_some = [&](int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return true;
    char chunk[4096];
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) return false;  // the child is gone
    buffer.append(chunk, static_cast<size_t>(n));
    if (!opened && !buffer.empty() && buffer[0] == 'O') opened = true;
    return true;
  };
  if (delay_ms >= 0) {
    for (int waited = 0; !opened && waited < 60 && read_some(1000); ++waited) {
    }
    EXPECT_TRUE(opened) << "the child did not open the store within a minute";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (!read_some(static_cast<int>(std::max<int64_t>(1, left.count())))) break;
    }
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  while (read_some(1000)) {
  }
  ::close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child stopped by itself (exit status " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1)
      << ") before it was killed";

  ASSERT_EQ(buffer.size() % kRecordSize, 0u) << "a record was torn";
  for (size_t at = 0; at < buffer.size(); at += kRecordSize) {
    const char op = buffer[at];
    if (op == 'O') continue;
    const std::string id = buffer.substr(at + 2, 28);
    Reported& r = reported[id];
    r.last = op;
    r.plan = buffer[at + 1];
  }
}

TEST(JobStore, SurvivesKillNineAtRandomMoments) {
  TempDir dir;
  const fs::path path = dir.path() / "jobs.db";
  const unsigned seed = std::random_device{}();
  std::cout << "[ seed     ] " << seed << "\n";
  std::mt19937 rng(seed);
  // Two rounds are killed before the child is known to have opened the store
  // (possibly mid-recovery); the rest after a spread of delays.
  std::vector<int> delays = {-1, 0, 1, 3, 7, 15, 30, 60, -1, 100};
  for (int& d : delays) {
    if (d > 0) d += static_cast<int>(rng() % static_cast<unsigned>(d + 1));
  }
  std::shuffle(delays.begin() + 1, delays.end(), rng);  // round 0 still starts from nothing

  std::map<std::string, Reported> reported;
  for (int delay : delays) {
    SCOPED_TRACE("delay " + std::to_string(delay) + " ms");
    run_and_kill(path, delay, reported);
    if (HasFatalFailure()) return;
  }
  ASSERT_TRUE(fs::exists(path));

  EXPECT_EQ(raw_sql(path, "PRAGMA integrity_check"), "ok");
  const int64_t unfinished = std::stoll(raw_sql(path, "SELECT count(*) FROM jobs WHERE finished_at IS NULL"));
  const int64_t total = std::stoll(raw_sql(path, "SELECT count(*) FROM jobs"));

  JobStoreOptions options;
  options.retention = {-1, -1};
  JobStore store(path, options);
  EXPECT_EQ(store.interrupted_on_open(), unfinished);

  int finals = 0;
  for (const auto& [id, r] : reported) {
    SCOPED_TRACE(std::string("job ") + id + " last reported " + r.last + ", plan " + r.plan);
    const std::optional<Job> job = store.get(id);
    ASSERT_TRUE(job) << "a job the child was told about is missing";
    const bool interrupted = job->status == JobStatus::kFailed && job->error == std::string(kInterruptedMessage);
    auto is_plan = [&](char plan) {
      switch (plan) {
        case 'S': return job->status == JobStatus::kSucceeded && job->result_json == kChildResult;
        case 'F': return job->status == JobStatus::kFailed && job->error == std::string(kChildError);
        case 'X': return job->status == JobStatus::kCancelled && !job->error;
      }
      return false;
    };
    switch (r.last) {
      case 'C':  // created (maybe marked running since): it never got to finish
        EXPECT_TRUE(interrupted);
        break;
      case 'R':  // running; its final write may have committed just before the kill
        EXPECT_TRUE(interrupted || is_plan(r.plan));
        EXPECT_TRUE(job->started_at);
        break;
      default:
        ++finals;
        EXPECT_TRUE(is_plan(r.last));
        EXPECT_TRUE(job->finished_at);
    }
  }
  // Only a create committed just before a kill, in each round, goes unreported.
  const int64_t unreported = total - static_cast<int64_t>(reported.size());
  EXPECT_GE(unreported, 0);
  EXPECT_LE(unreported, static_cast<int64_t>(delays.size()));
  int64_t checked = 0;
  for (const Job& job : store.list(1000000)) {
    if (reported.count(job.id)) continue;
    ++checked;
    EXPECT_EQ(job.status, JobStatus::kFailed);
    EXPECT_EQ(job.error, std::string(kInterruptedMessage));
  }
  EXPECT_EQ(checked, unreported);
  EXPECT_GT(finals, 0) << "the children finished no job: the test checked too little";
  std::cout << "[ killed   ] " << delays.size() << " children; " << reported.size()
            << " jobs reported, " << finals << " finished, " << unfinished
            << " left unfinished and now failed\n";
}

}  // namespace
}  // namespace hearth::service
