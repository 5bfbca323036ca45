// Sweeps on the real Slurm and Grid Engine testbeds over SSH (libssh2):
// the scenario of issue 7's "done when" (tests/support/sweep_scenario.h),
// and a 5,000-task sweep under max_array_size 1000 and
// max_concurrent_jobs 2 whose submissions and scheduler queries are
// counted by wrappers around the real sbatch, squeue and sacct (put first
// on the PATH by the profile's setup line).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "tests/support/run_repo.h"
#include "tests/support/sweep_scenario.h"

namespace hpc {
namespace {

using nlohmann::json;
using testing::RunRepo;

TEST_CASE("the two-phase sweep with retry and resubmit_failed completes on the Slurm testbed",
          "[sweep][testbed][slurm]") {
  RunRepo repo;
  const std::string root = repo.AddTestbedProfile("tb-slurm", "slurm");
  // The testbed's one node ran the OOM'd attempt: its retry avoids it,
  // and runs there all the same (the backend drops the preference).
  testing::RunDoneWhen(repo, "tb-slurm", root + "/work",
                       std::chrono::seconds(400), {"vm"});
}

TEST_CASE("the two-phase sweep with retry and resubmit_failed completes on the Grid Engine testbed",
          "[sweep][testbed][sge]") {
  RunRepo repo;
  const std::string root = repo.AddTestbedProfile("tb-sge", "sge");
  // The testbed's one node ran the OOM'd attempt: its retry avoids it,
  // and runs there all the same (the backend drops the preference).
  testing::RunDoneWhen(repo, "tb-sge", root + "/work",
                       std::chrono::seconds(400), {"vm"});
}

// Lines of `log` starting with `command`.
int Count(const std::string& log, const std::string& command) {
  std::ifstream in(log);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) n += line.rfind(command + " ", 0) == 0 || line == command;
  return n;
}

TEST_CASE("a 5,000-task sweep on the Slurm testbed is 5 submissions, and a poll is one query",
          "[sweep][testbed][slurm]") {
  RunRepo repo;
  // Wrappers that log each call, then run the real command.
  const std::string bin = repo.path() + "/counted-bin", log = repo.path() + "/calls.log";
  std::filesystem::create_directories(bin);
  for (const char* tool : {"sbatch", "squeue", "sacct", "scontrol"}) {
    const std::string real = std::string("/usr/bin/") + tool;
    std::ofstream(bin + "/" + tool) << "#!/bin/sh\necho \"" << tool << " $*\" >> '" << log
                                    << "'\nexec " << real << " \"$@\"\n";
    std::filesystem::permissions(bin + "/" + tool, std::filesystem::perms::all);
  }
  std::filesystem::permissions(repo.path(), std::filesystem::perms::all);
  repo.AddTestbedProfile("tb-big", "slurm",
                         "{max_array_size: 1000, max_concurrent_jobs: 2, "
                         "min_query_interval_seconds: 0}",
                         "['export PATH=" + bin + ":$PATH']");
  json values = json::array();
  for (int i = 0; i < 5000; ++i) values.push_back(i);
  json sweep = {{"name", "big"},
                {"parameters", {{"grid", {{"i", values}}}}},
                {"id", "t${i}"},
                {"resources", {{"time", "00:05:00"}}},
                // Long enough that few tasks run before the cancel: every
                // task that ran stays a job record for MinJobAge, and the
                // testbed's MaxJobCount is 10,000.
                {"command", {"sleep", "120"}}};
  json dry = repo.Call("submit_sweep", {{"profile", "tb-big"}, {"sweep", sweep}, {"dry_run", true}});
  INFO(dry.dump().substr(0, 3000));
  REQUIRE_FALSE(dry.value("isError", false));
  const json& counts = dry["structuredContent"]["plan"]["counts"];
  CHECK(counts["tasks"] == 5000);
  CHECK(counts["arrays"] == 5);
  CHECK(counts["waves"] == 3);
  CHECK(counts["submissions"] == 5);
  CHECK(Count(log, "sbatch") == 0);  // A dry run submits nothing.

  json r = repo.Call("submit_sweep", {{"profile", "tb-big"}, {"sweep", sweep}},
                     std::chrono::seconds(300));
  INFO(r.dump().substr(0, 3000));
  REQUIRE_FALSE(r.value("isError", false));
  const std::string id = r["structuredContent"]["sweep_id"];
  CHECK(Count(log, "sbatch") == 5);
  CHECK(r["structuredContent"]["batches"].size() == 5);

  // One poll: one squeue for every array, at most one sacct for what left
  // the queue; no sbatch (nothing failed).
  std::filesystem::remove(log);
  json p = repo.Call("poll", {{"run_ids", {id}}}, std::chrono::seconds(300));
  INFO(p.dump().substr(0, 3000));
  REQUIRE_FALSE(p.value("isError", false));
  CHECK(Count(log, "squeue") == 1);
  CHECK(Count(log, "sacct") <= 1);
  CHECK(Count(log, "scontrol") <= 8);  // Exit codes sacct lags on, bounded.
  CHECK(Count(log, "sbatch") == 0);
  const json& view = p["structuredContent"]["runs"][0];
  CHECK(view["sweep"]["tasks"] == 5000);
  // Compact: the answer does not grow with the tasks.
  CHECK(p.dump().size() < 8000);
  // Cancel the rest: the testbed has better things to do.
  json c = repo.Call("cancel", {{"run_id", id}, {"confirm", id}}, std::chrono::seconds(300));
  INFO(c.dump().substr(0, 2000));
  CHECK_FALSE(c.value("isError", false));
}

}  // namespace
}  // namespace hpc
