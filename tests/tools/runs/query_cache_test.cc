// The shared query cache against a counting fake Scheduler: one query per
// interval however many threads or processes ask, what is re-asked and
// what is not, and files that are corrupt or left by another process.
#include "tools/runs/query_cache.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "tests/support/subprocess.h"

namespace hpc::runs {
namespace {

namespace fs = std::filesystem;
using cluster::JobState;
using cluster::JobStatus;
using V = std::vector<std::string>;

// Answers every id from a table (default: running); ids starting with
// "arr" are arrays of two tasks. Counts its queries and records their ids.
class CountingScheduler : public cluster::Scheduler {
 public:
  std::string name() const override { return "fake"; }
  Result<cluster::SubmitResult> Submit(const cluster::JobRequest&) override {
    return Unimplemented("fake");
  }
  Status Cancel(const std::vector<std::string>&) override {
    return Unimplemented("fake");
  }
  Result<std::vector<std::string>> FindByComment(const std::string&) override {
    return Unimplemented("fake");
  }
  Result<cluster::JobOwner> Owner(const std::string&) override {
    return Unimplemented("fake");
  }

  Result<std::vector<JobStatus>> Query(
      const std::vector<std::string>& ids) override {
    {
      std::lock_guard lock(mu_);
      asked_.push_back(ids);
    }
    ++queries;
    if (on_query) on_query();
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (fail) return Unavailable("the scheduler is down");
    std::vector<JobStatus> out;
    for (const auto& id : ids) {
      std::vector<std::string> rows = {id};
      if (id.rfind("arr", 0) == 0) rows = {id + "_0", id + "_1"};
      for (const auto& row : rows) {
        JobStatus s;
        s.job_id = row;
        s.state = JobState::kRunning;
        s.native_state = "RUNNING";
        if (auto it = states.find(id); it != states.end()) {
          s.state = it->second;
          s.native_state = "ENDED";
          s.exit_code = 0;
        }
        out.push_back(std::move(s));
      }
    }
    return out;
  }

  std::vector<std::vector<std::string>> asked() {
    std::lock_guard lock(mu_);
    return asked_;
  }

  std::atomic<int> queries{0};
  std::chrono::milliseconds delay{0};
  std::atomic<bool> fail{false};
  std::map<std::string, JobState> states;  // Set before querying.
  std::function<void()> on_query;

 private:
  std::mutex mu_;
  std::vector<std::vector<std::string>> asked_;
};

// A private cache directory for the test, and an empty in-process cache.
class CacheEnv {
 public:
  CacheEnv() {
    const char* old = std::getenv("HPC_MCP_CACHE_DIR");
    if (old != nullptr) old_ = old;
    had_old_ = old != nullptr;
    dir_ = tmp_.path() / "cache" / "hpc-mcp";
    ::setenv("HPC_MCP_CACHE_DIR", dir_.c_str(), 1);
    ResetQueryCacheForTesting();
  }
  ~CacheEnv() {
    if (had_old_) {
      ::setenv("HPC_MCP_CACHE_DIR", old_.c_str(), 1);
    } else {
      ::unsetenv("HPC_MCP_CACHE_DIR");
    }
    ResetQueryCacheForTesting();
  }
  const fs::path& dir() const { return dir_; }
  // The one entry file.
  fs::path EntryFile() const {
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().extension() == ".json") return e.path();
    return {};
  }

 private:
  testing::TempDir tmp_;
  fs::path dir_;
  std::string old_;
  bool had_old_ = false;
};

cluster::ClusterProfile Profile(int interval_seconds = 60) {
  cluster::ClusterProfile p;
  p.name = "cache-test";
  p.scheduler = "slurm";
  p.access.kind = "ssh";
  p.access.host = "login.example.org";
  p.access.user = "u";
  p.limits.min_query_interval_seconds = interval_seconds;
  return p;
}

V Ids(const std::vector<JobStatus>& v) {
  V out;
  for (const auto& s : v) out.push_back(s.job_id);
  return out;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_CASE("query cache: ten threads within one interval cause one query",
          "[unit][query_cache]") {
  CacheEnv env;
  CountingScheduler sched;
  sched.delay = std::chrono::milliseconds(200);  // All arrive while in flight.
  const auto profile = Profile();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, cached{0};
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&] {
      QueryStats stats;
      auto r = CachedQuery(profile, sched, {"5", "arr7"}, &stats);
      if (r.ok() && Ids(*r) == V{"5", "arr7_0", "arr7_1"}) ++ok;
      if (stats.from_cache) ++cached;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 10);
  CHECK(sched.queries == 1);
  CHECK(cached == 9);
  // The directory was created private.
  CHECK((fs::status(env.dir()).permissions() & fs::perms::all) ==
        fs::perms::owner_all);
}

TEST_CASE("query cache: another process reads the answer from the file",
          "[unit][query_cache]") {
  CacheEnv env;
  const auto profile = Profile();
  CountingScheduler first;
  first.states["6"] = JobState::kFailed;
  REQUIRE(CachedQuery(profile, first, {"5", "6"}).ok());
  REQUIRE(first.queries == 1);

  SECTION("simulated: the in-process cache forgotten") {
    ResetQueryCacheForTesting();
    CountingScheduler second;
    QueryStats stats;
    auto r = CachedQuery(profile, second, {"6", "5"}, &stats);
    REQUIRE(r.ok());
    CHECK(Ids(*r) == V{"6", "5"});
    CHECK((*r)[0].state == JobState::kFailed);
    CHECK((*r)[0].exit_code == 0);
    CHECK(second.queries == 0);
    CHECK(stats.from_cache);
    CHECK(stats.age_seconds < 60);
  }
  SECTION("a forked process") {
    ::fflush(nullptr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::alarm(20);  // Never hang the suite.
      ResetQueryCacheForTesting();
      CountingScheduler second;
      QueryStats stats;
      auto r = CachedQuery(profile, second, {"5", "6"}, &stats);
      bool good =
          r.ok() && r->size() == 2 && second.queries == 0 && stats.from_cache;
      ::_exit(good ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}

TEST_CASE("query cache: a process waits for another's query, then reads it",
          "[unit][query_cache]") {
  CacheEnv env;
  const auto profile = Profile();
  int pipefd[2];
  REQUIRE(::pipe(pipefd) == 0);
  ::fflush(nullptr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::alarm(20);
    ::close(pipefd[0]);
    CountingScheduler slow;
    slow.delay = std::chrono::milliseconds(700);
    // Inside the query, holding the lock: tell the parent to start.
    slow.on_query = [&] { (void)!::write(pipefd[1], "q", 1); };
    auto r = CachedQuery(profile, slow, {"5", "arr7"});
    ::_exit(r.ok() && slow.queries == 1 ? 0 : 1);
  }
  ::close(pipefd[1]);
  char c = 0;
  REQUIRE(::read(pipefd[0], &c, 1) == 1);
  ::close(pipefd[0]);
  CountingScheduler mine;
  QueryStats stats;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = CachedQuery(profile, mine, {"arr7", "5"}, &stats);
  const auto waited = std::chrono::steady_clock::now() - t0;
  REQUIRE(r.ok());
  CHECK(Ids(*r) == V{"arr7_0", "arr7_1", "5"});
  CHECK(mine.queries == 0);
  CHECK(stats.from_cache);
  CHECK(waited >= std::chrono::milliseconds(300));  // It did wait.
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("query cache: answers expire, ended jobs do not",
          "[unit][query_cache]") {
  CacheEnv env;
  const auto profile = Profile(1);
  CountingScheduler sched;
  sched.states["9"] = JobState::kCompleted;
  REQUIRE(CachedQuery(profile, sched, {"5", "9"}).ok());
  QueryStats stats;
  REQUIRE(CachedQuery(profile, sched, {"5", "9"}, &stats).ok());
  CHECK(stats.from_cache);
  CHECK(sched.queries == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  // The ended job is still served; the running one is asked again.
  REQUIRE(CachedQuery(profile, sched, {"9"}, &stats).ok());
  CHECK(stats.from_cache);
  CHECK(stats.age_seconds >= 1.0);
  CHECK(sched.queries == 1);
  auto r = CachedQuery(profile, sched, {"5", "9"}, &stats);
  REQUIRE(r.ok());
  CHECK_FALSE(stats.from_cache);
  CHECK(sched.queries == 2);
  CHECK(sched.asked().back() == V{"5"});
  CHECK(Ids(*r) == V{"5", "9"});
}

TEST_CASE("query cache: missing ids are asked with the entry's active ones",
          "[unit][query_cache]") {
  CacheEnv env;
  const auto profile = Profile();
  CountingScheduler sched;
  sched.states["2"] = JobState::kCompleted;
  REQUIRE(CachedQuery(profile, sched, {"1", "2", "arr4"}).ok());
  auto r = CachedQuery(profile, sched, {"3", "2"});
  REQUIRE(r.ok());
  CHECK(Ids(*r) == V{"3", "2"});
  REQUIRE(sched.queries == 2);
  // 3 is missing; 1 and arr4 have not ended; 2 has.
  CHECK(sched.asked().back() == V{"3", "1", "arr4"});
}

TEST_CASE("query cache: a corrupt file is ignored and rewritten",
          "[unit][query_cache]") {
  CacheEnv env;
  const auto profile = Profile();
  CountingScheduler sched;
  REQUIRE(CachedQuery(profile, sched, {"1"}).ok());
  const fs::path file = env.EntryFile();
  REQUIRE_FALSE(file.empty());
  const std::string good = Slurp(file);
  for (const char* bad :
       {"", "{", "not json", "[]", "{\"version\":1}",
        "{\"version\":\"1\",\"answers\":{}}",
        "{\"version\":1,\"answers\":{\"1\":{\"at_ms\":\"x\"}}}",
        "{\"version\":1,\"answers\":{\"1\":{\"at_ms\":1,\"asked_ms\":1,"
        "\"statuses\":[{\"job_id\":\"1\",\"state\":\"bogus\"}]}}}",
        "{\"version\":1,\"answers\":{\"1\":{\"at_ms\":1,\"asked_ms\":1,"
        "\"statuses\":7}}}",
        "\xff\xfe"}) {
    INFO(bad);
    std::ofstream(file, std::ios::trunc) << bad;
    ResetQueryCacheForTesting();
    const int before = sched.queries;
    auto r = CachedQuery(profile, sched, {"1"});
    REQUIRE(r.ok());
    CHECK(Ids(*r) == V{"1"});
    CHECK(sched.queries == before + 1);
    CHECK_THAT(Slurp(file), Catch::StartsWith("{\"answers\":{\"1\":"));
  }
  (void)good;
}

TEST_CASE("query cache: a failed query is not cached", "[unit][query_cache]") {
  CacheEnv env;
  const auto profile = Profile();
  CountingScheduler sched;
  sched.fail = true;
  auto r = CachedQuery(profile, sched, {"1"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kUnavailable);
  sched.fail = false;
  QueryStats stats;
  auto again = CachedQuery(profile, sched, {"1"}, &stats);
  REQUIRE(again.ok());
  CHECK_FALSE(stats.from_cache);
  CHECK(sched.queries == 2);
}

TEST_CASE("query cache: interval 0 always asks", "[unit][query_cache]") {
  CacheEnv env;
  const auto profile = Profile(0);
  CountingScheduler sched;
  sched.states["2"] = JobState::kCompleted;
  for (int i = 0; i < 3; ++i)
    REQUIRE(CachedQuery(profile, sched, {"1", "2"}).ok());
  CHECK(sched.queries == 3);
}

TEST_CASE("query cache: every status field survives the file",
          "[unit][query_cache]") {
  CacheEnv env;
  const auto profile = Profile();
  class Full : public CountingScheduler {
   public:
    Result<std::vector<JobStatus>> Query(
        const std::vector<std::string>& ids) override {
      ++queries;
      JobStatus a;
      a.job_id = ids[0];
      a.state = JobState::kTimeout;
      a.native_state = "TIMEOUT";
      a.exit_code = 0;
      a.signal = 15;
      a.reason = "TimeLimit \"quoted\" \xc3\xa9";
      a.start_time = 1700000000;
      a.end_time = 1700003600;
      a.nodes = "n[1-2]";
      JobStatus b;  // Optional fields absent.
      b.job_id = ids[1];
      b.state = JobState::kPending;
      return std::vector<JobStatus>{a, b};
    }
  } sched;
  auto first = CachedQuery(profile, sched, {"1", "2"});
  REQUIRE(first.ok());
  ResetQueryCacheForTesting();
  QueryStats stats;
  auto r = CachedQuery(profile, sched, {"1", "2"}, &stats);
  REQUIRE(r.ok());
  CHECK(stats.from_cache);
  REQUIRE(r->size() == 2);
  const JobStatus& a = (*r)[0];
  CHECK(a.job_id == "1");
  CHECK(a.state == JobState::kTimeout);
  CHECK(a.native_state == "TIMEOUT");
  CHECK(a.exit_code == 0);
  CHECK(a.signal == 15);
  CHECK(a.reason == "TimeLimit \"quoted\" \xc3\xa9");
  CHECK(a.start_time == 1700000000);
  CHECK(a.end_time == 1700003600);
  CHECK(a.nodes == "n[1-2]");
  const JobStatus& b = (*r)[1];
  CHECK(b.state == JobState::kPending);
  CHECK_FALSE(b.exit_code.has_value());
  CHECK_FALSE(b.signal.has_value());
  CHECK_FALSE(b.start_time.has_value());
  CHECK_FALSE(b.end_time.has_value());
  const std::string text = Slurp(env.EntryFile());
  CHECK_THAT(text, !Catch::Contains("\"signal\":null"));
}

TEST_CASE("query cache: profiles that reach different clusters do not share",
          "[unit][query_cache]") {
  CacheEnv env;
  CountingScheduler sched;
  auto a = Profile();
  auto b = Profile();
  b.access.host = "other.example.org";
  auto c = Profile();
  c.name = "cache-test-2";
  for (const auto* p : {&a, &b, &c, &a})
    REQUIRE(CachedQuery(*p, sched, {"1"}).ok());
  CHECK(sched.queries == 3);
}

}  // namespace
}  // namespace hpc::runs
