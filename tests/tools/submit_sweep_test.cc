// submit_sweep on the local profile: the whole life of a sweep through the
// MCP tools (plan, waves, retries, blocked tasks released, resubmit_failed,
// aggregate, summary.md), exactly-once submission with injected faults,
// and the bad input refused before anything is journaled. The same
// scenario on the Slurm and Grid Engine testbeds is in
// tests/tools/sweep/sweep_testbed_test.cc.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/files.h"
#include "tests/support/run_repo.h"
#include "tests/support/sweep_scenario.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/submitter.h"

namespace hpc {
namespace {

using Catch::Contains;
using nlohmann::json;
using testing::CountEvents;
using testing::RunRepo;

json Values(int n) {
  json v = json::array();
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
}

// A one-phase sweep of `n` quick tasks that each append their id to
// ran.txt in the workdir.
json CountingSweep(const std::string& name, int n) {
  return {{"name", name},
          {"parameters", {{"grid", {{"i", Values(n)}}}}},
          {"id", "t${i}"},
          {"command", {"bash", "-c", "echo \"$HPC_SWEEP_TASK\" >> ran.txt"}}};
}

struct FaultGuard {
  explicit FaultGuard(std::function<Status(std::string_view)> f) {
    runs::SetSubmitFaultHookForTesting(std::move(f));
  }
  ~FaultGuard() { runs::SetSubmitFaultHookForTesting(nullptr); }
};

TEST_CASE("a two-phase sweep with a GPU OOM retry, a precondition and resubmit_failed completes "
          "on the local profile",
          "[submit_sweep][local]") {
  RunRepo repo;
  testing::RunDoneWhen(repo, "local", repo.path(), std::chrono::seconds(240));
  // Everything is in the journal: one created, every batch submitted once.
  auto events = repo.Events();
  CHECK(CountEvents(events, "created") == 1);
  CHECK(CountEvents(events, "batch_submitting") == CountEvents(events, "batch_submitted"));
  json listed = repo.Call("list_runs", json::object());
  INFO(listed.dump());
  REQUIRE_FALSE(listed.value("isError", false));
  const json& row = listed["structuredContent"]["runs"][0];
  CHECK(row["sweep"]["counts"]["done"] == 6);
  CHECK(row["links"]["summary"] == "run_logs/distill/summary.md");
  CHECK_THAT(row["summary"].get<std::string>(), Contains("6 tasks: 6 done"));
}

TEST_CASE("submit_sweep waves: max_concurrent_jobs arrays at a time, chained afterany",
          "[submit_sweep][local]") {
  RunRepo repo;
  repo.WriteProfile("waves",
                    "name: waves\nscheduler: local\naccess: {kind: local}\nshell: {login: [bash]}\n"
                    "paths:\n  work_root: " + repo.path() + "/cluster/jobs\n  log_root: " +
                        repo.path() + "/cluster/logs\n"
                        "limits: {max_array_size: 3, max_concurrent_jobs: 2, "
                        "min_query_interval_seconds: 0}\n");
  json sweep = CountingSweep("waves", 10);
  json dry = repo.Call("submit_sweep", {{"profile", "waves"}, {"sweep", sweep}, {"dry_run", true}});
  INFO(dry.dump());
  REQUIRE_FALSE(dry.value("isError", false));
  const json& plan = dry["structuredContent"]["plan"];
  CHECK(plan["counts"]["arrays"] == 4);
  CHECK(plan["counts"]["waves"] == 2);
  CHECK(plan["counts"]["submissions"] == 4);
  CHECK(dry["structuredContent"]["state"] == "planned");
  CHECK(repo.Events().empty());  // A dry run journals nothing.

  json r = repo.Call("submit_sweep", {{"profile", "waves"}, {"sweep", sweep}});
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  const std::string id = r["structuredContent"]["sweep_id"];
  // The second wave waits afterany for the first, as the plan said.
  int waits = 0;
  for (const auto& e : repo.Events())
    if (e["name"] == "batch_submitting")
      for (const auto& a : e["context"]["after"]) waits += a["kind"] == "afterany";
  CHECK(waits == 4);  // Two arrays of wave 1, each after both of wave 0.

  // The same call again: the same sweep, nothing submitted twice.
  json again = repo.Call("submit_sweep", {{"profile", "waves"}, {"sweep", sweep}});
  CHECK(again["structuredContent"]["idempotent"] == true);
  CHECK(again["structuredContent"]["sweep_id"] == id);

  // wait_for_runs advances and reports the sweep as poll does.
  json waited = repo.Call("wait_for_runs", {{"run_ids", {id}}, {"timeout_s", 120}, {"interval_s", 1}});
  INFO(waited.dump());
  REQUIRE_FALSE(waited.value("isError", false));
  CHECK(waited["structuredContent"]["runs"][0]["sweep"]["tasks"] == 10);
  json done = repo.WaitEnded(id, std::chrono::seconds(120));
  INFO(done.dump());
  CHECK(done["state"] == "completed");
  auto ran = testing::CountLines(repo.path() + "/ran.txt");
  CHECK(ran.size() == 10);
  for (const auto& [task, n] : ran) CHECK(n == 1);
  CHECK(CountEvents(repo.Events(), "batch_submitted") == 4);

  // The same command template again: its duration is known now.
  json next = CountingSweep("waves-again", 10);
  json estimate = repo.Call("submit_sweep", {{"profile", "waves"}, {"sweep", next}, {"dry_run", true}});
  INFO(estimate.dump());
  const json& wall = estimate["structuredContent"]["plan"]["estimate"];
  CHECK(wall["known"] == true);
  CHECK(wall.contains("wall_clock"));
  CHECK_THAT(estimate["content"][0]["text"].get<std::string>(), Contains("Estimated wall clock"));
}

TEST_CASE("a batch whose submit answer was lost is found by its tag, not submitted twice",
          "[submit_sweep][local]") {
  RunRepo repo;
  json sweep = CountingSweep("lost", 3);
  {
    // The scheduler took the array; its answer never came back.
    FaultGuard fault([](std::string_view point) {
      return point == "after_dispatch" ? Status(StatusCode::kUnavailable, "connection reset")
                                       : Status::Ok();
    });
    json r = repo.Call("submit_sweep", {{"sweep", sweep}});
    INFO(r.dump());
    REQUIRE_FALSE(r.value("isError", false));
  }
  std::string id;
  int adopted = 0;
  for (const auto& e : repo.Events()) {
    if (e["name"] == "created") id = e["run"];
    adopted += e["name"] == "batch_submitted" && e["context"]["how"] == "comment";
  }
  CHECK(adopted == 1);
  json done = repo.WaitEnded(id, std::chrono::seconds(60));
  INFO(done.dump());
  CHECK(done["state"] == "completed");
  auto ran = testing::CountLines(repo.path() + "/ran.txt");
  CHECK(ran.size() == 3);
  for (const auto& [task, n] : ran) CHECK(n == 1);
}

TEST_CASE("a sweep the server died in the middle of is finished by the next call, each task once",
          "[submit_sweep][local]") {
  RunRepo repo;
  repo.WriteProfile("one",
                    "name: one\nscheduler: local\naccess: {kind: local}\nshell: {login: [bash]}\n"
                    "paths:\n  work_root: " + repo.path() + "/cluster/jobs\n  log_root: " +
                        repo.path() + "/cluster/logs\n"
                        "limits: {max_array_size: 2, min_query_interval_seconds: 0}\n");
  json sweep = CountingSweep("mid", 6);
  int dispatched = 0;
  {
    // The second batch is journaled but never reaches the scheduler (the
    // connection died before its submit), the third is never journaled.
    FaultGuard fault([&](std::string_view point) {
      if (point == "before_dispatch" && ++dispatched == 2)
        return Status(StatusCode::kUnavailable, "connection lost");
      return Status::Ok();
    });
    json r = repo.Call("submit_sweep", {{"profile", "one"}, {"sweep", sweep}});
    INFO(r.dump());
    REQUIRE(r.value("isError", false));
    CHECK_THAT(r.dump(), Contains("did not complete"));
  }
  CHECK(CountEvents(repo.Events(), "batch_submitting") == 2);
  json r = repo.Call("submit_sweep", {{"profile", "one"}, {"sweep", sweep}});
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  CHECK(r["structuredContent"]["idempotent"] == true);
  json done = repo.WaitEnded(r["structuredContent"]["sweep_id"], std::chrono::seconds(60));
  INFO(done.dump());
  CHECK(done["state"] == "completed");
  auto ran = testing::CountLines(repo.path() + "/ran.txt");
  CHECK(ran.size() == 6);
  for (const auto& [task, n] : ran) CHECK(n == 1);
  CHECK(CountEvents(repo.Events(), "batch_submitted") == 3);
}

// A GPU host's profile (gpus.placement: nvidia-smi) on this machine, whose
// login shell finds programs in `bin` first.
void WriteGpuProfile(RunRepo& repo, const std::string& name,
                     const std::string& bin) {
  repo.WriteProfile(name, "name: " + name +
                              "\nscheduler: local\naccess: {kind: local}\n"
                              "shell: {login: [bash], setup: [\"export PATH='" +
                              bin +
                              "':$PATH\"]}\ngpus: {placement: nvidia-smi}\n"
                              "paths:\n  work_root: " +
                              repo.path() +
                              "/cluster/jobs\n  log_root: " + repo.path() +
                              "/cluster/logs\n"
                              "limits: {min_query_interval_seconds: 0}\n");
}

// A GPU host (gpus.placement: nvidia-smi; this machine has no GPU, so a
// setup line puts first on PATH an nvidia-smi printing four GPUs in the
// query's real format, GPU 1 busy). The task runs out of GPU memory on its
// first GPU; the retry's first dispatch is cut short (the connection died
// before the submit), so the next poll sends it again from the journal:
// both times it prefers another GPU.
TEST_CASE(
    "a GPU OOM retry runs on another GPU, also when sent again after a crash",
    "[submit_sweep][local][gpus]") {
  RunRepo repo;
  const std::string bin = repo.path() + "/bin";
  std::filesystem::create_directories(bin);
  std::ofstream(repo.path() + "/smi.csv")
      << "0, GPU-9d3a3f5e-2c71-6b2e-8f0a-1b7c1e1a4d11, 3, 81559\n"
         "1, GPU-0b6c7e0f-61d5-3b7a-2d8e-55c2a1f0e9a2, 30211, 81559\n"
         "2, GPU-5f1d2c3b-4a59-7e86-9d7c-0e1f2a3b4c5d, 0, 81559\n"
         "3, GPU-6a7b8c9d-0e1f-2a3b-4c5d-6e7f8a9b0c1d, 120, 81559\n";
  std::ofstream(bin + "/nvidia-smi")
      << "#!/bin/sh\ncat '" << repo.path() << "/smi.csv'\n";
  std::filesystem::permissions(bin + "/nvidia-smi",
                               std::filesystem::perms::owner_all);
  WriteGpuProfile(repo, "gpu", bin);
  json sweep = {
      {"name", "oom"},
      {"parameters", {{"grid", {{"i", {0}}}}}},
      {"id", "t${i}"},
      {"resources", {{"gpus", 1}}},
      {"retry", {{"gpu_oom", {{"max_attempts", 3}, {"delay_seconds", 0}}}}},
      {"command",
       {"bash", "-c",
        "echo \"$CUDA_VISIBLE_DEVICES\" >> gpus.txt; [ -e oom_once ] && exit "
        "0; : > oom_once; "
        "echo 'RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB "
        "(GPU 0; 79.15 GiB "
        "total capacity; 78.10 GiB already allocated)' >&2; exit 1"}}};
  int dispatched = 0;
  FaultGuard fault([&](std::string_view point) {
    if (point == "before_dispatch" && ++dispatched == 2)  // The retry's first.
      return Status(StatusCode::kUnavailable, "connection lost");
    return Status::Ok();
  });
  json r = repo.Call("submit_sweep", {{"profile", "gpu"}, {"sweep", sweep}});
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  json done = repo.WaitEnded(r["structuredContent"]["sweep_id"],
                             std::chrono::seconds(90));
  INFO(done.dump());
  CHECK(done["state"] == "completed");
  CHECK(dispatched == 3);

  auto ran = testing::CountLines(repo.path() + "/gpus.txt");
  std::vector<std::string> gpus;
  for (const auto& [gpu, n] : ran) gpus.push_back(gpu);
  INFO(testing::ReadAll(repo.path() + "/gpus.txt"));
  REQUIRE(gpus.size() == 2);  // Two attempts on two GPUs, neither the busy one.
  for (const auto& g : gpus) CHECK((g == "0" || g == "2" || g == "3"));
  std::vector<json> retries;
  for (const json& e : repo.Events())
    if (e["name"] == "batch_submitting" && e["context"]["kind"] == "retry")
      retries.push_back(e);
  REQUIRE(retries.size() == 1);  // Journaled once, sent twice.
  CHECK(CountEvents(repo.Events(), "batch_submit_failed") == 1);
  const std::string first =
      testing::ReadAll(repo.path() + "/gpus.txt").substr(0, 1);
  CHECK(retries[0]["context"]["avoid_gpus"] == json::array({std::stoi(first)}));
}

// Without nvidia-smi the batch is refused before anything is sent, and
// says so: nothing to adopt or send again.
TEST_CASE(
    "a sweep asking for GPUs on a host without nvidia-smi is refused at once",
    "[submit_sweep][local][gpus]") {
  RunRepo repo;
  WriteGpuProfile(repo, "nosmi", repo.path() + "/empty-bin");
  json sweep = CountingSweep("nosmi", 2);
  sweep["resources"] = {{"gpus", 1}};
  json r = repo.Call("submit_sweep", {{"profile", "nosmi"}, {"sweep", sweep}});
  INFO(r.dump());
  REQUIRE(r.value("isError", false));
  CHECK_THAT(r.dump(),
             Contains("nvidia-smi failed") && Contains("gpus.placement: none"));
  CHECK_THAT(r.dump(), !Contains("not known yet"));
  int refused = 0;
  for (const json& e : repo.Events())
    refused +=
        e["name"] == "batch_submit_failed" && e["context"]["lost"] == false;
  CHECK(refused == 1);
}

// The scheduler forgot the sweep's job while no poll looked (accounting
// off, or lagging, and the job purged; here the job wrapper's record of it
// is removed): the next polls read what the batch script recorded in its
// exit files, and the sweep ends as its tasks did.
TEST_CASE("a sweep whose job the scheduler forgot ends from its exit files",
          "[submit_sweep][local]") {
  RunRepo repo;
  json sweep = CountingSweep("forgot", 3);
  sweep["command"] = {
      "bash", "-c",
      "echo \"$HPC_SWEEP_TASK\" >> ran.txt; [ \"$HPC_SWEEP_TASK\" != t2 ]"};
  json r = repo.Call("submit_sweep", {{"sweep", sweep}});
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  std::string exit_dir, job_id;
  for (const json& e : repo.Events()) {
    if (e["name"] == "batch_submitting") exit_dir = e["context"]["exit_dir"];
    if (e["name"] == "batch_submitted") job_id = e["context"]["job_id"];
  }
  REQUIRE_FALSE(exit_dir.empty());
  REQUIRE_FALSE(job_id.empty());
  // Bounded: three quick tasks.
  for (int i = 0; i < 600 && !(std::filesystem::exists(exit_dir + "/0.exit") &&
                               std::filesystem::exists(exit_dir + "/1.exit") &&
                               std::filesystem::exists(exit_dir + "/2.exit"));
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::string id = r["structuredContent"]["sweep_id"];
  const std::string record =
      repo.path() + "/cluster/jobs/.hpc-mcp/jobs/" + job_id;
  REQUIRE(std::filesystem::exists(record));
  std::filesystem::remove_all(record);
  // Exit files just written are not read: accounting lags by seconds.
  json early = repo.Call("poll", {{"run_ids", {id}}});
  INFO(early.dump());
  CHECK(early["structuredContent"]["runs"][0]["sweep"]["counts"]["queued"] ==
        3);
  // Written three minutes ago.
  for (const char* f : {"/0.exit", "/1.exit", "/2.exit"})
    std::filesystem::last_write_time(
        exit_dir + f, std::filesystem::file_time_type::clock::now() -
                          std::chrono::minutes(3));

  json done = repo.WaitEnded(id, std::chrono::seconds(60));
  INFO(done.dump());
  CHECK(done["state"] == "failed");
  CHECK(done["sweep"]["counts"]["done"] == 2);
  CHECK(done["sweep"]["counts"]["stuck"] == 1);
  REQUIRE(done["sweep"]["problems"].size() == 1);
  CHECK(done["sweep"]["problems"][0]["task"] == "t2");
  CHECK(done["sweep"]["problems"][0]["exit_code"] == 1);
}

TEST_CASE("a task whose precondition never appears is stuck with precondition_missing",
          "[submit_sweep][local]") {
  RunRepo repo;
  json sweep = {{"name", "pre"},
                {"precondition_wait_seconds", 0},
                {"preconditions", {"inputs/never.txt"}},
                {"command", {"bash", "-c", "echo ran >> ran.txt"}}};
  json r = repo.Call("submit_sweep", {{"sweep", sweep}});
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  json ended = repo.WaitEnded(r["structuredContent"]["sweep_id"], std::chrono::seconds(60));
  INFO(ended.dump());
  CHECK(ended["state"] == "failed");
  REQUIRE(ended["sweep"]["problems"].size() == 1);
  CHECK(ended["sweep"]["problems"][0]["category"] == "precondition_missing");
  CHECK_THAT(ended["sweep"]["problems"][0]["summary"].get<std::string>(),
             Contains("inputs/never.txt"));
  CHECK_FALSE(std::filesystem::exists(repo.path() + "/ran.txt"));  // Never started.
}

TEST_CASE("submit_sweep refuses bad sweeps before anything is journaled", "[submit_sweep][local]") {
  RunRepo repo;
  auto refused = [&](json args) {
    json r = repo.Call("submit_sweep", std::move(args));
    INFO(r.dump());
    CHECK(r.value("isError", false));
    return r.dump();
  };
  // An undefined placeholder, named with its field.
  std::string undefined = refused(
      {{"sweep", {{"name", "u"}, {"parameters", {{"grid", {{"lr", {1, 2}}}}}},
                  {"command", {"train", "--lr", "${lr}", "--bs", "${batch}"}}}}});
  CHECK_THAT(undefined, Contains("batch"));
  CHECK_THAT(undefined, Contains("command"));
  // A cycle in depends_on.
  std::string cycle = refused(
      {{"sweep",
        {{"name", "c"},
         {"command", {"true"}},
         {"phases", {{{"name", "a"}, {"depends_on", {"b"}}}, {{"name", "b"}, {"depends_on", {"a"}}}}}}}});
  CHECK_THAT(cycle, Contains("cycle"));
  // A million-task grid: refused by its count, nothing built.
  std::string huge = refused({{"sweep",
                               {{"name", "h"},
                                {"command", {"true", "${a}", "${b}"}},
                                {"parameters", {{"grid", {{"a", Values(1000)}, {"b", Values(1000)}}}}}}}});
  CHECK_THAT(huge, Contains("1,000,000"));
  // Neither sweep nor file, and both.
  refused(json::object());
  refused({{"sweep", CountingSweep("x", 1)}, {"file", "sweep.yaml"}});
  // A file outside the repository.
  refused({{"file", "../outside.yaml"}});
  CHECK(CountEvents(repo.Events(), "created") == 0);
}

TEST_CASE("a sweep of more than 10,000 tasks asks for a confirmation first", "[submit_sweep][local]") {
  RunRepo repo;
  json sweep = CountingSweep("big", 10001);
  json r = repo.Call("submit_sweep", {{"sweep", sweep}});
  INFO(r.dump().substr(0, 2000));
  REQUIRE_FALSE(r.value("isError", false));
  const json& o = r["structuredContent"];
  CHECK(o["state"] == "awaiting_confirmation");
  CHECK_THAT(o["confirm"]["why"][0].get<std::string>(), Contains("10,001 tasks"));
  CHECK(CountEvents(repo.Events(), "created") == 0);
  // A token of another sweep does not work for this one.
  json other = repo.Call("submit_sweep",
                         {{"sweep", CountingSweep("big2", 10001)},
                          {"confirm_token", o["confirm"]["token"]}, {"dry_run", false}});
  CHECK(other.value("isError", false));
}

TEST_CASE("a sweep from a YAML file of the repository", "[submit_sweep][local]") {
  RunRepo repo;
  std::ofstream(repo.path() + "/sweep.yaml")
      << "name: fromfile\nparameters:\n  seeds: [1, 2]\nid: s${seed}\n"
         "command: [bash, -c, 'echo $HPC_PARAM_SEED >> ran.txt']\n";
  json r = repo.Call("submit_sweep", {{"file", "sweep.yaml"}});
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  json done = repo.WaitEnded(r["structuredContent"]["sweep_id"], std::chrono::seconds(60));
  CHECK(done["state"] == "completed");
  auto ran = testing::CountLines(repo.path() + "/ran.txt");
  CHECK(ran["1"] == 1);
  CHECK(ran["2"] == 1);
  // A YAML error names its line.
  std::ofstream(repo.path() + "/bad.yaml") << "name: bad\ncommand: [echo, ${nope}]\n";
  json bad = repo.Call("submit_sweep", {{"file", "bad.yaml"}});
  CHECK(bad.value("isError", false));
  CHECK_THAT(bad.dump(), Contains("bad.yaml:2"));
}

}  // namespace
}  // namespace hpc
