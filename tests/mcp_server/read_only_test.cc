// ServerOptions::read_only in process: tools that are not read-only are
// withheld, and a call to one cannot be told apart from a call to a tool
// that does not exist.
#include <catch2/catch.hpp>
#include <memory>

#include "mcp_server/server.h"
#include "tests/support/capture.h"
#include "tests/support/tool_def.h"

using namespace hpc::mcp;
using hpc::testing::ToolDef;
using hpc::Result;
using hpc::testing::Capture;

namespace {


// A server with `look` (read-only) and, unless `only_look`, `change` (not
// read-only), one initialized session, and a count of `change`'s runs.
struct Fixture {
  Fixture(bool read_only, bool only_look) : server(Options(read_only)) {
    REQUIRE(
        server
            .AddTool(ToolDef("look", true),
                     [](RequestContext&, const json&) -> Result<ToolResult> {
                       return ToolResult::Text("looked");
                     })
            .ok());
    if (!only_look)
      REQUIRE(server
                  .AddTool(ToolDef("change", false),
                           [runs = changes](RequestContext&,
                                            const json&) -> Result<ToolResult> {
                             ++*runs;
                             return ToolResult::Text("changed");
                           })
                  .ok());
    session = server.NewSession("");
    Call("initialize", {{"protocolVersion", "2025-11-25"}});
  }
  static ServerOptions Options(bool read_only) {
    ServerOptions o;
    o.read_only = read_only;
    return o;
  }
  json Call(const std::string& method, json params) {
    size_t before = out->responses().size();
    server.Handle(session,
                  {{"jsonrpc", "2.0"},
                   {"id", ++id},
                   {"method", method},
                   {"params", params}},
                  out);
    REQUIRE(out->WaitResponses(before + 1));
    return out->responses()[before];
  }
  std::shared_ptr<int> changes = std::make_shared<int>(0);
  Server server;
  std::shared_ptr<Session> session;
  std::shared_ptr<Capture> out = std::make_shared<Capture>();
  int id = 0;
};

std::vector<std::string> Names(const json& list_response) {
  std::vector<std::string> names;
  for (const auto& t : list_response["result"]["tools"])
    names.push_back(t["name"]);
  return names;
}

}  // namespace

TEST_CASE(
    "read_only lists only read-only tools and answers a withheld one as "
    "unknown",
    "[unit][read_only]") {
  Fixture ro(/*read_only=*/true, /*only_look=*/false);
  CHECK(Names(ro.Call("tools/list", json::object())) ==
        std::vector<std::string>{"look"});
  CHECK(ro.server.withheld_tools() == std::set<std::string>{"change"});
  CHECK(ro.server.HasTool("change"));  // Added, so its schema counts as used.

  // The same call to a server that never had `change`: the same error, so
  // nothing tells a withheld tool from a missing one.
  Fixture missing(/*read_only=*/false, /*only_look=*/true);
  json params{{"name", "change"}, {"arguments", json::object()}};
  json withheld = ro.Call("tools/call", params);
  json unknown = missing.Call("tools/call", params);
  INFO(withheld.dump());
  CHECK(withheld.at("error").at("code") == -32602);
  CHECK(withheld["error"] == unknown["error"]);
  CHECK(*ro.changes == 0);
  CHECK(ro.Call("tools/call",
                {{"name", "look"}})["result"]["content"][0]["text"] ==
        "looked");

  SECTION("without read_only every tool is served") {
    Fixture rw(/*read_only=*/false, /*only_look=*/false);
    CHECK(Names(rw.Call("tools/list", json::object())) ==
          std::vector<std::string>{"change", "look"});
    CHECK(rw.server.withheld_tools().empty());
    CHECK(rw.Call("tools/call", params)["result"]["content"][0]["text"] ==
          "changed");
    CHECK(*rw.changes == 1);
  }
}

TEST_CASE("read_only still checks a withheld tool's definition and name",
          "[unit][read_only]") {
  ServerOptions o;
  o.read_only = true;
  Server s(o);
  auto noop = [](RequestContext&, const json&) -> Result<ToolResult> {
    return ToolResult::Text("");
  };
  json bad = ToolDef("broken", false);
  bad.erase("inputSchema");
  CHECK(s.AddTool(bad, noop).code() == hpc::StatusCode::kInvalidArgument);
  REQUIRE(s.AddTool(ToolDef("change", false), noop).ok());
  CHECK(s.AddTool(ToolDef("change", false), noop).code() ==
        hpc::StatusCode::kAlreadyExists);
  CHECK(s.AddTool(ToolDef("change", true), noop).code() ==
        hpc::StatusCode::kAlreadyExists);
}
