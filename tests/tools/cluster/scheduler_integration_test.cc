// The Slurm, Grid Engine and host backends against the real testbed
// (scripts/testbed/up.sh) over SSH (OpenSshRemote, the `testbed` alias),
// and, for the dependency kinds, the local backend beside them.
// Never skips: without the testbed the test fails and says how to start it.
//
// Time: every job of every backend is submitted first, then all are polled
// together; the Slurm TIMEOUT case (minute granularity, 30 s sweep: 60-90 s)
// bounds the whole test.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "tests/support/job_poll.h"
#include "tests/support/subprocess.h"
#include "tests/tools/remote/remote_test_support.h"
#include "tools/cluster/job_request.h"
#include "tools/cluster/local.h"
#include "tools/cluster/scheduler.h"
#include "tools/cluster/sge.h"
#include "tools/remote/local_remote.h"
#include "tools/remote/openssh_remote.h"

namespace hpc::cluster {
namespace {

using testing::WaitTerminal;

struct Backend {
  std::string name;  // slurm | sge | host
  std::unique_ptr<Scheduler> sched;
  std::map<std::string, std::string> ids;  // case -> job id
};

// A fresh directory on the testbed for this run; none of its
// subdirectories exists before a job needs it.
std::string RunDir(const testing::Testbed& tb) {
  return tb.work + "/sched-it-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::system_clock::now().time_since_epoch() /
                        std::chrono::seconds(1));
}

JobRequest Job(const std::string& dir, const std::string& backend,
               const std::string& name, const std::string& body) {
  JobRequest r;
  r.name = name;
  r.script = "#!/bin/bash\n" + body;
  r.script_path = dir + "/" + backend + "/scripts/" + name + ".sh";
  r.workdir = dir + "/" + backend + "/wd";
  // A log directory that does not exist yet: a bare sbatch fails such a job
  // in a second (0:53) and a bare qsub parks it in Eqw.
  r.stdout_path = dir + "/" + backend + "/logs/" + name + "/deep/out.txt";
  r.stderr_path = dir + "/" + backend + "/logs/" + name + "/deep/err.txt";
  return r;
}

std::string Submit(Backend& b, const std::string& key, const JobRequest& r) {
  auto res = b.sched->Submit(r);
  INFO(b.name << " " << key << ": " << (res.ok() ? "" : res.status().ToString()));
  REQUIRE(res.ok());
  b.ids[key] = res->job_id;
  return res->job_id;
}

// Waits (bounded) until `id` runs, then cancels it.
void CancelWhenRunning(Backend& b, const std::string& id) {
  for (int i = 0; i < 120; ++i) {
    auto q = b.sched->Query({id});
    if (q.ok() && !q->empty() && (*q)[0].state == JobState::kRunning) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  Status s = b.sched->Cancel({id});
  INFO(b.name << " cancel: " << s.ToString());
  CHECK(s.ok());
}

// Array task ids as each backend prints them.
std::string Task(const Backend& b, const std::string& parent, int t) {
  return parent + (b.name == "sge" ? "." : "_") + std::to_string(t);
}

// The testbed's backends among `names` ("slurm", "sge", "host"; Grid Engine
// not where the testbed has it off) over `ssh`, each with the work root
// <dir>/<name>-root.
std::vector<Backend> TestbedBackends(std::map<std::string, std::string>& env,
                                     const std::shared_ptr<remote::Remote>& ssh,
                                     const std::string& dir,
                                     std::vector<std::string> names) {
  std::vector<Backend> backends;
  for (const std::string& name : names) {
    if (name == "sge" && env["TESTBED_SGE"] == "0") continue;
    ClusterProfile p;
    p.name = "testbed-" + name;
    p.scheduler = name;
    p.work_root = dir + "/" + name + "-root";
    auto s = MakeScheduler(p, ssh);
    REQUIRE(s.ok());
    backends.push_back({name, std::move(*s), {}});
  }
  return backends;
}

// The testbed over `ssh` and a fresh directory `dir` there, removed at the
// end.
struct TestbedDir {
  testing::Testbed tb = testing::RequireTestbed();
  std::map<std::string, std::string> env =
      testing::ParseEnvSh(tb.dir + "/env.sh");
  std::shared_ptr<remote::Remote> ssh =
      std::make_shared<remote::OpenSshRemote>(testing::TestbedOpenSsh(tb));
  std::string dir = RunDir(tb);
  remote::RunOptions plain = [] {
    remote::RunOptions o;
    o.login_shell = false;
    return o;
  }();

  ~TestbedDir() { (void)ssh->Run({"rm", "-rf", "--", dir}, plain); }
  std::vector<Backend> Backends(std::vector<std::string> names) {
    return TestbedBackends(env, ssh, dir, std::move(names));
  }
};

TEST_CASE("testbed: the slurm sge and host backends run real jobs",
          "[integration][slurm][sge][host]") {
  testing::Testbed tb = testing::RequireTestbed();
  auto env = testing::ParseEnvSh(tb.dir + "/env.sh");
  const bool cgroup = env["TESTBED_SLURM_CGROUP"] == "1";

  auto ssh =
      std::make_shared<remote::OpenSshRemote>(testing::TestbedOpenSsh(tb, 8));
  auto probe = ssh->Run({"true"}, remote::RunOptions{});
  if (!probe.ok() || !probe->ok())
    FAIL("cannot reach the testbed over ssh (" +
         (probe.ok() ? "exit " + std::to_string(probe->exit_code)
                     : probe.status().ToString()) +
         "): run scripts/testbed/up.sh");

  const std::string dir = RunDir(tb);
  const std::string canary = dir + "/canary";
  const std::string hostile = "'; touch " + canary + "; echo '$(touch " +
                              canary + ")`touch " + canary + "` a,b=c \"q\"";

  std::vector<Backend> backends =
      TestbedBackends(env, ssh, dir, {"slurm", "sge", "host"});

  // ---- submit everything
  for (Backend& b : backends) {
    const std::string& n = b.name;
    Submit(b, "ok", Job(dir, n, "ok", "echo hello from $HPC_JOB_ID\n"));
    Submit(b, "fail", Job(dir, n, "fail", "echo about to fail >&2\nexit 3\n"));
    JobRequest slow = Job(dir, n, "timeout", "sleep 300\n");
    // Slurm limits are minutes (swept every 30 s); SGE and the wrapper
    // enforce seconds.
    slow.resources.time = n == "slurm" ? "00:01:00" : "00:00:05";
    Submit(b, "timeout", slow);
    if (n != "host") {  // The host backend does not enforce memory.
      JobRequest oom = Job(dir, n, "oom",
                           "perl -e '$x = \"x\" x (300 * 1024 * 1024); sleep 2; "
                           "print length($x), \"\\n\"'\n");
      oom.resources.mem = n == "slurm" ? "50M" : "100M";
      Submit(b, "oom", oom);
    }
    Submit(b, "cancel", Job(dir, n, "cancel", "sleep 300\n"));
    JobRequest array = Job(dir, n, "array", "sleep 1\nexit $HPC_ARRAY_TASK_ID\n");
    array.array = n == "sge" ? "1-3%2" : "0-2%2";
    Submit(b, "array", array);
    const std::string first = Submit(b, "first", Job(dir, n, "first", "sleep 2\n"));
    JobRequest after = Job(dir, n, "after", "echo after\n");
    after.after_ok = {first};
    Submit(b, "after", after);
    JobRequest never = Job(dir, n, "never", "echo must not run\n");
    never.after_ok = {b.ids["fail"]};
    Submit(b, "never", never);
    JobRequest evil = Job(dir, n, "hostile", "printf '%s' \"$X\" > \"$OUT\"\n");
    evil.env["X"] = hostile;
    evil.env["OUT"] = dir + "/" + n + "/wd/value.txt";
    evil.comment = "run-tag:it";
    Submit(b, "hostile", evil);
  }
  for (Backend& b : backends) CancelWhenRunning(b, b.ids["cancel"]);

  // ---- poll each backend's jobs together (the fast ones first)
  std::map<std::string, std::map<std::string, JobStatus>> got;
  for (auto it = backends.rbegin(); it != backends.rend(); ++it) {
    std::vector<std::string> ids;
    for (const auto& [key, id] : it->ids) ids.push_back(id);
    got[it->name] = WaitTerminal(*it->sched, ids, std::chrono::seconds(150),
                                 std::chrono::milliseconds(1000));
  }

  // ---- check
  for (Backend& b : backends) {
    auto& st = got[b.name];
    auto& id = b.ids;
    INFO("backend " << b.name);
    for (const auto& [key, s] : st) {
      INFO(key << " " << JobStateName(s.state) << " native=" << s.native_state
               << " reason=" << s.reason);
      CHECK(IsTerminal(s.state));
    }
    CHECK(st[id["ok"]].state == JobState::kCompleted);
    CHECK(st[id["ok"]].exit_code == 0);
    CHECK(st[id["ok"]].start_time.has_value());
    CHECK(st[id["ok"]].end_time.has_value());
    auto log = ssh->ReadFile(dir + "/" + b.name + "/logs/ok/deep/out.txt", 0, 4096);
    REQUIRE(log.ok());
    CHECK(*log == "hello from " + id["ok"] + "\n");

    CHECK(st[id["fail"]].state == JobState::kFailed);
    CHECK(st[id["fail"]].exit_code == 3);
    auto err = ssh->ReadFile(dir + "/" + b.name + "/logs/fail/deep/err.txt", 0, 4096);
    REQUIRE(err.ok());
    CHECK(*err == "about to fail\n");

    CHECK(st[id["timeout"]].state == JobState::kTimeout);
    if (b.name == "slurm")
      CHECK(st[id["oom"]].state ==
            (cgroup ? JobState::kOutOfMemory : JobState::kCompleted));
    if (b.name == "sge") {
      // h_vmem is a setrlimit: the program fails by itself, no OOM state.
      CHECK(st[id["oom"]].state == JobState::kFailed);
    }
    CHECK(st[id["cancel"]].state == JobState::kCancelled);

    const int first_task = b.name == "sge" ? 1 : 0;
    for (int t = first_task; t < first_task + 3; ++t) {
      const JobStatus& s = st[Task(b, id["array"], t)];
      INFO("task " << t);
      CHECK(s.exit_code == t);
      CHECK(s.state == (t == 0 ? JobState::kCompleted : JobState::kFailed));
    }

    CHECK(st[id["first"]].state == JobState::kCompleted);
    CHECK(st[id["after"]].state == JobState::kCompleted);
    if (st[id["after"]].start_time && st[id["first"]].end_time)
      CHECK(*st[id["after"]].start_time >= *st[id["first"]].end_time);
    CHECK(st[id["never"]].state == JobState::kCancelled);
    CHECK_THAT(st[id["never"]].reason, Catch::Contains("DependencyNeverSatisfied"));
    auto never_log = ssh->Stat(dir + "/" + b.name + "/logs/never/deep/out.txt");
    if (never_log.ok()) CHECK(never_log->size == 0);  // Created, never written.

    CHECK(st[id["hostile"]].state == JobState::kCompleted);
    auto value = ssh->ReadFile(dir + "/" + b.name + "/wd/value.txt", 0, 4096);
    REQUIRE(value.ok());
    CHECK(*value == hostile);
  }
  auto c = ssh->Stat(canary);
  CHECK_FALSE(c.ok());  // No layer ran the hostile value through a shell.

  // Unknown ids stay unknown (never "completed").
  for (Backend& b : backends) {
    const std::string unknown = b.name == "host" ? "1700000000-abcdef" : "999999";
    auto q = b.sched->Query({unknown});
    REQUIRE(q.ok());
    REQUIRE(q->size() == 1);
    CHECK((*q)[0].state == JobState::kUnknown);
  }
  // Leave the testbed tidy: the run directory is ours alone.
  remote::RunOptions plain;
  plain.login_shell = false;
  (void)ssh->Run({"rm", "-rf", "--", dir}, plain);
}

// afterany and aftercorr on every backend: Slurm, Grid Engine and host on
// the testbed, local on this machine. A dependency that failed releases an
// afterany job; an aftercorr array runs the elements whose counterparts
// succeeded and has the one whose counterpart failed cancelled.
TEST_CASE("testbed: afterany and aftercorr on slurm, sge, host and local",
          "[integration][slurm][sge][host][local]") {
  testing::Testbed tb = testing::RequireTestbed();
  auto env = testing::ParseEnvSh(tb.dir + "/env.sh");
  const bool with_sge = env["TESTBED_SGE"] != "0";

  auto ssh =
      std::make_shared<remote::OpenSshRemote>(testing::TestbedOpenSsh(tb, 8));
  auto probe = ssh->Run({"true"}, remote::RunOptions{});
  if (!probe.ok() || !probe->ok())
    FAIL("cannot reach the testbed over ssh (" +
         (probe.ok() ? "exit " + std::to_string(probe->exit_code)
                     : probe.status().ToString()) +
         "): run scripts/testbed/up.sh");
  const std::string testbed_dir = RunDir(tb);
  testing::TempDir local_dir;
  REQUIRE_FALSE(local_dir.path().empty());
  auto local = std::make_shared<remote::LocalRemote>();

  struct DepBackend {
    Backend b;
    std::shared_ptr<remote::Remote> files;  // Where its files are.
    std::string dir;
  };
  std::vector<DepBackend> backends;
  for (const char* name : {"slurm", "sge", "host", "local"}) {
    const std::string n = name;
    if (n == "sge" && !with_sge) continue;
    const bool here = n == "local";
    const std::string dir = here ? local_dir.path().string() : testbed_dir;
    ClusterProfile p;
    p.name = "testbed-deps-" + n;
    p.scheduler = n;
    p.work_root = dir + "/" + n + "-root";
    std::unique_ptr<Scheduler> sched;
    if (here) {
      sched = MakeLocalScheduler(p, local);
    } else {
      auto s = MakeScheduler(p, ssh);
      REQUIRE(s.ok());
      sched = std::move(*s);
    }
    std::shared_ptr<remote::Remote> files = ssh;
    if (here) files = local;
    backends.push_back({{n, std::move(sched), {}}, files, dir});
  }

  // Grid Engine numbers array tasks from 1, the others here from 0.
  auto first_task = [](const Backend& b) { return b.name == "sge" ? 1 : 0; };
  for (DepBackend& d : backends) {
    Backend& b = d.b;
    const std::string& n = b.name;
    const int t0 = first_task(b);
    const std::string fail =
        Submit(b, "any-fail", Job(d.dir, n, "any-fail", "sleep 1\nexit 3\n"));
    JobRequest any = Job(d.dir, n, "after-any", "echo after any\n");
    any.after_any = {fail};
    Submit(b, "after-any", any);

    // The middle element fails; each element leaves a file in the workdir.
    const std::string range = std::to_string(t0) + "-" + std::to_string(t0 + 2);
    JobRequest first =
        Job(d.dir, n, "corr-first",
            "sleep 1\n[ \"$HPC_ARRAY_TASK_ID\" = " + std::to_string(t0 + 1) +
                " ] && exit 3\nexit 0\n");
    first.array = range;
    const std::string a = Submit(b, "corr-first", first);
    JobRequest then = Job(d.dir, n, "corr-then",
                          "echo ran > \"corr-ran-$HPC_ARRAY_TASK_ID\"\n");
    then.array = range;
    then.after_corr = {a};
    Submit(b, "corr-then", then);
  }

  std::map<std::string, std::map<std::string, JobStatus>> got;
  for (DepBackend& d : backends) {
    std::vector<std::string> ids;
    for (const auto& [key, id] : d.b.ids) ids.push_back(id);
    // Two jobs and two arrays of three: 8 rows once every task is known.
    got[d.b.name] = WaitTerminal(*d.b.sched, ids, std::chrono::seconds(150),
                                 std::chrono::milliseconds(1000), 8);
  }

  for (DepBackend& d : backends) {
    Backend& b = d.b;
    auto& st = got[b.name];
    auto& id = b.ids;
    INFO("backend " << b.name);
    REQUIRE(st.size() == 8);
    for (const auto& [key, s] : st) {
      INFO(key << " " << JobStateName(s.state) << " native=" << s.native_state
               << " reason=" << s.reason);
      CHECK(IsTerminal(s.state));
    }

    // afterany: released by a failure, and only once it ended.
    const JobStatus& fail = st[id["any-fail"]];
    const JobStatus& any = st[id["after-any"]];
    CHECK(fail.state == JobState::kFailed);
    CHECK(fail.exit_code == 3);
    INFO("after-any: native=" << any.native_state << " reason=" << any.reason);
    CHECK(any.state == JobState::kCompleted);
    REQUIRE(any.start_time.has_value());
    REQUIRE(fail.end_time.has_value());
    CHECK(*any.start_time >= *fail.end_time);

    // aftercorr: element i after element i, run only if that succeeded.
    const int t0 = first_task(b);
    for (int t : {t0, t0 + 2}) {
      const JobStatus& before = st[Task(b, id["corr-first"], t)];
      const JobStatus& after = st[Task(b, id["corr-then"], t)];
      INFO("task " << t << ": " << JobStateName(after.state) << " native="
                   << after.native_state << " reason=" << after.reason);
      CHECK(before.state == JobState::kCompleted);
      CHECK(after.state == JobState::kCompleted);
      REQUIRE(after.start_time.has_value());
      REQUIRE(before.end_time.has_value());
      CHECK(*after.start_time >= *before.end_time);
      auto ran = d.files->Stat(d.dir + "/" + b.name + "/wd/corr-ran-" +
                               std::to_string(t));
      CHECK(ran.ok());
    }
    const int mid = t0 + 1;
    const JobStatus& failed = st[Task(b, id["corr-first"], mid)];
    const JobStatus& held = st[Task(b, id["corr-then"], mid)];
    INFO("middle: native=" << held.native_state << " reason=" << held.reason);
    CHECK(failed.state == JobState::kFailed);
    CHECK(failed.exit_code == 3);
    CHECK(held.state == JobState::kCancelled);
    CHECK_THAT(held.reason, Catch::StartsWith("DependencyNeverSatisfied"));
    if (b.name == "slurm") {
      // Slurm 22.05 under --kill-on-invalid-dep=yes: the element alone is
      // cancelled by the controller (plain CANCELLED, not "by <uid>"),
      // before it ever started, with squeue's reason
      // DependencyNeverSatisfied.
      CHECK(held.native_state == "CANCELLED");
      CHECK_FALSE(held.start_time.has_value());
    }
    if (b.name == "sge") {
      // The element ran only the generated check, which exited 113.
      CHECK(held.exit_code == sge::kDependencyExitStatus);
    }
    auto ran = d.files->Stat(d.dir + "/" + b.name + "/wd/corr-ran-" +
                             std::to_string(mid));
    CHECK_FALSE(ran.ok());
  }

  remote::RunOptions plain;
  plain.login_shell = false;
  (void)ssh->Run({"rm", "-rf", "--", testbed_dir}, plain);
}

TEST_CASE(
    "testbed: slurm and sge reject bad requests with the scheduler message",
    "[integration][slurm][sge]") {
  TestbedDir t;
  for (Backend& b : t.Backends({"slurm", "sge"})) {
    JobRequest r = Job(t.dir, b.name, "rejected", "true\n");
    r.resources.partition = "nope";
    auto res = b.sched->Submit(r);
    INFO(b.name << ": " << (res.ok() ? res->job_id : res.status().ToString()));
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().code() == StatusCode::kInvalidArgument);
    CHECK(res.status().reason() == "submit_rejected");
    CHECK_THAT(res.status().message(), Catch::Contains("nope"));
  }
}

// The testbed has one node, "vm": a retry that avoids it must still run
// (the scheduler refuses the exclusion, the backend drops it). Avoiding a
// node the cluster does not have: Slurm refuses that too (same fallback),
// Grid Engine runs the job with the exclusion.
TEST_CASE("testbed: a job avoiding nodes runs elsewhere, or where it can",
          "[integration][slurm][sge]") {
  TestbedDir t;
  std::vector<Backend> backends = t.Backends({"slurm", "sge"});
  for (Backend& b : backends) {
    // Slurm refuses a node it does not know; Grid Engine takes any name.
    for (auto [key, avoid] :
         {std::pair{"only", "vm"}, std::pair{"other", "vm-other"}}) {
      JobRequest r = Job(t.dir, b.name, key, "hostname\n");
      r.avoid_nodes = {avoid};
      auto res = b.sched->Submit(r);
      INFO(b.name << " " << key << ": "
                  << (res.ok() ? "" : res.status().ToString()));
      REQUIRE(res.ok());
      b.ids[key] = res->job_id;
    }
  }
  for (Backend& b : backends) {
    std::vector<std::string> ids;
    for (const auto& [key, id] : b.ids) ids.push_back(id);
    for (const auto& [id, st] :
         WaitTerminal(*b.sched, ids, std::chrono::seconds(120))) {
      INFO(b.name << " " << id << " " << JobStateName(st.state) << " "
                  << st.reason);
      CHECK(st.state == JobState::kCompleted);
      CHECK_THAT(st.nodes, Catch::Contains("vm"));
    }
  }
}

// The claim protocol (job_request.h) with each backend's real submit
// command: a dispatch still on its way when a newer one claimed the lock
// creates no job; the newer one does, and its tag then finds it alone.
TEST_CASE(
    "testbed: a submit whose lock a newer dispatch claimed creates no job",
    "[integration][slurm][sge][host]") {
  TestbedDir t;
  for (Backend& b : t.Backends({"slurm", "sge", "host"})) {
    const std::string& name = b.name;
    JobRequest late = Job(t.dir, name, "claimed", "true\n");
    late.comment =
        "hpc-mcp-test:" + std::to_string(::getpid()) + ":claimed:" + name;
    // Beside the script, as the submitter places it: the late dispatch had
    // written its script before its submit command left.
    late.submit_lock = t.dir + "/" + name + "/scripts/claimed.submit.lock";
    late.submit_token = NewSubmitToken();
    JobRequest newer = late;
    newer.submit_token = NewSubmitToken();
    auto mk = t.ssh->Run({"mkdir", "-p", "--", t.dir + "/" + name + "/scripts"},
                         t.plain);
    REQUIRE(mk.ok());
    auto claimed = t.ssh->Run(ClaimSubmitLockArgv(newer), t.plain);
    REQUIRE(claimed.ok());
    REQUIRE(claimed->exit_code == 0);

    auto refused = b.sched->Submit(late);
    INFO(
        name << ": "
             << (refused.ok() ? refused->job_id : refused.status().ToString()));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == StatusCode::kUnavailable);
    CHECK(refused.status().reason() == "submit_superseded");
    auto none = b.sched->FindByComment(late.comment);
    REQUIRE(none.ok());
    CHECK(none->empty());

    auto sent = b.sched->Submit(newer);
    INFO((sent.ok() ? sent->job_id : sent.status().ToString()));
    REQUIRE(sent.ok());
    auto found = b.sched->FindByComment(late.comment);
    REQUIRE(found.ok());
    CHECK(*found == std::vector<std::string>{sent->job_id});
    for (const auto& [id, st] :
         WaitTerminal(*b.sched, {sent->job_id}, std::chrono::seconds(120)))
      CHECK(st.state == JobState::kCompleted);
  }
}

}  // namespace
}  // namespace hpc::cluster
