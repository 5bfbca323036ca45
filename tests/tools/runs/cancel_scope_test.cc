// The cancel rule: cancel stops the runs of the repository's journal; a job
// hpc-mcp did not start only where the profile says cancel_scope: own_jobs,
// and another user's job never. On the local profile and on the Slurm
// testbed, with jobs started by hand (straight through the scheduler, no
// journal) and, on Slurm, by another user (root on this machine).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <regex>

#include "tests/support/files.h"
#include "tests/support/run_repo.h"
#include "tools/runs/cluster_context.h"

namespace hpc::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// The local profile of RunRepo, with `extra` top-level lines.
std::string LocalProfile(const RunRepo& repo, const std::string& extra) {
  return "name: local\nscheduler: local\naccess: {kind: local}\n"
         "shell: {login: [bash]}\npaths:\n  work_root: " + repo.path() +
         "/cluster/jobs\n  log_root: " + repo.path() +
         "/cluster/logs\nlimits: {min_query_interval_seconds: 0}\n" + extra;
}

// Starts `sleep 300` through the profile's scheduler directly, as a person
// would by hand: no run of the journal knows it.
std::string StartByHand(const RunRepo& repo, const std::string& profile,
                        const std::string& dir) {
  auto c = runs::OpenCluster(profile, repo.path(), runs::Intent::kObserve);
  REQUIRE(c.ok());
  cluster::JobRequest r;
  r.name = "by-hand";
  r.script = "#!/bin/bash\nsleep 300\n";
  r.script_path = dir + "/by-hand.sh";
  r.workdir = dir;
  r.stdout_path = dir + "/by-hand.out";
  r.stderr_path = dir + "/by-hand.err";
  r.resources.time = "00:10:00";
  auto s = (*c)->scheduler->Submit(r);
  INFO((s.ok() ? "" : s.status().message()));
  REQUIRE(s.ok());
  return s->job_id;
}

cluster::JobState StateOf(const RunRepo& repo, const std::string& profile,
                          const std::string& job) {
  auto c = runs::OpenCluster(profile, repo.path(), runs::Intent::kObserve);
  REQUIRE(c.ok());
  auto q = (*c)->scheduler->Query({job});
  REQUIRE(q.ok());
  REQUIRE_FALSE(q->empty());
  return (*q)[0].state;
}

json CancelJob(RunRepo& repo, const std::string& profile,
               const std::string& job) {
  return repo.Call("cancel", {{"profile", profile},
                              {"job_id", job},
                              {"confirm", job},
                              {"reason", "test"}});
}

// The refusals every profile shares, then the allowed cancel.
void CheckCancelScope(RunRepo& repo, const std::string& profile,
                      const std::string& yaml_runs,
                      const std::string& yaml_own, const std::string& dir) {
  const std::string job = StartByHand(repo, profile, dir);

  // Default scope: the job is not a run of the journal.
  repo.WriteProfile(profile, yaml_runs);
  json r = CancelJob(repo, profile, job);
  INFO(r.dump(2));
  REQUIRE(r.value("isError", false));
  CHECK_THAT(ResultText(r), Catch::Contains("cancel_scope: runs") &&
                                Catch::Contains(profile + ".yaml"));
  CHECK_FALSE(cluster::IsTerminal(StateOf(repo, profile, job)));

  repo.WriteProfile(profile, yaml_own);
  // Run id and job id together, or a confirm that does not repeat it.
  r = repo.Call("cancel", {{"profile", profile},
                           {"job_id", job},
                           {"run_id", "20261123-x-abcd"},
                           {"confirm", job}});
  CHECK(r.value("isError", false));
  CHECK_THAT(ResultText(r), Catch::Contains("exactly one of run_id"));
  r = repo.Call("cancel",
                {{"profile", profile}, {"job_id", job}, {"confirm", job + "0"}});
  CHECK(r.value("isError", false));
  CHECK_THAT(ResultText(r), Catch::Contains("does not repeat job_id"));
  CHECK_FALSE(cluster::IsTerminal(StateOf(repo, profile, job)));

  // A run of this repository: cancelled as the run, not as a bare job.
  json s = repo.Call("submit", {{"profile", profile},
                                {"name", "journaled"},
                                {"command", {"sleep", "300"}},
                                {"resources", {{"time", "00:10:00"}}}});
  INFO(s.dump(2));
  REQUIRE_FALSE(s.value("isError", false));
  const std::string run_id = s["structuredContent"]["run_id"];
  const std::string run_job = s["structuredContent"]["job_ids"][0];
  r = CancelJob(repo, profile, run_job);
  CHECK(r.value("isError", false));
  CHECK_THAT(ResultText(r), Catch::Contains("belongs to run " + run_id));
  r = repo.Call("cancel", {{"run_id", run_id}, {"confirm", run_id}});
  CHECK(r["structuredContent"]["state"] == "cancelled");

  // own_jobs: the job is the login user's, so it is cancelled and verified.
  r = CancelJob(repo, profile, job);
  REQUIRE_FALSE(r.value("isError", false));
  const json& out = r["structuredContent"];
  CHECK(out["job_id"] == job);
  CHECK_FALSE(out.contains("run_id"));
  CHECK(out["cancelled_jobs"] == json::array({job}));
  CHECK(out["verified"] == true);
  CHECK(out["state"] == "cancelled");
  CHECK(StateOf(repo, profile, job) == cluster::JobState::kCancelled);

  // Ended now: nothing left to cancel.
  r = CancelJob(repo, profile, job);
  CHECK(r.value("isError", false));
  CHECK_THAT(ResultText(r), Catch::Contains("is not queued or running"));
}

TEST_CASE("cancel by job id: local profile, only with cancel_scope: own_jobs",
          "[integration][cancel][safety]") {
  RunRepo repo;
  const std::string runs_only = LocalProfile(repo, "");
  const std::string own = LocalProfile(repo, "cancel_scope: own_jobs\n");
  CheckCancelScope(repo, "local", runs_only, own,
                   repo.path() + "/by-hand");
}

// Runs `command` as root on this machine (the test runs as root, as CI
// does) and returns its stdout; fails the test if it fails.
std::string RunAsRoot(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  INFO(command << " printed " << out);
  REQUIRE(::pclose(p) == 0);
  return out;
}

TEST_CASE("cancel by job id on Slurm over SSH: own jobs with own_jobs, "
          "another user's never",
          "[integration][testbed][cancel][safety]") {
  REQUIRE(::geteuid() == 0);  // Root submits the other user's job.
  RunRepo repo;
  const std::string root = repo.AddTestbedProfile("tb_slurm", "slurm");
  const std::string yaml =
      ReadAll(fs::path(repo.path()) / ".hpc-mcp/profiles/tb_slurm.yaml");
  const std::string runs_only =
      std::regex_replace(yaml, std::regex("limits: \\{"),
                         "defaults: {partition: debug, time: \"00:10:00\"}\nlimits: {");
  const std::string own = runs_only + "cancel_scope: own_jobs\n";
  CheckCancelScope(repo, "tb_slurm", runs_only, own, root + "/by-hand");

  // Another user's job (root's, queued from this machine): refused, and
  // still there afterwards.
  std::string other = RunAsRoot(
      "sbatch --parsable --partition=debug --time=00:10:00 "
      "--output=/dev/null --wrap 'sleep 300'");
  other = other.substr(0, other.find_first_of(";\n"));
  REQUIRE_FALSE(other.empty());
  json r = CancelJob(repo, "tb_slurm", other);
  INFO(r.dump(2));
  CHECK(r.value("isError", false));
  CHECK_THAT(ResultText(r), Catch::Contains("belongs to user root") &&
                                Catch::Contains("never cancels another user's job"));
  CHECK_FALSE(cluster::IsTerminal(StateOf(repo, "tb_slurm", other)));
  RunAsRoot("scancel " + other);
}

}  // namespace
}  // namespace hpc::testing
