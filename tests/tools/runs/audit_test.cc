// The audit trail (tools/runs/audit.h) and the redaction of planted secrets
// (mcp_server/redact.h) through the real tools: on the local profile, and
// the audit on the Slurm testbed over SSH.
//
// A secret is planted where an agent could get it echoed: a registered
// W&B-style key, a bearer token and a PEM private key printed by the job
// and read back with tail_log, passed in submit's `env` and command, and
// put in a tool's error message. None may appear in any answer or
// notification, log line or journal line.
#include "tools/runs/audit.h"


#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "mcp_server/redact.h"
#include "tests/support/files.h"
#include "tests/support/run_repo.h"
#include "tests/support/wandb_fixture.h"

namespace hpc {
namespace {

using testing::RunRepo;
using json = nlohmann::json;

const char kSessionId[] = "5e55104a7c9d4b2fa1e0c3d2b1a09f88";
const json kClient = {{"name", "audit-test-client"}, {"version", "9.8.7"}};

// An agent's MCP session, as over HTTP: a session id and a clientInfo.
struct Agent : testing::AgentSession {
  Agent() : AgentSession(kSessionId, kClient) {}
};

// The audit events of `session` ("stdio" or the 8-character prefix),
// oldest first, as list_runs shows them.
std::vector<json> AuditEvents(
    Agent& agent, const RunRepo& repo,
    const std::string& session = std::string(kSessionId, 8) + "…") {
  json view = agent.Ok(
      "list_runs", {{"repo", repo.path()}, {"view", "audit"}, {"limit", 500}});
  std::vector<json> out;
  for (const auto& e : view["events"])
    if (e["name"] == "audit" && e["context"].value("session", "") == session)
      out.push_back(e);
  std::reverse(out.begin(), out.end());
  return out;
}

std::string Random(size_t n) {
  std::string s = testing::RandomKey() + testing::RandomKey();
  return s.substr(0, n);
}

const std::string kPem =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDl4tQ6o3cSG0Zq2wbTtCVYkSxl2YuE0d0v1gC6RmSr5wAAAJg1SeCbNUng\n"
    "-----END OPENSSH PRIVATE KEY-----";
const std::string kPemBody = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE";

void CheckClean(const std::string& where, const std::string& text,
                const std::vector<std::string>& secrets) {
  INFO(where);
  for (const auto& s : secrets) CHECK(text.find(s) == std::string::npos);
}

}  // namespace

TEST_CASE(
    "planted secrets reach no answer, log line or journal line, and mutating "
    "calls are audited",
    "[audit][redact][local]") {
  RunRepo repo;
  testing::LogCapture log(testing::LogCapture::kRedacting);
  const std::string key = testing::RandomKey();  // A W&B key the server read.
  mcp::RegisterSecret(key);
  const std::string bearer = "bt" + Random(30);
  const std::vector<std::string> secrets = {key, bearer, kPemBody};
  Agent agent;

  // A job that prints all three, with the key in its environment too.
  json planted = agent.Ok(
      "submit",
      {{"repo", repo.path()},
       {"name", "planted"},
       {"env", {{"PLANTED", key}, {"HF_TOKEN", bearer}}},
       {"command",
        {"bash", "-c",
         "echo \"key $PLANTED\"; echo 'Authorization: Bearer " + bearer +
             "'; echo '" + kPem + "'; echo step=1 loss=0.5"}}});
  const std::string id = planted["run_id"];
  json done = repo.WaitEnded(id);
  REQUIRE(done["state"] == "completed");
  json tail = agent.Ok("tail_log", {{"repo", repo.path()}, {"run_id", id}});
  const std::string lines = tail["lines"].dump();
  INFO(lines);
  CHECK(lines.find("key <redacted>") != std::string::npos);
  CHECK(lines.find("Authorization: <redacted>") != std::string::npos);
  CHECK(lines.find("step=1 loss=0.5") != std::string::npos);
  // The log on disk holds the key: it is the answer that must not.
  CHECK(testing::ReadAll(tail["path"].get<std::string>()).find(key) !=
        std::string::npos);

  // A tool's error message that names the key.
  json failed = agent.Call("submit", {{"repo", repo.path()},
                                      {"profile", "nope-" + key},
                                      {"name", "refused"},
                                      {"command", {"true"}}});
  REQUIRE(failed.value("isError", false));
  CHECK(testing::ResultText(failed).find("nope-<redacted>") !=
        std::string::npos);

  agent.Ok("write_run_log", {{"repo", repo.path()},
                             {"run_id", id},
                             {"action", "create"},
                             {"run_type", "experiment"},
                             {"objective", "does a planted key stay hidden?"}});
  json sleeper = agent.Ok("submit", {{"repo", repo.path()},
                                     {"name", "sleeper"},
                                     {"command", {"sleep", "300"}}});
  const std::string sleeper_id = sleeper["run_id"];
  agent.Ok(
      "cancel",
      {{"repo", repo.path()}, {"run_id", sleeper_id}, {"confirm", sleeper_id}});
  json bad_cancel =
      agent.Call("cancel", {{"repo", repo.path()},
                            {"run_id", "20250101-nothing-abcd"},
                            {"confirm", "20250101-nothing-abcd"}});
  REQUIRE(bad_cancel.value("isError", false));
  // Read-only tools: never audited.
  agent.Ok("list_runs", {{"repo", repo.path()}});
  agent.Ok("preflight", {{"repo", repo.path()}, {"profile", "local"}});

  std::vector<json> events = AuditEvents(agent, repo);
  std::vector<std::string> tools;
  for (const auto& e : events) tools.push_back(e["context"]["tool"]);
  CHECK(tools == std::vector<std::string>{"submit", "submit", "write_run_log",
                                          "submit", "cancel", "cancel"});
  REQUIRE(events.size() == 6);
  for (const auto& e : events) {
    INFO(e.dump());
    const json& c = e["context"];
    CHECK(c["client"] == kClient);
    CHECK(c["duration_ms"].get<int64_t>() >= 0);
    CHECK(c["arguments"]["repo"] == repo.path());
  }
  const json& first = events[0]["context"];
  CHECK(first["outcome"] == "ok");
  CHECK(first["run_ids"] == json::array({id}));
  CHECK(first["arguments"]["env"]["PLANTED"] == "<redacted>");
  CHECK(first["arguments"]["env"]["HF_TOKEN"] == "<redacted>");
  CHECK(first["arguments"]["name"] == "planted");
  const json& refused = events[1]["context"];
  CHECK(refused["outcome"] == "error");
  CHECK_FALSE(refused["error"]["code"].get<std::string>().empty());
  CHECK(refused["error"]["message"].get<std::string>().find(
            "nope-<redacted>") != std::string::npos);
  CHECK(refused["arguments"]["profile"] == "nope-<redacted>");
  CHECK(events[2]["context"]["outcome"] == "ok");
  CHECK(events[2]["context"]["run_ids"] == json::array({id}));
  CHECK(events[4]["context"]["outcome"] == "ok");
  CHECK(events[4]["context"]["run_ids"] == json::array({sleeper_id}));
  CHECK(events[4]["context"]["arguments"]["confirm"] == sleeper_id);
  CHECK(events[5]["context"]["outcome"] == "error");
  CHECK(events[5]["context"]["error"]["message"].get<std::string>().find(
            "20250101-nothing-abcd") != std::string::npos);

  // A call without clientInfo or an HTTP session (RunRepo's helper) is
  // audited as stdio with an empty client.
  REQUIRE_FALSE(repo.Call("cancel", {{"run_id", id}, {"confirm", id}})
                    .value("isError", false));
  std::vector<json> stdio = AuditEvents(agent, repo, "stdio");
  REQUIRE_FALSE(stdio.empty());
  CHECK(stdio.back()["context"]["tool"] == "cancel");
  CHECK(stdio.back()["context"]["client"] == json::object());
  CHECK(stdio.back()["context"]["run_ids"] == json::array({id}));

  CheckClean("answers and notifications", agent.Everything(), secrets);
  CheckClean("log", log.text(), secrets);
  CheckClean("journal",
             testing::ReadAll(repo.path() + "/.hpc-mcp/journal.jsonl"),
             secrets);
}

TEST_CASE("a confirm_token is answered whole but never journaled whole",
          "[audit][redact][unit]") {
  // What DefaultServerOptions' result filter keeps, and what the audit
  // writes: the same token string through both.
  json result = {
      {"content",
       {{{"type", "text"},
         {"text",
          "repeat with \"confirm_token\": "
          "\"0123456789abcdef0123456789abcdef\""}}}},
      {"structuredContent",
       {{"confirm", {{"token", "0123456789abcdef0123456789abcdef"}}}}}};
  json kept = result;
  tools::DefaultServerOptions().finish_tool_result(kept);
  CHECK(kept == result);
  json args = {{"confirm_token", "0123456789abcdef0123456789abcdef"}};
  mcp::RedactJson(args);
  CHECK(args["confirm_token"] == "<redacted>");
}

TEST_CASE("mutating calls on the Slurm testbed are audited with their runs",
          "[audit][integration][testbed]") {
  RunRepo repo;
  repo.AddTestbedProfile("tb_slurm", "slurm");
  Agent agent;
  json run = agent.Ok("submit", {{"repo", repo.path()},
                                 {"profile", "tb_slurm"},
                                 {"name", "audited"},
                                 {"command", {"sleep", "300"}}});
  const std::string id = run["run_id"];
  json cancelled = agent.Ok(
      "cancel", {{"repo", repo.path()}, {"run_id", id}, {"confirm", id}});
  CHECK(cancelled["state"] == "cancelled");

  std::vector<json> events = AuditEvents(agent, repo);
  REQUIRE(events.size() == 2);
  for (const auto& e : events) {
    INFO(e.dump());
    CHECK(e["context"]["client"] == kClient);
    CHECK(e["context"]["outcome"] == "ok");
    CHECK(e["context"]["run_ids"] == json::array({id}));
    CHECK(e["context"]["arguments"]["profile"].is_string() ==
          (e["context"]["tool"] == "submit"));
  }
  CHECK(events[0]["context"]["tool"] == "submit");
  CHECK(events[1]["context"]["tool"] == "cancel");
}

}  // namespace hpc
