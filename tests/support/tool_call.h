// Calls hpc-mcp's tools in process, through the real Server (schema
// validation, defaults, output checks) with every tool registered.
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

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
