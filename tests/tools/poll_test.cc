// poll on the local profile: cursors, quiet ticks, progress and health from
// the log, diagnosis of failures, bad input.
#include <catch2/catch.hpp>
#include <thread>

#include "tests/support/run_repo.h"

namespace hpc {
namespace {

using nlohmann::json;
using testing::RunRepo;

TEST_CASE("poll with a cursor answers one short line when nothing changed", "[poll][local]") {
  RunRepo repo;
  json a = repo.Call("submit", {{"name", "quiet"}, {"command", {"sleep", "30"}}})["structuredContent"];
  const std::string id = a["run_id"];
  // Let it start, then take a cursor.
  for (int i = 0; i < 50; ++i) {
    json p = repo.Call("poll", json::object())["structuredContent"];
    if (p["runs"].size() == 1 && p["runs"][0]["state"] == "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  json first = repo.Call("poll", json::object());
  const std::string cursor = first["structuredContent"]["cursor"];
  json quiet = repo.Call("poll", {{"since", cursor}});
  INFO(quiet.dump());
  REQUIRE_FALSE(quiet.value("isError", false));
  CHECK(quiet["structuredContent"]["runs"].empty());
  CHECK(quiet["structuredContent"]["unchanged"] == 1);
  const std::string text = testing::ResultText(quiet);
  CHECK(text.find('\n') == std::string::npos);
  CHECK(text.size() < 120);
  CHECK(text.rfind("no change", 0) == 0);
  repo.Call("cancel", {{"run_id", id}, {"confirm", id}});
  json after = repo.Call("poll", {{"since", cursor}, {"run_ids", {id}}})["structuredContent"];
  REQUIRE(after["runs"].size() == 1);
  CHECK(after["runs"][0]["changed"] == true);
  CHECK(after["runs"][0]["state"] == "cancelled");
}

TEST_CASE("poll reports training progress and health from the log", "[poll][local]") {
  RunRepo repo;
  const char* train =
      "i=0; for l in 2.9 2.8 2.7 2.6 2.5 2.4 2.3 2.2; do i=$((i+1)); "
      "echo \"step=$((i*10)) loss=$l grad_norm=1.5 lr=3e-4\"; sleep 0.2; done; sleep 20";
  json a = repo.Call("submit", {{"name", "train"}, {"command", {"bash", "-c", train}}})["structuredContent"];
  const std::string id = a["run_id"];
  json run;
  for (int i = 0; i < 100; ++i) {
    run = repo.Call("poll", {{"run_ids", {id}}})["structuredContent"]["runs"][0];
    if (run["progress"].value("step", 0.0) >= 80) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  INFO(run.dump());
  CHECK(run["state"] == "running");
  CHECK(run["progress"]["step"] == 80);
  CHECK(run["progress"]["loss"].get<double>() == Approx(2.2));
  CHECK(run["health"]["status"] == "ok");
  bool saw_loss_check = false;
  for (const auto& c : run["health"]["checks"]) saw_loss_check |= c["name"] == "loss_finite";
  CHECK(saw_loss_check);
  repo.Call("cancel", {{"run_id", id}, {"confirm", id}});
}

TEST_CASE("poll diagnoses failures from the logs", "[poll][local]") {
  RunRepo repo;
  struct Case {
    const char* name;
    const char* script;
    const char* category;
  };
  const Case cases[] = {
      {"nan", "echo step=1 loss=2.5; echo step=2 loss=nan; echo 'Loss is NaN, stopping' >&2; exit 1", "nan_loss"},
      {"import", "echo 'Traceback (most recent call last):' >&2; echo \"ModuleNotFoundError: No module named 'transformers'\" >&2; exit 1", "import_error"},
      {"gpuoom", "echo 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB' >&2; exit 1", "gpu_oom"},
      {"quick", "exit 1", "quick_death"},
  };
  std::vector<std::pair<std::string, std::string>> ids;
  for (const auto& c : cases) {
    json r = repo.Call("submit", {{"name", c.name}, {"command", {"bash", "-c", c.script}}});
    REQUIRE_FALSE(r.value("isError", false));
    ids.push_back({r["structuredContent"]["run_id"], c.category});
  }
  for (const auto& [id, category] : ids) {
    json done = repo.WaitEnded(id);
    INFO(done.dump());
    CHECK(done["state"] == "failed");
    REQUIRE(done["diagnosis"].is_object());
    CHECK(done["diagnosis"]["category"] == category);
    CHECK_FALSE(done["diagnosis"]["evidence"].empty());
    CHECK_FALSE(done["diagnosis"]["remediation"].get<std::string>().empty());
  }
}

TEST_CASE("poll refuses unknown runs and foreign cursors", "[poll][local]") {
  RunRepo a, b;
  json unknown = a.Call("poll", {{"run_ids", {"20260101-nothing-0000"}}});
  CHECK(unknown.value("isError", false));
  CHECK(testing::ResultText(unknown).find("list_runs") != std::string::npos);
  json malformed = a.Call("poll", {{"since", "garbage"}});
  CHECK(malformed.value("isError", false));
  CHECK(testing::ResultText(malformed).find("malformed") != std::string::npos);
  const std::string cursor_b = b.Call("poll", json::object())["structuredContent"]["cursor"];
  a.Call("poll", json::object());
  json foreign = a.Call("poll", {{"since", cursor_b}});
  CHECK(foreign.value("isError", false));
  CHECK(testing::ResultText(foreign).find("another journal") != std::string::npos);
  json schema = a.Call("poll", {{"run_ids", {"../etc"}}});
  CHECK(schema.value("isError", false));
}

}  // namespace
}  // namespace hpc
