// resubmit_failed on the local profile: only what failed is run again; a
// failed task whose expected outputs exist is done. The whole repair loop
// (stuck student, fixed, resubmitted, aggregate) is in
// tests/support/sweep_scenario.h, run by submit_sweep_test.cc and on the
// testbeds.
#include <catch2/catch.hpp>

#include "tests/support/run_repo.h"
#include "tests/support/sweep_scenario.h"

namespace hpc {
namespace {

using nlohmann::json;
using testing::RunRepo;

TEST_CASE("resubmit_failed marks a failed task whose outputs exist done, and reruns nothing else",
          "[resubmit_failed][local]") {
  RunRepo repo;
  json sweep = {{"name", "liar"},
                {"parameters", {{"grid", {{"i", {1, 2}}}}}},
                {"id", "t${i}"},
                {"expected_outputs", {"out/t${i}.txt"}},
                // t1 writes its output and then exits 1: the exit code lies.
                {"command",
                 {"bash", "-c",
                  "mkdir -p out; echo \"$HPC_SWEEP_TASK\" >> ran.txt; echo done > out/$HPC_SWEEP_TASK.txt; "
                  "[ \"$HPC_SWEEP_TASK\" = t1 ] && exit 1; exit 0"}}};
  json r = repo.Call("submit_sweep", {{"sweep", sweep}});
  REQUIRE_FALSE(r.value("isError", false));
  const std::string id = r["structuredContent"]["sweep_id"];
  json ended = repo.WaitEnded(id, std::chrono::seconds(60));
  INFO(ended.dump());
  REQUIRE(ended["state"] == "failed");
  CHECK(ended["sweep"]["counts"]["stuck"] == 1);

  json dry = repo.Call("resubmit_failed", {{"sweep_id", id}, {"dry_run", true}});
  CHECK(dry["structuredContent"]["found_complete"] == 1);
  json fix = repo.Call("resubmit_failed", {{"sweep_id", id}});
  INFO(fix.dump());
  CHECK(fix["structuredContent"]["found_complete"] == 1);
  CHECK(fix["structuredContent"]["resubmitted"] == 0);
  CHECK(fix["structuredContent"]["state"] == "completed");
  auto ran = testing::CountLines(repo.path() + "/ran.txt");
  CHECK(ran["t1"] == 1);
  CHECK(ran["t2"] == 1);

  json unknown = repo.Call("resubmit_failed", {{"sweep_id", "20260101-nope-abcd"}});
  CHECK(unknown.value("isError", false));
}

TEST_CASE("resubmit_failed refuses what is not a sweep of the repository", "[resubmit_failed][local]") {
  RunRepo repo;
  json run = repo.Call("submit", {{"name", "plain"}, {"command", {"true"}}});
  REQUIRE_FALSE(run.value("isError", false));
  json r = repo.Call("resubmit_failed", {{"sweep_id", run["structuredContent"]["run_id"]}});
  CHECK(r.value("isError", false));
  json bad = repo.Call("resubmit_failed", {{"sweep_id", "not an id"}});
  CHECK(bad.value("isError", false));
}

}  // namespace
}  // namespace hpc
