// kill -9 of the server at random moments during 200 submits: after the
// restarts every submit is acknowledged, no run is lost, no job is
// submitted twice, and the journal replays. On the local profile and on the
// Slurm testbed, through the real binary over stdio; and on the testbed
// with submit commands that reach the cluster-side lock a second late, as
// the ssh command of a killed server can (runs/submitter.h).
#include <signal.h>

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>

#include "tests/support/mcp_stdio.h"
#include "tests/support/run_repo.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/store.h"

namespace hpc {
namespace {

using nlohmann::json;
using testing::RunRepo;
using testing::StdioServer;
using Clock = std::chrono::steady_clock;

json SubmitRequest(int id, const std::string& repo, const std::string& profile) {
  return {{"jsonrpc", "2.0"},
          {"id", id},
          {"method", "tools/call"},
          {"params",
           {{"name", "submit"},
            {"arguments",
             {{"repo", repo}, {"profile", profile}, {"name", "k" + std::to_string(id)},
              {"command", json::array({"true"})}}}}}};
}

// `submits` submits, `per_round` of them sent to each server started.
void KillDuringSubmits(const std::string& profile, RunRepo& repo,
                       int submits = 200, int per_round = 40) {
  std::mt19937 rng(std::random_device{}());
  std::set<int> pending;
  for (int i = 0; i < submits; ++i) pending.insert(i);
  int kills = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(400);
  for (int round = 0; round < 80 && !pending.empty() && Clock::now() < deadline; ++round) {
    StdioServer server(testing::BuiltBinary("hpc-mcp"));
    REQUIRE(server.started());
    REQUIRE(server.Initialize());
    // A few dozen at a time, so that most rounds are killed mid-work.
    int sent = 0;
    for (int i : pending) {
      if (sent == per_round) break;
      REQUIRE(server.Send(SubmitRequest(i, repo.path(), profile)));
      ++sent;
    }
    // Most rounds die after a random moment; every fifth runs to the end.
    const bool kill = round % 5 != 4;
    const auto stop_at =
        Clock::now() + std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 300)(rng));
    int answered = 0;
    while (!pending.empty() && answered < sent) {
      if (kill && Clock::now() >= stop_at) break;
      auto m = server.Next(std::chrono::milliseconds(kill ? 50 : 30000));
      if (!m) {
        if (!kill) break;
        continue;
      }
      if (!m->contains("id") || !m->contains("result")) continue;
      ++answered;
      const json& r = (*m)["result"];
      if (r.value("isError", false)) continue;  // e.g. an answer lost: resent next round.
      pending.erase((*m)["id"].get<int>());
    }
    if (kill) {
      server.process().Signal(SIGKILL);
      ++kills;
    } else {
      server.process().CloseStdin();
    }
    server.process().Wait(std::chrono::seconds(10));
  }
  INFO(pending.size() << " submits never acknowledged after " << kills << " kills");
  REQUIRE(pending.empty());
  CHECK(kills >= 5);

  // The journal replays; at most the torn lines of the kills are reported.
  auto store = runs::RunStore::ForRepo(repo.path());
  REQUIRE(store.ok());
  auto table = (*store)->Load();
  REQUIRE(table.ok());
  for (const auto& p : (*table)->problems) CHECK(p.find("cut short") != std::string::npos);
  // One run per submit, each with exactly one job carrying its tag.
  std::map<std::string, int> runs_by_name;
  for (const auto& [id, run] : (*table)->runs) ++runs_by_name[run.name];
  CHECK(runs_by_name.size() == static_cast<size_t>(submits));
  for (const auto& [name, n] : runs_by_name) {
    INFO(name);
    CHECK(n == 1);
  }
  auto cluster = runs::OpenCluster(profile, repo.path());
  REQUIRE(cluster.ok());
  int checked = 0;
  for (const auto& [id, run] : (*table)->runs) {
    INFO(id << " " << run.state);
    REQUIRE(run.current());
    const runs::Job* main = run.current()->Find("main");
    REQUIRE(main);
    CHECK_FALSE(main->job_id.empty());
    auto found = (*cluster)->scheduler->FindByComment(main->tag);
    REQUIRE(found.ok());
    CHECK(found->size() == 1);
    if (found->size() == 1) CHECK(found->front() == main->job_id);
    ++checked;
  }
  CHECK(checked == submits);
}

TEST_CASE("kill -9 during 200 submits on the local profile loses and duplicates nothing",
          "[submit][fault][local]") {
  RunRepo repo;
  KillDuringSubmits("local", repo);
}

TEST_CASE("kill -9 during 200 submits on the Slurm testbed loses and duplicates nothing",
          "[submit][fault][testbed][slurm]") {
  RunRepo repo;
  repo.AddTestbedProfile("tb-slurm", "slurm");
  KillDuringSubmits("tb-slurm", repo);
}

// The submit command of a killed server can reach the cluster-side lock
// after the server that replaced it looked for the job: sshd runs a command
// it received although its client is gone, and a login shell is slow to
// start. Here every submit command takes the lock a second late, so most
// kills leave such a command behind for the next server.
TEST_CASE(
    "kill -9 during submits whose commands reach the lock late duplicates "
    "nothing",
    "[submit][fault][testbed][slurm]") {
  RunRepo repo;
  repo.AddTestbedProfileWithLateSubmits("tb-slurm-late", "slurm");
  KillDuringSubmits("tb-slurm-late", repo, 20, 5);
}

}  // namespace
}  // namespace hpc
