// The Slurm backend against captured real output (tests/testdata/slurm, see
// scripts/testbed/capture.sh) and exact command lines.
#include "tools/cluster/slurm.h"

#include <catch2/catch.hpp>

#include "tests/support/fake_remote.h"
#include "tests/support/testdata.h"
#include "tools/cluster/text.h"

namespace hpc::cluster {
namespace {

using testing::CapturedCommand;
using testing::FakeRemote;
using testing::IsoUtc;
using testing::LoadCapture;
const auto Find = testing::FindJob;

JobRequest Request() {
  JobRequest r;
  r.name = "train-7";
  r.script = "#!/bin/bash\n#SBATCH --exclusive\n\npython train.py\n";
  r.script_path = "/scratch/u/run/job.sh";
  r.workdir = "/scratch/u/run";
  r.stdout_path = "/scratch/u/run/logs/%j.out";
  r.stderr_path = "/scratch/u/run/logs/%j.err";
  return r;
}


TEST_CASE("slurm: every native state maps", "[unit][slurm]") {
  struct Row {
    const char* native;
    JobState state;
  };
  const Row rows[] = {
      {"PENDING", JobState::kPending},        {"CONFIGURING", JobState::kPending},
      {"REQUEUED", JobState::kPending},       {"REQUEUE_HOLD", JobState::kPending},
      {"REQUEUE_FED", JobState::kPending},    {"RESV_DEL_HOLD", JobState::kPending},
      {"RUNNING", JobState::kRunning},        {"COMPLETING", JobState::kRunning},
      {"SUSPENDED", JobState::kRunning},      {"STOPPED", JobState::kRunning},
      {"RESIZING", JobState::kRunning},       {"SIGNALING", JobState::kRunning},
      {"STAGE_OUT", JobState::kRunning},      {"COMPLETED", JobState::kCompleted},
      {"FAILED", JobState::kFailed},          {"SPECIAL_EXIT", JobState::kFailed},
      {"CANCELLED", JobState::kCancelled},    {"CANCELLED by 1001", JobState::kCancelled},
      {"CANCELLED+", JobState::kCancelled},   {"REVOKED", JobState::kCancelled},
      {"TIMEOUT", JobState::kTimeout},        {"DEADLINE", JobState::kTimeout},
      {"OUT_OF_MEMORY", JobState::kOutOfMemory}, {"NODE_FAIL", JobState::kNodeFail},
      {"BOOT_FAIL", JobState::kNodeFail},     {"PREEMPTED", JobState::kPreempted},
      {"PD", JobState::kPending},             {"R", JobState::kRunning},
      {"CG", JobState::kRunning},             {"CD", JobState::kCompleted},
      {"F", JobState::kFailed},               {"CA", JobState::kCancelled},
      {"TO", JobState::kTimeout},             {"OOM", JobState::kOutOfMemory},
      {"NF", JobState::kNodeFail},            {"PR", JobState::kPreempted},
      {"BF", JobState::kNodeFail},            {"DL", JobState::kTimeout},
      {"SOMETHING_NEW", JobState::kUnknown},  {"", JobState::kUnknown},
  };
  for (const auto& row : rows) {
    INFO(row.native);
    CHECK(slurm::MapState(row.native) == row.state);
  }
}

TEST_CASE("slurm: sbatch command line", "[unit][slurm]") {
  JobRequest r = Request();
  CHECK(slurm::SbatchArgv(r) ==
        std::vector<std::string>{"sbatch", "--parsable", "--job-name=train-7",
                                 "--output=/scratch/u/run/logs/%j.out",
                                 "--error=/scratch/u/run/logs/%j.err",
                                 "--chdir=/scratch/u/run",
                                 "/scratch/u/run/job.sh"});
  r.resources.time = "1-00:00:00";
  r.resources.cpus = 8;
  r.resources.mem = "32G";
  r.resources.gpus = 2;
  r.resources.nodes = 1;
  r.resources.partition = "gpu";
  r.resources.account = "proj";
  r.resources.qos = "high";
  r.resources.constraint = "a100|h100";
  r.array = "0-9%2";
  r.after_ok = {"11", "12"};
  r.comment = "run-tag:abc";
  CHECK(slurm::SbatchArgv(r) ==
        std::vector<std::string>{
            "sbatch", "--parsable", "--job-name=train-7",
            "--output=/scratch/u/run/logs/%j.out",
            "--error=/scratch/u/run/logs/%j.err", "--chdir=/scratch/u/run",
            "--time=1-00:00:00", "--nodes=1", "--cpus-per-task=8",
            "--mem=32768M", "--gres=gpu:2", "--partition=gpu",
            "--account=proj", "--qos=high", "--constraint=a100|h100",
            "--array=0-9%2", "--dependency=afterok:11:12",
            "--kill-on-invalid-dep=yes", "--comment=run-tag:abc",
            "/scratch/u/run/job.sh"});
}

TEST_CASE("slurm: afterok, afterany and aftercorr share one --dependency",
          "[unit][slurm]") {
  auto dependency = [](const std::vector<std::string>& argv) {
    std::vector<std::string> deps;
    for (const auto& a : argv)
      if (a.rfind("--dependency", 0) == 0 || a.rfind("--kill-on", 0) == 0)
        deps.push_back(a);
    return deps;
  };
  JobRequest r = Request();
  r.array = "0-2";
  r.after_ok = {"1", "2"};
  r.after_any = {"3"};
  r.after_corr = {"4"};
  CHECK(dependency(slurm::SbatchArgv(r)) ==
        std::vector<std::string>{
            "--dependency=afterok:1:2,afterany:3,aftercorr:4",
            "--kill-on-invalid-dep=yes"});
  // Each kind alone; kill-on-invalid-dep with every one (an afterany on a
  // job that is gone is invalid too).
  JobRequest any = Request();
  any.after_any = {"7", "8_1"};
  CHECK(dependency(slurm::SbatchArgv(any)) ==
        std::vector<std::string>{"--dependency=afterany:7:8_1",
                                 "--kill-on-invalid-dep=yes"});
  JobRequest corr = Request();
  corr.array = "0-9";
  corr.after_corr = {"9", "10"};
  CHECK(dependency(slurm::SbatchArgv(corr)) ==
        std::vector<std::string>{"--dependency=aftercorr:9:10",
                                 "--kill-on-invalid-dep=yes"});
  JobRequest corr_any = Request();
  corr_any.array = "0-9";
  corr_any.after_any = {"5"};
  corr_any.after_corr = {"6"};
  CHECK(dependency(slurm::SbatchArgv(corr_any)) ==
        std::vector<std::string>{"--dependency=afterany:5,aftercorr:6",
                                 "--kill-on-invalid-dep=yes"});
  CHECK(dependency(slurm::SbatchArgv(Request())).empty());
}

TEST_CASE("slurm: env goes into the script as quoted exports", "[unit][slurm]") {
  JobRequest r = Request();
  r.env["LIST"] = "a,b=c";
  r.env["EVIL"] = "'; touch /tmp/canary; echo '$(id)`id`";
  auto s = slurm::RenderScript(r);
  REQUIRE(s.ok());
  // The #SBATCH header stays first; our block follows it.
  CHECK(text::StartsWith(*s, "#!/bin/bash\n#SBATCH --exclusive\n\n# --- hpc-mcp"));
  CHECK_THAT(*s, Catch::Contains("export LIST='a,b=c'\n"));
  CHECK_THAT(*s, Catch::Contains(
                     "export EVIL=''\\''; touch /tmp/canary; echo '\\''$(id)`id`'\n"));
  CHECK_THAT(*s, Catch::EndsWith("# --- end hpc-mcp ---\npython train.py\n"));

  JobRequest py = Request();
  py.script = "#!/usr/bin/env python3\nprint(1)\n";
  CHECK(*slurm::RenderScript(py) == py.script);  // Nothing to insert.
  py.env["A"] = "1";
  CHECK(slurm::RenderScript(py).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("slurm: sbatch output", "[unit][slurm]") {
  CapturedCommand c = LoadCapture("slurm/sbatch_parsable");
  REQUIRE_FALSE(c.out.empty());
  CHECK(*slurm::ParseSbatchOutput(c.out) == text::Trim(c.out));
  CapturedCommand array = LoadCapture("slurm/sbatch_array");
  CHECK(*slurm::ParseSbatchOutput(array.out) == text::Trim(array.out));
  CHECK(*slurm::ParseSbatchOutput("123;testbed\n") == "123");
  CHECK_FALSE(slurm::ParseSbatchOutput("").ok());
  CHECK_FALSE(slurm::ParseSbatchOutput("Submitted batch job 5\n").ok());
}

TEST_CASE("slurm: query command lines", "[unit][slurm]") {
  CHECK(slurm::SqueueArgv({"5", "7"}) ==
        std::vector<std::string>{"squeue", "--noheader", "--array",
                                 "--states=all", "--jobs=5,7",
                                 "--format=%A|%i|%T|%r|%P|%S|%e|%l|%N|%k"});
  CHECK(slurm::SacctArgv({"5", "7_1"}) ==
        std::vector<std::string>{
            "sacct", "--noheader", "--parsable2", "--jobs=5,7_1",
            "--format=JobID,State,ExitCode,Start,End,NodeList,Reason,Comment"});
  CHECK(slurm::ScancelArgv({"5", "7_1"}) ==
        std::vector<std::string>{"scancel", "5", "7_1"});
}

}  // namespace
}  // namespace hpc::cluster

namespace hpc::cluster {
namespace {

// The job ids of every case of the last capture run.
std::map<std::string, std::string> CaseIds() {
  CapturedCommand c = LoadCapture("slurm/sacct_all");
  REQUIRE(c.ids.size() >= 14);
  return c.ids;
}

// The parser gave a time that is literally in the captured text.
void CheckTime(const std::optional<int64_t>& t, const std::string& text) {
  REQUIRE(t.has_value());
  CHECK_THAT(text, Catch::Contains(IsoUtc(*t)));
}

TEST_CASE("slurm: squeue (captured: running, pending reasons)", "[unit][slurm]") {
  CapturedCommand c = LoadCapture("slurm/squeue_busy");
  auto ids = CaseIds();
  auto rows = slurm::ParseSqueue(c.out, 0);
  REQUIRE(rows.size() == text::Lines(c.out).size());
  const JobStatus* begin = Find(rows, LoadCapture("slurm/scancel_pending").last_word());
  REQUIRE(begin);
  CHECK(begin->state == JobState::kPending);
  CHECK(begin->reason == "BeginTime");
  CHECK_FALSE(begin->start_time.has_value());  // An estimate, not a start.
  const JobStatus* never = Find(rows, ids["dep-never"]);
  REQUIRE(never);
  CHECK(never->reason == "DependencyNeverSatisfied");
  const std::string parttime_id(
      text::Trim(LoadCapture("slurm/sbatch_over_partition_time").out));
  const JobStatus* parttime = Find(rows, parttime_id);
  REQUIRE(parttime);
  CHECK(parttime->reason == "PartitionTimeLimit");
  const JobStatus* running = Find(rows, LoadCapture("slurm/scancel_running").last_word());
  REQUIRE(running);
  CHECK(running->state == JobState::kRunning);
  CHECK(running->reason.empty());  // "None"
  CHECK_FALSE(running->nodes.empty());
  CheckTime(running->start_time, c.out);
  CHECK_FALSE(running->end_time.has_value());  // Only the limit so far.
  CHECK_FALSE(running->exit_code.has_value());

  auto completing = slurm::ParseSqueue(LoadCapture("slurm/squeue_after_cancel").out, 0);
  REQUIRE(completing.size() == 1);
  CHECK(completing[0].state == JobState::kRunning);
  CHECK(completing[0].native_state == "COMPLETING");
  CHECK(slurm::ParseSqueue(LoadCapture("slurm/squeue_finished_id").out, 0).empty());
}

TEST_CASE("slurm: squeue of an array, folded and one per task (captured)",
          "[unit][slurm]") {
  const std::string array = std::string(text::Trim(LoadCapture("slurm/sbatch_array").out));
  REQUIRE_FALSE(array.empty());
  for (const char* name : {"slurm/squeue_array", "slurm/squeue_array_r"}) {
    CapturedCommand c = LoadCapture(name);
    INFO(name);
    if (std::string(name) == "slurm/squeue_array")
      CHECK_THAT(c.out, Catch::Contains(array + "_["));  // Folded as captured.
    auto rows = slurm::ParseSqueue(c.out, 0);
    REQUIRE(rows.size() == 5);
    int running = 0;
    for (int t = 0; t <= 4; ++t) {
      const JobStatus* s = Find(rows, array + "_" + std::to_string(t));
      REQUIRE(s);
      if (s->state == JobState::kRunning) ++running;
      else CHECK(s->reason == "JobArrayTaskLimit");
    }
    CHECK(running >= 1);
    CHECK(running <= 2);  // %2
  }
}

TEST_CASE("slurm: sacct with steps, every outcome (captured)", "[unit][slurm]") {
  CapturedCommand c = LoadCapture("slurm/sacct_all_steps");
  auto ids = CaseIds();
  auto rows = slurm::ParseSacct(c.out, 0);
  struct Case {
    const char* key;
    JobState state;
    const char* native;
    int exit;
    int signal;  // 0: none.
  };
  for (const Case& k : std::initializer_list<Case>{
           {"timeout", JobState::kTimeout, "TIMEOUT", 0, 15},
           {"ok", JobState::kCompleted, "COMPLETED", 0, 0},
           {"exit3", JobState::kFailed, "FAILED", 3, 0},
           {"badout", JobState::kFailed, "FAILED", 0, 53},
           {"oom", JobState::kOutOfMemory, "OUT_OF_MEMORY", 0, 125},
           {"cancel-running", JobState::kCancelled, "CANCELLED by 1001", 0, 15},
           {"cancel-pending", JobState::kCancelled, "CANCELLED by 1001", 0, 0},
           {"dep-first", JobState::kCompleted, "COMPLETED", 0, 0},
           {"dep-afterok", JobState::kCompleted, "COMPLETED", 0, 0},
           {"preempted", JobState::kPreempted, "PREEMPTED", 0, 15},
           {"preemptor", JobState::kCompleted, "COMPLETED", 0, 0}}) {
    INFO(k.key);
    const JobStatus* s = Find(rows, ids[k.key]);
    REQUIRE(s);
    CHECK(s->state == k.state);
    CHECK(s->native_state == k.native);
    CHECK(s->exit_code == k.exit);
    if (k.signal) CHECK(s->signal == k.signal);
    else CHECK_FALSE(s->signal.has_value());
  }
  // Task i of the array exits i.
  for (int t = 0; t <= 4; ++t) {
    const JobStatus* s = Find(rows, ids["array"] + "_" + std::to_string(t));
    REQUIRE(s);
    CHECK(s->exit_code == t);
    CHECK(s->state == (t == 0 ? JobState::kCompleted : JobState::kFailed));
  }
  // Steps fold into their jobs: one status per job or task.
  CHECK(rows.size() == 18);
  for (const auto& s : rows) CHECK(s.job_id.find('.') == std::string::npos);
  const JobStatus* badout = Find(rows, ids["badout"]);
  CHECK_THAT(badout->reason, Catch::Contains("signal 53"));
  CheckTime(badout->start_time, c.out);
  CheckTime(badout->end_time, c.out);
  const JobStatus* pending_cancel = Find(rows, ids["cancel-pending"]);
  CHECK_FALSE(pending_cancel->start_time.has_value());  // "None"
  CHECK(pending_cancel->nodes.empty());                 // "None assigned"
  CheckTime(pending_cancel->end_time, c.out);
  const JobStatus* never = Find(rows, ids["dep-never"]);
  CHECK(never->state == JobState::kPending);
  CHECK(never->reason == "DependencyNeverSatisfied");
  CHECK_FALSE(never->start_time.has_value());  // "Unknown"
  CHECK(Find(rows, ids["dep-afterok"])->reason.empty());  // Stale "Dependency".
}

TEST_CASE("slurm: a folded array record does not overwrite its tasks' own rows (captured)",
          "[unit][slurm]") {
  // Element 0 ran and failed; element 1 was cancelled while pending. The
  // folded "5943_[0-1]" row comes after 5943_0's own row.
  auto c = LoadCapture("slurm/sacct_aftercorr_folded");
  REQUIRE_FALSE(c.command.empty());
  auto rows = slurm::ParseSacct(c.out, 0);
  REQUIRE(rows.size() == 2);
  const JobStatus* ran = Find(rows, "5943_0");
  REQUIRE(ran);
  CHECK(ran->state == JobState::kFailed);
  CHECK(ran->exit_code == 3);
  const JobStatus* never = Find(rows, "5943_1");
  REQUIRE(never);
  CHECK(never->state == JobState::kCancelled);
  CHECK_FALSE(never->start_time.has_value());
}

TEST_CASE(
    "slurm: a folded cancel record ahead of a task's own does not end the task",
    "[unit][slurm]") {
  // Two aftercorr arrays of a sweep: element 0 ran (a_0 completed, b_0
  // failed with exit 3), element 1 was cancelled while pending.
  auto q = LoadCapture("extra/slurm/squeue_aftercorr_ended");
  auto acct = LoadCapture("extra/slurm/sacct_aftercorr_ended");
  const std::string a = q.ids["a"], b = q.ids["b"];
  const auto queue = slurm::ParseSqueue(q.out, 0);
  const std::vector<std::string> ids = {a, b};

  // All of sacct: each element 0's own rows, then the folded "_[0-1]".
  auto all = slurm::Merge(ids, queue, slurm::ParseSacct(acct.out, 0));
  REQUIRE(all.size() == 4);
  CHECK(Find(all, a + "_0")->state == JobState::kCompleted);
  CHECK(Find(all, b + "_0")->state == JobState::kFailed);
  CHECK(Find(all, b + "_0")->exit_code == 3);
  CHECK(Find(all, a + "_1")->state == JobState::kCancelled);
  CHECK_THAT(Find(all, a + "_1")->reason,
             Catch::StartsWith("DependencyNeverSatisfied"));

  // What a poll read on the testbed a moment earlier: element 0's own rows
  // had not reached sacct yet (the same capture without them), so the
  // folded row was all sacct had for it. The queue knows better.
  std::string lagging;
  for (std::string_view line : text::Lines(acct.out))
    if (line.rfind(a + "_0", 0) != 0 && line.rfind(b + "_0", 0) != 0)
      lagging += std::string(line) + "\n";
  REQUIRE(lagging.find("_[0-1]") != std::string::npos);
  auto early = slurm::Merge(ids, queue, slurm::ParseSacct(lagging, 0));
  REQUIRE(early.size() == 4);
  CHECK(Find(early, a + "_0")->state == JobState::kCompleted);
  CHECK(Find(early, b + "_0")->state == JobState::kFailed);
  CHECK_FALSE(
      Find(early, b + "_0")->exit_code.has_value());  // Asked of scontrol.
  CHECK(Find(early, a + "_1")->state == JobState::kCancelled);
  CHECK(Find(early, b + "_1")->state == JobState::kCancelled);
}

TEST_CASE("slurm: sacct -X rows (captured)", "[unit][slurm]") {
  auto ids = CaseIds();
  auto rows = slurm::ParseSacct(LoadCapture("slurm/sacct_all").out, 0);
  CHECK(rows.size() == 18);
  CHECK(Find(rows, ids["timeout"])->state == JobState::kTimeout);
  CHECK_FALSE(Find(rows, ids["timeout"])->signal.has_value());  // No step rows.
  auto array = slurm::ParseSacct(LoadCapture("slurm/sacct_array").out, 0);
  CHECK(array.size() == 5);
  auto pending = slurm::ParseSacct(LoadCapture("slurm/sacct_pending").out, 0);
  for (const auto& s : pending) CHECK(s.state == JobState::kPending);
  CHECK(slurm::ParseSacct(LoadCapture("slurm/sacct_unknown_id").out, 0).empty());
  auto forever =
      slurm::ParseSacct(LoadCapture("slurm/sacct_cancelled_pending_forever").out, 0);
  REQUIRE(forever.size() == 2);
  const JobStatus* never = Find(forever, ids["dep-never"]);
  REQUIRE(never);
  CHECK(never->state == JobState::kCancelled);
  CHECK(never->reason == "DependencyNeverSatisfied");
}

// `scontrol -o show job` without an id prints the same one-line records as
// with one, for every job the controller holds: the per-job captures,
// concatenated, are that output.
std::string ScontrolAll() {
  std::string all;
  for (const char* c : {"ok", "exit3", "badout", "oom", "timeout", "preempted",
                        "cancelled_running", "cancelled_pending", "dep_afterok",
                        "array_running", "pending_each"})
    all += LoadCapture(std::string("slurm/scontrol_show_job_") + c).out;
  return all;
}

TEST_CASE("slurm: scontrol show job -o (captured)", "[unit][slurm]") {
  auto ids = CaseIds();
  auto id = [](const char* c) {
    return LoadCapture(std::string("slurm/scontrol_show_job_") + c).last_word();
  };
  auto rows = slurm::ParseScontrol(ScontrolAll(), 0);
  const JobStatus* badout = Find(rows, id("badout"));
  REQUIRE(badout);
  CHECK(badout->state == JobState::kFailed);
  CHECK(badout->signal == 53);
  CHECK(badout->reason.rfind("JobLaunchFailure", 0) == 0);
  REQUIRE(Find(rows, id("timeout")));
  CHECK(Find(rows, id("timeout"))->state == JobState::kTimeout);
  CHECK(Find(rows, id("timeout"))->signal == 15);
  CHECK(Find(rows, id("exit3"))->exit_code == 3);
  CHECK(Find(rows, id("exit3"))->reason == "NonZeroExitCode");
  CHECK(Find(rows, id("oom"))->state == JobState::kOutOfMemory);
  CHECK(Find(rows, id("oom"))->signal == 125);
  CHECK(Find(rows, id("cancelled_running"))->state == JobState::kCancelled);
  CHECK(Find(rows, id("cancelled_running"))->signal == 15);
  CHECK(Find(rows, id("cancelled_pending"))->state == JobState::kCancelled);
  CHECK(Find(rows, id("preempted"))->state == JobState::kPreempted);
  CHECK(Find(rows, id("ok"))->state == JobState::kCompleted);
  CHECK(Find(rows, id("dep_afterok"))->state == JobState::kCompleted);

  CapturedCommand running = LoadCapture("slurm/scontrol_show_job_running");
  auto one = slurm::ParseScontrol(running.out, 0);
  REQUIRE(one.size() == 1);
  CHECK(one[0].state == JobState::kRunning);
  CHECK_FALSE(one[0].exit_code.has_value());
  CheckTime(one[0].start_time, running.out);
  CHECK_FALSE(one[0].end_time.has_value());  // scontrol's is the limit.

  auto pending = slurm::ParseScontrol(LoadCapture("slurm/scontrol_show_job_pending_each").out, 0);
  REQUIRE(pending.size() == 4);
  for (const auto& s : pending) {
    CHECK(s.state == JobState::kPending);
    CHECK_FALSE(s.reason.empty());
    CHECK_FALSE(s.start_time.has_value());  // A future estimate at most.
  }

  // Array tasks are named <array job>_<task>, never by their raw job ids;
  // the pending remainder ("ArrayTaskId=2-4%2") expands.
  CapturedCommand running_array = LoadCapture("slurm/scontrol_show_job_array_running");
  auto array = slurm::ParseScontrol(running_array.out, 0);
  REQUIRE(array.size() == 5);
  const std::string a = running_array.last_word();
  for (int t = 0; t <= 4; ++t) REQUIRE(Find(array, a + "_" + std::to_string(t)));
  CHECK(Find(array, a + "_4")->state == JobState::kPending);
  CHECK(Find(array, a + "_4")->reason == "JobArrayTaskLimit");
  CHECK(Find(array, a + "_0")->state == JobState::kRunning);
  CheckTime(Find(array, a + "_0")->start_time, running_array.out);
  CHECK_FALSE(Find(array, a));
  CHECK(slurm::ParseScontrol(LoadCapture("slurm/scontrol_show_job_unknown").out, 0).empty());
}

TEST_CASE("slurm: errors name the cause (captured)", "[unit][slurm]") {
  Status down = slurm::CommandError(
      "squeue", LoadCapture("slurm/squeue_ctld_down").result(), "fake");
  CHECK(down.code() == StatusCode::kUnavailable);
  CHECK(down.reason() == "scheduler_unavailable");
  CHECK(down.retry_safe());
  CHECK_THAT(down.remediation(), Catch::Contains("slurmctld"));
  CHECK(slurm::CommandError("sbatch", LoadCapture("slurm/sbatch_ctld_down").result(),
                            "fake")
            .reason() == "scheduler_unavailable");
  Status part = slurm::CommandError(
      "sbatch", LoadCapture("slurm/sbatch_bad_partition").result(), "fake");
  CHECK(part.code() == StatusCode::kInvalidArgument);
  CHECK(part.reason() == "submit_rejected");
  CHECK_THAT(part.message(), Catch::Contains("invalid partition specified: nope"));
  Status mem = slurm::CommandError(
      "sbatch", LoadCapture("slurm/sbatch_too_much_memory").result(), "fake");
  CHECK(mem.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(mem.message(), Catch::Contains("Memory specification can not be satisfied"));
}

ClusterProfile SlurmProfile() {
  ClusterProfile p;
  p.name = "site";
  p.scheduler = "slurm";
  return p;
}

void Answer(FakeRemote& remote, const std::string& command, const CapturedCommand& c) {
  remote.Answer(command, c.out, c.err, c.rc);
}

TEST_CASE("slurm: submit writes the script, creates log dirs, runs sbatch",
          "[unit][slurm]") {
  auto remote = std::make_shared<FakeRemote>();
  CapturedCommand ok = LoadCapture("slurm/sbatch_parsable");
  Answer(*remote, "sbatch", ok);
  auto sched = MakeSlurmScheduler(SlurmProfile(), remote);
  JobRequest r = Request();
  r.env["A"] = "1";
  auto res = sched->Submit(r);
  REQUIRE(res.ok());
  CHECK(res->job_id == text::Trim(ok.out));
  CHECK(remote->mode("/scratch/u/run/job.sh") == 0755);
  CHECK_THAT(remote->file("/scratch/u/run/job.sh"), Catch::Contains("export A=1\n"));
  auto runs = remote->runs();
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].argv == std::vector<std::string>{"mkdir", "-p", "--",
                                                 "/scratch/u/run",
                                                 "/scratch/u/run/logs"});
  CHECK_FALSE(runs[0].options.login_shell);
  CHECK(runs[1].argv == slurm::SbatchArgv(r));
  CHECK(runs[1].options.login_shell);  // sbatch may need module loads.

  JobRequest bad = Request();
  bad.stdout_path = "/scratch/u/%j/out";
  CHECK(sched->Submit(bad).status().code() == StatusCode::kInvalidArgument);

  auto rejecting = std::make_shared<FakeRemote>();
  Answer(*rejecting, "sbatch", LoadCapture("slurm/sbatch_bad_partition"));
  auto rejected = MakeSlurmScheduler(SlurmProfile(), rejecting)->Submit(Request());
  CHECK(rejected.status().code() == StatusCode::kInvalidArgument);
  CHECK(rejected.status().reason() == "submit_rejected");
}

TEST_CASE("slurm: a retry excludes nodes, unless no other node could run it",
          "[unit][slurm]") {
  JobRequest r = Request();
  r.avoid_nodes = {"vm", "gpu[01-02]"};
  auto argv = slurm::SbatchArgv(r);
  CHECK(std::find(argv.begin(), argv.end(), "--exclude=vm,gpu[01-02]") !=
        argv.end());
  CHECK(argv.back() == r.script_path);

  CapturedCommand only = LoadCapture("extra/slurm/sbatch_exclude_only_node");
  CapturedCommand gone = LoadCapture("extra/slurm/sbatch_exclude_unknown_node");
  CHECK(slurm::ExcludedEveryNode(only.result()));
  CHECK(slurm::ExcludedEveryNode(gone.result()));
  CHECK_FALSE(slurm::ExcludedEveryNode(
      LoadCapture("slurm/sbatch_bad_partition").result()));
  CHECK_FALSE(
      slurm::ExcludedEveryNode(LoadCapture("slurm/sbatch_parsable").result()));

  for (const CapturedCommand* refused : {&only, &gone}) {
    INFO(refused->name);
    auto remote = std::make_shared<FakeRemote>();
    CapturedCommand ok = LoadCapture("slurm/sbatch_parsable");
    Answer(*remote, "sbatch", *refused);
    Answer(*remote, "sbatch", ok);
    JobRequest retry = Request();
    retry.avoid_nodes = {"vm"};
    auto res = MakeSlurmScheduler(SlurmProfile(), remote)->Submit(retry);
    INFO((res.ok() ? "" : res.status().ToString()));
    REQUIRE(res.ok());
    CHECK(res->job_id == text::Trim(ok.out));
    auto sbatch = remote->runs_of("sbatch");
    REQUIRE(sbatch.size() == 2);
    CHECK(std::find(sbatch[0].begin(), sbatch[0].end(), "--exclude=vm") !=
          sbatch[0].end());
    CHECK(sbatch[1] == slurm::SbatchArgv(Request()));
  }

  // Without avoided nodes the same refusal is the job's own: no second try.
  auto remote = std::make_shared<FakeRemote>();
  Answer(*remote, "sbatch", only);
  auto res = MakeSlurmScheduler(SlurmProfile(), remote)->Submit(Request());
  CHECK(res.status().reason() == "submit_rejected");
  CHECK(remote->runs_of("sbatch").size() == 1);
}

TEST_CASE("slurm: query asks squeue once and sacct once", "[unit][slurm]") {
  auto ids = CaseIds();
  auto remote = std::make_shared<FakeRemote>();
  Answer(*remote, "squeue", LoadCapture("slurm/squeue_array"));
  Answer(*remote, "sacct", LoadCapture("slurm/sacct_all_steps"));
  auto sched = MakeSlurmScheduler(SlurmProfile(), remote);
  const std::string a = ids["array"];
  auto q = sched->Query({ids["exit3"], a, "999999"});
  REQUIRE(q.ok());
  std::vector<std::string> got;
  for (const auto& s : *q) got.push_back(s.job_id);
  CHECK(got == std::vector<std::string>{ids["exit3"], a + "_0", a + "_1", a + "_2",
                                        a + "_3", a + "_4", "999999"});
  CHECK(Find(*q, ids["exit3"])->state == JobState::kFailed);
  // The queue (captured while the array ran) wins over accounting.
  CHECK(Find(*q, a + "_4")->state == JobState::kPending);
  CHECK(Find(*q, "999999")->state == JobState::kUnknown);  // Never completed.
  auto runs = remote->runs();
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].argv == slurm::SqueueArgv({ids["exit3"], a, "999999"}));
  CHECK(runs[1].argv == slurm::SacctArgv({ids["exit3"], a, "999999"}));
  CHECK(runs[0].options.env.at("SLURM_TIME_FORMAT") == "%s");
}

TEST_CASE("slurm: ended jobs take the queue's reason and sacct's exit code",
          "[unit][slurm]") {
  auto ids = CaseIds();
  auto remote = std::make_shared<FakeRemote>();
  CapturedCommand queue = LoadCapture("slurm/squeue_states_all");
  Answer(*remote, "squeue", queue);
  Answer(*remote, "sacct", LoadCapture("slurm/sacct_all_steps"));
  auto sched = MakeSlurmScheduler(SlurmProfile(), remote);
  // Jobs of the last capture run that the controller still held.
  std::vector<std::string> want;
  for (const char* k : {"exit3", "badout", "timeout", "oom"})
    if (text::Contains(queue.out, "|" + ids[k] + "|")) want.push_back(ids[k]);
  REQUIRE(want.size() == 4);
  auto q = sched->Query(want);
  REQUIRE(q.ok());
  REQUIRE(q->size() == 4);
  CHECK((*q)[0].reason == "NonZeroExitCode");  // sacct says "None".
  CHECK((*q)[0].exit_code == 3);
  CHECK((*q)[1].reason.rfind("JobLaunchFailure: ", 0) == 0);
  CHECK((*q)[1].signal == 53);
  CHECK((*q)[2].reason == "TimeLimit");
  CHECK((*q)[2].signal == 15);  // From the batch step.
  CHECK((*q)[3].reason == "OutOfMemory");
  CHECK((*q)[3].state == JobState::kOutOfMemory);
  CHECK(remote->runs_of("scontrol").empty());  // sacct had every exit code.
}

TEST_CASE("slurm: ended in the queue, not yet in sacct: scontrol has the exit",
          "[unit][slurm]") {
  auto ids = CaseIds();
  auto remote = std::make_shared<FakeRemote>();
  Answer(*remote, "squeue", LoadCapture("slurm/squeue_states_all"));
  remote->Answer("sacct", "");  // Lagging.
  CapturedCommand one = LoadCapture("slurm/scontrol_show_job_exit3");
  Answer(*remote, "scontrol", one);
  const std::string exit3 = one.last_word();
  REQUIRE(exit3 == ids["exit3"]);
  auto q = MakeSlurmScheduler(SlurmProfile(), remote)->Query({exit3});
  REQUIRE(q.ok());
  REQUIRE(q->size() == 1);
  CHECK((*q)[0].state == JobState::kFailed);
  CHECK((*q)[0].exit_code == 3);
  REQUIRE(remote->runs_of("scontrol").size() == 1);
  CHECK(remote->runs_of("scontrol")[0] == slurm::ScontrolArgv(exit3));
}

TEST_CASE("slurm: a failed afterok dependency cancels the job (captured by hand)",
          "[unit][slurm]") {
  CapturedCommand queue = LoadCapture("extra/slurm/squeue_kill_on_invalid_dep");
  CapturedCommand acct = LoadCapture("extra/slurm/sacct_kill_on_invalid_dep");
  const std::string fail = acct.ids.at("fail"), never = acct.ids.at("never");
  auto remote = std::make_shared<FakeRemote>();
  Answer(*remote, "squeue", queue);
  Answer(*remote, "sacct", acct);
  auto q = MakeSlurmScheduler(SlurmProfile(), remote)->Query({fail, never});
  REQUIRE(q.ok());
  REQUIRE(q->size() == 2);
  CHECK((*q)[0].state == JobState::kFailed);
  CHECK((*q)[0].exit_code == 1);
  CHECK((*q)[0].reason == "NonZeroExitCode");
  REQUIRE((*q)[0].start_time.has_value());  // Epoch seconds, as asked.
  CHECK_THAT(queue.out, Catch::Contains(std::to_string(*(*q)[0].start_time)));
  CHECK((*q)[1].state == JobState::kCancelled);
  CHECK((*q)[1].native_state == "CANCELLED");
  CHECK((*q)[1].reason.rfind("DependencyNeverSatisfied: ", 0) == 0);
  CHECK_FALSE((*q)[1].start_time.has_value());  // It never started.
  // sacct alone says "None"; the reason comes from the queue.
  auto acct_only = slurm::ParseSacct(acct.out, 0);
  CHECK(Find(acct_only, never)->reason.empty());
}

TEST_CASE("slurm: a purged id alone makes squeue fail; that is not an error",
          "[unit][slurm]") {
  auto remote = std::make_shared<FakeRemote>();
  Answer(*remote, "squeue", LoadCapture("slurm/squeue_unknown_id"));
  Answer(*remote, "sacct", LoadCapture("slurm/sacct_unknown_id"));
  auto q = MakeSlurmScheduler(SlurmProfile(), remote)->Query({"999999"});
  REQUIRE(q.ok());
  REQUIRE(q->size() == 1);
  CHECK((*q)[0].state == JobState::kUnknown);
}

TEST_CASE("slurm: an unreachable controller is scheduler_unavailable",
          "[unit][slurm]") {
  auto remote = std::make_shared<FakeRemote>();
  Answer(*remote, "squeue", LoadCapture("slurm/squeue_ctld_down"));
  auto q = MakeSlurmScheduler(SlurmProfile(), remote)->Query({"5"});
  REQUIRE_FALSE(q.ok());
  CHECK(q.status().reason() == "scheduler_unavailable");
  CHECK_THAT(q.status().remediation(), Catch::Contains("slurmctld"));
}

TEST_CASE("slurm: without accounting, scontrol answers", "[unit][slurm]") {
  auto remote = std::make_shared<FakeRemote>();
  remote->Answer("squeue", "");
  remote->Answer("sacct", "", "sacct: error: Slurm accounting storage is disabled\n", 1);
  remote->Answer("scontrol", ScontrolAll());
  auto sched = MakeSlurmScheduler(SlurmProfile(), remote);
  const std::string exit3 = LoadCapture("slurm/scontrol_show_job_exit3").last_word();
  const std::string timeout = LoadCapture("slurm/scontrol_show_job_timeout").last_word();
  for (int i = 0; i < 2; ++i) {
    auto q = sched->Query({exit3, timeout});
    REQUIRE(q.ok());
    REQUIRE(q->size() == 2);
    CHECK((*q)[0].exit_code == 3);
    CHECK((*q)[1].state == JobState::kTimeout);
  }
  CHECK(remote->runs_of("sacct").size() == 1);  // Remembered.
  CHECK(remote->runs_of("scontrol").size() == 2);
  CHECK(remote->runs_of("scontrol")[0] == slurm::ScontrolArgv(""));
}

TEST_CASE("slurm: cancel", "[unit][slurm]") {
  auto remote = std::make_shared<FakeRemote>();
  auto sched = MakeSlurmScheduler(SlurmProfile(), remote);
  CHECK(sched->Cancel({"5", "7_2"}).ok());
  CHECK(remote->runs_of("scancel")[0] ==
        std::vector<std::string>{"scancel", "5", "7_2"});
  CHECK(sched->Cancel({"-v"}).code() == StatusCode::kInvalidArgument);
}

// The words of a captured command line, single quotes removed (no captured
// word holds a space).
std::vector<std::string> Words(const std::string& command) {
  std::vector<std::string> out;
  for (std::string_view w : text::Split(command, ' ')) {
    std::string word;
    for (char c : w)
      if (c != '\'') word += c;
    if (!word.empty()) out.push_back(word);
  }
  return out;
}

TEST_CASE("slurm: find by comment, squeue and sacct rows (captured by hand)",
          "[unit][slurm]") {
  CapturedCommand q = LoadCapture("extra/slurm/squeue_find_comment");
  CapturedCommand a = LoadCapture("extra/slurm/sacct_find_comment");
  REQUIRE_FALSE(q.out.empty());
  REQUIRE_FALSE(a.out.empty());
  CHECK(Words(q.command) == slurm::SqueueCommentsArgv());
  CHECK(Words(a.command) == slurm::SacctCommentsArgv(30));
  auto id = q.ids;
  REQUIRE(id.size() == 7);
  REQUIRE(a.ids == id);
  const std::string tag = "hpc-mcp:" + id["tag"] + ":";
  using V = std::vector<std::string>;
  for (const CapturedCommand* c : {&q, &a}) {
    INFO(c->name);
    // Every task row of the array, running, done or folded, is the array.
    CHECK(slurm::ParseCommentRows(c->out, tag + "array") == V{id["array"]});
    CHECK(slurm::ParseCommentRows(c->out, tag + "run|a b") == V{id["run"]});
    CHECK(slurm::ParseCommentRows(c->out, tag + "pending") == V{id["pending"]});
    CHECK(slurm::ParseCommentRows(c->out, tag + "dup") ==
          V{id["done"], id["dup"]});
    // Exact: neither a prefix nor an extension matches.
    CHECK(slurm::ParseCommentRows(c->out, tag + "run").empty());
    CHECK(slurm::ParseCommentRows(c->out, tag + "array ").empty());
    CHECK(slurm::ParseCommentRows(c->out, tag + "nope").empty());
  }
  // The job without a comment is "(null)" in the queue and empty in sacct.
  CHECK_THAT(q.out, Catch::Contains(id["none"] + "|(null)\n"));
  CHECK_THAT(a.out, Catch::Contains(id["none"] + "|\n"));

  CHECK(
      slurm::ParseCommentRows("7_[1-4%2]|x\n7_0|x\n8.batch|x\n9+1|x\nab|x\n|x\n"
                              "10|x \n11|x\r\n",
                              "x") == V{"7", "8", "9", "11"});
}

TEST_CASE("slurm: find by comment asks squeue and sacct once each",
          "[unit][slurm]") {
  CapturedCommand q = LoadCapture("extra/slurm/squeue_find_comment");
  CapturedCommand a = LoadCapture("extra/slurm/sacct_find_comment");
  auto id = q.ids;
  const std::string tag = "hpc-mcp:" + id["tag"] + ":";
  using V = std::vector<std::string>;

  auto remote = std::make_shared<FakeRemote>();
  remote->Answer("squeue", q.out);
  remote->Answer("sacct", a.out);
  auto sched = MakeSlurmScheduler(SlurmProfile(), remote);
  auto found = sched->FindByComment(tag + "dup");
  REQUIRE(found.ok());
  CHECK(*found == V{id["done"], id["dup"]});
  REQUIRE(remote->runs_of("squeue").size() == 1);
  CHECK(remote->runs_of("squeue")[0] == slurm::SqueueCommentsArgv());
  REQUIRE(remote->runs_of("sacct").size() == 1);
  CHECK(remote->runs_of("sacct")[0] ==
        slurm::SacctCommentsArgv(slurm::kFindByCommentDays));
  auto none = sched->FindByComment(tag + "never-submitted");
  REQUIRE(none.ok());
  CHECK(none->empty());

  // Ended before the queue was asked: accounting alone knows it.
  auto ended = std::make_shared<FakeRemote>();
  ended->Answer("squeue", "");
  ended->Answer("sacct", a.out);
  auto from_acct =
      MakeSlurmScheduler(SlurmProfile(), ended)->FindByComment(tag + "array");
  REQUIRE(from_acct.ok());
  CHECK(*from_acct == V{id["array"]});

  // No accounting: the queue is the answer, and sacct is not asked again.
  auto no_acct = std::make_shared<FakeRemote>();
  no_acct->Answer("squeue", q.out);
  no_acct->Answer("sacct", "",
                  "sacct: error: Slurm accounting storage is disabled\n", 1);
  auto s2 = MakeSlurmScheduler(SlurmProfile(), no_acct);
  for (int i = 0; i < 2; ++i) {
    auto r = s2->FindByComment(tag + "run|a b");
    REQUIRE(r.ok());
    CHECK(*r == V{id["run"]});
  }
  CHECK(no_acct->runs_of("sacct").size() == 1);

  // Any other sacct failure is an error: the answer would be partial.
  auto dbd_down = std::make_shared<FakeRemote>();
  dbd_down->Answer("squeue", q.out);
  dbd_down->Answer(
      "sacct", "",
      "sacct: error: Problem talking to the database: Connection refused\n", 1);
  auto partial =
      MakeSlurmScheduler(SlurmProfile(), dbd_down)->FindByComment(tag + "dup");
  CHECK_FALSE(partial.ok());

  CapturedCommand down = LoadCapture("slurm/squeue_ctld_down");
  auto ctld_down = std::make_shared<FakeRemote>();
  ctld_down->Answer("squeue", down.out, down.err, down.rc);
  auto unreachable =
      MakeSlurmScheduler(SlurmProfile(), ctld_down)->FindByComment(tag + "dup");
  REQUIRE_FALSE(unreachable.ok());
  CHECK(unreachable.status().reason() == "scheduler_unavailable");
  CHECK(ctld_down->runs_of("sacct").empty());

  for (const char* bad : {"", "(null)", "a\nb"}) {
    auto r = sched->FindByComment(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
  }
  CHECK(remote->runs_of("squeue").size() == 2);  // Nothing run for those.
}

TEST_CASE("slurm: job ids an agent may name, and the owner query",
          "[unit][slurm]") {
  for (const char* ok : {"1", "12345", "12345_7", "999999999999_123456789"})
    CHECK(slurm::IsJobId(ok));
  for (const char* bad : {"", "_1", "12_", "12__3", "1,2", "-1", "1 2", "12;rm",
                          "1234567890123", "12_3_4", "12.batch", "$(id)"})
    CHECK_FALSE(slurm::IsJobId(bad));
  CHECK(slurm::SqueueOwnerArgv("12_3") ==
        std::vector<std::string>{"squeue", "--noheader", "--jobs=12_3",
                                 "--format=%u"});
}

}  // namespace
}  // namespace hpc::cluster
