// The host backend's command lines and files, through a recording Remote
// (local_test.cc runs the same code for real).
#include "tools/cluster/host.h"

#include <catch2/catch.hpp>

#include "tests/support/fake_remote.h"
#include "tools/cluster/job_wrapper.h"
#include "tools/cluster/text.h"

namespace hpc::cluster {
namespace {

using testing::FakeRemote;

ClusterProfile HostProfile() {
  ClusterProfile p;
  p.name = "gpubox";
  p.scheduler = "host";
  p.work_root = "~/hpc";
  p.limits.max_concurrent_jobs = 2;
  return p;
}

JobRequest Request() {
  JobRequest r;
  r.name = "train";
  r.script = "#!/usr/bin/env python3\nprint('hi')\n";
  r.script_path = "/home/u/run/train.py";
  r.workdir = "/home/u/run";
  r.stdout_path = "/home/u/run/logs/%j.out";
  r.stderr_path = "/home/u/run/logs/%j.err";
  r.resources.time = "01:00:00";
  r.env["LIST"] = "a,b=c";
  return r;
}

TEST_CASE("host: job ids", "[unit][host]") {
  std::string id = host::NewJobId();
  CHECK(host::IsJobId(id));
  CHECK(host::IsJobId(id + "_3"));
  CHECK(id != host::NewJobId());
  for (const char* bad : {"", "123", "-abc", "1-", "1-xyz", "1-ab_", "1-ab_x",
                          "../etc", "1-ab/..", "1-AB"})
    CHECK_FALSE(host::IsJobId(bad));
}

TEST_CASE("host: submit writes spec, env and task list, then launches",
          "[unit][host]") {
  auto remote = std::make_shared<FakeRemote>();
  remote->Answer("printenv", "/home/u\n");
  auto sched = MakeHostScheduler(HostProfile(), remote);
  CHECK(sched->name() == "host");
  auto res = sched->Submit(Request());
  REQUIRE(res.ok());
  const std::string root = "/home/u/hpc/.hpc-mcp";
  const std::string jobdir = root + "/jobs/" + res->job_id;
  auto text = JobWrapperScript();
  REQUIRE(text.ok());
  const std::string wrapper = root + "/bin/" + JobWrapperFileName(*text);
  CHECK(remote->file(wrapper) == *text);
  CHECK(remote->mode(wrapper) == 0755);
  // Any interpreter works: the environment is applied by the wrapper.
  CHECK(remote->file("/home/u/run/train.py") == Request().script);
  CHECK(remote->mode("/home/u/run/train.py") == 0755);
  CHECK_THAT(remote->file(jobdir + "/env"), Catch::Contains("export LIST='a,b=c'\n"));
  CHECK(remote->mode(jobdir + "/env") == 0600);
  CHECK(remote->file(jobdir + "/tasks.list") == "main\n");
  const std::string spec = remote->file(jobdir + "/spec");
  CHECK_THAT(spec, Catch::Contains("HPC_W_ID=" + res->job_id + "\n"));
  CHECK_THAT(spec, Catch::Contains("HPC_W_TIME=3600\n"));
  CHECK_THAT(spec, Catch::Contains("HPC_W_SLOTS=2\n"));
  CHECK_THAT(spec, Catch::Contains("HPC_W_STDOUT=/home/u/run/logs/%j.out\n"));
  auto launches = remote->runs_of("bash");
  REQUIRE(launches.size() == 1);
  CHECK(launches[0] == std::vector<std::string>{"bash", wrapper, "launch", jobdir});
  CHECK(remote->runs().back().options.login_shell);  // Module loads apply.

  // The wrapper is installed once per scheduler.
  REQUIRE(sched->Query({res->job_id}).ok());
  auto queries = remote->runs_of("bash");
  REQUIRE(queries.size() == 2);
  CHECK(queries[1] == std::vector<std::string>{"bash", wrapper, "query", root,
                                               res->job_id});
  CHECK_FALSE(remote->runs().back().options.login_shell);
  REQUIRE(sched->Cancel({res->job_id + "_0"}).ok());
  CHECK(remote->runs_of("bash")[2] ==
        std::vector<std::string>{"bash", wrapper, "cancel", root, res->job_id + "_0"});
  CHECK(remote->runs_of("printenv").size() == 1);
}

TEST_CASE("host: arrays and dependencies", "[unit][host]") {
  auto remote = std::make_shared<FakeRemote>();
  remote->Answer("printenv", "/home/u\n");
  auto sched = MakeHostScheduler(HostProfile(), remote);
  JobRequest r = Request();
  r.array = "1,3,5-6%2";
  auto first = sched->Submit(r);
  REQUIRE(first.ok());
  const std::string jobdir = "/home/u/hpc/.hpc-mcp/jobs/" + first->job_id;
  CHECK(remote->file(jobdir + "/tasks.list") == "1\n3\n5\n6\n");
  CHECK_THAT(remote->file(jobdir + "/spec"), Catch::Contains("HPC_W_ARRAY_LIMIT=2\n"));

  JobRequest after = Request();
  after.after_ok = {first->job_id, first->job_id + "_3"};
  auto second = sched->Submit(after);
  REQUIRE(second.ok());
  CHECK_THAT(remote->file("/home/u/hpc/.hpc-mcp/jobs/" + second->job_id + "/spec"),
             Catch::Contains("HPC_W_AFTER_OK='" + first->job_id + " " + first->job_id +
                             "_3'\n"));
  JobRequest orphan = Request();
  orphan.after_ok = {"1700000000-abcdef"};
  CHECK(sched->Submit(orphan).status().code() == StatusCode::kInvalidArgument);
  JobRequest foreign = Request();
  foreign.after_ok = {"12345"};
  CHECK(sched->Submit(foreign).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("host: afterany and aftercorr go into the spec beside afterok",
          "[unit][host]") {
  auto remote = std::make_shared<FakeRemote>();
  remote->Answer("printenv", "/home/u\n");
  auto sched = MakeHostScheduler(HostProfile(), remote);
  const std::string jobs = "/home/u/hpc/.hpc-mcp/jobs/";
  JobRequest array = Request();
  array.array = "0-2";
  auto a = sched->Submit(array);
  REQUIRE(a.ok());
  auto b = sched->Submit(Request());
  REQUIRE(b.ok());
  // Without dependencies every kind is present and empty.
  const std::string plain = remote->file(jobs + b->job_id + "/spec");
  CHECK_THAT(plain, Catch::Contains("HPC_W_AFTER_OK=''\n"));
  CHECK_THAT(plain, Catch::Contains("HPC_W_AFTER_ANY=''\n"));
  CHECK_THAT(plain, Catch::Contains("HPC_W_AFTER_CORR=''\n"));

  JobRequest all = Request();
  all.array = "0-2";
  all.after_ok = {b->job_id};
  all.after_any = {a->job_id + "_1", b->job_id};
  all.after_corr = {a->job_id};
  auto c = sched->Submit(all);
  REQUIRE(c.ok());
  const std::string spec = remote->file(jobs + c->job_id + "/spec");
  CHECK_THAT(spec, Catch::Contains("HPC_W_AFTER_OK=" + b->job_id + "\n"));
  CHECK_THAT(spec, Catch::Contains("HPC_W_AFTER_ANY='" + a->job_id + "_1 " +
                                   b->job_id + "'\n"));
  CHECK_THAT(spec, Catch::Contains("HPC_W_AFTER_CORR=" + a->job_id + "\n"));

  // Every kind must name an existing job of this backend.
  JobRequest any_orphan = Request();
  any_orphan.after_any = {"1700000000-abcdef"};
  CHECK(sched->Submit(any_orphan).status().code() ==
        StatusCode::kInvalidArgument);
  JobRequest corr_orphan = Request();
  corr_orphan.array = "0-2";
  corr_orphan.after_corr = {"1700000000-abcdef"};
  CHECK(sched->Submit(corr_orphan).status().code() ==
        StatusCode::kInvalidArgument);
  JobRequest corr_foreign = Request();
  corr_foreign.array = "0-2";
  corr_foreign.after_corr = {"12345"};
  CHECK(sched->Submit(corr_foreign).status().code() ==
        StatusCode::kInvalidArgument);
  // aftercorr on a job that is not an array: PrepareRequest's error.
  JobRequest corr_single = Request();
  corr_single.after_corr = {a->job_id};
  auto single = sched->Submit(corr_single);
  CHECK(single.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(single.status().message(), Catch::Contains("after_corr"));
}

TEST_CASE("host: query output", "[unit][host]") {
  auto rows = host::ParseQueryOutput(
      "1-aa_0\tcompleted\t0\t0\t100\t105\t\n"
      "1-aa_1\tfailed\t137\t9\t100\t104\texit status 137: killed by signal 9\n"
      "1-bb\tpending\t\t\t\t\tDependency\n"
      "1-cc\trunning\t\t\t200\t\t\n"
      "1-dd\tunknown\t\t\t\t\tno such job under /x/jobs\n"
      "garbage line\n");
  REQUIRE(rows.size() == 5);
  CHECK(rows[0].state == JobState::kCompleted);
  CHECK(rows[0].exit_code == 0);
  CHECK_FALSE(rows[0].signal.has_value());
  CHECK(rows[0].start_time == 100);
  CHECK(rows[0].end_time == 105);
  CHECK(rows[1].signal == 9);
  CHECK(rows[2].state == JobState::kPending);
  CHECK(rows[2].reason == "Dependency");
  CHECK_FALSE(rows[2].exit_code.has_value());
  CHECK(rows[3].state == JobState::kRunning);
  CHECK(rows[3].start_time == 200);
  CHECK(rows[4].state == JobState::kUnknown);
}

TEST_CASE("host: find by comment runs the wrapper's find", "[unit][host]") {
  CHECK(host::ParseFindOutput(
            "1700000002-cccccc\n1700000000-aaaaaa\n"
            "1700000000-aaaaaa\n1700000001-bb_3\ngarbage\n\n") ==
        std::vector<std::string>{"1700000000-aaaaaa", "1700000002-cccccc"});
  auto remote = std::make_shared<FakeRemote>();
  remote->Answer("printenv", "/home/u\n");
  remote->Answer("bash", "1700000001-bbbbbb\n");
  auto sched = MakeHostScheduler(HostProfile(), remote);
  const std::string comment = "it's $(run) tag";
  auto found = sched->FindByComment(comment);
  REQUIRE(found.ok());
  CHECK(*found == std::vector<std::string>{"1700000001-bbbbbb"});
  auto text = JobWrapperScript();
  REQUIRE(text.ok());
  const std::string root = "/home/u/hpc/.hpc-mcp";
  auto runs = remote->runs_of("bash");
  REQUIRE(runs.size() == 1);
  CHECK(runs[0] == std::vector<std::string>{
                       "bash", root + "/bin/" + JobWrapperFileName(*text),
                       "find", root, comment});
  CHECK_FALSE(remote->runs().back().options.login_shell);
  for (const char* bad : {"", "a\nb"})
    CHECK(sched->FindByComment(bad).status().code() ==
          StatusCode::kInvalidArgument);

  auto failing = std::make_shared<FakeRemote>();
  failing->Answer("printenv", "/home/u\n");
  failing->Answer("bash", "", "find: usage\n", 2);
  CHECK_FALSE(
      MakeHostScheduler(HostProfile(), failing)->FindByComment("x").ok());
}

TEST_CASE("state root: work_root, ~ and $HOME of the remote", "[unit][host]") {
  ClusterProfile p;
  p.name = "x";
  p.work_root = "/scratch/u/";
  auto remote = std::make_shared<FakeRemote>();
  remote->Answer("printenv", "/home/far\n");
  CHECK(*ResolveStateRoot(p, *remote) == "/scratch/u/.hpc-mcp");
  p.work_root = "~/w";
  CHECK(*ResolveStateRoot(p, *remote) == "/home/far/w/.hpc-mcp");
  p.work_root = "";
  CHECK(*ResolveStateRoot(p, *remote) == "/home/far/.hpc-mcp");
  p.work_root = "relative";
  CHECK(ResolveStateRoot(p, *remote).status().code() == StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hpc::cluster
