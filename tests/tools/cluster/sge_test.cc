// The Grid Engine backend against captured real output (tests/testdata/sge,
// see scripts/testbed/capture.sh) and exact command lines.
#include "tools/cluster/sge.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>

#include "tests/support/fake_remote.h"
#include "tests/support/subprocess.h"
#include "tests/support/testdata.h"
#include "tools/cluster/mini_xml.h"
#include "tools/cluster/text.h"
#include "tools/remote/local_process.h"

namespace hpc::cluster {
namespace {

using testing::CapturedCommand;
using testing::FakeRemote;
using testing::IsoUtc;
using testing::LoadCapture;
using testing::TempDir;
const auto Find = testing::FindJob;

JobRequest Request() {
  JobRequest r;
  r.name = "train-7";
  r.script = "#!/bin/bash\n#$ -notify\n\npython train.py\n";
  r.script_path = "/scratch/u/run/job.sh";
  r.workdir = "/scratch/u/run";
  r.stdout_path = "/scratch/u/run/logs/out.txt";
  r.stderr_path = "/scratch/u/run/logs/err.txt";
  return r;
}


TEST_CASE("sge: qstat state letters", "[unit][sge]") {
  struct Row {
    const char* letters;
    JobState state;
  };
  for (const Row& row : std::initializer_list<Row>{
           {"qw", JobState::kPending},   {"hqw", JobState::kPending},
           {"hRwq", JobState::kPending}, {"r", JobState::kRunning},
           {"t", JobState::kRunning},    {"Rr", JobState::kRunning},
           {"s", JobState::kRunning},    {"S", JobState::kRunning},
           {"dr", JobState::kRunning},   {"Eqw", JobState::kFailed},
           {"Ehqw", JobState::kFailed},  {"", JobState::kUnknown}}) {
    INFO(row.letters);
    CHECK(sge::MapQstatState(row.letters) == row.state);
  }
}

TEST_CASE("sge: accounting records map to states", "[unit][sge]") {
  CHECK(sge::MapAccounting("0", 0).state == JobState::kCompleted);
  auto failed = sge::MapAccounting("0", 3);
  CHECK(failed.state == JobState::kFailed);
  CHECK(failed.exit_code == 3);
  auto hrt = sge::MapAccounting("37  : qmaster enforced h_rt, h_cpu, or h_vmem limit", 137);
  CHECK(hrt.state == JobState::kTimeout);
  CHECK(hrt.signal == 9);
  auto killed = sge::MapAccounting("100 : assumedly after job", 137);
  CHECK(killed.state == JobState::kFailed);
  CHECK(killed.signal == 9);
  CHECK_THAT(killed.reason, Catch::Contains("qdel"));
  auto launch = sge::MapAccounting("26  : opening input/output file", 0);
  CHECK(launch.state == JobState::kFailed);
  CHECK_THAT(launch.reason, Catch::Contains("failed to launch"));
  CHECK_THAT(launch.reason, Catch::Contains("opening input/output file"));
}

TEST_CASE("sge: qsub command line", "[unit][sge]") {
  JobRequest r = Request();
  CHECK(*sge::QsubArgv(r) ==
        std::vector<std::string>{"qsub", "-terse", "-N", "train-7", "-o",
                                 "/scratch/u/run/logs/out.txt", "-e",
                                 "/scratch/u/run/logs/err.txt", "-wd",
                                 "/scratch/u/run", "-S", "/bin/bash",
                                 "/scratch/u/run/job.sh"});
  r.stderr_path = r.stdout_path;
  r.resources.time = "1-02:00:00";
  r.resources.mem = "8G";
  r.resources.cpus = 4;
  r.resources.gpus = 1;
  r.resources.partition = "gpu.q";
  r.resources.account = "proj";
  r.array = "1-10:2%3";
  r.after_ok = {"11", "12.3", "12.4"};
  r.comment = "run-tag:abc";
  CHECK(*sge::QsubArgv(r) ==
        std::vector<std::string>{
            "qsub", "-terse", "-N", "train-7", "-o",
            "/scratch/u/run/logs/out.txt", "-j", "y", "-wd", "/scratch/u/run",
            "-S", "/bin/bash", "-q", "gpu.q", "-A", "proj", "-l",
            "h_rt=26:00:00", "-l", "h_vmem=2048M", "-pe", "smp", "4", "-l",
            "gpu=1", "-t", "1-10:2", "-tc", "3", "-hold_jid", "11,12", "-ac",
            "hpc_mcp_comment=run-tag:abc", "/scratch/u/run/job.sh"});
}

TEST_CASE("sge: -hold_jid for afterok and afterany, -hold_jid_ad for aftercorr",
          "[unit][sge]") {
  auto holds = [](const JobRequest& r) {
    auto a = sge::QsubArgv(r);
    REQUIRE(a.ok());
    std::vector<std::string> out;
    for (size_t i = 0; i + 1 < a->size(); ++i)
      if ((*a)[i].rfind("-hold_jid", 0) == 0)
        out.insert(out.end(), {(*a)[i], (*a)[i + 1]});
    return out;
  };
  JobRequest r = Request();
  r.array = "1-3";
  r.after_ok = {"11", "12.3"};
  r.after_any = {"12.4", "13"};
  r.after_corr = {"14", "15"};
  CHECK(holds(r) == std::vector<std::string>{"-hold_jid", "11,12,13",
                                             "-hold_jid_ad", "14,15"});
  JobRequest any = Request();
  any.after_any = {"21"};
  CHECK(holds(any) == std::vector<std::string>{"-hold_jid", "21"});
  JobRequest corr = Request();
  corr.array = "1-3";
  corr.after_corr = {"22"};
  CHECK(holds(corr) == std::vector<std::string>{"-hold_jid_ad", "22"});
  CHECK(holds(Request()).empty());

  // afterany needs no check in the script: the hold is the whole of it.
  auto script = sge::RenderScript(any, "/s");
  REQUIRE(script.ok());
  CHECK_THAT(*script, !Catch::Contains("hpc_dep_require"));
  auto corr_script = sge::RenderScript(corr, "/s");
  REQUIRE(corr_script.ok());
  CHECK_THAT(*corr_script, Catch::Contains("hpc_after_ok=''\n"));
  CHECK_THAT(*corr_script, Catch::Contains("hpc_after_corr=22\n"));
}

// The generated check run by bash as Grid Engine would start each task of
// an array whose after_corr is array 7 (tasks 1-3, the second failed) and
// whose after_ok is job 5.
TEST_CASE("sge: aftercorr checks the predecessor's task of the same id",
          "[unit][sge]") {
  TempDir tmp;
  REQUIRE_FALSE(tmp.path().empty());
  const std::string state = (tmp.path() / "sge").string();
  std::filesystem::create_directories(state);
  tmp.WriteFile("sge/7.tasks", "1\n2\n3\n");
  tmp.WriteFile("sge/7.1.exit", "0\n");
  tmp.WriteFile("sge/7.2.exit", "3\n");
  tmp.WriteFile("sge/7.3.exit", "0\n");
  tmp.WriteFile("sge/5.exit", "0\n");
  JobRequest r = Request();
  r.script = "#!/bin/bash\necho body ran\n";
  r.array = "1-3";
  r.after_ok = {"5"};
  r.after_corr = {"7"};
  auto script = sge::RenderScript(r, state);
  REQUIRE(script.ok());
  const std::string path = tmp.WriteFile("job.sh", *script);
  auto run = [&](int task) {
    remote::ProcessSpec spec;
    spec.argv = {"bash", path};
    spec.env = {{"JOB_ID", "8"}, {"SGE_TASK_ID", std::to_string(task)}};
    spec.timeout = std::chrono::seconds(30);
    auto res = remote::RunProcess(spec);
    REQUIRE(res.ok());
    return *res;
  };
  for (int task : {1, 3}) {
    INFO("task " << task);
    auto ok = run(task);
    CHECK(ok.exit_code == 0);
    CHECK(ok.out == "body ran\n");
    CHECK(std::filesystem::exists(state + "/8." + std::to_string(task) +
                                  ".exit"));
  }
  // Element 2 of 7 failed: element 2 is cancelled as an afterok job is.
  auto blocked = run(2);
  CHECK(blocked.exit_code == sge::kDependencyExitStatus);
  CHECK(blocked.out.empty());
  CHECK_THAT(blocked.err, Catch::Contains("dependency 7.2"));
  CHECK_THAT(blocked.err, Catch::Contains("DependencyNeverSatisfied"));
  CHECK(std::filesystem::exists(state + "/8.2.depfail"));
  CHECK_FALSE(std::filesystem::exists(state + "/8.2.exit"));

  // after_ok still needs the whole of its predecessor.
  JobRequest whole = r;
  whole.after_ok = {"7"};
  whole.after_corr = {};
  auto whole_script = sge::RenderScript(whole, state);
  REQUIRE(whole_script.ok());
  tmp.WriteFile("job.sh", *whole_script);
  auto after_ok = run(1);
  CHECK(after_ok.exit_code == sge::kDependencyExitStatus);
  CHECK_THAT(after_ok.err, Catch::Contains("dependency 7 did not complete"));
}

TEST_CASE("sge: what Grid Engine cannot express is rejected", "[unit][sge]") {
  auto rejected = [](auto mutate) {
    JobRequest r = Request();
    mutate(r);
    auto a = sge::QsubArgv(r);
    return !a.ok() && a.status().code() == StatusCode::kInvalidArgument;
  };
  CHECK(rejected([](JobRequest& r) { r.array = "0-9"; }));
  CHECK(rejected([](JobRequest& r) { r.array = "1,3,5"; }));
  CHECK(rejected([](JobRequest& r) { r.resources.qos = "high"; }));
  CHECK(rejected([](JobRequest& r) { r.resources.nodes = 2; }));
  CHECK(rejected([](JobRequest& r) { r.stdout_path = "/a/b:c"; }));
  CHECK(rejected([](JobRequest& r) { r.comment = "a,b"; }));
  CHECK(rejected([](JobRequest& r) { r.name = "1abc"; }));
}

TEST_CASE("sge: the script records its exit and enforces afterok",
          "[unit][sge]") {
  JobRequest r = Request();
  r.env["LIST"] = "a,b=c";
  r.after_ok = {"11", "12.3"};
  auto s = sge::RenderScript(r, "/home/u/.hpc-mcp/sge");
  REQUIRE(s.ok());
  CHECK(text::StartsWith(*s, "#!/bin/bash\n#$ -notify\n\n# --- hpc-mcp"));
  CHECK_THAT(*s, Catch::Contains("\nhpc_state=/home/u/.hpc-mcp/sge\n"));
  CHECK_THAT(*s, Catch::Contains("trap 'hpc_rc=$?;"));
  CHECK_THAT(*s, Catch::Contains("hpc_after_ok='11 12.3'\n"));
  CHECK_THAT(*s, Catch::Contains("hpc_after_corr=''\n"));
  CHECK_THAT(*s, Catch::Contains("hpc_dep_exit=113\n"));
  CHECK_THAT(*s, Catch::Contains("export LIST='a,b=c'\n"));
  CHECK_THAT(*s, Catch::EndsWith("# --- end hpc-mcp ---\npython train.py\n"));
  JobRequest py = Request();
  py.script = "#!/usr/bin/env python3\n";
  CHECK_FALSE(sge::RenderScript(py, "/x").ok());
}

std::string Trimmed(const std::string& s) { return std::string(text::Trim(s)); }

TEST_CASE("sge: qsub -terse output (captured)", "[unit][sge]") {
  CapturedCommand c = LoadCapture("sge/qsub_terse");
  REQUIRE_FALSE(c.out.empty());
  CHECK(*sge::ParseQsubOutput(c.out) == Trimmed(c.out));
  std::string array = LoadCapture("sge/qsub_terse_array").out;
  REQUIRE(text::Contains(array, "."));  // "8.1-5:1"
  CHECK(*sge::ParseQsubOutput(array) == array.substr(0, array.find('.')));
  CHECK_FALSE(sge::ParseQsubOutput("").ok());
  CHECK_FALSE(sge::ParseQsubOutput("Your job 5 has been submitted").ok());
}

TEST_CASE("sge: qstat -xml (captured: running, hqw, Eqw, array)",
          "[unit][sge]") {
  CapturedCommand c = LoadCapture("sge/qstat_xml_busy");
  REQUIRE_FALSE(c.out.empty());
  auto rows = sge::ParseQstatXml(c.out, 0);
  REQUIRE(rows.ok());
  const JobStatus* running = Find(*rows, LoadCapture("sge/qdel_running").last_word());
  REQUIRE(running);
  CHECK(running->state == JobState::kRunning);
  CHECK(running->native_state == "r");
  CHECK_FALSE(running->nodes.empty());
  REQUIRE(running->start_time.has_value());
  CHECK_THAT(c.out, Catch::Contains(IsoUtc(*running->start_time)));
  const JobStatus* eqw = Find(*rows, LoadCapture("sge/qdel_eqw").last_word());
  REQUIRE(eqw);
  CHECK(eqw->state == JobState::kFailed);
  CHECK(eqw->native_state == "Eqw");
  for (const std::string& id : {Trimmed(LoadCapture("sge/qsub_terse_hold_jid").out),
                                LoadCapture("sge/qdel_pending").last_word()}) {
    INFO(id);
    const JobStatus* hold = Find(*rows, id);
    REQUIRE(hold);
    CHECK(hold->state == JobState::kPending);
    CHECK(hold->native_state == "hqw");
    CHECK_THAT(hold->reason, Catch::Contains("held"));
  }
  // One running task, the pending ones folded into one entry ("2-5:1").
  std::string array = LoadCapture("sge/qsub_terse_array").out;
  array = array.substr(0, array.find('.'));
  int running_tasks = 0;
  for (int t = 1; t <= 5; ++t) {
    const JobStatus* s = Find(*rows, array + "." + std::to_string(t));
    REQUIRE(s);
    running_tasks += s->state == JobState::kRunning;
  }
  CHECK(running_tasks >= 1);
  CHECK(running_tasks <= 2);  // -tc 2
  auto empty = sge::ParseQstatXml(LoadCapture("sge/qstat_xml_empty").out, 0);
  REQUIRE(empty.ok());
  CHECK(empty->empty());
  CHECK_FALSE(sge::ParseQstatXml("<job_info><job_list>", 0).ok());
}

TEST_CASE("sge: qstat -xml -g d, one entry per task (captured by hand)",
          "[unit][sge]") {
  CapturedCommand c = LoadCapture("extra/sge/qstat_xml_g_d");
  REQUIRE(c.rc == 0);
  const std::string array = c.ids.at("array");
  auto rows = sge::ParseQstatXml(c.out, 0);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 4);
  CHECK(Find(*rows, array + ".1")->state == JobState::kRunning);
  for (int t = 2; t <= 4; ++t)
    CHECK(Find(*rows, array + "." + std::to_string(t))->state == JobState::kPending);
}

TEST_CASE("sge: Eqw error reason from qstat -j (captured)", "[unit][sge]") {
  CapturedCommand c = LoadCapture("sge/qstat_j_eqw");
  auto reasons = sge::ParseErrorReasons(c.out);
  const std::string id = c.last_word();
  REQUIRE(reasons.count(id));
  CHECK_THAT(reasons[id], Catch::Contains("can't open output file"));
  CHECK(reasons.count(id + ".1"));
}

TEST_CASE("sge: qacct records (captured)", "[unit][sge]") {
  struct Case {
    const char* file;
    JobState state;
    int exit;
  };
  for (const Case& k : std::initializer_list<Case>{
           {"sge/qacct_ok", JobState::kCompleted, 0},
           {"sge/qacct_exit3", JobState::kFailed, 3},
           {"sge/qacct_h_vmem", JobState::kFailed, 12},
           {"sge/qacct_h_rt", JobState::kTimeout, 137},
           {"sge/qacct_deleted_running", JobState::kFailed, 137},
           {"sge/qacct_hold_jid", JobState::kCompleted, 0},
           {"sge/qacct_eqw", JobState::kFailed, 0}}) {
    INFO(k.file);
    CapturedCommand c = LoadCapture(k.file);
    REQUIRE_FALSE(c.out.empty());
    auto rows = sge::ParseQacct(c.out, 0);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].job_id == c.after("-j"));
    CHECK(rows[0].state == k.state);
    CHECK(rows[0].exit_code == k.exit);
  }
  auto ok = sge::ParseQacct(LoadCapture("sge/qacct_ok").out, 0);
  CHECK(ok[0].start_time.has_value());
  CHECK(ok[0].end_time >= ok[0].start_time);
  CHECK_FALSE(ok[0].nodes.empty());
  auto killed = sge::ParseQacct(LoadCapture("sge/qacct_deleted_running").out, 0);
  CHECK(killed[0].signal == 9);
  auto eqw = sge::ParseQacct(LoadCapture("sge/qacct_eqw").out, 0);
  CHECK_FALSE(eqw[0].start_time.has_value());  // "-/-"
  CHECK_THAT(eqw[0].reason, Catch::Contains("failed to launch"));
  CapturedCommand array = LoadCapture("sge/qacct_array");
  auto tasks = sge::ParseQacct(array.out, 0);
  REQUIRE(tasks.size() == 5);
  for (int t = 1; t <= 5; ++t) {
    const JobStatus* s = Find(tasks, array.after("-j") + "." + std::to_string(t));
    REQUIRE(s);
    CHECK(s->exit_code == t);  // Task i exits i.
    CHECK(s->state == JobState::kFailed);
  }
  CHECK(sge::ParseQacct(LoadCapture("sge/qacct_unknown").out, 0).empty());
}

TEST_CASE("sge: query runs qstat once, qstat -j for Eqw, qacct for the rest",
          "[unit][sge]") {
  const std::string running = LoadCapture("sge/qdel_running").last_word();
  const std::string eqw = LoadCapture("sge/qdel_eqw").last_word();
  const std::string ok = LoadCapture("sge/qacct_ok").after("-j");
  CapturedCommand array_acct = LoadCapture("sge/qacct_array");
  const std::string array = array_acct.after("-j");
  auto remote = std::make_shared<FakeRemote>();
  remote->Answer("date", "+0000\n");
  remote->Handle("qstat", [](const std::vector<std::string>& argv)
                              -> Result<remote::CommandResult> {
    return LoadCapture(argv[1] == "-j" ? "sge/qstat_j_eqw" : "sge/qstat_xml_busy")
        .result();
  });
  remote->Answer("sh", LoadCapture("sge/qacct_ok").out + array_acct.out);
  remote->Answer("printenv", "/home/u\n");
  ClusterProfile p;
  p.name = "sge";
  p.scheduler = "sge";
  auto sched = MakeSgeScheduler(p, remote);
  auto q = sched->Query({running, eqw, ok, array, "777"});
  REQUIRE(q.ok());
  std::vector<std::string> ids;
  for (const auto& s : *q) ids.push_back(s.job_id);
  std::vector<std::string> want = {running, eqw, ok};
  for (int t = 1; t <= 5; ++t) want.push_back(array + "." + std::to_string(t));
  want.push_back("777");
  CHECK(ids == want);
  CHECK(Find(*q, running)->state == JobState::kRunning);
  CHECK(Find(*q, eqw)->state == JobState::kFailed);
  CHECK_THAT(Find(*q, eqw)->reason, Catch::Contains("can't open output file"));
  CHECK_THAT(Find(*q, eqw)->reason, Catch::Contains("Eqw"));
  CHECK(Find(*q, ok)->state == JobState::kCompleted);
  CHECK(Find(*q, array + ".5")->state == JobState::kPending);  // Queue wins.
  CHECK(Find(*q, "777")->state == JobState::kUnknown);
  auto qstats = remote->runs_of("qstat");
  REQUIRE(qstats.size() == 2);
  CHECK(qstats[0] == sge::QstatArgv());
  CHECK(qstats[1] == std::vector<std::string>{"qstat", "-j", eqw});
  auto qaccts = remote->runs_of("sh");
  REQUIRE_FALSE(qaccts.empty());
  CHECK(qaccts[0] == sge::QacctArgv({ok, array, "777"}));
  // 777 is unknown: its possible markers were tested in one command.
  auto probes = remote->runs_of("sh");
  REQUIRE(probes.size() == 2);
  CHECK(std::vector<std::string>(probes[1].begin() + 4, probes[1].end()) ==
        std::vector<std::string>{"/home/u/.hpc-mcp/sge/777.cancelled",
                                 "/home/u/.hpc-mcp/sge/777.depfail"});
}

TEST_CASE("sge: cancel marks what qdel accepted", "[unit][sge]") {
  auto remote = std::make_shared<FakeRemote>();
  CapturedCommand finished = LoadCapture("sge/qdel_finished");  // rc 1, "does not exist"
  remote->Answer("qdel", LoadCapture("sge/qdel_running").out + finished.out, "", 1);
  remote->Answer("printenv", "/home/u\n");
  ClusterProfile p;
  p.name = "sge";
  auto sched = MakeSgeScheduler(p, remote);
  const std::string running = LoadCapture("sge/qdel_running").last_word();
  Status s = sched->Cancel({running, finished.last_word()});
  CHECK(s.ok());
  auto touches = remote->runs_of("touch");
  REQUIRE(touches.size() == 1);
  CHECK(touches[0] == std::vector<std::string>{
                          "touch", "--", "/home/u/.hpc-mcp/sge/" + running + ".cancelled"});

  auto down = std::make_shared<FakeRemote>();
  CapturedCommand qmaster_down = LoadCapture("sge/qstat_qmaster_down");
  down->Answer("qdel", qmaster_down.out, qmaster_down.err, 1);
  down->Answer("printenv", "/home/u\n");
  Status d = MakeSgeScheduler(p, down)->Cancel({"5"});
  CHECK(d.reason() == "scheduler_unavailable");
}

TEST_CASE("sge: errors (captured)", "[unit][sge]") {
  Status s = sge::CommandError("qsub", LoadCapture("sge/qsub_bad_queue").result(), "fake");
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(s.reason() == "submit_rejected");
  CHECK_THAT(s.message(), Catch::Contains("unknown queue \"nope.q\""));
  Status down = sge::CommandError("qstat", LoadCapture("sge/qstat_qmaster_down").result(),
                                  "fake");
  CHECK(down.code() == StatusCode::kUnavailable);
  CHECK(down.reason() == "scheduler_unavailable");
  CHECK_THAT(down.remediation(), Catch::Contains("sge_qmaster"));
}

TEST_CASE("sge: submit writes the script and the array's task list",
          "[unit][sge]") {
  auto remote = std::make_shared<FakeRemote>();
  CapturedCommand array = LoadCapture("sge/qsub_terse_array");
  remote->Answer("qsub", array.out);
  remote->Answer("printenv", "/home/u\n");
  ClusterProfile p;
  p.name = "sge";
  auto sched = MakeSgeScheduler(p, remote);
  JobRequest r = Request();
  r.array = "1-3";
  auto res = sched->Submit(r);
  REQUIRE(res.ok());
  const std::string id = array.out.substr(0, array.out.find('.'));
  CHECK(res->job_id == id);
  CHECK(remote->file("/home/u/.hpc-mcp/sge/" + id + ".tasks") == "1\n2\n3\n");
  CHECK_THAT(remote->file(r.script_path),
             Catch::Contains("hpc_state=/home/u/.hpc-mcp/sge\n"));
  auto mk = remote->runs_of("mkdir");
  REQUIRE(mk.size() == 1);
  CHECK(mk[0] == std::vector<std::string>{"mkdir", "-p", "--", "/home/u/.hpc-mcp/sge",
                                          "/scratch/u/run", "/scratch/u/run/logs"});
}

TEST_CASE("sge: a retry avoids hosts, unless no other host could run it",
          "[unit][sge]") {
  JobRequest r = Request();
  r.avoid_nodes = {"vm"};
  auto one = sge::QsubArgv(r);
  REQUIRE(one.ok());
  CHECK_THAT(Catch::Detail::stringify(*one),
             Catch::Contains("\"-w\", \"e\", \"-l\", \"h=!vm\""));
  r.avoid_nodes = {"node1", "node2"};
  auto two = sge::QsubArgv(r);
  REQUIRE(two.ok());
  CHECK(std::find(two->begin(), two->end(), "h=!(node1|node2)") != two->end());
  CHECK(two->back() == r.script_path);

  CapturedCommand refused = LoadCapture("extra/sge/qsub_we_exclude_only_host");
  CHECK(sge::NoSuitableQueue(refused.result()));
  CHECK_FALSE(
      sge::NoSuitableQueue(LoadCapture("sge/qsub_terse_array").result()));

  // The testbed's only host avoided: refused by -w e, then sent without.
  auto remote = std::make_shared<FakeRemote>();
  CapturedCommand ok = LoadCapture("sge/qsub_terse_array");
  remote->Answer("qsub", refused.out, refused.err, refused.rc);
  remote->Answer("qsub", ok.out);
  remote->Answer("printenv", "/home/u\n");
  ClusterProfile p;
  p.name = "sge";
  JobRequest retry = Request();
  retry.avoid_nodes = {"vm"};
  auto res = MakeSgeScheduler(p, remote)->Submit(retry);
  INFO((res.ok() ? "" : res.status().ToString()));
  REQUIRE(res.ok());
  CHECK(res->job_id == ok.out.substr(0, ok.out.find('.')));
  auto qsubs = remote->runs_of("qsub");
  REQUIRE(qsubs.size() == 2);
  CHECK(std::find(qsubs[0].begin(), qsubs[0].end(), "h=!vm") != qsubs[0].end());
  JobRequest anywhere = Request();
  CHECK(qsubs[1] == *sge::QsubArgv(anywhere));
}

TEST_CASE("sge: find by comment, qstat -xml -u and -j (captured by hand)",
          "[unit][sge]") {
  CapturedCommand u = LoadCapture("extra/sge/qstat_xml_u_find");
  CapturedCommand j = LoadCapture("extra/sge/qstat_j_xml_find");
  REQUIRE_FALSE(u.out.empty());
  REQUIRE_FALSE(j.out.empty());
  auto id = u.ids;
  REQUIRE(id.size() == 7);
  const std::string tag = "hpc-mcp:" + id["tag"] + ":";
  using V = std::vector<std::string>;

  CHECK(u.command == "qstat -xml -u '$user'");
  CHECK(sge::QstatUserArgv() == V{"qstat", "-xml", "-u", "$user"});
  auto queued = sge::ParseQstatJobNumbers(u.out);
  REQUIRE(queued.ok());
  for (const char* key : {"run", "array", "none", "lt", "dup"}) {
    INFO(key);
    CHECK(std::count(queued->begin(), queued->end(), id[key]) == 1);
  }
  CHECK(std::count(queued->begin(), queued->end(), id["done"]) == 0);
  auto empty =
      sge::ParseQstatJobNumbers(LoadCapture("sge/qstat_xml_empty").out);
  REQUIRE(empty.ok());
  CHECK(empty->empty());
  CHECK_FALSE(sge::ParseQstatJobNumbers("<job_info><job_list>").ok());

  CHECK(sge::QstatContextArgv({id["run"], id["array"], id["none"], id["lt"],
                               id["dup"], id["done"]}) ==
        V{"qstat", "-xml", "-j", j.command.substr(j.command.rfind(' ') + 1)});
  auto find = [&](const std::string& comment) {
    auto r = sge::ParseJobsWithComment(j.out, comment);
    REQUIRE(r.ok());
    return *r;
  };
  CHECK(find(tag + "run|a b") == V{id["run"]});
  CHECK(find(tag + "array") == V{id["array"], id["dup"]});
  // Printed as "x%lt;y&amp;z&gt;&quot;q&apos;": 8.1.9 garbles '<'.
  CHECK_THAT(j.out, Catch::Contains("%lt;"));
  CHECK(find(tag + "x<y&z>\"q'") == V{id["lt"]});
  CHECK(find(tag + "done").empty());     // Ended: qstat -j no longer knows it.
  CHECK(find(tag + "run").empty());      // Exact, not a prefix.
  CHECK(find("/home/hpctest").empty());  // Another context variable's value.
  auto unknown = sge::ParseJobsWithComment(
      LoadCapture("sge/qstat_j_xml_finished").out, tag + "done");
  REQUIRE(unknown.ok());
  CHECK(unknown->empty());
  CHECK_FALSE(sge::ParseJobsWithComment("<detailed_job_info>", "x").ok());
}

TEST_CASE(
    "sge: tasks reloaded by a restarted qmaster do not make qstat -xml -j "
    "unreadable",
    "[unit][sge]") {
  CapturedCommand j = LoadCapture("extra/sge/qstat_j_xml_eqw_array");
  auto id = j.ids;
  // 8.1.9 names the element of each task it reloaded from its spool after
  // a restart "JATASK:     102.".
  CHECK_THAT(j.out, Catch::Contains("<JATASK:") &&
                        Catch::Contains(" " + id["eqw"] + ".>"));
  CHECK_FALSE(xml::Parse(j.out).ok());
  auto found = sge::ParseJobsWithComment(j.out, "hpc-mcp:eqwcase:one");
  INFO((found.ok() ? "" : found.status().ToString()));
  REQUIRE(found.ok());
  CHECK(*found == std::vector<std::string>{id["tagged"]});
  auto none = sge::ParseJobsWithComment(j.out, "hpc-mcp:eqwcase:two");
  REQUIRE(none.ok());
  CHECK(none->empty());
}

TEST_CASE("sge: find by comment reads the queue, then the comment records",
          "[unit][sge]") {
  CapturedCommand u = LoadCapture("extra/sge/qstat_xml_u_find");
  CapturedCommand j = LoadCapture("extra/sge/qstat_j_xml_find");
  auto id = u.ids;
  const std::string tag = "hpc-mcp:" + id["tag"] + ":";
  using V = std::vector<std::string>;
  const std::string state = "/home/u/.hpc-mcp/sge";

  CHECK(sge::CommentFilesArgv(state, "a'b $(c)") ==
        V{"sh", "-c",
          "cd -- \"$1\" 2>/dev/null || exit 0\n"
          "find . -maxdepth 1 -type f -name '*.comment' -exec grep -l -x -F "
          "-e \"$2\" -- {} +\nexit 0",
          "sh", state, "a'b $(c)"});
  CHECK(sge::ParseCommentFiles(
            "./12.comment\n./13.comment\n./x.comment\n"
            "./14.comment.tmp.77\n./12.comment\n.comment\n") == V{"12", "13"});

  auto remote = std::make_shared<FakeRemote>();
  remote->Handle("qstat",
                 [&](const std::vector<std::string>& argv)
                     -> Result<remote::CommandResult> {
                   return (argv[2] == "-j" ? j : u).result();
                 });
  // The finished job's record, and a record of the running one (it started).
  remote->Answer("sh",
                 "./" + id["done"] + ".comment\n./" + id["run"] + ".comment\n");
  remote->Answer("printenv", "/home/u\n");
  ClusterProfile p;
  p.name = "sge";
  p.scheduler = "sge";
  auto sched = MakeSgeScheduler(p, remote);
  auto found = sched->FindByComment(tag + "run|a b");
  REQUIRE(found.ok());
  V want = {id["done"], id["run"]};
  std::sort(want.begin(), want.end(), [](const auto& a, const auto& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  CHECK(*found == want);
  auto qstats = remote->runs_of("qstat");
  REQUIRE(qstats.size() == 2);
  CHECK(qstats[0] == sge::QstatUserArgv());
  auto queued = sge::ParseQstatJobNumbers(u.out);
  REQUIRE(queued.ok());
  CHECK(qstats[1] == sge::QstatContextArgv(*queued));
  auto greps = remote->runs_of("sh");
  REQUIRE(greps.size() == 1);
  CHECK(greps[0] == sge::CommentFilesArgv(state, tag + "run|a b"));

  // An unreadable record is an error, not a shorter answer.
  auto broken = std::make_shared<FakeRemote>();
  broken->Answer("qstat", LoadCapture("sge/qstat_xml_empty").out);
  broken->Answer("sh", "", "grep: ./9.comment: Permission denied\n");
  broken->Answer("printenv", "/home/u\n");
  auto r = MakeSgeScheduler(p, broken)->FindByComment(tag + "run|a b");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().reason() == "io_error");
  CHECK(broken->runs_of("qstat").size() == 1);  // No jobs: no qstat -j.

  CapturedCommand down = LoadCapture("sge/qstat_qmaster_down");
  auto unreachable = std::make_shared<FakeRemote>();
  unreachable->Answer("qstat", down.out, down.err, down.rc);
  auto d = MakeSgeScheduler(p, unreachable)->FindByComment("x");
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().reason() == "scheduler_unavailable");

  for (const char* bad : {"", "a,b", "a\tb"})
    CHECK(sched->FindByComment(bad).status().code() ==
          StatusCode::kInvalidArgument);
}

TEST_CASE("sge: the script records the job's comment when it starts",
          "[unit][sge]") {
  JobRequest r = Request();
  r.comment = "run 'tag' $(x)";
  auto s = sge::RenderScript(r, "/home/u/.hpc-mcp/sge");
  REQUIRE(s.ok());
  CHECK_THAT(*s, Catch::Contains("\nhpc_comment='run '\\''tag'\\'' $(x)'\n"));
  CHECK_THAT(*s, Catch::Contains("\"$hpc_state/$JOB_ID.comment\""));
  JobRequest none = Request();
  auto plain = sge::RenderScript(none, "/home/u/.hpc-mcp/sge");
  REQUIRE(plain.ok());
  CHECK_THAT(*plain, !Catch::Contains("hpc_comment"));
}

TEST_CASE("sge: the owner of a job from qstat -j", "[unit][sge]") {
  auto c = LoadCapture("sge/qstat_j_eqw");
  CHECK(sge::ParseOwner(c.out) == "hpctest");
  CHECK(sge::ParseOwner("") == "");
  CHECK(sge::ParseOwner("Following jobs do not exist: \n3\n") == "");
}

}  // namespace
}  // namespace hpc::cluster
