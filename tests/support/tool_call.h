// Calls hpc-mcp's tools in process, through the real Server (schema
// validation, defaults, output checks) with every tool registered.
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/capture.h"
#include "tools/registry.h"

namespace hpc::testing {

// The tools/call result object ({content, structuredContent?, isError?}).
inline json CallTool(const std::string& name, json arguments,
                     std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  static mcp::Server* server = [] {
    mcp::ServerOptions o = tools::DefaultServerOptions();
    o.strict_output = true;  // An output that breaks its schema fails the test.
    auto* s = new mcp::Server(o);
    auto st = tools::RegisterAll(*s);
    if (!st.ok()) FAIL("RegisterAll: " << st.message());
    return s;
  }();
  auto session = server->NewSession("");
  auto out = std::make_shared<Capture>();
  server->Handle(session,
                 json{{"jsonrpc", "2.0"}, {"id", 0}, {"method", "initialize"},
                      {"params", {{"protocolVersion", "2025-11-25"}}}},
                 out);
  server->Handle(session,
                 json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"},
                      {"params", {{"name", name}, {"arguments", std::move(arguments)}}}},
                 out);
  REQUIRE(out->WaitResponses(2, timeout));
  json r = out->responses()[1];
  server->CloseSession(session);
  REQUIRE(r.contains("result"));
  return r["result"];
}

// One MCP session kept open over many calls, as an agent holds it: every
// tool registered, each answer checked against its output schema, log
// notifications at debug, and every message the server sent kept, so that
// a test can search all of them (for a planted secret, say).
class AgentSession {
 public:
  // `session_id` as an HTTP session would have it ("" as on stdio);
  // `client_info` as initialize sends it.
  explicit AgentSession(const std::string& session_id = "",
                        json client_info = json::object())
      : server_(Options()) {
    REQUIRE(tools::RegisterAll(server_).ok());
    session_ = server_.NewSession(session_id);
    json init{{"protocolVersion", "2025-11-25"}};
    if (!client_info.empty()) init["clientInfo"] = std::move(client_info);
    Send("initialize", std::move(init));
    Send("logging/setLevel", {{"level", "debug"}});
  }
  ~AgentSession() { server_.Shutdown(); }

  // The tools/call result object; progress notifications come when
  // `progress_token` is not empty.
  json Call(const std::string& tool, json args, const std::string& progress_token = "") {
    json params{{"name", tool}, {"arguments", std::move(args)}};
    if (!progress_token.empty()) params["_meta"] = {{"progressToken", progress_token}};
    return Send("tools/call", std::move(params))["result"];
  }
  // The structuredContent of a call that must succeed.
  json Ok(const std::string& tool, json args) {
    json r = Call(tool, std::move(args));
    INFO(tool << ": " << r.dump());
    REQUIRE_FALSE(r.value("isError", false));
    return r["structuredContent"];
  }
  // Every response and notification so far, one JSON text per line.
  std::string Everything() const {
    std::string all;
    for (const auto& m : out_->responses()) all += m.dump() + "\n";
    for (const auto& m : out_->notifications()) all += m.dump() + "\n";
    return all;
  }
  std::vector<json> Notifications(const std::string& method) const {
    std::vector<json> found;
    for (const auto& m : out_->notifications())
      if (m.value("method", "") == method) found.push_back(m);
    return found;
  }

 private:
  static mcp::ServerOptions Options() {
    mcp::ServerOptions o = tools::DefaultServerOptions();
    o.strict_output = true;
    return o;
  }
  json Send(const std::string& method, json params) {
    server_.Handle(session_,
                   json{{"jsonrpc", "2.0"}, {"id", ++n_}, {"method", method}, {"params", std::move(params)}},
                   out_);
    REQUIRE(out_->WaitResponses(static_cast<size_t>(n_), std::chrono::seconds(400)));
    json r = out_->responses().back();
    INFO(r.dump());
    REQUIRE(r.contains("result"));
    return r;
  }
  mcp::Server server_;
  std::shared_ptr<mcp::Session> session_;
  std::shared_ptr<Capture> out_ = std::make_shared<Capture>();
  int n_ = 0;
};

inline std::string ResultText(const json& result) {
  return result["content"][0].value("text", "");
}

// The testbed's settings (scripts/testbed/up.sh writes them to env.sh, which
// the test command sources). Fails the test, never skips it, when absent.
inline std::string TestbedEnv(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v)
    FAIL(name << " is not set: start the testbed with `bash scripts/testbed/up.sh "
                 "--install` and source ${TMPDIR:-/tmp}/hpc-testbed/env.sh");
  return v;
}

}  // namespace hpc::testing
