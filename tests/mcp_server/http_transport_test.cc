// The Streamable HTTP transport end to end: the real server binary on a
// loopback port, driven with cpp-httplib the way an MCP client drives it.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/conformance_fixture.h"
#include "tests/support/mcp_http.h"

namespace {

using hpc::testing::BuiltBinary;
using hpc::testing::Clock;
using hpc::testing::ConformanceToolCount;
using hpc::testing::HttpServer;
using hpc::testing::kBothTypes;
using hpc::testing::kLoopback;
using hpc::testing::kMcpPath;
using hpc::testing::McpHttpClient;
using hpc::testing::McpReply;
using hpc::testing::StreamingRequest;
using json = nlohmann::json;
using std::chrono::milliseconds;

std::string Conformance() { return BuiltBinary("conformance-server"); }

milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

json Call(const std::string& tool, json arguments = json::object(),
          json meta = nullptr) {
  json params{{"name", tool}, {"arguments", std::move(arguments)}};
  if (!meta.is_null()) params["_meta"] = std::move(meta);
  return params;
}

int ErrorCode(const json& body) {
  return body.is_object() && body.contains("error")
             ? body["error"].value("code", 0)
             : 0;
}

// Starts the fixture server and requires it to listen.
#define START_SERVER(name, ...)                  \
  HttpServer name(Conformance(), {__VA_ARGS__}); \
  INFO("server start: " << name.error());        \
  REQUIRE(name.ready())

// Starts an initialized session on `port`.
#define START_SESSION(name, port)            \
  McpHttpClient name(port);                  \
  {                                          \
    McpReply init_ = name.Initialize();      \
    INFO(init_.status << " " << init_.body); \
    REQUIRE(init_.status == 200);            \
    REQUIRE_FALSE(name.session_id.empty());  \
  }

httplib::Headers SseHeaders(const McpHttpClient& c) {
  auto h = c.Headers();
  h.erase("Accept");
  h.emplace("Accept", "text/event-stream");
  return h;
}

}  // namespace

TEST_CASE(
    "initialize returns a visible-ASCII Mcp-Session-Id and simple calls are "
    "answered with JSON",
    "[integration][http]") {
  START_SERVER(server);
  McpHttpClient client(server.port());
  McpReply init = client.Initialize();
  REQUIRE(init.status == 200);
  CHECK(init.content_type().rfind("application/json", 0) == 0);
  REQUIRE(init.Json().is_object());
  CHECK(init.Json()["result"]["protocolVersion"] == "2025-11-25");
  CHECK(init.Json()["id"] == "init");
  const std::string id = init.Header("Mcp-Session-Id");
  CHECK(id.size() >= 32);
  for (char c : id) CHECK((c >= 0x21 && c <= 0x7e));

  // Every session gets its own id.
  McpHttpClient other(server.port());
  REQUIRE(other.Initialize().status == 200);
  CHECK(other.session_id != id);

  McpReply list = client.Request(1, "tools/list");
  CHECK(list.status == 200);
  CHECK(list.content_type().rfind("application/json", 0) == 0);
  CHECK(list.Json()["result"]["tools"].size() == ConformanceToolCount());

  McpReply call = client.Request(2, "tools/call", Call("test_simple_text"));
  CHECK(call.status == 200);
  CHECK_FALSE(call.is_sse());
  CHECK(call.Json()["result"]["content"][0]["text"] ==
        "This is a simple text response for testing.");

  // Protocol errors travel as JSON-RPC errors with status 200.
  McpReply unknown = client.Request(3, "tools/call", Call("no_such_tool"));
  CHECK(unknown.status == 200);
  CHECK(ErrorCode(unknown.Json()) == -32602);
  CHECK(ErrorCode(client.Request(4, "no/such/method").Json()) == -32601);

  // An initialize that fails creates no session.
  McpHttpClient failed(server.port());
  McpReply bad =
      failed.Request("init", "initialize", {{"capabilities", json::object()}});
  CHECK(ErrorCode(bad.Json()) == -32602);
  CHECK(bad.Header("Mcp-Session-Id").empty());
}

TEST_CASE("initialize negotiates the protocol version over HTTP",
          "[integration][http]") {
  START_SERVER(server);
  for (const auto& [asked, answered] :
       std::vector<std::pair<std::string, std::string>>{
           {"2025-11-25", "2025-11-25"},
           {"2025-06-18", "2025-06-18"},
           {"2025-03-26", "2025-03-26"},
           {"1900-01-01", "2025-11-25"}}) {
    INFO("asked " << asked);
    McpHttpClient c(server.port());
    McpReply r = c.Initialize(asked);
    REQUIRE(r.status == 200);
    CHECK(r.Json()["result"]["protocolVersion"] == answered);
    CHECK(c.Request(1, "ping").status == 200);
  }
}

TEST_CASE("requests without a session id get 400 and with an unknown one 404",
          "[integration][http]") {
  START_SERVER(server);
  START_SESSION(client, server.port());
  McpHttpClient anonymous(server.port());
  McpReply r = anonymous.Request(1, "tools/list");
  CHECK(r.status == 400);
  CHECK(ErrorCode(r.Json()) != 0);
  CHECK(anonymous.Notify("notifications/initialized").status == 400);

  McpHttpClient stranger(server.port());
  stranger.session_id = std::string(32, 'f');
  CHECK(stranger.Request(1, "tools/list").status == 404);
  CHECK(stranger.Delete().status == 404);
  // A second initialize on a live session is refused, not a new session.
  McpReply again = client.Request(
      "init2", "initialize",
      {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()}});
  CHECK(ErrorCode(again.Json()) == -32600);
  CHECK(client.Request(2, "ping").status == 200);
}

TEST_CASE("DELETE ends the session and later requests get 404",
          "[integration][http]") {
  START_SERVER(server);
  START_SESSION(client, server.port());
  REQUIRE(client.Request(1, "ping").status == 200);
  CHECK(client.Delete().status == 200);
  CHECK(client.Request(2, "ping").status == 404);
  CHECK(client.Delete().status == 404);
  auto get = client.http().Get(kMcpPath, SseHeaders(client));
  REQUIRE(get);
  CHECK(get->status == 404);
  // Without a session there is nothing to delete (2026-07-28: 405).
  McpHttpClient anonymous(server.port());
  CHECK(anonymous.Delete().status == 405);
}

TEST_CASE("an unsupported MCP-Protocol-Version header gets 400",
          "[integration][http]") {
  START_SERVER(server);
  START_SESSION(client, server.port());
  McpReply r = client.Request(1, "ping", json::object(),
                              {{"MCP-Protocol-Version", "1999-01-01"}});
  CHECK(r.status == 400);
  CHECK(r.Json()["error"]["message"].get<std::string>().find("1999-01-01") !=
        std::string::npos);
  // Every supported version is accepted, and an absent header too (it
  // means 2025-03-26).
  for (const char* v : {"2025-11-25", "2025-06-18", "2025-03-26"})
    CHECK(
        client.Request(2, "ping", json::object(), {{"MCP-Protocol-Version", v}})
            .status == 200);
  client.protocol_version.clear();
  CHECK(client.Request(3, "ping").status == 200);
}

TEST_CASE("a notification or a response POST gets 202 with an empty body",
          "[integration][http]") {
  START_SERVER(server);
  START_SESSION(client, server.port());
  McpReply r = client.Notify("notifications/initialized");
  CHECK(r.status == 202);
  CHECK(r.body.empty());
  r = client.Notify("notifications/cancelled", {{"requestId", 999}});
  CHECK(r.status == 202);
  CHECK(r.body.empty());
  // A response to nothing the server asked is accepted and dropped.
  r = client.Post(
      {{"jsonrpc", "2.0"}, {"id", "srv-99"}, {"result", json::object()}});
  CHECK(r.status == 202);
  CHECK(r.body.empty());
}

TEST_CASE(
    "a tool call with a progressToken is answered as SSE: progress events, "
    "then the response",
    "[integration][http]") {
  START_SERVER(server);
  START_SESSION(client, server.port());
  McpReply r =
      client.Request(5, "tools/call",
                     Call("test_cancellable_sleep", {{"duration_ms", 200}},
                          {{"progressToken", "p-5"}}));
  REQUIRE(r.status == 200);
  REQUIRE(r.is_sse());
  REQUIRE(r.messages.size() >= 2);
  double last = -1;
  for (size_t i = 0; i + 1 < r.messages.size(); ++i) {
    const json& n = r.messages[i];
    INFO(n.dump());
    CHECK(n["method"] == "notifications/progress");
    CHECK(n["params"]["progressToken"] == "p-5");
    CHECK(n["params"]["progress"].get<double>() > last);
    last = n["params"]["progress"].get<double>();
  }
  const json& response = r.messages.back();
  CHECK(response["id"] == 5);
  CHECK(response["result"]["structuredContent"]["slept_ms"] == 200);
  CHECK(r.body.find("event: message") != std::string::npos);

  // Log notifications also travel on the request's stream.
  r = client.Request(6, "tools/call", Call("test_tool_with_logging"));
  REQUIRE(r.status == 200);
  REQUIRE(r.is_sse());
  REQUIRE(r.messages.size() == 4);
  for (size_t i = 0; i < 3; ++i)
    CHECK(r.messages[i]["method"] == "notifications/message");
  CHECK(r.messages[3]["id"] == 6);
}

TEST_CASE(
    "a sampling request travels on the call's SSE stream and the client's "
    "answer completes it",
    "[integration][http]") {
  START_SERVER(server);
  McpHttpClient client(server.port());
  REQUIRE(
      client.Initialize("2025-11-25", {{"sampling", json::object()}}).status ==
      200);
  json call = {{"jsonrpc", "2.0"},
               {"id", 1},
               {"method", "tools/call"},
               {"params", Call("test_sampling", {{"prompt", "hi"}})}};
  StreamingRequest stream(server.port(), "POST", client.Headers(), call.dump());
  REQUIRE(stream.WaitHeaders(milliseconds(3000)) == 200);
  CHECK(stream.content_type().rfind("text/event-stream", 0) == 0);
  REQUIRE(stream.WaitBody("sampling/createMessage", milliseconds(3000)));
  std::vector<json> events = hpc::testing::ParseSse(stream.body());
  REQUIRE(!events.empty());
  json ask = events.front();
  REQUIRE(ask["method"] == "sampling/createMessage");
  McpReply answer =
      client.Post({{"jsonrpc", "2.0"},
                   {"id", ask["id"]},
                   {"result",
                    {{"role", "assistant"},
                     {"content", {{"type", "text"}, {"text", "hello back"}}},
                     {"model", "m"}}}});
  CHECK(answer.status == 202);
  REQUIRE(stream.WaitDone(milliseconds(3000)));
  events = hpc::testing::ParseSse(stream.body());
  REQUIRE(events.size() == 2);
  CHECK(events[1]["id"] == 1);
  CHECK(events[1]["result"]["content"][0]["text"] ==
        "LLM response: hello back");
}

TEST_CASE(
    "GET opens the session's SSE stream, a second GET takes it over, and "
    "DELETE ends the stream",
    "[integration][http]") {
  START_SERVER(server);
  START_SESSION(client, server.port());
  {
    StreamingRequest get(server.port(), "GET", SseHeaders(client));
    REQUIRE(get.WaitHeaders(milliseconds(3000)) == 200);
    CHECK(get.content_type().rfind("text/event-stream", 0) == 0);

    // A second GET (a client reconnecting) replaces the first stream,
    // which ends.
    {
      StreamingRequest second(server.port(), "GET", SseHeaders(client));
      REQUIRE(second.WaitHeaders(milliseconds(3000)) == 200);
      CHECK(get.WaitDone(milliseconds(2000)));
    }
    StreamingRequest third(server.port(), "GET", SseHeaders(client));
    REQUIRE(third.WaitHeaders(milliseconds(3000)) == 200);

    // Requests on the session still work while the stream is open, and
    // their answers do not go to the GET stream.
    CHECK(client.Request(1, "tools/call", Call("test_simple_text")).status ==
          200);

    auto start = Clock::now();
    CHECK(client.Delete().status == 200);
    CHECK(third.WaitDone(milliseconds(2000)));
    CHECK(Since(start) < milliseconds(2000));
    CHECK(third.body().find("\"id\"") == std::string::npos);
  }
  // GET must accept SSE, and needs a session.
  START_SESSION(fresh, server.port());
  auto h = fresh.Headers();
  h.erase("Accept");
  h.emplace("Accept", "application/json");
  auto wrong = fresh.http().Get(kMcpPath, h);
  REQUIRE(wrong);
  CHECK(wrong->status == 406);
  McpHttpClient anonymous(server.port());
  auto none = anonymous.http().Get(kMcpPath, SseHeaders(anonymous));
  REQUIRE(none);
  CHECK(none->status == 405);
}

TEST_CASE(
    "a foreign Origin or Host gets 403 while loopback ones and --allow-origin "
    "are served",
    "[integration][http]") {
  START_SERVER(server, "--allow-origin", "https://app.example");
  McpHttpClient client(server.port());

  McpReply r = client.Initialize();
  REQUIRE(r.status == 200);
  r = client.Request(1, "ping", json::object(),
                     {{"Origin", "https://evil.example"}});
  CHECK(r.status == 403);
  CHECK(ErrorCode(r.Json()) != 0);
  r = client.Request(2, "ping", json::object(), {{"Host", "evil.example"}});
  CHECK(r.status == 403);
  r = client.Request(3, "ping", json::object(),
                     {{"Host", "evil.example:8080"}});
  CHECK(r.status == 403);
  // A rebinding page cannot initialize either.
  McpHttpClient rebinding(server.port());
  CHECK(rebinding
            .Request("init", "initialize",
                     {{"protocolVersion", "2025-11-25"},
                      {"capabilities", json::object()}},
                     {{"Origin", "http://evil.example"}})
            .status == 403);
  // Loopback origins and hosts, and the allowed origin, pass.
  for (const char* origin : {"http://localhost:3000", "http://127.0.0.1:9",
                             "http://[::1]:80", "https://app.example"}) {
    INFO(origin);
    CHECK(client.Request(4, "ping", json::object(), {{"Origin", origin}})
              .status == 200);
  }
  for (const char* host : {"localhost", "localhost:1234", "127.0.0.1"}) {
    INFO(host);
    CHECK(client.Request(5, "ping", json::object(), {{"Host", host}}).status ==
          200);
  }
  // An allowed origin is matched whole, not by prefix.
  CHECK(client
            .Request(6, "ping", json::object(),
                     {{"Origin", "https://app.example.evil"}})
            .status == 403);
}

TEST_CASE(
    "with --auth-token-file a missing or wrong token gets 401 with "
    "WWW-Authenticate and the right one is served",
    "[integration][http]") {
  hpc::testing::TempDir dir;
  std::string token_file = dir.WriteFile("token", "s3cret-token-0123456789\n");
  START_SERVER(server, "--auth-token-file", token_file);
  McpHttpClient client(server.port());

  McpReply r = client.Initialize();
  CHECK(r.status == 401);
  CHECK(r.Header("WWW-Authenticate").rfind("Bearer", 0) == 0);
  CHECK(r.Header("Mcp-Session-Id").empty());

  for (const char* wrong : {"Bearer wrong", "Bearer s3cret-token-012345678",
                            "Bearer s3cret-token-0123456789x",
                            "s3cret-token-0123456789", "Basic czNjcmV0"}) {
    INFO(wrong);
    McpHttpClient c(server.port());
    r = c.Request(
        "init", "initialize",
        {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()}},
        {{"Authorization", wrong}});
    CHECK(r.status == 401);
    CHECK_FALSE(r.Header("WWW-Authenticate").empty());
  }

  client.http().set_bearer_token_auth("s3cret-token-0123456789");
  r = client.Initialize();
  REQUIRE(r.status == 200);
  CHECK(client.Request(1, "ping").status == 200);
  // Every request needs the token, not only initialize: the session id is
  // no credential.
  McpHttpClient thief(server.port());
  thief.session_id = client.session_id;
  CHECK(thief.Request(2, "ping").status == 401);
  CHECK(thief.Delete().status == 401);
  auto get = thief.http().Get(kMcpPath, SseHeaders(thief));
  REQUIRE(get);
  CHECK(get->status == 401);
  CHECK(client.Delete().status == 200);
}

TEST_CASE("a body over --max-body-bytes gets 413 and one under it is served",
          "[integration][http]") {
  START_SERVER(server, "--max-body-bytes", "2048");
  START_SESSION(client, server.port());
  McpReply big = client.Request(
      1, "tools/call",
      Call("json_schema_2020_12_tool", {{"name", std::string(4096, 'x')}}));
  CHECK(big.status == 413);
  McpReply small = client.Request(
      2, "tools/call",
      Call("json_schema_2020_12_tool", {{"name", std::string(100, 'x')}}));
  CHECK(small.status == 200);
  CHECK(client.Request(3, "ping").status == 200);
}

TEST_CASE("invalid JSON gets 400 with a -32700 error", "[integration][http]") {
  START_SERVER(server);
  McpHttpClient anonymous(server.port());
  McpReply r = anonymous.PostRaw("{\"jsonrpc\":\"2.0\",");
  CHECK(r.status == 400);
  CHECK(ErrorCode(r.Json()) == -32700);
  CHECK(r.Json()["id"].is_null());

  START_SESSION(client, server.port());
  r = client.PostRaw("not json at all");
  CHECK(r.status == 400);
  CHECK(ErrorCode(r.Json()) == -32700);
  // A JSON value that is no JSON-RPC message is 400 as well.
  r = client.PostRaw("{\"hello\":1}");
  CHECK(r.status == 400);
  CHECK(ErrorCode(r.Json()) == -32600);
  CHECK(client.Request(1, "ping").status == 200);
}

TEST_CASE(
    "a POST that does not accept JSON and SSE gets 406 and a non-JSON body 415",
    "[integration][http]") {
  START_SERVER(server);
  START_SESSION(client, server.port());
  for (const char* accept :
       {"text/html", "application/json", "text/event-stream"}) {
    INFO(accept);
    CHECK(client.Request(1, "ping", json::object(), {{"Accept", accept}})
              .status == 406);
  }
  CHECK(client.Request(2, "ping", json::object(), {{"Accept", "*/*"}}).status ==
        200);
  McpReply r = client.PostRaw(R"({"jsonrpc":"2.0","id":3,"method":"ping"})", {},
                              "text/plain");
  CHECK(r.status == 415);
}

TEST_CASE("methods other than GET, POST and DELETE get 405",
          "[integration][http]") {
  START_SERVER(server);
  START_SESSION(client, server.port());
  auto put =
      client.http().Put(kMcpPath, client.Headers(), "{}", "application/json");
  REQUIRE(put);
  CHECK(put->status == 405);
  CHECK(put->get_header_value("Allow").find("POST") != std::string::npos);
  auto patch =
      client.http().Patch(kMcpPath, client.Headers(), "{}", "application/json");
  REQUIRE(patch);
  CHECK(patch->status == 405);
  // Other paths do not exist.
  auto other =
      client.http().Post("/other", client.Headers(), "{}", "application/json");
  REQUIRE(other);
  CHECK(other->status == 404);
}

TEST_CASE(
    "an idle session expires after --session-idle-timeout while an active "
    "one lives",
    "[integration][http]") {
  START_SERVER(server, "--session-idle-timeout", "1");
  START_SESSION(idle, server.port());
  START_SESSION(active, server.port());
  auto last_idle_activity = Clock::now();
  // With a 1 s timeout the server checks once a second, so an idle session
  // is gone at most about 2 s after its last request.
  auto check_at = last_idle_activity + milliseconds(2600);
  // Bounded: at most 2.6 s / 250 ms pings.
  while (Clock::now() < check_at) {
    CHECK(active.Request(1, "ping").status == 200);
    std::this_thread::sleep_for(milliseconds(250));
  }
  CHECK(idle.Request(2, "ping").status == 404);
  CHECK(active.Request(3, "ping").status == 200);
}

TEST_CASE("sessions beyond --max-sessions are refused with 503 until one ends",
          "[integration][http]") {
  START_SERVER(server, "--max-sessions", "2");
  START_SESSION(a, server.port());
  START_SESSION(b, server.port());
  McpHttpClient c(server.port());
  CHECK(c.Initialize().status == 503);
  CHECK(a.Delete().status == 200);
  CHECK(c.Initialize().status == 200);
}

TEST_CASE("fifty sessions served from several threads at once all succeed",
          "[integration][http]") {
  START_SERVER(server);
  constexpr int kThreads = 5, kSessionsPerThread = 10;
  std::atomic<int> ok_sessions{0};
  std::mutex failures_mu;
  std::vector<std::string> failures;
  std::vector<std::string> ids(kThreads * kSessionsPerThread);
  auto fail = [&](std::string why) {
    std::lock_guard lock(failures_mu);
    failures.push_back(std::move(why));
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    auto run = [&, t] {
      // Open all of this thread's sessions first so that all fifty are live
      // at once, then use and close them.
      std::vector<std::unique_ptr<McpHttpClient>> sessions;
      for (int s = 0; s < kSessionsPerThread; ++s) {
        auto c = std::make_unique<McpHttpClient>(server.port());
        McpReply r = c->Initialize();
        if (r.status != 200)
          return fail("initialize: " + std::to_string(r.status) + r.error);
        ids[t * kSessionsPerThread + s] = c->session_id;
        sessions.push_back(std::move(c));
      }
      for (auto& c : sessions) {
        McpReply list = c->Request(1, "tools/list");
        McpReply call = c->Request(2, "tools/call", Call("test_simple_text"));
        McpReply prog =
            c->Request(3, "tools/call",
                       Call("test_cancellable_sleep", {{"duration_ms", 20}},
                            {{"progressToken", 3}}));
        if (list.status != 200 ||
            list.Json()["result"]["tools"].size() != ConformanceToolCount())
          return fail("tools/list: " + list.body);
        if (call.status != 200 ||
            call.Json()["result"]["content"][0]["text"] !=
                "This is a simple text response for testing.")
          return fail("tools/call: " + call.body);
        if (prog.status != 200 ||
            prog.Response()["result"]["structuredContent"]["slept_ms"] != 20)
          return fail("progress call: " + prog.body);
        if (c->Delete().status != 200) return fail("delete");
        ++ok_sessions;
      }
    };
    threads.emplace_back([&, run] {
      // An exception must become a failure here: escaping a thread, it
      // would end the test binary and orphan the server.
      try {
        run();
      } catch (const std::exception& e) {
        fail(std::string("exception: ") + e.what());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& f : failures) FAIL_CHECK(f);
  CHECK(ok_sessions == kThreads * kSessionsPerThread);
  std::sort(ids.begin(), ids.end());
  CHECK(std::unique(ids.begin(), ids.end()) == ids.end());
}

TEST_CASE(
    "notifications/cancelled ends a pending tool call POST promptly and "
    "without a response",
    "[integration][http]") {
  START_SERVER(server);
  START_SESSION(client, server.port());

  SECTION("a call streaming progress") {
    json call = {
        {"jsonrpc", "2.0"},
        {"id", 42},
        {"method", "tools/call"},
        {"params", Call("test_cancellable_sleep", {{"duration_ms", 10000}},
                        {{"progressToken", "c"}})}};
    StreamingRequest pending(server.port(), "POST", client.Headers(),
                             call.dump());
    // The first progress event shows the call is running.
    REQUIRE(pending.WaitHeaders(milliseconds(3000)) == 200);
    REQUIRE(pending.WaitBody("notifications/progress", milliseconds(3000)));
    auto start = Clock::now();
    CHECK(
        client.Notify("notifications/cancelled", {{"requestId", 42}}).status ==
        202);
    CHECK(pending.WaitDone(milliseconds(2000)));
    CHECK(Since(start) < milliseconds(1000));
    for (const json& m : hpc::testing::ParseSse(pending.body())) {
      INFO(m.dump());
      CHECK_FALSE(m.contains("result"));
      CHECK_FALSE(m.contains("error"));
    }
  }
  SECTION("a call that has not streamed anything yet") {
    json call = {
        {"jsonrpc", "2.0"},
        {"id", 43},
        {"method", "tools/call"},
        {"params", Call("test_cancellable_sleep", {{"duration_ms", 10000}})}};
    StreamingRequest pending(server.port(), "POST", client.Headers(),
                             call.dump());
    // Nothing arrives before the answer here, so give the server a moment
    // to start the call.
    std::this_thread::sleep_for(milliseconds(200));
    auto start = Clock::now();
    CHECK(
        client.Notify("notifications/cancelled", {{"requestId", 43}}).status ==
        202);
    CHECK(pending.WaitDone(milliseconds(2000)));
    CHECK(Since(start) < milliseconds(1000));
    CHECK(pending.body().find("\"result\"") == std::string::npos);
  }
  // The session goes on.
  CHECK(client.Request(1, "ping").status == 200);
}

TEST_CASE(
    "a batch is answered with an array in a 2025-03-26 session and refused in "
    "2025-11-25",
    "[integration][http]") {
  START_SERVER(server);
  json batch =
      json::array({{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}},
                   {{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/list"}}});
  McpHttpClient old(server.port());
  REQUIRE(old.Initialize("2025-03-26").status == 200);
  McpReply r = old.Post(batch);
  CHECK(r.status == 200);
  REQUIRE(r.Json().is_array());
  CHECK(r.Json().size() == 2);

  START_SESSION(current, server.port());
  r = current.Post(batch);
  CHECK(r.status == 400);
  CHECK(ErrorCode(r.Json()) == -32600);
}

TEST_CASE(
    "a non-loopback --host without an auth token refuses to start with exit "
    "code 2",
    "[integration][http]") {
  // 192.0.2.1 is a documentation address: even a server that failed to
  // refuse could not listen there.
  hpc::testing::Subprocess p(
      {Conformance(), "--http", "--host", "192.0.2.1", "--port", "0"});
  REQUIRE(p.started());
  auto code = p.Wait(milliseconds(5000));
  REQUIRE(code.has_value());
  CHECK(*code == 2);
  CHECK(p.Stderr(milliseconds(2000)).find("auth-token-file") !=
        std::string::npos);
}

TEST_CASE(
    "the HTTP server exits 0 promptly on SIGTERM with a stream open and a call "
    "pending",
    "[integration][http]") {
  START_SERVER(server);
  START_SESSION(client, server.port());
  StreamingRequest get(server.port(), "GET", SseHeaders(client));
  REQUIRE(get.WaitHeaders(milliseconds(3000)) == 200);
  json call = {
      {"jsonrpc", "2.0"},
      {"id", 1},
      {"method", "tools/call"},
      {"params", Call("test_cancellable_sleep", {{"duration_ms", 10000}})}};
  StreamingRequest pending(server.port(), "POST", client.Headers(),
                           call.dump());
  std::this_thread::sleep_for(milliseconds(100));
  auto start = Clock::now();
  server.process().Signal(SIGTERM);
  auto code = server.process().Wait(milliseconds(3000));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(Since(start) < milliseconds(2000));
  CHECK(get.WaitDone(milliseconds(1000)));
  CHECK(pending.WaitDone(milliseconds(1000)));
}

// Regression test; the defect it caught: IsLoopbackHost treats every name that
// starts with "127." as loopback, so a DNS-rebinding page served from a
// name like 127.0.0.1.evil.example passes both the Host and the Origin
// check.
TEST_CASE("a Host or Origin that only starts with 127. is foreign and gets 403",
          "[integration][http]") {
  START_SERVER(server);
  START_SESSION(client, server.port());
  for (const char* host : {"127.0.0.1.evil.example", "127.evil.example:8080"}) {
    INFO("Host: " << host);
    CHECK(client.Request(1, "ping", json::object(), {{"Host", host}}).status ==
          403);
  }
  for (const char* origin :
       {"http://127.0.0.1.evil.example", "https://127.evil.example:8443"}) {
    INFO("Origin: " << origin);
    CHECK(client.Request(2, "ping", json::object(), {{"Origin", origin}})
              .status == 403);
  }
}

// Regression test; the defect it caught: the server notices that a GET stream's
// client went away only when its next keep-alive comment fails to write
// (every 15 s), and until then answers every new GET on the session with
// 409, so a client that reconnects after a network blip is locked out (and
// the session cannot expire meanwhile).
TEST_CASE(
    "a client whose GET stream went away can open a new one on the same "
    "session",
    "[integration][http]") {
  START_SERVER(server);
  START_SESSION(client, server.port());
  {
    StreamingRequest first(server.port(), "GET", SseHeaders(client));
    REQUIRE(first.WaitHeaders(milliseconds(3000)) == 200);
  }  // The client drops the connection, as after a network blip.
  // A reconnecting client must not be locked out for long; bounded retries.
  int status = -1;
  auto deadline = Clock::now() + milliseconds(2000);
  while (Clock::now() < deadline) {
    StreamingRequest again(server.port(), "GET", SseHeaders(client));
    status = again.WaitHeaders(milliseconds(1000));
    if (status == 200) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  CHECK(status == 200);
}

// Regression test; the defect it caught: Post() checks the session
// count, then runs initialize, then inserts the session, without holding
// the lock throughout; initializes that overlap all pass the check.
TEST_CASE(
    "the --max-sessions cap holds when many clients initialize at the same "
    "moment",
    "[integration][http]") {
  START_SERVER(server, "--max-sessions", "2");
  constexpr int kRounds = 5, kClients = 24;
  for (int round = 0; round < kRounds; ++round) {
    INFO("round " << round);
    // Connected beforehand and kept alive, so that the burst below is not
    // a burst of connects (cpp-httplib listens with a backlog of 5, which
    // is a different problem).
    std::vector<std::unique_ptr<McpHttpClient>> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.push_back(std::make_unique<McpHttpClient>(server.port()));
      clients.back()->http().set_keep_alive(true);
      REQUIRE(clients.back()->http().Get("/warm-up"));
    }
    std::vector<int> statuses(kClients, -1);
    std::vector<std::string> errors(kClients);
    std::atomic<int> waiting{kClients};
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
      threads.emplace_back([&, i] {
        // Line the threads up so that their requests overlap (bounded spin).
        --waiting;
        auto give_up = Clock::now() + milliseconds(2000);
        while (waiting > 0 && Clock::now() < give_up) std::this_thread::yield();
        McpReply r = clients[i]->Initialize();
        statuses[i] = r.status;
        errors[i] = r.error;
      });
    }
    for (auto& t : threads) t.join();
    int created = 0, refused = 0;
    for (int i = 0; i < kClients; ++i) {
      if (statuses[i] == 200) {
        ++created;
        clients[i]->Delete();  // Free the slot for the next round.
      } else if (statuses[i] == 503) {
        ++refused;
      } else {
        FAIL_CHECK("client " << i << ": status " << statuses[i] << " "
                             << errors[i]);
      }
    }
    CHECK(created <= 2);
    CHECK(created + refused == kClients);
    if (created > 2) break;
  }
}

// Regression test; the defect it caught: cpp-httplib 0.11 listens with a backlog of
// 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into Debian's libcpp-httplib), and
// the server keeps it; when more clients than that connect at the same
// moment, the kernel drops connections: some requests wait for a SYN
// retransmit (~1 s) and some fail outright.
TEST_CASE(
    "a burst of simultaneous new connections is served without errors or "
    "stalls",
    "[integration][http]") {
  START_SERVER(server);
  constexpr int kRounds = 3, kClients = 24;
  for (int round = 0; round < kRounds; ++round) {
    INFO("round " << round);
    std::vector<std::unique_ptr<McpHttpClient>> clients;
    for (int i = 0; i < kClients; ++i)
      clients.push_back(std::make_unique<McpHttpClient>(server.port()));
    std::vector<int> statuses(kClients, -1);
    std::vector<std::string> errors(kClients);
    std::vector<milliseconds> took(kClients);
    std::atomic<int> waiting{kClients};
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
      threads.emplace_back([&, i] {
        // Line the threads up so that their connects overlap (bounded spin).
        --waiting;
        auto give_up = Clock::now() + milliseconds(2000);
        while (waiting > 0 && Clock::now() < give_up) std::this_thread::yield();
        auto start = Clock::now();
        McpReply r = clients[i]->Request("init", "initialize",
                                         {{"protocolVersion", "2025-11-25"},
                                          {"capabilities", json::object()}});
        took[i] = Since(start);
        statuses[i] = r.status;
        errors[i] = r.error;
      });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < kClients; ++i) {
      INFO("client " << i << ": status " << statuses[i] << " " << errors[i]
                     << " after " << took[i].count() << " ms");
      CHECK(statuses[i] == 200);
      CHECK(took[i] < milliseconds(900));
    }
  }
}
