// Read-only mode, both ways of turning it on:
// - `hpc-mcp --read-only`, the real binary over stdio and Streamable HTTP:
//   only read-only tools are listed, and a call to any other one is the
//   unknown-tool answer and changes nothing;
// - a profile's `read_only: true`, on the local profile and the Slurm
//   testbed: every tool that is not read-only is refused with the profile
//   file named, and watching keeps working.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tests/support/mcp_http.h"
#include "tests/support/mcp_stdio.h"
#include "tests/support/run_repo.h"

namespace hpc {
namespace {

using nlohmann::json;
using testing::BuiltBinary;
using testing::RunRepo;
using testing::TempDir;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The product's tools whose readOnlyHint is `read_only`, from a server with
// every tool served.
std::set<std::string> ToolsWhere(bool read_only) {
  testing::McpClient client;
  const json list = client.Call("tools/list", json::object());
  std::set<std::string> names;
  for (const auto& t : list["result"]["tools"])
    if (t["annotations"]["readOnlyHint"] == read_only) names.insert(t["name"]);
  return names;
}

std::set<std::string> Names(const json& list_response) {
  std::set<std::string> names;
  for (const auto& t : list_response["result"]["tools"])
    names.insert(t["name"]);
  return names;
}

// What follows the tool's name in an unknown-tool message (" Available: ...").
std::string AfterName(const std::string& message) {
  auto at = message.find(" Available:");
  return at == std::string::npos ? message : message.substr(at);
}

// `call` (a tools/call response for `tool`) is the answer `unknown` (for a
// name no server has) gets, but for the name.
void CheckAnsweredAsUnknown(const json& call, const json& unknown,
                            const std::string& tool) {
  INFO(tool << ": " << call.dump());
  REQUIRE(call.contains("error"));
  CHECK(call["error"]["code"] == unknown["error"]["code"]);
  const std::string message = call["error"]["message"];
  CHECK(message.rfind("Unknown tool: \"" + tool + "\".", 0) == 0);
  CHECK(AfterName(message) == AfterName(unknown["error"]["message"]));
}

json CallParams(const std::string& tool, const std::string& repo) {
  return {{"name", tool},
          {"arguments",
           {{"repo", repo},
            {"name", "refused"},
            {"command", {"true"}},
            {"run_id", "x"},
            {"confirm", "x"}}}};
}

TEST_CASE(
    "hpc-mcp --read-only serves only read-only tools over stdio and Streamable "
    "HTTP",
    "[integration][stdio][http][read_only]") {
  const std::set<std::string> read_only = ToolsWhere(true),
                              mutating = ToolsWhere(false);
  REQUIRE(mutating.count("submit"));
  REQUIRE(mutating.count("cancel"));
  REQUIRE(read_only.count("poll"));
  TempDir repo;
  const std::string repo_path = repo.path().string();
  std::string log;

  SECTION("stdio") {
    testing::StdioServer server(BuiltBinary("hpc-mcp"), {"--read-only"});
    REQUIRE(server.started());
    REQUIRE(server.Initialize());
    auto list = server.Request(1, "tools/list");
    REQUIRE(list);
    CHECK(Names(*list) == read_only);
    auto unknown =
        server.Request(2, "tools/call", CallParams("no_such_tool", repo_path));
    REQUIRE(unknown);
    int id = 3;
    for (const auto& tool : mutating) {
      auto call =
          server.Request(id++, "tools/call", CallParams(tool, repo_path));
      REQUIRE(call);
      CheckAnsweredAsUnknown(*call, *unknown, tool);
    }
    CHECK(server.bad_lines().empty());
    server.process().CloseStdin();
    CHECK(server.process().Wait(seconds(5)).has_value());
    log = server.process().Stderr(seconds(1));
  }
  SECTION("Streamable HTTP") {
    testing::HttpServer server(BuiltBinary("hpc-mcp"), {"--read-only"});
    REQUIRE(server.ready());
    testing::McpHttpClient client(server.port());
    REQUIRE(client.Initialize().status == 200);
    testing::McpReply list = client.Request(1, "tools/list");
    REQUIRE(list.status == 200);
    CHECK(Names(list.Response()) == read_only);
    json unknown =
        client.Request(2, "tools/call", CallParams("no_such_tool", repo_path))
            .Response();
    int id = 3;
    for (const auto& tool : mutating)
      CheckAnsweredAsUnknown(
          client.Request(id++, "tools/call", CallParams(tool, repo_path))
              .Response(),
          unknown, tool);
    server.process().Signal(SIGTERM);
    CHECK(server.process().Wait(seconds(5)).has_value());
    log = server.process().Stderr(seconds(1));
  }
  INFO(log);
  CHECK(log.find("starting in read-only mode") != std::string::npos);
  CHECK(log.find("withheld: cancel,") != std::string::npos);
  // No journal, no state directory: nothing ran.
  CHECK(fs::is_empty(repo.path()));
}

// Sets or clears `read_only: true` in the repository's profile `name`.
void SetReadOnly(RunRepo& repo, const std::string& name, bool on) {
  const fs::path file =
      fs::path(repo.path()) / ".hpc-mcp/profiles" / (name + ".yaml");
  std::ifstream in(file);
  std::string line, yaml;
  while (std::getline(in, line))
    if (line.rfind("read_only:", 0) != 0) yaml += line + "\n";
  if (on) yaml += "read_only: true\n";
  repo.WriteProfile(name, yaml);
}

// On a profile made read-only under a live run: every tool that is not
// read-only is refused naming the profile file and journals nothing; poll
// and list_runs still work; made writable again, cancel goes through.
void CheckReadOnlyProfile(RunRepo& repo, const std::string& profile) {
  json victim = repo.Call("submit", {{"profile", profile},
                                     {"name", "victim"},
                                     {"command", {"sleep", "300"}}});
  INFO(victim.dump());
  REQUIRE_FALSE(victim.value("isError", false));
  const std::string id = victim["structuredContent"]["run_id"];
  const json one_task = {{"name", "sweepvictim"}, {"command", {"sleep", "300"}}};
  json sweep = repo.Call("submit_sweep", {{"profile", profile}, {"sweep", one_task}});
  INFO(sweep.dump());
  REQUIRE_FALSE(sweep.value("isError", false));
  const std::string sweep_id = sweep["structuredContent"]["sweep_id"];
  SetReadOnly(repo, profile, true);
  const std::string file =
      repo.path() + "/.hpc-mcp/profiles/" + profile + ".yaml";
  const size_t events = repo.Events().size();

  // Arguments that reach the profile, for every tool that is not read-only:
  // a new such tool fails here until it is shown to be refused too.
  std::map<std::string, json> calls = {
      {"submit",
       {{"profile", profile}, {"name", "refused"}, {"command", {"true"}}}},
      {"cancel", {{"run_id", id}, {"confirm", id}}},
      {"submit_sweep", {{"profile", profile}, {"sweep", {{"name", "refused"}, {"command", {"true"}}}}}},
      {"resubmit_failed", {{"sweep_id", sweep_id}}},
      {"sign_checkpoint",
       {{"run_id", id}, {"verdict", "pass"}, {"path", repo.path() + "/ckpt"}}},
      {"sync_wandb", {{"run_id", id}, {"action", "sync"}}},
      {"write_run_log", {{"run_id", id}, {"action", "status"}}},
  };
  std::set<std::string> covered;
  for (const auto& [tool, args] : calls) covered.insert(tool);
  CHECK(covered == ToolsWhere(false));
  for (const auto& [tool, args] : calls) {
    json r = repo.Call(tool, args);
    INFO(tool << ": " << r.dump());
    CHECK(r.value("isError", false));
    const std::string text = testing::ResultText(r);
    CHECK(text.find("profile " + profile +
                    " is read-only (read_only: true in " + file + ")") !=
          std::string::npos);
    CHECK(text.find("read_only: false") != std::string::npos);
  }
  CHECK(repo.Events().size() == events);

  json polled = repo.Call("poll", {{"run_ids", {id}}});
  INFO(polled.dump());
  REQUIRE_FALSE(polled.value("isError", false));
  const std::string state = polled["structuredContent"]["runs"][0]["state"];
  CHECK((state == "pending" || state == "running"));
  json listed = repo.Call("list_runs", json::object());
  INFO(listed.dump());
  CHECK_FALSE(listed.value("isError", false));
  CHECK(listed.dump().find(id) != std::string::npos);

  SetReadOnly(repo, profile, false);
  for (const std::string& run : {id, sweep_id}) {
    json cancelled = repo.Call("cancel", {{"run_id", run}, {"confirm", run}});
    INFO(cancelled.dump());
    CHECK_FALSE(cancelled.value("isError", false));
  }
}

TEST_CASE(
    "a read_only local profile refuses every mutating tool and still answers "
    "poll",
    "[integration][read_only][submit][cancel][poll][local]") {
  RunRepo repo;
  CheckReadOnlyProfile(repo, "local");
}

TEST_CASE(
    "a read_only Slurm profile refuses every mutating tool and still answers "
    "poll",
    "[integration][read_only][submit][cancel][poll][slurm]") {
  RunRepo repo;
  repo.AddTestbedProfile("slurm", "slurm");
  CheckReadOnlyProfile(repo, "slurm");
}

}  // namespace
}  // namespace hpc
