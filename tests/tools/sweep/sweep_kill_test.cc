// kill -9 of the server in the middle of a sweep's submission, again and
// again, through the real binary over stdio: after the restarts the same
// submit_sweep call finishes the sweep, every batch has exactly one job
// carrying its tag, and every task ran exactly once. On the local profile
// and on the Slurm testbed.
#include <signal.h>

#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "tests/support/mcp_stdio.h"
#include "tests/support/run_repo.h"
#include "tests/support/sweep_scenario.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/store.h"

namespace hpc {
namespace {

using nlohmann::json;
using testing::RunRepo;
using testing::StdioServer;
using Clock = std::chrono::steady_clock;

json SubmitSweepRequest(int id, const std::string& repo, const std::string& profile, int tasks) {
  json values = json::array();
  for (int i = 0; i < tasks; ++i) values.push_back(i);
  json sweep = {{"name", "killed"},
                {"parameters", {{"grid", {{"i", values}}}}},
                {"id", "t${i}"},
                {"resources", {{"time", "00:05:00"}}},
                {"command", {"bash", "-c", "echo \"$HPC_SWEEP_TASK\" >> ran.txt"}}};
  return {{"jsonrpc", "2.0"},
          {"id", id},
          {"method", "tools/call"},
          {"params",
           {{"name", "submit_sweep"},
            {"arguments", {{"repo", repo}, {"profile", profile}, {"sweep", sweep}}}}}};
}

void KillDuringSweep(RunRepo& repo, const std::string& profile, const std::string& workdir,
                     int tasks, int max_kill_ms) {
  std::mt19937 rng(std::random_device{}());
  int kills = 0;
  bool finished = false;
  std::string sweep_id;
  const auto deadline = Clock::now() + std::chrono::seconds(300);
  for (int round = 0; round < 12 && !finished && Clock::now() < deadline; ++round) {
    StdioServer server(testing::BuiltBinary("hpc-mcp"));
    REQUIRE(server.started());
    REQUIRE(server.Initialize());
    REQUIRE(server.Send(SubmitSweepRequest(round + 10, repo.path(), profile, tasks)));
    // Six rounds die at a random moment; then it may finish.
    const bool kill = round < 6;
    const auto stop_at =
        Clock::now() + std::chrono::milliseconds(std::uniform_int_distribution<int>(20, max_kill_ms)(rng));
    while (true) {
      if (kill && Clock::now() >= stop_at) break;
      auto m = server.Next(std::chrono::milliseconds(kill ? 20 : 120000));
      if (!m) {
        if (!kill) break;
        continue;
      }
      if (!m->contains("id") || !m->contains("result")) continue;
      const json& r = (*m)["result"];
      INFO(r.dump().substr(0, 1500));
      if (!r.value("isError", false)) {
        finished = true;
        sweep_id = r["structuredContent"]["sweep_id"];
      }
      break;
    }
    if (kill && !finished) {
      server.process().Signal(SIGKILL);
      ++kills;
    } else {
      server.process().CloseStdin();
    }
    server.process().Wait(std::chrono::seconds(10));
  }
  REQUIRE(finished);
  INFO(kills << " kills");
  CHECK(kills >= 1);  // Else nothing here was killed mid-submission.
  json done = repo.WaitEnded(sweep_id, std::chrono::seconds(300));
  INFO(done.dump());
  CHECK(done["state"] == "completed");

  // The journal replays; one sweep; each batch has exactly one job.
  auto store = runs::RunStore::ForRepo(repo.path());
  REQUIRE(store.ok());
  auto table = (*store)->Load();
  REQUIRE(table.ok());
  for (const auto& p : (*table)->problems) CHECK(p.find("cut short") != std::string::npos);
  int sweeps = 0;
  for (const auto& [id, run] : (*table)->runs) sweeps += run.sweep != nullptr;
  CHECK(sweeps == 1);
  auto cluster = runs::OpenCluster(profile, repo.path());
  REQUIRE(cluster.ok());
  const auto& batches = (*table)->runs.at(sweep_id).sweep->batches;
  for (const auto& b : batches) {
    INFO(b.id);
    auto found = (*cluster)->scheduler->FindByComment(b.tag);
    REQUIRE(found.ok());
    CHECK(found->size() == 1);
  }
  auto ran = testing::CountLines(workdir + "/ran.txt");
  CHECK(ran.size() == static_cast<size_t>(tasks));
  for (const auto& [task, n] : ran) {
    INFO(task);
    CHECK(n == 1);
  }
}

TEST_CASE("kill -9 during a sweep's submission on the local profile loses and repeats nothing",
          "[sweep][kill][local]") {
  RunRepo repo;
  repo.WriteProfile("one", "name: one\nscheduler: local\naccess: {kind: local}\nshell: {login: [bash]}\n"
                           "paths:\n  work_root: " + repo.path() + "/cluster/jobs\n  log_root: " +
                               repo.path() + "/cluster/logs\n"
                               "limits: {max_array_size: 1, min_query_interval_seconds: 0}\n");
  KillDuringSweep(repo, "one", repo.path(), 24, 300);
}

TEST_CASE("kill -9 during a sweep's submission on the Slurm testbed loses and repeats nothing",
          "[sweep][kill][testbed][slurm]") {
  RunRepo repo;
  const std::string root = repo.AddTestbedProfile(
      "tb-kill", "slurm", "{max_array_size: 1, max_concurrent_jobs: 8, min_query_interval_seconds: 0}");
  // 40 submissions of ~10-20 ms each: killed within the first 250 ms.
  KillDuringSweep(repo, "tb-kill", root + "/work", 40, 250);
}

// Each batch's sbatch reaches the cluster-side submit lock a second late,
// as the command of a killed server can (runs/submitter.h): most kills
// leave one behind for the next server.
TEST_CASE(
    "kill -9 during a sweep's submission whose commands reach the lock late "
    "repeats nothing",
    "[sweep][kill][testbed][slurm]") {
  RunRepo repo;
  const std::string root = repo.AddTestbedProfileWithLateSubmits(
      "tb-kill-late", "slurm",
      "{max_array_size: 1, max_concurrent_jobs: 8, min_query_interval_seconds: "
      "0}");
  KillDuringSweep(repo, "tb-kill-late", root + "/work", 8, 1500);
}

}  // namespace
}  // namespace hpc
