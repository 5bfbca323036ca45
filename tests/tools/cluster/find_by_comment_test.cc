// Scheduler::FindByComment on real jobs: Slurm, Grid Engine and host on the
// testbed over SSH (scripts/testbed/up.sh; never skips: without the testbed
// the test fails and says how to start it), and local on this machine.
//
// Each backend gets a job, an array and a job whose comment extends the
// first one's; each comment is asked for while the jobs are queued or
// running and again once they have ended (Grid Engine then answers from
// its comment records, the wrapper from its job directories).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/support/job_poll.h"
#include "tests/support/subprocess.h"
#include "tests/tools/remote/remote_test_support.h"
#include "tools/cluster/host.h"
#include "tools/cluster/local.h"
#include "tools/cluster/scheduler.h"
#include "tools/remote/openssh_remote.h"

namespace hpc::cluster {
namespace {

namespace fs = std::filesystem;
using testing::WaitTerminal;

// Unique to this run, with the characters a shell would act on (Grid Engine
// takes no ',' in job context).
std::string Tag(const std::string& backend) {
  return "hpc-mcp-it " + backend + " " + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::system_clock::now().time_since_epoch() /
                        std::chrono::milliseconds(1)) +
         " it's $(touch x) `y` <z>&|";
}

struct Submitted {
  std::string single, array, longer;
  std::vector<std::string> all() const { return {single, array, longer}; }
};

JobRequest Job(const std::string& dir, const std::string& name,
               const std::string& comment) {
  JobRequest r;
  r.name = name;
  r.script = "#!/bin/bash\nsleep 1\n";
  r.script_path = dir + "/scripts/" + name + ".sh";
  r.workdir = dir + "/wd";
  r.stdout_path = dir + "/logs/" + name + ".out";
  r.stderr_path = dir + "/logs/" + name + ".err";
  r.comment = comment;
  return r;
}

std::string SubmitOne(Scheduler& s, const JobRequest& r) {
  auto res = s.Submit(r);
  INFO(s.name() << " " << r.name << ": "
                << (res.ok() ? res->job_id : res.status().ToString()));
  REQUIRE(res.ok());
  return res->job_id;
}

Submitted SubmitAll(Scheduler& s, const std::string& dir,
                    const std::string& tag) {
  Submitted ids;
  ids.single = SubmitOne(s, Job(dir, "single", tag + ":one"));
  JobRequest array = Job(dir, "array", tag + ":array");
  array.array = s.name() == "sge" ? "1-3" : "0-2";
  ids.array = SubmitOne(s, array);
  ids.longer = SubmitOne(s, Job(dir, "longer", tag + ":one:more"));
  return ids;
}

void CheckFound(Scheduler& s, const Submitted& ids, const std::string& tag,
                const char* when) {
  INFO(s.name() << ", " << when);
  using V = std::vector<std::string>;
  auto one = s.FindByComment(tag + ":one");
  INFO((one.ok() ? "" : one.status().ToString()));
  REQUIRE(one.ok());
  CHECK(*one == V{ids.single});
  auto array = s.FindByComment(tag + ":array");
  REQUIRE(array.ok());
  CHECK(*array == V{ids.array});  // Once, by its parent id.
  auto longer = s.FindByComment(tag + ":one:more");
  REQUIRE(longer.ok());
  CHECK(*longer == V{ids.longer});
  auto none = s.FindByComment(tag + ":never-submitted");
  REQUIRE(none.ok());
  CHECK(none->empty());
}

void WaitEnded(Scheduler& s, const Submitted& ids) {
  auto st = WaitTerminal(s, ids.all(), std::chrono::seconds(150),
                         std::chrono::milliseconds(1000));
  for (const auto& [id, status] : st) {
    INFO(s.name() << " " << id << " " << JobStateName(status.state));
    CHECK(IsTerminal(status.state));
  }
}

TEST_CASE("testbed: find by comment on slurm, sge and host",
          "[integration][slurm][sge][host]") {
  testing::Testbed tb = testing::RequireTestbed();
  auto env = testing::ParseEnvSh(tb.dir + "/env.sh");
  auto ssh =
      std::make_shared<remote::OpenSshRemote>(testing::TestbedOpenSsh(tb, 8));
  auto probe = ssh->Run({"true"}, remote::RunOptions{});
  if (!probe.ok() || !probe->ok())
    FAIL("cannot reach the testbed over ssh: run scripts/testbed/up.sh");
  const std::string dir =
      tb.work + "/find-it-" + std::to_string(::getpid()) + "-" +
      std::to_string(std::chrono::system_clock::now().time_since_epoch() /
                     std::chrono::seconds(1));

  struct Backend {
    std::unique_ptr<Scheduler> sched;
    std::string tag;
    Submitted ids;
  };
  std::vector<Backend> backends;
  for (const char* name : {"slurm", "sge", "host"}) {
    if (std::string(name) == "sge" && env["TESTBED_SGE"] == "0") continue;
    ClusterProfile p;
    p.name = std::string("testbed-") + name;
    p.scheduler = name;
    p.work_root = dir + "/" + name + "-root";
    auto s = MakeScheduler(p, ssh);
    REQUIRE(s.ok());
    backends.push_back({std::move(*s), Tag(name), {}});
  }
  for (Backend& b : backends)
    b.ids = SubmitAll(*b.sched, dir + "/" + b.sched->name(), b.tag);
  for (Backend& b : backends) CheckFound(*b.sched, b.ids, b.tag, "queued");
  for (Backend& b : backends) WaitEnded(*b.sched, b.ids);
  for (Backend& b : backends) CheckFound(*b.sched, b.ids, b.tag, "ended");
  // Grid Engine's answer for ended jobs came from the records its jobs
  // left (qstat has forgotten them, qacct never knew the comment).
  for (Backend& b : backends) {
    if (b.sched->name() != "sge") continue;
    for (const auto& id : b.ids.all()) {
      INFO("sge " << id);
      CHECK(ssh->Stat(dir + "/sge-root/.hpc-mcp/sge/" + id + ".comment").ok());
    }
  }

  remote::RunOptions plain;
  plain.login_shell = false;
  (void)ssh->Run({"rm", "-rf", "--", dir}, plain);
}

TEST_CASE("local: find by comment, among thousands of jobs", "[unit][local]") {
  testing::TempDir tmp;
  const fs::path dir = tmp.path();
  ClusterProfile p;
  p.name = "local-test";
  p.scheduler = "local";
  p.work_root = (dir / "root").string();
  auto sched = MakeLocalScheduler(p, nullptr);
  const std::string tag = Tag("local");

  // Specs of jobs that ran before, written as Submit writes them: one
  // shares the comment but its launch never began (no tasks directory).
  const fs::path jobs = dir / "root" / ".hpc-mcp" / "jobs";
  std::string never_launched;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = "1700000000-" +
                           std::string(6 - std::to_string(i).size(), '0') +
                           std::to_string(i);
    JobRequest r =
        Job(dir.string(), "old", i == 7 ? tag + ":one" : tag + ":old");
    auto spec = host::RenderSpec(r, id, 0);
    REQUIRE(spec.ok());
    fs::create_directories(jobs / id);
    if (i != 7) fs::create_directories(jobs / id / "tasks");
    std::ofstream(jobs / id / "spec") << *spec;
  }

  Submitted ids = SubmitAll(*sched, dir.string(), tag);
  const auto t0 = std::chrono::steady_clock::now();
  CheckFound(*sched, ids, tag, "queued");
  const auto took = std::chrono::steady_clock::now() - t0;
  INFO("4 finds over 2003 jobs took "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
       << " ms");
  CHECK(took < std::chrono::seconds(20));
  auto old = sched->FindByComment(tag + ":old");
  REQUIRE(old.ok());
  CHECK(old->size() == 1999);
  WaitEnded(*sched, ids);
  CheckFound(*sched, ids, tag, "ended");
}

}  // namespace
}  // namespace hpc::cluster
