// Faults of the real testbed: a stopped slurmctld gives a clear error that
// names the scheduler, and the backend works again once it is back; jobs
// that a restarted sge_qmaster reloaded from its spool are still found and
// followed.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <thread>

#include "tests/tools/remote/remote_test_support.h"
#include "tools/cluster/scheduler.h"
#include "tools/remote/openssh_remote.h"

namespace hpc::cluster {
namespace {

int RunScript(const std::string& args) {
  std::string cmd = std::string("bash ") + HPC_MCP_SOURCE_DIR + "/scripts/testbed/" + args +
                    " >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

}  // namespace

TEST_CASE("testbed: a stopped slurmctld is a clear scheduler_unavailable, then recovers",
          "[integration][slurm][fault]") {
  testing::Testbed tb = testing::RequireTestbed();
  auto ssh =
      std::make_shared<remote::OpenSshRemote>(testing::TestbedOpenSsh(tb));
  ClusterProfile p;
  p.name = "testbed-slurm-fault";
  p.scheduler = "slurm";
  auto sched = MakeScheduler(p, ssh);
  REQUIRE(sched.ok());

  REQUIRE(RunScript("down.sh --only slurmctld") == 0);
  auto down = (*sched)->Query({"1"});
  // Restore before any assertion can end the test.
  int restored = RunScript("up.sh --no-smoke");
  REQUIRE_FALSE(down.ok());
  CHECK(down.status().reason() == "scheduler_unavailable");
  CHECK_THAT(down.status().message() + " " + down.status().remediation(),
             Catch::Contains("slurmctld"));
  REQUIRE(restored == 0);
  auto up = (*sched)->Query({"1"});
  INFO((up.ok() ? "" : up.status().ToString()));
  REQUIRE(up.ok());
  CHECK(up->size() == 1);
}

// Grid Engine 8.1.9 names the tasks of a job it reloaded from its spool
// "<JATASK:     511.>" in qstat -xml -j, which is no XML: before the fix
// one running array across a qmaster restart made every FindByComment fail
// (and with it the adoption of a submit whose answer was lost).
TEST_CASE(
    "testbed: jobs running across an sge_qmaster restart are found and "
    "followed",
    "[integration][sge][fault]") {
  testing::Testbed tb = testing::RequireTestbed();
  auto ssh =
      std::make_shared<remote::OpenSshRemote>(testing::TestbedOpenSsh(tb));
  const std::string dir =
      tb.work + "/qmaster-restart-" + std::to_string(::getpid());
  ClusterProfile p;
  p.name = "testbed-sge-fault";
  p.scheduler = "sge";
  p.work_root = dir + "/root";
  auto sched = MakeScheduler(p, ssh);
  REQUIRE(sched.ok());
  const std::string tag = "hpc-mcp:restart-" + std::to_string(::getpid()) + ":";

  JobRequest r;
  r.script = "#!/bin/bash\nsleep 300\n";
  r.workdir = dir + "/wd";
  r.stdout_path = dir + "/logs/out";
  r.stderr_path = dir + "/logs/err";
  std::map<std::string, std::string> ids;
  for (const char* key : {"single", "array"}) {
    r.name = key;
    r.script_path = dir + "/scripts/" + key + ".sh";
    r.comment = tag + key;
    r.array = std::string(key) == "array" ? "1-2" : "";
    auto sub = (*sched)->Submit(r);
    INFO(key << ": " << (sub.ok() ? "" : sub.status().ToString()));
    REQUIRE(sub.ok());
    ids[key] = sub->job_id;
  }
  const std::vector<std::string> all = {ids["single"], ids["array"]};
  // Whatever ends the test also ends its jobs (they would hold three slots
  // for five minutes) and removes its directory.
  struct Cleanup {
    std::function<void()> run;
    ~Cleanup() { run(); }
  } cleanup{[&] {
    (void)(*sched)->Cancel(all);
    remote::RunOptions plain;
    plain.login_shell = false;
    (void)ssh->Run({"rm", "-rf", "--", dir}, plain);
  }};

  // Bounded: until a task of the array runs (the testbed's queue has two
  // slots; other tests' jobs may hold one), or a minute.
  std::map<std::string, JobState> before;
  auto array_runs = [&] {
    return before[ids["array"] + ".1"] == JobState::kRunning ||
           before[ids["array"] + ".2"] == JobState::kRunning;
  };
  for (int i = 0; i < 60 && !array_runs(); ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto q = (*sched)->Query(all);
    if (q.ok())
      for (const auto& st : *q) before[st.job_id] = st.state;
  }
  REQUIRE(array_runs());

  const int stopped = RunScript("down.sh --only sge_qmaster");
  REQUIRE(RunScript("up.sh --no-smoke") == 0);
  REQUIRE(stopped == 0);

  for (const char* key : {"single", "array"}) {
    auto found = (*sched)->FindByComment(tag + key);
    INFO(key << ": " << (found.ok() ? "" : found.status().ToString()));
    REQUIRE(found.ok());
    CHECK(*found == std::vector<std::string>{ids[key]});
  }
  auto q = (*sched)->Query(all);
  INFO((q.ok() ? "" : q.status().ToString()));
  REQUIRE(q.ok());
  CHECK(q->size() == 3);
  for (const auto& st : *q) {
    INFO(st.job_id << " " << JobStateName(st.state));
    if (before[st.job_id] == JobState::kRunning)
      CHECK(st.state == JobState::kRunning);
  }
  CHECK((*sched)->Cancel(all).ok());
}

}  // namespace hpc::cluster
