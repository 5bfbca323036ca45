// The full run loop through the MCP tools against the real Slurm and Grid
// Engine testbeds over SSH (libssh2): submit with smoke, arrays and
// dependencies, poll until the end, read logs, and see the right diagnosis
// for OOM, timeout, quick death, NaN loss and a missing log directory;
// cancel; adopt a job whose submit answer was lost. Every case of a
// scheduler is submitted first and then watched together, so slow cases
// (a Slurm time limit takes a minute) overlap.
#include <catch2/catch.hpp>
#include <map>
#include <thread>

#include "tests/support/run_repo.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/submitter.h"

namespace hpc {
namespace {

using nlohmann::json;
using testing::RunRepo;

struct Case {
  std::string key;
  json args;
  std::string want_state;     // Empty: any ended state.
  std::string want_category;  // Empty: no diagnosis expected.
};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

void RunScheduler(const std::string& scheduler) {
  RunRepo repo;
  const std::string profile = "tb-" + scheduler;
  const std::string root = repo.AddTestbedProfile(profile, scheduler);
  const bool slurm = scheduler == "slurm";
  const std::string limit = slurm ? "00:01:00" : "00:00:05";
  std::vector<Case> cases;
  auto add = [&](std::string key, json args, std::string state, std::string category) {
    cases.push_back({std::move(key), std::move(args), std::move(state), std::move(category)});
  };
  json ok = {{"name", "ok"}, {"smoke", true}, {"smoke_args", json::array({"--smoke"})}};
  ok["command"] = json::array(
      {"bash", "-c", "echo step=1 loss=2.0; echo task=${HPC_ARRAY_TASK_ID:-none} lr=$LR"});
  ok["array"] = json::array({{{"LR", "0.1"}}, {{"LR", "0.01"}}, {{"LR", "0.001"}}});
  add("ok", ok, "completed", "");
  json slow = {{"name", "slow"}, {"command", json::array({"sleep", "300"})}};
  slow["resources"] = {{"time", limit}};
  add("timeout", slow, "timeout", "timeout");
  add("quick", {{"name", "quick"}, {"command", json::array({"bash", "-c", "exit 1"})}}, "failed",
      "quick_death");
  add("nan",
      {{"name", "nan"},
       {"command", json::array({"bash", "-c",
                                "echo step=1 loss=2.5; echo step=2 loss=nan; echo 'Loss is NaN' >&2; exit 1"})}},
      "failed", "nan_loss");
  add("nolog", {{"name", "nolog"}, {"script", "#!/bin/bash\nrm -rf -- \"" + root + "/logs/$HPC_RUN_ID\"\nexit 2\n"}}, "",
      "missing_log_dir");
  if (slurm && Env("TESTBED_SLURM_CGROUP") == "1") {
    json oom = {{"name", "oom"}};
    oom["command"] = json::array({"perl", "-e", "$x = 'x' x (400 * 1024 * 1024); sleep 2; print length($x)"});
    oom["resources"] = {{"mem", "50M"}};
    add("oom", oom, "out_of_memory", "host_oom");
  }

  std::map<std::string, std::string> ids;
  for (const auto& c : cases) {
    json args = c.args;
    args["profile"] = profile;
    json r = repo.Call("submit", args);
    INFO(scheduler << " " << c.key << ": " << r.dump());
    REQUIRE_FALSE(r.value("isError", false));
    ids[c.key] = r["structuredContent"]["run_id"];
  }
  // Depends on the array run; and one to cancel.
  json dep = repo.Call("submit", {{"profile", profile}, {"name", "after"},
                                  {"command", {"echo", "after ok"}}, {"depends_on", {ids["ok"]}}});
  INFO(dep.dump());
  REQUIRE_FALSE(dep.value("isError", false));
  json victim = repo.Call("submit", {{"profile", profile}, {"name", "victim"}, {"command", {"sleep", "300"}}});
  const std::string victim_id = victim["structuredContent"]["run_id"];
  json cancelled = repo.Call("cancel", {{"run_id", victim_id}, {"confirm", victim_id}});
  INFO(cancelled.dump());
  CHECK_FALSE(cancelled.value("isError", false));

  // A submit whose answer is lost is adopted by its tag, not sent twice.
  json lost;
  {
    runs::SetSubmitFaultHookForTesting([](std::string_view point) {
      return point == "after_dispatch" ? Status(StatusCode::kUnavailable, "connection dropped")
                                       : Status::Ok();
    });
    lost = repo.Call("submit", {{"profile", profile}, {"name", "lost"}, {"command", {"true"}}});
    runs::SetSubmitFaultHookForTesting(nullptr);
  }
  INFO(lost.dump());
  REQUIRE_FALSE(lost.value("isError", false));
  json again = repo.Call("submit", {{"profile", profile}, {"name", "lost"}, {"command", {"true"}}});
  CHECK((again["structuredContent"]["run_id"] == lost["structuredContent"]["run_id"] ||
         again["structuredContent"]["idempotent"] == false));  // It may have ended already.

  for (const auto& c : cases) {
    json done = repo.WaitEnded(ids[c.key], std::chrono::seconds(240));
    INFO(scheduler << " " << c.key << ": " << done.dump());
    if (!c.want_state.empty()) CHECK(done["state"] == c.want_state);
    if (c.want_category.empty()) {
      CHECK(done["diagnosis"].is_null());
    } else {
      REQUIRE(done["diagnosis"].is_object());
      CHECK(done["diagnosis"]["category"] == c.want_category);
    }
  }
  // The third parameter set is task 2 (Grid Engine: 3, its ids start at 1).
  const std::string third = slurm ? "2" : "3";
  json ok_log = repo.Call("tail_log", {{"run_id", ids["ok"]}, {"task", third}});
  INFO(ok_log.dump());
  REQUIRE_FALSE(ok_log.value("isError", false));
  REQUIRE_FALSE(ok_log["structuredContent"]["lines"].empty());
  CHECK(ok_log["structuredContent"]["lines"].back() == "task=" + third + " lr=0.001");
  CHECK(ok_log["structuredContent"]["metrics"]["loss"] == 2.0);
  json smoke_log = repo.Call("tail_log", {{"run_id", ids["ok"]}, {"role", "smoke"}});
  REQUIRE_FALSE(smoke_log["structuredContent"]["lines"].empty());
  CHECK(smoke_log["structuredContent"]["lines"].back() == "task=none lr=0.1");
  CHECK(repo.WaitEnded(dep["structuredContent"]["run_id"], std::chrono::seconds(120))["state"] ==
        "completed");
  CHECK(repo.WaitEnded(victim_id, std::chrono::seconds(60))["state"] == "cancelled");

  // Exactly one job carries the lost run's tag.
  std::string tag;
  for (const auto& e : repo.Events())
    if (e["run"] == lost["structuredContent"]["run_id"] && e["name"] == "submitting")
      tag = e["context"]["tag"];
  auto cluster = runs::OpenCluster(profile, repo.path());
  REQUIRE(cluster.ok());
  auto found = (*cluster)->scheduler->FindByComment(tag);
  REQUIRE(found.ok());
  CHECK(found->size() == 1);
}

TEST_CASE("the run loop on the Slurm testbed", "[runs][testbed][slurm]") { RunScheduler("slurm"); }

TEST_CASE("the run loop on the Grid Engine testbed", "[runs][testbed][sge]") {
  if (Env("TESTBED_SGE") == "0") FAIL("the testbed has no Grid Engine (TESTBED_SGE=0)");
  RunScheduler("sge");
}

}  // namespace
}  // namespace hpc
