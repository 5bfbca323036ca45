// wait_for_runs: returns on a state change, on timeout, at once when there
// is nothing to wait for.
#include <catch2/catch.hpp>

#include "tests/support/run_repo.h"

namespace hpc {
namespace {

using nlohmann::json;
using testing::RunRepo;

TEST_CASE("wait_for_runs returns when a run ends", "[wait_for_runs][local]") {
  RunRepo repo;
  json a = repo.Call("submit", {{"name", "short"}, {"command", {"sleep", "2"}}})["structuredContent"];
  auto start = std::chrono::steady_clock::now();
  json w = repo.Call("wait_for_runs", {{"run_ids", {a["run_id"]}}, {"interval_s", 1}, {"timeout_s", 60}});
  INFO(w.dump());
  REQUIRE_FALSE(w.value("isError", false));
  json out = w["structuredContent"];
  CHECK(out["reason"] == "state_changed");
  REQUIRE(out["runs"].size() >= 1);
  // pending -> running may come first; wait again until it ends.
  if (out["runs"][0]["state"] != "completed") {
    w = repo.Call("wait_for_runs", {{"run_ids", {a["run_id"]}}, {"interval_s", 1}, {"timeout_s", 60}});
    out = w["structuredContent"];
  }
  CHECK(out["runs"][0]["state"] == "completed");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));
}

TEST_CASE("wait_for_runs times out with the runs' state", "[wait_for_runs][local]") {
  RunRepo repo;
  json a = repo.Call("submit", {{"name", "long"}, {"command", {"sleep", "60"}}})["structuredContent"];
  const std::string id = a["run_id"];
  repo.WaitEnded(id, std::chrono::seconds(1));  // Let it reach running.
  json w = repo.Call("wait_for_runs", {{"timeout_s", 3}, {"interval_s", 1}});
  INFO(w.dump());
  json out = w["structuredContent"];
  if (out["reason"] == "state_changed")  // pending -> running happened now.
    out = repo.Call("wait_for_runs", {{"timeout_s", 3}, {"interval_s", 1}})["structuredContent"];
  CHECK(out["reason"] == "timeout");
  CHECK(out["waited_s"] >= 3);
  CHECK(out["runs"].size() == 1);
  repo.Call("cancel", {{"run_id", id}, {"confirm", id}});
}

TEST_CASE("wait_for_runs sends progress and stops when cancelled", "[wait_for_runs][local]") {
  RunRepo repo;
  testing::McpClient c;
  json a = repo.Call("submit", {{"name", "waited"}, {"command", {"sleep", "60"}}})["structuredContent"];
  const std::string id = a["run_id"];
  repo.WaitEnded(id, std::chrono::seconds(2));  // Past pending, most likely.
  auto out = std::make_shared<testing::Capture>();
  const int req = c.Send("tools/call",
                         {{"name", "wait_for_runs"},
                          {"arguments", {{"repo", repo.path()}, {"run_ids", {id}}, {"timeout_s", 120}}},
                          {"_meta", {{"progressToken", "w1"}}}},
                         out);
  // The first progress notification comes within 30 s.
  REQUIRE(out->WaitNotifications(1, std::chrono::seconds(35)));
  json note = out->notifications()[0];
  CHECK(note["method"] == "notifications/progress");
  CHECK(note["params"]["progressToken"] == "w1");
  auto start = std::chrono::steady_clock::now();
  c.server.Handle(c.session,
                  json{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"},
                       {"params", {{"requestId", req}, {"reason", "test"}}}},
                  std::make_shared<testing::Capture>());
  REQUIRE(out->WaitResponses(1, std::chrono::seconds(10)));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  repo.Call("cancel", {{"run_id", id}, {"confirm", id}});
}

TEST_CASE("wait_for_runs with nothing active answers at once", "[wait_for_runs][local]") {
  RunRepo repo;
  json w = repo.Call("wait_for_runs", json::object());
  CHECK(w["structuredContent"]["reason"] == "nothing_active");
}

}  // namespace
}  // namespace hpc
