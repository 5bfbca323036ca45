// Runs and their logs as MCP resources, and subscribers told when a poll
// journals a change: through the real Server with every tool registered.
#include <catch2/catch.hpp>

#include "tests/support/run_repo.h"

namespace hpc {
namespace {

using nlohmann::json;
using testing::McpClient;
using testing::RunRepo;

TEST_CASE("runs are resources, and subscribers hear of their changes", "[runs][resources][local]") {
  RunRepo repo;
  McpClient c;
  json templates = c.Call("resources/templates/list", json::object())["result"]["resourceTemplates"];
  std::set<std::string> uris;
  for (const auto& t : templates) uris.insert(t["uriTemplate"]);
  CHECK(uris.count("hpc://runs/{run_id}"));
  CHECK(uris.count("hpc://runs/{run_id}/log/{stream}"));

  json sub = c.Call("tools/call", {{"name", "submit"},
                                   {"arguments", {{"repo", repo.path()}, {"name", "res"},
                                                  {"command", {"sh", "-c", "echo resource line; sleep 1"}}}}});
  REQUIRE_FALSE(sub["result"].value("isError", false));
  const std::string id = sub["result"]["structuredContent"]["run_id"];
  const std::string uri = "hpc://runs/" + id;
  CHECK(c.Call("resources/subscribe", {{"uri", uri}})["result"] == json::object());

  // Poll until it ends; the change is announced to the subscriber.
  for (int i = 0; i < 100; ++i) {
    json p = c.Call("tools/call", {{"name", "poll"},
                                   {"arguments", {{"repo", repo.path()}, {"run_ids", {id}}}}});
    if (p["result"]["structuredContent"]["runs"][0]["state"] == "completed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  REQUIRE(c.standalone->WaitNotifications(1));
  bool told = false;
  for (const auto& n : c.standalone->notifications())
    told |= n["method"] == "notifications/resources/updated" && n["params"]["uri"] == uri;
  CHECK(told);

  json run = c.Call("resources/read", {{"uri", uri}});
  REQUIRE(run.contains("result"));
  json view = json::parse(run["result"]["contents"][0]["text"].get<std::string>());
  CHECK(view["run_id"] == id);
  CHECK(view["state"] == "completed");
  CHECK(view["repo"] == repo.path());
  json log = c.Call("resources/read", {{"uri", uri + "/log/stdout"}});
  REQUIRE(log.contains("result"));
  CHECK(log["result"]["contents"][0]["text"] == "resource line\n");

  json missing = c.Call("resources/read", {{"uri", "hpc://runs/20260101-nothing-0000"}});
  CHECK(missing.contains("error"));
  json bad_stream = c.Call("resources/read", {{"uri", uri + "/log/other"}});
  CHECK(bad_stream.contains("error"));
}

}  // namespace
}  // namespace hpc
