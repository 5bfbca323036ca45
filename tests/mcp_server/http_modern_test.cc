// 2026-07-28 requests over the real Streamable HTTP transport, next to a
// legacy session on the same server. The transport runs in this process
// (on a loopback port) so that a test can see inside a tool's handler and
// make the server notify listeners.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "mcp_server/http_transport.h"
#include "mcp_server/server.h"
#include "tests/support/mcp_http.h"
#include "tests/support/tool_def.h"

using namespace hpc::mcp;
using hpc::testing::ToolDef;
using hpc::Result;
using hpc::testing::Clock;
using hpc::testing::kLoopback;
using hpc::testing::kMetaSubscriptionId;
using hpc::testing::McpHttpClient;
using hpc::testing::McpReply;
using hpc::testing::ModernHeaders;
using hpc::testing::ModernRequest;
using hpc::testing::ParseSse;
using hpc::testing::StreamingRequest;
using hpc::testing::TempDir;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {


// What the slow tool's handler saw.
struct SlowProbe {
  std::mutex mu;
  std::condition_variable cv;
  bool ended = false;
  bool stop_requested = false;

  void End(bool stopped) {
    std::lock_guard lock(mu);
    ended = true;
    stop_requested = stopped;
    cv.notify_all();
  }
  // Whether the handler ended within `timeout`.
  bool WaitEnded(milliseconds timeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return ended; });
  }
};

// A Server served by ServeHttp on a port the kernel picked, until the
// fixture goes out of scope.
class ModernHttp {
 public:
  ModernHttp() : server_(Options()) {
    REQUIRE(server_.AddTool(ToolDef("echo"), [](RequestContext&, const json& a) -> Result<ToolResult> {
      return ToolResult::Text(a.value("text", ""));
    }).ok());
    REQUIRE(server_.AddTool(ToolDef("needs_sampling"),
                            [](RequestContext& ctx, const json&) -> Result<ToolResult> {
                              if (auto s = ctx.RequireClientCapability("sampling"); !s.ok()) return s;
                              return ToolResult::Text("sampled");
                            })
                .ok());
    REQUIRE(server_.AddTool(ToolDef("fails"), [](RequestContext&, const json&) -> Result<ToolResult> {
      return hpc::NotFound("no run named x; list_runs shows the runs");
    }).ok());
    // Streams progress until cancelled; 20 s at most.
    REQUIRE(server_.AddTool(ToolDef("slow"), [this](RequestContext& ctx, const json&) -> Result<ToolResult> {
      for (int i = 1; i <= 2000 && !ctx.stop_token().stop_requested(); ++i) {
        ctx.Progress(i);
        std::this_thread::sleep_for(milliseconds(10));
      }
      probe_.End(ctx.stop_token().stop_requested());
      return ToolResult::Text("finished");
    }).ok());

    ::signal(SIGPIPE, SIG_IGN);  // A peer that went away must not end the test binary.
    REQUIRE(::pipe2(stop_pipe_, O_CLOEXEC) == 0);
    options_.host = kLoopback;
    options_.port = 0;
    options_.port_file = (dir_.path() / "port").string();
    options_.stop_fd = stop_pipe_[0];
    options_.keepalive_interval = seconds(1);
    thread_ = std::thread([this] { ServeHttp(server_, options_); });
    auto deadline = Clock::now() + seconds(10);
    while (Clock::now() < deadline && port_ <= 0) {
      std::ifstream in(options_.port_file);
      if (!(in >> port_)) port_ = 0;
      if (port_ <= 0) std::this_thread::sleep_for(milliseconds(10));
    }
    if (port_ <= 0) Stop();  // Before REQUIRE throws past a running thread.
    REQUIRE(port_ > 0);
  }
  ~ModernHttp() { Stop(); }

  int port() const { return port_; }
  Server& server() { return server_; }
  SlowProbe& probe() { return probe_; }

 private:
  static ServerOptions Options() {
    ServerOptions o;
    o.tools_list_changed = true;
    return o;
  }
  // Stops the transport (it polls the pipe) and waits for it. Idempotent.
  void Stop() {
    if (!thread_.joinable()) return;
    if (::write(stop_pipe_[1], "x", 1) != 1) std::abort();  // It would never stop.
    thread_.join();
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
  }

  SlowProbe probe_;
  Server server_;
  TempDir dir_;
  HttpOptions options_;
  int stop_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::thread thread_;
};

int ErrorCode(const json& body) {
  return body.is_object() && body.contains("error") ? body["error"].value("code", 0) : 0;
}

// Waits until the stream has delivered a message with `method`; returns
// the messages so far (bounded: `timeout`).
std::vector<json> WaitMessage(StreamingRequest& stream, const std::string& method,
                              milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::vector<json> messages = ParseSse(stream.body());
    for (const json& m : messages)
      if (m.is_object() && m.value("method", "") == method) return messages;
    if (Clock::now() >= deadline) return messages;
    stream.WaitBody(method, milliseconds(50));
  }
}

}  // namespace

TEST_CASE("a modern POST without a session is answered statelessly",
          "[integration][http]") {
  ModernHttp server;
  McpHttpClient client(server.port());
  McpReply discover = client.Modern(1, "server/discover");
  INFO(discover.body);
  CHECK(discover.status == 200);
  CHECK(discover.content_type().rfind("application/json", 0) == 0);
  CHECK(discover.Header("Mcp-Session-Id").empty());
  json result = discover.Json()["result"];
  CHECK(result["resultType"] == "complete");
  CHECK(result["supportedVersions"][0] == "2026-07-28");
  CHECK(result["_meta"].contains(hpc::testing::kMetaServerInfo));

  McpReply call = client.Modern(2, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "hi"}}}});
  CHECK(call.status == 200);
  CHECK(call.Header("Mcp-Session-Id").empty());
  CHECK(call.Json()["result"]["content"][0]["text"] == "hi");
  CHECK(call.Json()["result"]["resultType"] == "complete");

  // Header names in any case, a base64-encoded Mcp-Name.
  McpReply encoded = client.Modern(3, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "b"}}}},
                                   json::object(), {{"mcp-name", "=?base64?ZWNobw==?="}});
  CHECK(encoded.status == 200);
  CHECK(encoded.Json()["result"]["content"][0]["text"] == "b");

  // A modern notification (it says its version in the header) is accepted
  // with 202, as for a legacy session.
  McpReply note = client.Post(
      {{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 99}}}},
      {{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "notifications/cancelled"}});
  INFO(note.body);
  CHECK(note.status == 202);
  CHECK(note.body.empty());
}

TEST_CASE("a modern POST is refused with the HTTP status and JSON-RPC code of its fault",
          "[integration][http]") {
  ModernHttp server;
  McpHttpClient client(server.port());
  const json call_params = {{"name", "echo"}, {"arguments", {{"text", "x"}}}};

  SECTION("headers that differ from the body: 400 and -32020 with the request id") {
    for (const auto& [header, value] : std::vector<std::pair<std::string, std::string>>{
             {"MCP-Protocol-Version", "2025-11-25"},
             {"Mcp-Method", "tools/list"},
             {"Mcp-Name", "needs_sampling"}}) {
      INFO(header << ": " << value);
      McpReply r = client.Modern(11, "tools/call", call_params, json::object(), {{header, value}});
      CHECK(r.status == 400);
      CHECK(ErrorCode(r.Json()) == -32020);
      CHECK(r.Json()["id"] == 11);
    }
  }
  SECTION("a missing Mcp-Method or Mcp-Name: 400 and -32020") {
    for (const char* header : {"Mcp-Method", "Mcp-Name", "MCP-Protocol-Version"}) {
      INFO("without " << header);
      json m = ModernRequest(12, "tools/call", call_params);
      httplib::Headers h = ModernHeaders(m);
      h.erase(header);
      McpReply r = client.Post(m, h);
      CHECK(r.status == 400);
      CHECK(ErrorCode(r.Json()) == -32020);
      CHECK(r.Json()["id"] == 12);
    }
  }
  SECTION("an unknown or removed method: 404 and -32601") {
    for (const char* method : {"no/such/method", "ping", "logging/setLevel"}) {
      INFO(method);
      McpReply r = client.Modern(13, method);
      CHECK(r.status == 404);
      CHECK(ErrorCode(r.Json()) == -32601);
    }
  }
  SECTION("a _meta without capabilities: 400 and -32602") {
    json m = ModernRequest(14, "tools/list");
    m["params"]["_meta"].erase(hpc::testing::kMetaCapabilities);
    McpReply r = client.Post(m, ModernHeaders(m));
    CHECK(r.status == 400);
    CHECK(ErrorCode(r.Json()) == -32602);
  }
  SECTION("an unsupported version in header and _meta alike: 400 and -32022") {
    json m = ModernRequest(15, "tools/list");
    m["params"]["_meta"][hpc::testing::kMetaVersion] = "v999";
    McpReply r = client.Post(m, ModernHeaders(m));
    CHECK(r.status == 400);
    CHECK(ErrorCode(r.Json()) == -32022);
    CHECK(r.Json()["error"]["data"]["requested"] == "v999");
    CHECK(r.Json()["error"]["data"]["supported"][0] == "2026-07-28");
  }
  SECTION("a missing client capability: 400 and -32021") {
    McpReply r = client.Modern(16, "tools/call", {{"name", "needs_sampling"}});
    CHECK(r.status == 400);
    CHECK(ErrorCode(r.Json()) == -32021);
    CHECK(r.Json()["error"]["data"]["requiredCapabilities"] == json{{"sampling", json::object()}});
  }
  SECTION("an unknown tool: 400 and -32602") {
    McpReply r = client.Modern(17, "tools/call", {{"name", "nope"}});
    CHECK(r.status == 400);
    CHECK(ErrorCode(r.Json()) == -32602);
  }
  SECTION("a tool's own failure is a result: 200") {
    McpReply r = client.Modern(18, "tools/call", {{"name", "fails"}});
    CHECK(r.status == 200);
    CHECK(r.Json()["result"]["isError"] == true);
    CHECK(r.Json()["result"]["resultType"] == "complete");
  }
}

TEST_CASE("GET and DELETE without a session are 405", "[integration][http]") {
  ModernHttp server;
  McpHttpClient client(server.port());
  auto get = client.http().Get(hpc::testing::kMcpPath, {{"Accept", "text/event-stream"}});
  REQUIRE(get);
  CHECK(get->status == 405);
  CHECK(get->get_header_value("Allow") == "POST");
  McpReply del = client.Delete();
  CHECK(del.status == 405);
  CHECK(del.Header("Allow") == "POST");
}

TEST_CASE("a legacy session is served beside modern requests on the same server",
          "[integration][http]") {
  ModernHttp server;
  McpHttpClient legacy(server.port());
  McpReply init = legacy.Initialize();
  REQUIRE(init.status == 200);
  REQUIRE_FALSE(legacy.session_id.empty());
  McpHttpClient modern(server.port());

  for (int i = 0; i < 5; ++i) {
    INFO("round " << i);
    McpReply m = modern.Modern(i, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "M"}}}});
    CHECK(m.status == 200);
    CHECK(m.Header("Mcp-Session-Id").empty());
    CHECK(m.Json()["result"]["resultType"] == "complete");
    McpReply l = legacy.Request(i, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "L"}}}});
    CHECK(l.status == 200);
    CHECK(l.Json()["result"]["content"][0]["text"] == "L");
    CHECK_FALSE(l.Json()["result"].contains("resultType"));
  }
  // What modern removed still works for the session, and only there.
  CHECK(legacy.Request(10, "ping").Json()["result"] == json::object());
  CHECK(legacy.Request(11, "logging/setLevel", {{"level", "debug"}}).status == 200);
  CHECK(modern.Modern(12, "ping").status == 404);
  // The session's GET stream opens; then DELETE ends the session.
  auto sse = legacy.Headers();
  sse.erase("Accept");
  sse.emplace("Accept", "text/event-stream");
  {
    StreamingRequest get(server.port(), "GET", sse);
    CHECK(get.WaitHeaders(milliseconds(5000)) == 200);
  }
  CHECK(legacy.Delete().status == 200);
  CHECK(legacy.Request(13, "ping").status == 404);
}

TEST_CASE("closing the stream of a modern call cancels it", "[integration][http]") {
  ModernHttp server;
  McpHttpClient client(server.port());
  json m = ModernRequest(21, "tools/call", {{"name", "slow"}, {"_meta", {{"progressToken", "p"}}}});
  StreamingRequest call(server.port(), "POST", client.Headers(ModernHeaders(m)), m.dump());
  REQUIRE(call.WaitHeaders(milliseconds(5000)) == 200);
  REQUIRE(call.WaitBody("notifications/progress", milliseconds(5000)));
  CHECK(call.content_type().rfind("text/event-stream", 0) == 0);
  call.Close();  // The client goes away: 2026-07-28 makes that the cancellation.
  REQUIRE(server.probe().WaitEnded(milliseconds(10000)));
  std::lock_guard lock(server.probe().mu);
  CHECK(server.probe().stop_requested);
}

TEST_CASE("subscriptions/listen over HTTP streams the ack, then tagged notifications",
          "[integration][http]") {
  ModernHttp server;
  McpHttpClient client(server.port());
  json m = ModernRequest("sub-1", "subscriptions/listen",
                         {{"notifications", {{"toolsListChanged", true}, {"promptsListChanged", true}}}});
  StreamingRequest listen(server.port(), "POST", client.Headers(ModernHeaders(m)), m.dump());
  REQUIRE(listen.WaitHeaders(milliseconds(5000)) == 200);
  REQUIRE(listen.WaitBody("notifications/subscriptions/acknowledged", milliseconds(5000)));
  CHECK(listen.content_type().rfind("text/event-stream", 0) == 0);
  // Notified until heard: the ack may leave just before the listener is
  // registered (bounded: 50 tries).
  for (int i = 0; i < 50 && !listen.WaitBody("list_changed", milliseconds(100)); ++i)
    server.server().NotifyListChanged("tools");
  std::vector<json> messages =
      WaitMessage(listen, "notifications/tools/list_changed", milliseconds(5000));
  REQUIRE(messages.size() >= 2);
  INFO(listen.body());
  CHECK(messages[0]["method"] == "notifications/subscriptions/acknowledged");
  // This server declares no prompts: only the tools subscription is honoured.
  CHECK(messages[0]["params"]["notifications"] == json{{"toolsListChanged", true}});
  CHECK(messages[0]["params"]["_meta"][kMetaSubscriptionId] == "sub-1");
  CHECK(messages[1]["method"] == "notifications/tools/list_changed");
  CHECK(messages[1]["params"]["_meta"][kMetaSubscriptionId] == "sub-1");
  // The stream stays open: no response on it.
  for (const json& msg : messages) CHECK_FALSE(msg.contains("result"));
}
