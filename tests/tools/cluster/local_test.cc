// The local backend end to end: real jobs under the job wrapper on this
// machine, through LocalRemote (no shell). Always runnable. Every job of a
// test is submitted first, then all are polled together.
#include "tools/cluster/local.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/job_poll.h"
#include "tests/support/subprocess.h"
#include "tools/cluster/host.h"
#include "tools/cluster/job_wrapper.h"
#include "tools/remote/local_remote.h"

namespace hpc::cluster {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WaitTerminal;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ClusterProfile LocalProfile(const fs::path& work_root, int max_concurrent = 0) {
  ClusterProfile p;
  p.name = "local-test";
  p.scheduler = "local";
  p.work_root = work_root.string();
  p.limits.max_concurrent_jobs = max_concurrent;
  return p;
}

JobRequest Job(const fs::path& dir, const std::string& name,
               const std::string& body) {
  JobRequest r;
  r.name = name;
  r.script = "#!/bin/bash\n" + body;
  r.script_path = (dir / "scripts" / (name + ".sh")).string();
  r.workdir = (dir / "work").string();
  // The log directory does not exist: the wrapper creates it (seed 000).
  r.stdout_path = (dir / "logs" / "new" / "%j.out").string();
  r.stderr_path = (dir / "logs" / "new" / "%j.err").string();
  return r;
}

std::string Submit(Scheduler& s, const JobRequest& r) {
  auto res = s.Submit(r);
  INFO(r.name);
  REQUIRE(res.ok());
  CHECK(host::IsJobId(res->job_id));
  return res->job_id;
}

TEST_CASE("local: jobs complete, fail, time out, are cancelled, wait on "
          "dependencies, run as arrays, and leave logs in new directories",
          "[unit][local]") {
  TempDir tmp;
  REQUIRE_FALSE(tmp.path().empty());
  const fs::path dir = tmp.path();
  auto sched = MakeLocalScheduler(LocalProfile(dir / "root"), nullptr);
  REQUIRE(sched->name() == "local");

  const std::string ok = Submit(*sched, Job(dir, "ok", "echo hello from $HPC_JOB_ID\n"));
  const std::string fail = Submit(*sched, Job(dir, "fail", "echo oops >&2\nexit 3\n"));
  JobRequest slow = Job(dir, "slow", "sleep 30\n");
  slow.resources.time = "00:00:02";
  const std::string timeout = Submit(*sched, slow);
  const std::string cancel = Submit(*sched, Job(dir, "cancel", "sleep 30\n"));
  JobRequest array = Job(dir, "array",
                         "echo \"start $HPC_ARRAY_TASK_ID\" >> " +
                             (dir / "seq").string() +
                             "\nsleep 1\necho \"end $HPC_ARRAY_TASK_ID\" >> " +
                             (dir / "seq").string() + "\nexit $HPC_ARRAY_TASK_ID\n");
  array.array = "0-2%1";
  const std::string arr = Submit(*sched, array);
  const std::string first = Submit(*sched, Job(dir, "first", "sleep 1\n"));
  JobRequest after = Job(dir, "after", "echo after\n");
  after.after_ok = {first};
  const std::string then = Submit(*sched, after);
  JobRequest never = Job(dir, "never", "echo must not run\n");
  never.after_ok = {fail};
  const std::string not_run = Submit(*sched, never);

  // Cancel once it runs (bounded wait).
  for (int i = 0; i < 100; ++i) {
    auto q = sched->Query({cancel});
    REQUIRE(q.ok());
    if ((*q)[0].state == JobState::kRunning) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(sched->Cancel({cancel}).ok());

  auto st = WaitTerminal(*sched, {ok, fail, timeout, cancel, arr, first, then, not_run},
                         std::chrono::seconds(60));
  REQUIRE(st.size() == 10);  // The array is three tasks.
  for (const auto& [id, s] : st) {
    INFO(id << " " << s.native_state << " " << s.reason);
    CHECK(IsTerminal(s.state));
  }
  CHECK(st[ok].state == JobState::kCompleted);
  CHECK(st[ok].exit_code == 0);
  REQUIRE(st[ok].start_time.has_value());
  REQUIRE(st[ok].end_time.has_value());
  CHECK(*st[ok].end_time >= *st[ok].start_time);
  CHECK(Slurp(dir / "logs" / "new" / (ok + ".out")) == "hello from " + ok + "\n");

  CHECK(st[fail].state == JobState::kFailed);
  CHECK(st[fail].exit_code == 3);
  CHECK(Slurp(dir / "logs" / "new" / (fail + ".err")) == "oops\n");

  CHECK(st[timeout].state == JobState::kTimeout);
  CHECK(st[cancel].state == JobState::kCancelled);

  for (int t = 0; t <= 2; ++t) {
    const auto& s = st[arr + "_" + std::to_string(t)];
    CHECK(s.exit_code == t);
    CHECK(s.state == (t == 0 ? JobState::kCompleted : JobState::kFailed));
  }
  // %1: one task at a time, so each start is followed by its own end.
  std::istringstream seq(Slurp(dir / "seq"));
  std::vector<std::string> lines;
  for (std::string l; std::getline(seq, l);) lines.push_back(l);
  REQUIRE(lines.size() == 6);
  for (size_t i = 0; i < 6; i += 2) {
    CHECK(lines[i].rfind("start ", 0) == 0);
    CHECK(lines[i + 1] == "end " + lines[i].substr(6));
  }

  CHECK(st[first].state == JobState::kCompleted);
  CHECK(st[then].state == JobState::kCompleted);
  CHECK(*st[then].start_time >= *st[first].end_time);
  CHECK(st[not_run].state == JobState::kCancelled);
  CHECK_THAT(st[not_run].reason, Catch::Contains("DependencyNeverSatisfied"));
  CHECK_FALSE(fs::exists(dir / "logs" / "new" / (not_run + ".out")));
}

TEST_CASE("local: hostile names, values and paths never meet a shell",
          "[unit][local]") {
  TempDir tmp;
  const fs::path dir = tmp.path();
  const fs::path canary = dir / "canary";
  const std::string touch = "touch " + canary.string();
  auto sched = MakeLocalScheduler(LocalProfile(dir / "root"), nullptr);

  // A directory name full of shell syntax, for the script and the logs.
  const fs::path weird = dir / ("we ird 'q' \"d\" $(" + touch + ") `" + touch +
                                "`; " + touch + " & | > <");
  const std::string value = "'; " + touch + "; echo '$(" + touch + ")`" + touch +
                            "`\\\" a,b=c\n second line";
  JobRequest r;
  r.name = "hostile";
  r.script = "#!/bin/bash\nprintf '%s' \"$X\" > \"$OUT\"\n";
  r.script_path = (weird / "job $(x).sh").string();
  r.workdir = weird.string();
  r.stdout_path = (weird / "logs" / "o'ut $(x).txt").string();
  r.stderr_path = r.stdout_path;
  r.env["X"] = value;
  r.env["OUT"] = (weird / "value.txt").string();
  r.comment = "$(" + touch + ")";
  auto id = sched->Submit(r);
  REQUIRE(id.ok());
  auto st = WaitTerminal(*sched, {id->job_id}, std::chrono::seconds(30));
  REQUIRE(st.count(id->job_id));
  CHECK(st[id->job_id].state == JobState::kCompleted);
  CHECK(Slurp(weird / "value.txt") == value);
  CHECK(fs::exists(weird / "logs" / "o'ut $(x).txt"));
  CHECK_FALSE(fs::exists(canary));

  // Names and ids that could steer a path or an option are refused.
  JobRequest bad = r;
  bad.name = "a;" + touch;
  CHECK(sched->Submit(bad).status().code() == StatusCode::kInvalidArgument);
  CHECK(sched->Query({"../../etc"}).status().code() == StatusCode::kInvalidArgument);
  CHECK(sched->Cancel({"-1"}).code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(fs::exists(canary));
}

TEST_CASE("local: jobs outlive the scheduler that started them; unknown ids "
          "stay unknown",
          "[unit][local]") {
  TempDir tmp;
  const fs::path dir = tmp.path();
  std::string id;
  {
    auto first = MakeLocalScheduler(LocalProfile(dir / "root"), nullptr);
    id = Submit(*first, Job(dir, "survivor", "sleep 1\necho survived\n"));
  }  // The "server" is gone; the job runs on, detached.
  auto second = MakeLocalScheduler(LocalProfile(dir / "root"), nullptr);
  auto st = WaitTerminal(*second, {id}, std::chrono::seconds(30));
  CHECK(st[id].state == JobState::kCompleted);
  CHECK(Slurp(dir / "logs" / "new" / (id + ".out")) == "survived\n");
  auto unknown = second->Query({"1700000000-abcdef"});
  REQUIRE(unknown.ok());
  REQUIRE(unknown->size() == 1);
  CHECK((*unknown)[0].state == JobState::kUnknown);

  // A dependency on a job that does not exist is refused at submission.
  JobRequest orphan = Job(dir, "orphan", "true\n");
  orphan.after_ok = {"1700000000-abcdef"};
  CHECK(second->Submit(orphan).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("local: the profile's concurrency limit holds", "[unit][local]") {
  TempDir tmp;
  const fs::path dir = tmp.path();
  auto sched = MakeLocalScheduler(LocalProfile(dir / "root", 1), nullptr);
  const std::string seq = (dir / "seq").string();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(Submit(*sched, Job(dir, "slot" + std::to_string(i),
                                     "echo start >> " + seq +
                                         "\nsleep 0.5\necho end >> " + seq + "\n")));
  // A job waiting for a slot is cancelled before it starts.
  const std::string waiting = Submit(*sched, Job(dir, "waiting", "echo ran >> " + seq + "\n"));
  REQUIRE(sched->Cancel({waiting}).ok());
  ids.push_back(waiting);
  auto st = WaitTerminal(*sched, ids, std::chrono::seconds(30));
  for (size_t i = 0; i < 3; ++i) CHECK(st[ids[i]].state == JobState::kCompleted);
  CHECK(st[waiting].state == JobState::kCancelled);
  CHECK_FALSE(st[waiting].start_time.has_value());
  CHECK(Slurp(dir / "seq") == "start\nend\nstart\nend\nstart\nend\n");
}

TEST_CASE("local: the wrapper is installed once, named by its content",
          "[unit][local]") {
  auto text = JobWrapperScript();
  REQUIRE(text.ok());
  CHECK(text->rfind("#!/usr/bin/env bash\n", 0) == 0);
  const std::string name = JobWrapperFileName(*text);
  CHECK(name.rfind("job_wrapper-", 0) == 0);
  CHECK(name == JobWrapperFileName(*text));
  CHECK(name != JobWrapperFileName(std::string(*text) + " "));
}

}  // namespace
}  // namespace hpc::cluster
