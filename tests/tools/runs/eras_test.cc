// The journal-backed tools behave the same whichever protocol era the
// client speaks (mcp_server/era.h): a run submitted by a stateless
// 2026-07-28 request is the same run for a legacy session, and the client's
// roots choose the repository in both eras (a legacy client is asked with a
// server-to-client roots/list, a modern one with an input-required result).
#include <catch2/catch.hpp>

#include "tests/support/modern.h"
#include "tests/support/run_repo.h"

namespace hpc::testing {
namespace {

using json = nlohmann::json;

// Requests in the 2026-07-28 era: no initialize, `_meta` on every request.
class ModernClient {
 public:
  ModernClient() {
    REQUIRE(tools::RegisterAll(server_).ok());
    session_ = server_.NewSession("");
  }
  ~ModernClient() { server_.Shutdown(); }

  // The response to `method`, sent with `capabilities` as the client's.
  json Send(const std::string& method, json params, json capabilities = json::object()) {
    params["_meta"] = {{kMetaClientInfo, {{"name", "eras-test"}, {"version", "1"}}}};
    params = ModernParams(std::move(params), std::move(capabilities));
    auto out = std::make_shared<Capture>();
    server_.Handle(session_,
                   json{{"jsonrpc", "2.0"}, {"id", ++id_}, {"method", method}, {"params", std::move(params)}},
                   out);
    REQUIRE(out->WaitResponses(1, std::chrono::seconds(120)));
    return out->responses()[0];
  }
  json Call(const std::string& tool, json args, json capabilities = json::object(),
            json extra = json::object()) {
    json params{{"name", tool}, {"arguments", std::move(args)}};
    params.update(extra);
    json r = Send("tools/call", std::move(params), std::move(capabilities));
    INFO(r.dump());
    REQUIRE(r.contains("result"));
    return r["result"];
  }

 private:
  mcp::Server server_{tools::DefaultServerOptions()};
  std::shared_ptr<mcp::Session> session_;
  int id_ = 0;
};

std::string FileUri(const std::string& path) { return "file://" + path; }

TEST_CASE("a run submitted in one era is the same run in the other", "[eras][local]") {
  RunRepo repo;
  ModernClient modern;
  json submitted = modern.Call("submit", {{"repo", repo.path()},
                                          {"name", "both-eras"},
                                          {"command", {"bash", "-c", "echo step 1; sleep 1"}}});
  INFO(submitted.dump());
  REQUIRE_FALSE(submitted.value("isError", false));
  CHECK(submitted["resultType"] == "complete");
  const std::string id = submitted["structuredContent"]["run_id"];

  json legacy_view = repo.WaitEnded(id);  // Legacy sessions, one per call.
  CHECK(legacy_view["state"] == "completed");
  json modern_view =
      modern.Call("poll", {{"repo", repo.path()}, {"run_ids", {id}}})["structuredContent"]["runs"][0];
  CHECK(modern_view["state"] == legacy_view["state"]);
  CHECK(modern_view["run_id"] == id);

  // Both eras list the same runs from the same journal.
  json legacy_list = repo.Call("list_runs", json::object())["structuredContent"];
  json modern_list = modern.Call("list_runs", {{"repo", repo.path()}})["structuredContent"];
  CHECK(legacy_list["runs"].size() == 1);
  CHECK(modern_list["runs"] == legacy_list["runs"]);
  // The audit trail names the era instead of a session, and the client.
  json audit = modern.Call("list_runs", {{"repo", repo.path()}, {"view", "audit"}})
                   ["structuredContent"]["events"];
  json submit_audit;
  for (const json& e : audit)
    if (e["name"] == "audit" && e["context"].value("tool", "") == "submit") submit_audit = e;
  INFO(audit.dump());
  REQUIRE_FALSE(submit_audit.is_null());
  CHECK(submit_audit["context"]["session"] == "stateless");
  CHECK(submit_audit["context"]["client"]["name"] == "eras-test");
}

TEST_CASE("without repo, the client's roots choose the repository in both eras", "[eras][local]") {
  RunRepo repo;
  json submitted = repo.Call("submit", {{"name", "rooted"}, {"command", {"true"}}});
  REQUIRE_FALSE(submitted.value("isError", false));
  const std::string id = submitted["structuredContent"]["run_id"];
  json roots{{"roots", {{{"uri", FileUri(repo.path())}, {"name", "experiment"}}}}};
  json caps{{"roots", json::object()}};

  SECTION("2026-07-28: an input-required result, then the answer") {
    ModernClient modern;
    json first = modern.Call("list_runs", json::object(), caps);
    INFO(first.dump());
    REQUIRE(first["resultType"] == "input_required");
    REQUIRE(first["inputRequests"].size() == 1);
    auto [key, request] = *first["inputRequests"].items().begin();
    CHECK(request["method"] == "roots/list");
    json done = modern.Call("list_runs", json::object(), caps,
                            {{"inputResponses", {{key, roots}}}});
    INFO(done.dump());
    CHECK(done["resultType"] == "complete");
    REQUIRE(done["structuredContent"]["runs"].size() == 1);
    CHECK(done["structuredContent"]["runs"][0]["run_id"] == id);
  }

  SECTION("legacy: a roots/list request to the client, then the result") {
    mcp::Server server{tools::DefaultServerOptions()};
    REQUIRE(tools::RegisterAll(server).ok());
    auto session = server.NewSession("");
    auto out = std::make_shared<Capture>();
    server.Handle(session,
                  json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                       {"params", {{"protocolVersion", "2025-11-25"}, {"capabilities", caps}}}},
                  out);
    REQUIRE(out->WaitResponses(1));
    server.Handle(session,
                  json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/call"},
                       {"params", {{"name", "list_runs"}, {"arguments", json::object()}}}},
                  out);
    json ask;
    for (int i = 0; i < 200 && ask.is_null(); ++i) {
      for (const json& n : out->notifications())
        if (n.value("method", "") == "roots/list") ask = n;
      if (ask.is_null()) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    REQUIRE_FALSE(ask.is_null());
    server.Handle(session, json{{"jsonrpc", "2.0"}, {"id", ask["id"]}, {"result", roots}}, out);
    REQUIRE(out->WaitResponses(2, std::chrono::seconds(60)));
    json done = out->responses()[1]["result"];
    INFO(done.dump());
    CHECK_FALSE(done.contains("resultType"));  // Legacy results stay as they were.
    REQUIRE(done["structuredContent"]["runs"].size() == 1);
    CHECK(done["structuredContent"]["runs"][0]["run_id"] == id);
    server.Shutdown();
  }
}

}  // namespace
}  // namespace hpc::testing
