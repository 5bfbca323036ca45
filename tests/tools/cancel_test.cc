// The cancel tool on real jobs: the local profile (a `sleep` under the job
// wrapper on this machine) and Slurm on the testbed over SSH. Runs are made
// with the submit tool, or, for the states a submit leaves only when it is
// cut short, by writing the journal events it would have written.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>

#include "tests/support/job_poll.h"
#include "tests/support/subprocess.h"
#include "tests/support/tool_call.h"
#include "tools/journal/journal.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/store.h"
#include "tools/runs/submitter.h"

using hpc::testing::CallTool;
using hpc::testing::ResultText;
using hpc::testing::TempDir;
using hpc::testing::TestbedEnv;
using nlohmann::json;
namespace fs = std::filesystem;
namespace runs = hpc::runs;
namespace cluster = hpc::cluster;

namespace {

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A scratch experiment repository whose `local` profile is the shipped one
// with its roots moved inside the repository's temp directory, so that no
// test writes under the real home.
struct Repo {
  Repo() {
    REQUIRE_FALSE(tmp.path().empty());
    path = (tmp.path() / "repo").string();
    fs::create_directories(fs::path(path) / ".hpc-mcp" / "profiles");
    std::string yaml =
        Slurp(fs::path(HPC_MCP_SOURCE_DIR) / "cluster_profiles" / "local.yaml");
    yaml = std::regex_replace(yaml, std::regex("work_root: .*"),
                              "work_root: " + (tmp.path() / "work").string());
    yaml = std::regex_replace(yaml, std::regex("log_root: .*"),
                              "log_root: " + (tmp.path() / "logs").string());
    Profile("local", yaml);
  }
  void Profile(const std::string& name, const std::string& yaml) const {
    std::ofstream(fs::path(path) / ".hpc-mcp" / "profiles" / (name + ".yaml"))
        << yaml;
  }
  // The events of `run` in journal order.
  std::vector<hpc::journal::Event> Events(const std::string& run) const {
    auto j =
        hpc::journal::Journal::Open((fs::path(path) / ".hpc-mcp").string());
    REQUIRE(j.ok());
    auto r = j->Read();
    REQUIRE(r.ok());
    std::vector<hpc::journal::Event> out;
    for (auto& e : r->events)
      if (e.run == run) out.push_back(std::move(e));
    return out;
  }
  std::vector<std::string> EventNames(const std::string& run) const {
    std::vector<std::string> names;
    for (const auto& e : Events(run)) names.push_back(e.name);
    return names;
  }
  runs::Run Load(const std::string& run) const {
    auto store = runs::RunStore::ForRepo(path);
    REQUIRE(store.ok());
    auto t = (*store)->Load();
    REQUIRE(t.ok());
    REQUIRE((*t)->runs.count(run));
    return (*t)->runs.at(run);
  }
  TempDir tmp;
  std::string path;
};

json Submit(const Repo& repo, const std::string& name, json command,
            const std::string& profile = "local") {
  json r = CallTool("submit", {{"repo", repo.path},
                               {"profile", profile},
                               {"name", name},
                               {"command", std::move(command)}});
  INFO(r.dump(2));
  REQUIRE_FALSE(r.value("isError", false));
  REQUIRE(r["structuredContent"]["job_ids"].size() == 1);
  return r["structuredContent"];
}

json Cancel(const Repo& repo, const std::string& run_id,
            const std::string& confirm, const std::string& reason = "") {
  json args{{"repo", repo.path}, {"run_id", run_id}, {"confirm", confirm}};
  if (!reason.empty()) args["reason"] = reason;
  return CallTool("cancel", args);
}

// The scheduler's view of `ids`, through the run's own profile.
std::vector<cluster::JobStatus> Query(const Repo& repo,
                                      const std::string& profile,
                                      const std::vector<std::string>& ids) {
  auto c = runs::OpenCluster(profile, repo.path);
  REQUIRE(c.ok());
  auto q = (*c)->scheduler->Query(ids);
  REQUIRE(q.ok());
  return *q;
}

// Waits (bounded) until the job of a local run is running, so the cancel
// has a live process to stop.
void WaitRunning(const Repo& repo, const std::string& id) {
  for (int i = 0; i < 80; ++i) {
    auto q = Query(repo, "local", {id});
    if (!q.empty() && q[0].state == cluster::JobState::kRunning) return;
    usleep(250 * 1000);
  }
  FAIL("job " << id << " never started");
}

// A run as a submit cut short after step 1 of its protocol leaves it: the
// `created` and `submitting` events, no job id.
std::string JournalSubmitting(const Repo& repo, const json& submit_args,
                              std::string* tag) {
  auto req = runs::ParseSubmitRequest(submit_args);
  REQUIRE(req.ok());
  auto store = runs::RunStore::ForRepo(repo.path);
  REQUIRE(store.ok());
  const std::string id = runs::MakeRunId(req->name, time(nullptr),
                                         static_cast<uint32_t>(getpid()));
  *tag = "hpc-mcp:" + id + ":1:main";
  REQUIRE((*store)
              ->Append(id, "created",
                       {{"name", req->name},
                        {"profile", "local"},
                        {"scheduler", "local"},
                        {"spec", req->spec},
                        {"spec_hash", runs::SpecHash(req->spec)},
                        {"workdir", repo.path}})
              .ok());
  REQUIRE((*store)
              ->Append(id, "submitting",
                       {{"attempt", 1},
                        {"role", "main"},
                        {"tag", *tag},
                        {"script_path", ""},
                        {"stdout_path", ""},
                        {"stderr_path", ""},
                        {"exit_dir", ""},
                        {"array_tasks", json::array()}})
              .ok());
  return id;
}

}  // namespace

TEST_CASE(
    "cancel stops a running local job, journals who and why, and verifies the end",
    "[integration][cancel]") {
  Repo repo;
  json run = Submit(repo, "sleeper", {"sleep", "300"});
  const std::string id = run["run_id"], job = run["job_ids"][0];
  WaitRunning(repo, job);

  json r = Cancel(repo, id, id, "loss diverged");
  INFO(r.dump(2));
  REQUIRE_FALSE(r.value("isError", false));
  const json& s = r["structuredContent"];
  CHECK(s["state"] == "cancelled");
  CHECK(s["verified"] == true);
  CHECK(s["cancelled_jobs"] == json::array({job}));
  CHECK(s["previous_state"] != "cancelled");
  // The text is the one-line message, not a JSON dump.
  CHECK(ResultText(r) == s["message"]);
  CHECK_THAT(ResultText(r), Catch::Contains("cancelled run " + id));

  auto q = Query(repo, "local", {job});
  REQUIRE(q.size() == 1);
  CHECK(q[0].state == cluster::JobState::kCancelled);

  auto events = repo.Events(id);
  std::vector<std::string> names;
  for (const auto& e : events) names.push_back(e.name);
  REQUIRE(names.size() >= 3);
  CHECK(std::vector<std::string>(names.end() - 3, names.end()) ==
        std::vector<std::string>{"cancel_requested", "cancelled",
                                 "state_changed"});
  const json& requested = events[events.size() - 3].context;
  CHECK(requested["jobs"] == json::array({job}));
  CHECK(requested["reason"] == "loss diverged");
  CHECK_FALSE(requested["by"].get<std::string>().empty());
  CHECK(events[events.size() - 2].context["verified"] == true);
  const json& changed = events.back().context;
  CHECK(changed["to"] == "cancelled");
  CHECK(changed["from"] == s["previous_state"]);
  CHECK_THAT(changed["reason"].get<std::string>(),
             Catch::Contains("loss diverged"));
  CHECK(repo.Load(id).state == "cancelled");

  // Again: nothing more reaches the scheduler or the journal.
  json again = Cancel(repo, id, id);
  CHECK_FALSE(again.value("isError", false));
  CHECK(again["structuredContent"]["state"] == "cancelled");
  CHECK(again["structuredContent"]["cancelled_jobs"].empty());
  CHECK_THAT(ResultText(again), Catch::Contains("already cancelled"));
  CHECK(repo.Events(id).size() == events.size());
}

TEST_CASE(
    "cancel refuses unknown, foreign and malformed run ids and an unconfirmed cancel",
    "[integration][cancel]") {
  Repo a, b;
  json run = Submit(a, "guarded", {"sleep", "300"});
  const std::string id = run["run_id"], job = run["job_ids"][0];
  const size_t before = a.Events(id).size();

  SECTION("confirm must repeat the run id") {
    json r = Cancel(a, id, "yes");
    CHECK(r["isError"] == true);
    CHECK_THAT(ResultText(r),
               Catch::Contains("confirm") && Catch::Contains("same run id"));
    json missing = CallTool("cancel", {{"repo", a.path}, {"run_id", id}});
    CHECK(missing["isError"] == true);
    CHECK_THAT(ResultText(missing), Catch::Contains("confirm"));
  }
  SECTION("a run id this repository never had") {
    json r = Cancel(a, "20200101-nothing-beef", "20200101-nothing-beef");
    CHECK(r["isError"] == true);
    CHECK_THAT(ResultText(r), Catch::Contains("not in the journal") &&
                                  Catch::Contains("list_runs"));
  }
  SECTION("a run of another repository") {
    json r = Cancel(b, id, id);
    CHECK(r["isError"] == true);
    CHECK_THAT(ResultText(r),
               Catch::Contains("not in the journal of " + b.path));
  }
  SECTION("malformed run ids and reasons never reach the handler") {
    for (const char* bad :
         {"../../etc/passwd", "20250101-UPPER-abcd", "1234; scancel -u me",
          "20250101-x-abcd --all", ""}) {
      json r = Cancel(a, bad, bad);
      INFO(bad);
      CHECK(r["isError"] == true);
      CHECK_THAT(ResultText(r), Catch::Contains("Invalid arguments"));
    }
    json r = Cancel(a, id, id, std::string(501, 'x'));
    CHECK(r["isError"] == true);
    CHECK_THAT(ResultText(r), Catch::Contains("Invalid arguments"));
  }
  // None of them touched the run or its job.
  CHECK(a.Events(id).size() == before);
  auto q = Query(a, "local", {job});
  REQUIRE(q.size() == 1);
  CHECK_FALSE(cluster::IsTerminal(q[0].state));
  json last = Cancel(a, id, id);
  INFO(last.dump(2));
  CHECK(last["structuredContent"]["state"] == "cancelled");
}

TEST_CASE("cancel leaves a run that already ended alone",
          "[integration][cancel]") {
  Repo repo;
  json run = Submit(repo, "quick", {"true"});
  const std::string id = run["run_id"], job = run["job_ids"][0];
  auto c = runs::OpenCluster("local", repo.path);
  REQUIRE(c.ok());
  auto done = hpc::testing::WaitTerminal(*(*c)->scheduler, {job},
                                         std::chrono::seconds(30));
  REQUIRE(done[job].state == cluster::JobState::kCompleted);

  // The journal has not heard of the end yet (no poll): the scheduler's
  // answer shows it ended by itself, and that is not recorded as a cancel.
  json r = Cancel(repo, id, id);
  INFO(r.dump(2));
  REQUIRE_FALSE(r.value("isError", false));
  CHECK(r["structuredContent"]["state"] == "completed");
  CHECK(r["structuredContent"]["verified"] == true);
  CHECK_THAT(ResultText(r),
             Catch::Contains("already ended") && Catch::Contains("poll"));
  auto names = repo.EventNames(id);
  CHECK(std::count(names.begin(), names.end(), "cancelled") == 0);
  CHECK(std::count(names.begin(), names.end(), "state_changed") == 0);

  // Once the journal knows, the scheduler is not asked at all.
  auto store = runs::RunStore::ForRepo(repo.path);
  REQUIRE(store.ok());
  REQUIRE(
      (*store)
          ->Append(id, "state_changed",
                   {{"from", "pending"}, {"to", "completed"}, {"exit_code", 0}})
          .ok());
  const size_t before = repo.Events(id).size();
  json ended = Cancel(repo, id, id);
  CHECK(ended["structuredContent"]["state"] == "completed");
  CHECK(ended["structuredContent"]["cancelled_jobs"].empty());
  CHECK_THAT(ResultText(ended), Catch::Contains("already ended: completed"));
  CHECK(repo.Events(id).size() == before);
}

TEST_CASE(
    "cancel of a run cut short while submitting adopts its job, or marks it never to be sent",
    "[integration][cancel]") {
  Repo repo;
  const json args{
      {"repo", repo.path}, {"name", "cutshort"}, {"command", {"sleep", "300"}}};

  SECTION("no job reached the scheduler") {
    // The connection drops before the job is sent: the run stays
    // `submitting` with its job marked lost, as after a real outage.
    struct Fault {
      Fault() {
        runs::SetSubmitFaultHookForTesting([](std::string_view point) {
          return point == "before_dispatch"
                     ? hpc::Status(hpc::StatusCode::kUnavailable,
                                   "connection lost")
                     : hpc::Status::Ok();
        });
      }
      ~Fault() { runs::SetSubmitFaultHookForTesting(nullptr); }
    };
    std::optional<Fault> fault(std::in_place);
    json lost = CallTool("submit", args);
    fault.reset();
    INFO(lost.dump(2));
    CHECK(lost["isError"] == true);
    auto store = runs::RunStore::ForRepo(repo.path);
    REQUIRE(store.ok());
    auto table = (*store)->Load();
    REQUIRE(table.ok());
    REQUIRE((*table)->runs.size() == 1);
    const std::string id = (*table)->runs.begin()->first;
    REQUIRE(repo.Load(id).state == runs::kSubmitting);

    json r = Cancel(repo, id, id);
    INFO(r.dump(2));
    REQUIRE_FALSE(r.value("isError", false));
    CHECK(r["structuredContent"]["state"] == "cancelled");
    CHECK(r["structuredContent"]["cancelled_jobs"].empty());
    CHECK_THAT(ResultText(r), Catch::Contains("never be submitted"));
    CHECK(repo.Load(id).state == "cancelled");
    // The same arguments again make a new run: the cancelled one is never
    // reconciled and dispatched.
    json again = CallTool("submit", args);
    INFO(again.dump(2));
    REQUIRE_FALSE(again.value("isError", false));
    CHECK(again["structuredContent"]["run_id"] != id);
    CHECK(again["structuredContent"]["idempotent"] == false);
    CHECK(repo.Load(id).JobIds().empty());
    const std::string next = again["structuredContent"]["run_id"];
    CHECK(Cancel(repo, next, next)["structuredContent"]["state"] ==
          "cancelled");
  }
  SECTION("the job exists but its submit answer was lost") {
    std::string tag;
    const std::string id = JournalSubmitting(repo, args, &tag);
    auto c = runs::OpenCluster("local", repo.path);
    REQUIRE(c.ok());
    cluster::JobRequest job;
    job.name = id;
    job.script = "#!/bin/bash\nsleep 300\n";
    job.script_path = (*c)->work_root + "/lost/main.sh";
    job.workdir = repo.path;
    job.stdout_path = (*c)->log_root + "/lost/main.out";
    job.stderr_path = (*c)->log_root + "/lost/main.err";
    job.comment = tag;
    auto sent = (*c)->scheduler->Submit(job);
    REQUIRE(sent.ok());

    json r = Cancel(repo, id, id);
    INFO(r.dump(2));
    REQUIRE_FALSE(r.value("isError", false));
    CHECK(r["structuredContent"]["cancelled_jobs"] ==
          json::array({sent->job_id}));
    CHECK(r["structuredContent"]["state"] == "cancelled");
    auto q = Query(repo, "local", {sent->job_id});
    REQUIRE(q.size() == 1);
    CHECK(q[0].state == cluster::JobState::kCancelled);
    auto names = repo.EventNames(id);
    CHECK(std::find(names.begin(), names.end(), "submitted") != names.end());
  }
}

TEST_CASE("cancel stops a Slurm job on the testbed over SSH",
          "[integration][testbed][cancel]") {
  Repo repo;
  const std::string host = TestbedEnv("TESTBED_SSH_HOST"),
                    port = TestbedEnv("TESTBED_SSH_PORT"),
                    user = TestbedEnv("TESTBED_SSH_USER"),
                    key = TestbedEnv("TESTBED_SSH_KEY"),
                    known = TestbedEnv("TESTBED_KNOWN_HOSTS");
  const std::string root = "~/hpc-mcp-test/cancel-" + std::to_string(getpid());
  repo.Profile(
      "tb_slurm",
      "scheduler: slurm\naccess:\n  kind: ssh\n  host: " + host +
          "\n  port: " + port + "\n  user: " + user +
          "\n  identity_file: " + key + "\n  known_hosts: " + known +
          "\npaths:\n  work_root: " + root + "/work\n  log_root: " + root +
          "/logs\ndefaults:\n  partition: debug\n  time: \"00:10:00\"\n"
          "limits:\n  min_query_interval_seconds: 0\n");
  json run = Submit(repo, "slurm-sleeper", {"sleep", "300"}, "tb_slurm");
  const std::string id = run["run_id"], job = run["job_ids"][0];

  json r = Cancel(repo, id, id, "testbed");
  INFO(r.dump(2));
  REQUIRE_FALSE(r.value("isError", false));
  const json& s = r["structuredContent"];
  CHECK(s["cancelled_jobs"] == json::array({job}));
  CHECK(s["state"] == "cancelled");
  CHECK(s["verified"] == true);
  CHECK_THAT(s.value("native_state", ""), Catch::Contains("CANCELLED"));
  auto q = Query(repo, "tb_slurm", {job});
  REQUIRE(q.size() == 1);
  CHECK(q[0].state == cluster::JobState::kCancelled);
  CHECK(repo.Load(id).state == "cancelled");
}
