// The stdio transport end to end: the real server binaries driven over
// pipes the way an MCP client (Claude Code, the SDKs) drives them.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/support/conformance_fixture.h"
#include "tests/support/mcp_stdio.h"

namespace {

using hpc::testing::BuiltBinary;
using hpc::testing::Clock;
using hpc::testing::StdioServer;
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

int ErrorCode(const std::optional<json>& r) {
  if (!r || !r->contains("error")) return 0;
  return (*r)["error"].value("code", 0);
}

// The text of the first content block of a tools/call result.
std::string FirstText(const std::optional<json>& r) {
  if (!r || !r->contains("result")) return "";
  const json& content = (*r)["result"].value("content", json::array());
  return content.empty() ? "" : content[0].value("text", "");
}

// Closes stdin, requires a prompt exit 0, and returns every message that no
// test step claimed, requiring each stdout line to be a JSON-RPC message.
std::vector<json> FinishAndDrain(StdioServer& server) {
  server.process().CloseStdin();
  auto code = server.process().Wait(milliseconds(3000));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  bool eof = false;
  std::vector<json> rest = server.TakeUnclaimed();
  for (const auto& line :
       server.process().ReadRemaining(milliseconds(1000), &eof)) {
    json m = json::parse(line, nullptr, false);
    INFO("stdout line: " << line);
    CHECK(((m.is_object() && m.value("jsonrpc", "") == "2.0") || m.is_array()));
    rest.push_back(m);
  }
  CHECK(eof);
  CHECK(server.process().PartialStdoutLine().empty());
  CHECK(server.bad_lines().empty());
  return rest;
}

}  // namespace

TEST_CASE(
    "stdout carries only JSON-RPC messages while logs go to stderr at debug "
    "level",
    "[integration][stdio]") {
  StdioServer server(Conformance(), {"--log-level", "debug"});
  REQUIRE(server.started());
  REQUIRE(server.Initialize());
  // A mix that makes the server log: errors, a logging tool, a cancellation.
  server.SendLine("{not json");
  server.Send(StdioServer::MakeRequest(1, "no/such/method"));
  server.Request(2, "tools/call", Call("test_tool_with_logging"));
  server.Request(3, "tools/call", Call("test_error_handling"));
  server.Send(StdioServer::MakeRequest(
      4, "tools/call",
      Call("test_cancellable_sleep", {{"duration_ms", 5000}})));
  server.Send(StdioServer::MakeNotification("notifications/cancelled",
                                            {{"requestId", 4}}));
  REQUIRE(server.Request(5, "ping"));
  FinishAndDrain(server);
  std::string err = server.process().Stderr(milliseconds(2000));
  CHECK_FALSE(err.empty());
  // The debug line about the cancellation shows that debug logs really flow,
  // and they flow to stderr.
  CHECK(err.find("debug") != std::string::npos);
  CHECK(err.find("stdio transport stopped") != std::string::npos);
}

TEST_CASE(
    "initialize echoes each supported protocol version and answers an unknown "
    "one with 2025-11-25",
    "[integration][stdio]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"2025-11-25", "2025-11-25"},
      {"2025-06-18", "2025-06-18"},
      {"2025-03-26", "2025-03-26"},
      {"1900-01-01", "2025-11-25"},
  };
  for (const auto& [asked, answered] : cases) {
    INFO("client asks for " << asked);
    StdioServer server(Conformance());
    REQUIRE(server.started());
    auto r = server.Initialize(asked);
    REQUIRE(r);
    REQUIRE(r->contains("result"));
    const json& result = (*r)["result"];
    CHECK(result["protocolVersion"] == answered);
    CHECK(result["serverInfo"]["name"] == "hpc-mcp-conformance-server");
    CHECK(result["serverInfo"].contains("version"));
    CHECK(result["capabilities"].contains("tools"));
    // A second initialize on the same session is refused.
    CHECK(ErrorCode(server.Request(
              2, "initialize",
              {{"protocolVersion", asked},
               {"capabilities", json::object()},
               {"clientInfo", {{"name", "x"}, {"version", "1"}}}})) == -32600);
    FinishAndDrain(server);
  }
}

TEST_CASE(
    "tools/list with --page-size 3 pages through every tool by nextCursor and "
    "rejects a bad cursor",
    "[integration][stdio]") {
  StdioServer server(Conformance(), {"--page-size", "3"});
  REQUIRE(server.started());
  REQUIRE(server.Initialize());

  const size_t fixture = hpc::testing::ConformanceToolCount();
  REQUIRE(fixture > 3);
  const size_t want_pages = (fixture + 2) / 3;
  std::set<std::string> names;
  size_t pages = 0, tools = 0;
  json cursor;
  // Bounded: a few more pages than the fixture fills means a cursor loop.
  for (size_t id = 1; id <= want_pages + 3; ++id) {
    json params = json::object();
    if (!cursor.is_null()) params["cursor"] = cursor;
    auto r = server.Request(id, "tools/list", params);
    REQUIRE(r);
    REQUIRE(r->contains("result"));
    const json& result = (*r)["result"];
    ++pages;
    CHECK(result["tools"].size() <= 3);
    for (const json& t : result["tools"]) {
      names.insert(t["name"].get<std::string>());
      ++tools;
    }
    if (!result.contains("nextCursor")) break;
    CHECK(result["tools"].size() == 3);  // Only the last page may be short.
    cursor = result["nextCursor"];
    REQUIRE(cursor.is_string());
  }
  CHECK(pages == want_pages);
  CHECK(tools == fixture);
  CHECK(names.size() == fixture);  // No tool twice, none skipped.
  CHECK(names.count("test_simple_text") == 1);
  CHECK(names.count("test_cancellable_sleep") == 1);

  for (const json& bad : {json("bogus"), json("o999"), json(7)}) {
    INFO("cursor " << bad.dump());
    auto r = server.Request(100, "tools/list", {{"cursor", bad}});
    CHECK(ErrorCode(r) == -32602);
  }
  FinishAndDrain(server);
}

TEST_CASE(
    "tools/call returns a tool's content and structured content over stdio",
    "[integration][stdio]") {
  StdioServer server(Conformance());
  REQUIRE(server.started());
  REQUIRE(server.Initialize());

  auto r = server.Request(1, "tools/call", Call("test_simple_text"));
  REQUIRE(r);
  CHECK(FirstText(r) == "This is a simple text response for testing.");
  CHECK_FALSE((*r)["result"].value("isError", false));

  r = server.Request(2, "tools/call",
                     Call("test_cancellable_sleep", {{"duration_ms", 0}}));
  REQUIRE(r);
  REQUIRE(r->contains("result"));
  CHECK((*r)["result"]["structuredContent"] == json{{"slept_ms", 0}});

  // A tool failure is a result the model can read, not a protocol error.
  r = server.Request(3, "tools/call", Call("test_error_handling"));
  REQUIRE(r);
  REQUIRE(r->contains("result"));
  CHECK((*r)["result"].value("isError", false));
  CHECK(FirstText(r).find("intentionally") != std::string::npos);

  // A string id is echoed as a string.
  r = server.Request("call-4", "tools/call", Call("test_simple_text"));
  REQUIRE(r);
  CHECK((*r)["id"] == "call-4");
  FinishAndDrain(server);
}

TEST_CASE(
    "every malformed or wrong request gets its JSON-RPC error and the server "
    "keeps serving",
    "[integration][stdio]") {
  StdioServer server(Conformance());
  REQUIRE(server.started());
  REQUIRE(server.Initialize());
  int next_ping = 1000;
  auto still_up = [&] {
    auto pong = server.Request(++next_ping, "ping");
    REQUIRE(pong);
    CHECK((*pong)["result"] == json::object());
  };

  SECTION("a line that is not JSON gets -32700 with a null id") {
    server.SendLine(R"({"jsonrpc":"2.0","id":1,"method":"ping")");
    auto r = server.Await(nullptr);
    REQUIRE(r);
    CHECK(ErrorCode(r) == -32700);
    CHECK((*r)["id"].is_null());
  }
  SECTION("an object that is no JSON-RPC message gets -32600") {
    for (const char* line :
         {R"({"jsonrpc":"1.0","id":2,"method":"ping"})",  // Wrong version.
          R"({"jsonrpc":"2.0","id":2})",                  // No method.
          R"({"jsonrpc":"2.0","id":2,"method":7})"}) {  // Method not a string.
      INFO(line);
      server.SendLine(line);
      auto r = server.Await(2);
      REQUIRE(r);
      CHECK(ErrorCode(r) == -32600);
    }
    // An id the server cannot use is answered with a null id.
    server.SendLine(R"({"jsonrpc":"2.0","id":null,"method":"ping"})");
    auto r = server.Await(nullptr);
    REQUIRE(r);
    CHECK(ErrorCode(r) == -32600);
    // Ids are strings or integers, never fractions or booleans.
    for (const char* line :
         {R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})",
          R"({"jsonrpc":"2.0","id":true,"method":"ping"})"}) {
      INFO(line);
      server.SendLine(line);
      r = server.Await(nullptr);
      REQUIRE(r);
      CHECK(ErrorCode(r) == -32600);
    }
    server.SendLine("[]");  // An empty batch is no message either.
    r = server.Await(nullptr);
    REQUIRE(r);
    CHECK(ErrorCode(r) == -32600);
  }
  SECTION(
      "a line over the 16 MiB message limit gets -32600 and the next line is "
      "served") {
    std::string huge =
        R"({"jsonrpc":"2.0","id":11,"method":"ping","params":{"pad":")";
    // Over the limit by more than one read of the server (64 KiB): the
    // server checks the size between reads.
    huge.append((16u << 20) + (256u << 10), 'x');
    huge += "\"}}";
    REQUIRE(server.SendLine(huge));
    auto r = server.Await(nullptr, milliseconds(10000));
    REQUIRE(r);
    CHECK(ErrorCode(r) == -32600);
    // Nothing of the oversized line is taken for a message of its own.
    auto pong = server.Request(12, "ping");
    REQUIRE(pong);
    CHECK(pong->contains("result"));
  }
  SECTION("an unknown method gets -32601") {
    CHECK(ErrorCode(server.Request(3, "tools/frobnicate")) == -32601);
  }
  SECTION("params that are not an object get -32602") {
    server.SendLine(
        R"({"jsonrpc":"2.0","id":4,"method":"tools/list","params":[1]})");
    CHECK(ErrorCode(server.Await(4)) == -32602);
  }
  SECTION("an unknown tool gets -32602 naming close matches") {
    auto r = server.Request(5, "tools/call", Call("test_simple_txt"));
    CHECK(ErrorCode(r) == -32602);
    REQUIRE(r);
    CHECK((*r)["error"]["message"].get<std::string>().find(
              "test_simple_text") != std::string::npos);
  }
  SECTION("invalid arguments are an isError result naming the field path") {
    auto r = server.Request(
        6, "tools/call",
        Call("test_cancellable_sleep", {{"duration_ms", "soon"}}));
    REQUIRE(r);
    REQUIRE(r->contains("result"));
    CHECK((*r)["result"].value("isError", false));
    CHECK(FirstText(r).find("duration_ms") != std::string::npos);

    r = server.Request(7, "tools/call",
                       Call("test_cancellable_sleep", json::object()));
    REQUIRE(r);
    REQUIRE(r->contains("result"));
    CHECK((*r)["result"].value("isError", false));
    CHECK(FirstText(r).find("duration_ms") != std::string::npos);

    r = server.Request(
        8, "tools/call",
        Call("test_cancellable_sleep", {{"duration_ms", 1}, {"extra", 1}}));
    REQUIRE(r);
    REQUIRE(r->contains("result"));
    CHECK((*r)["result"].value("isError", false));
    CHECK(FirstText(r).find("extra") != std::string::npos);
  }
  SECTION("a request id already in flight gets -32600") {
    server.Send(StdioServer::MakeRequest(
        9, "tools/call",
        Call("test_cancellable_sleep", {{"duration_ms", 300}})));
    auto dup = server.Request(9, "tools/call", Call("test_simple_text"));
    REQUIRE(dup);
    CHECK(ErrorCode(dup) == -32600);
    // The first request with that id still completes.
    auto first = server.Await(9);
    REQUIRE(first);
    CHECK(first->contains("result"));
  }
  still_up();
  FinishAndDrain(server);
}

TEST_CASE(
    "requests before initialize without modern _meta are refused with -32602 "
    "naming initialize, while ping is answered",
    "[integration][stdio]") {
  StdioServer server(Conformance());
  REQUIRE(server.started());
  auto pong = server.Request(1, "ping");
  REQUIRE(pong);
  CHECK((*pong)["result"] == json::object());
  // Served as 2026-07-28, which carries _meta; the error tells a legacy
  // client to initialize first.
  auto list = server.Request(2, "tools/list");
  CHECK(ErrorCode(list) == -32602);
  REQUIRE(list);
  CHECK((*list)["error"]["message"].get<std::string>().find("initialize") !=
        std::string::npos);
  CHECK(ErrorCode(server.Request(3, "tools/call", Call("test_simple_text"))) ==
        -32602);
  // initialize without a protocolVersion is invalid params, and leaves the
  // session uninitialized.
  CHECK(ErrorCode(server.Request(
            4, "initialize", {{"capabilities", json::object()}})) == -32602);
  CHECK(ErrorCode(server.Request(5, "tools/list")) == -32602);
  REQUIRE(server.Initialize());
  auto r = server.Request(6, "tools/list");
  REQUIRE(r);
  CHECK(r->contains("result"));
  FinishAndDrain(server);
}

TEST_CASE(
    "a batch is rejected in 2025-11-25 and answered with an array in "
    "2025-03-26",
    "[integration][stdio]") {
  json batch = json::array(
      {StdioServer::MakeRequest(1, "ping"),
       StdioServer::MakeNotification("notifications/progress",
                                     {{"progressToken", "x"}, {"progress", 1}}),
       StdioServer::MakeRequest(2, "tools/call", Call("test_simple_text")),
       StdioServer::MakeRequest(3, "no/such/method")});

  SECTION("2025-11-25") {
    StdioServer server(Conformance());
    REQUIRE(server.started());
    REQUIRE(server.Initialize("2025-11-25"));
    server.Send(batch);
    auto r = server.Await(nullptr);
    REQUIRE(r);
    CHECK(ErrorCode(r) == -32600);
    // None of the batch's requests ran.
    auto pong = server.Request(99, "ping");
    REQUIRE(pong);
    FinishAndDrain(server);
  }
  SECTION("2025-03-26") {
    StdioServer server(Conformance());
    REQUIRE(server.started());
    REQUIRE(server.Initialize("2025-03-26"));
    server.Send(batch);
    auto r = server.Next();
    REQUIRE(r);
    REQUIRE(r->is_array());
    REQUIRE(r->size() == 3);  // The notification is not answered.
    std::map<int, json> by_id;
    for (const json& m : *r) {
      CHECK(m["jsonrpc"] == "2.0");
      by_id[m["id"].get<int>()] = m;
    }
    CHECK(by_id[1]["result"] == json::object());
    CHECK(by_id[2]["result"]["content"][0]["text"] ==
          "This is a simple text response for testing.");
    CHECK(by_id[3]["error"]["code"] == -32601);
    // initialize inside a batch is refused.
    server.Send(json::array({StdioServer::MakeRequest(
        4, "initialize", {{"protocolVersion", "2025-03-26"}})}));
    CHECK(ErrorCode(server.Await(nullptr)) == -32600);
    FinishAndDrain(server);
  }
}

TEST_CASE(
    "progress notifications carry the request's progressToken and strictly "
    "increase",
    "[integration][stdio]") {
  StdioServer server(Conformance());
  REQUIRE(server.started());
  REQUIRE(server.Initialize());

  for (const json& token : {json("tok-1"), json(77)}) {
    INFO("progressToken " << token.dump());
    std::vector<json> notes;
    auto r =
        server.Request(token.is_string() ? json(1) : json(2), "tools/call",
                       Call("test_cancellable_sleep", {{"duration_ms", 250}},
                            {{"progressToken", token}}),
                       milliseconds(5000), &notes);
    REQUIRE(r);
    REQUIRE(r->contains("result"));
    CHECK((*r)["result"]["structuredContent"]["slept_ms"] == 250);
    double last = -1;
    size_t progress = 0;
    for (const json& n : notes) {
      if (n.value("method", "") != "notifications/progress") continue;
      ++progress;
      CHECK(n["params"]["progressToken"] == token);
      double p = n["params"]["progress"].get<double>();
      CHECK(p > last);
      last = p;
      CHECK(n["params"]["total"] == 250);
    }
    CHECK(progress >= 3);
    CHECK(last == 250);
  }

  // Without a progressToken there is no progress.
  std::vector<json> notes;
  auto r = server.Request(
      3, "tools/call", Call("test_cancellable_sleep", {{"duration_ms", 120}}),
      milliseconds(5000), &notes);
  REQUIRE(r);
  CHECK(notes.empty());
  FinishAndDrain(server);
}

TEST_CASE("log notifications of a tool follow logging/setLevel",
          "[integration][stdio]") {
  StdioServer server(Conformance());
  REQUIRE(server.started());
  REQUIRE(server.Initialize());
  std::vector<json> notes;
  auto r = server.Request(1, "tools/call", Call("test_tool_with_logging"),
                          milliseconds(5000), &notes);
  REQUIRE(r);
  REQUIRE(notes.size() == 3);
  for (const json& n : notes) {
    CHECK(n["method"] == "notifications/message");
    CHECK(n["params"]["level"] == "info");
  }
  REQUIRE(server.Request(2, "logging/setLevel", {{"level", "warning"}}));
  notes.clear();
  r = server.Request(3, "tools/call", Call("test_tool_with_logging"),
                     milliseconds(5000), &notes);
  REQUIRE(r);
  CHECK(notes.empty());
  CHECK(ErrorCode(server.Request(4, "logging/setLevel", {{"level", "loud"}})) ==
        -32602);
  FinishAndDrain(server);
}

// Reads the responses to `count` requests; returns their ids in arrival
// order and when each arrived.
std::vector<int> ReadAnswers(StdioServer& server, size_t count,
                             std::map<int, Clock::time_point>* arrived) {
  std::vector<int> order;
  // Bounded: `count` answers, each within the deadline.
  while (order.size() < count) {
    auto m = server.Next(milliseconds(5000));
    REQUIRE(m);
    REQUIRE(StdioServer::IsResponse(*m));
    CHECK(m->contains("result"));
    int id = (*m)["id"].get<int>();
    order.push_back(id);
    (*arrived)[id] = Clock::now();
  }
  return order;
}

milliseconds Gap(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<milliseconds>(a > b ? a - b : b - a);
}

TEST_CASE("ping and other calls are answered while a slow tool call runs",
          "[integration][stdio]") {
  StdioServer server(Conformance());
  REQUIRE(server.started());
  REQUIRE(server.Initialize());
  // Order rather than absolute times, so that a loaded machine does not
  // fail the test: a ping that waited for the sleep would come after it.
  server.Send(StdioServer::MakeRequest(
      1, "tools/call", Call("test_cancellable_sleep", {{"duration_ms", 600}})));
  for (int id = 2; id <= 4; ++id) REQUIRE(server.Request(id, "ping"));
  CHECK(server.TakeUnclaimed().empty());  // The sleep is still running.
  // Other calls are served too (whether they run beside the sleep is the
  // subject of the next test).
  auto text = server.Request(5, "tools/call", Call("test_simple_text"));
  REQUIRE(text);
  CHECK(FirstText(text) == "This is a simple text response for testing.");
  REQUIRE(server.Await(1));
  FinishAndDrain(server);
}

// Regression test; the defect it caught: ThreadPool::Submit wakes an idle worker
// when idle_ > 0, but idle_ drops only once that worker runs again; calls
// submitted back to back all count the same idle worker, the supervisor is
// never told, and they wait in the queue until a worker finishes. Here the
// quick call waits for the sleeps, which run one after the other. (A race:
// fails in most runs, not all.)
TEST_CASE("tool calls that arrive together run side by side",
          "[integration][stdio]") {
  StdioServer server(Conformance());
  REQUIRE(server.started());
  REQUIRE(server.Initialize());
  // One write, as a client that pipelines requests sends them: the server
  // reads all the lines at once and submits them back to back.
  constexpr int kSleeps = 4;
  std::string lines;
  for (int id = 1; id <= kSleeps; ++id)
    lines += StdioServer::MakeRequest(
                 id, "tools/call",
                 Call("test_cancellable_sleep", {{"duration_ms", 600}}))
                 .dump() +
             "\n";
  lines += StdioServer::MakeRequest(kSleeps + 1, "tools/call",
                                    Call("test_simple_text"))
               .dump() +
           "\n";
  REQUIRE(server.process().Write(lines));
  std::map<int, Clock::time_point> arrived;
  std::vector<int> order = ReadAnswers(server, kSleeps + 1, &arrived);
  // The quick call did not wait for a sleep.
  CHECK(order.front() == kSleeps + 1);
  // The sleeps ran side by side: the last ended soon after the first.
  auto first = arrived[1], last = arrived[1];
  for (int id = 2; id <= kSleeps; ++id) {
    first = std::min(first, arrived[id]);
    last = std::max(last, arrived[id]);
  }
  CHECK(Gap(first, last) < milliseconds(400));
  FinishAndDrain(server);
}

TEST_CASE(
    "notifications/cancelled stops a slow call quickly and no response is ever "
    "sent for it",
    "[integration][stdio]") {
  StdioServer server(Conformance());
  REQUIRE(server.started());
  REQUIRE(server.Initialize());
  server.Send(StdioServer::MakeRequest(
      7, "tools/call",
      Call("test_cancellable_sleep", {{"duration_ms", 10000}})));
  // The slow call does not hold up other requests.
  auto pong = server.Request(8, "ping");
  REQUIRE(pong);
  auto cancelled_at = Clock::now();
  server.Send(StdioServer::MakeNotification(
      "notifications/cancelled", {{"requestId", 7}, {"reason", "test"}}));
  // Cancelling an unknown or finished id is ignored silently.
  server.Send(StdioServer::MakeNotification("notifications/cancelled",
                                            {{"requestId", 12345}}));
  REQUIRE(server.Request(9, "ping"));
  // At EOF the server waits for calls in flight; a prompt exit shows the
  // sleep stopped instead of running its 10 s.
  std::vector<json> rest = FinishAndDrain(server);
  CHECK(Since(cancelled_at) < milliseconds(1500));
  for (const json& m : rest) {
    INFO(m.dump());
    CHECK_FALSE((m.is_object() && m.contains("id") && m["id"] == 7));
  }
}

// Regression test; the defect it caught: a cancelled request keeps sending progress
// notifications until its handler notices the stop, so a notification for
// it follows the server's handling of notifications/cancelled. The 2026
// stdio text says a server MUST NOT send anything more for a cancelled
// request, and progress must only reference requests still in progress.
TEST_CASE(
    "no progress notification for a cancelled request follows the cancellation",
    "[integration][stdio]") {
  StdioServer server(Conformance());
  REQUIRE(server.started());
  REQUIRE(server.Initialize());
  server.Send(StdioServer::MakeRequest(
      7, "tools/call",
      Call("test_cancellable_sleep", {{"duration_ms", 10000}},
           {{"progressToken", "slow"}})));
  // Wait for the first progress notification: the call is running.
  auto first = server.Next(milliseconds(2000));
  REQUIRE(first);
  REQUIRE(first->value("method", "") == "notifications/progress");
  server.Send(StdioServer::MakeNotification("notifications/cancelled",
                                            {{"requestId", 7}}));
  // The server handles messages from stdin in order, so by the time it
  // answers this ping it has handled the cancellation.
  std::vector<json> before_pong;
  REQUIRE(server.Request(8, "ping", json::object(), milliseconds(2000),
                         &before_pong));
  std::vector<json> after = FinishAndDrain(server);
  for (const json& m : after) {
    INFO("sent after the cancellation was handled: " << m.dump());
    CHECK_FALSE(m.value("method", "") == "notifications/progress");
    CHECK_FALSE((m.contains("id") && m["id"] == 7));
  }
}

TEST_CASE("a tool's sampling request to the client round-trips over stdio",
          "[integration][stdio]") {
  StdioServer server(Conformance());
  REQUIRE(server.started());
  REQUIRE(server.Initialize("2025-11-25", {{"sampling", json::object()}}));
  server.Send(StdioServer::MakeRequest(
      1, "tools/call", Call("test_sampling", {{"prompt", "hi"}})));
  auto ask = server.Next();
  REQUIRE(ask);
  REQUIRE(ask->value("method", "") == "sampling/createMessage");
  REQUIRE(ask->contains("id"));
  CHECK((*ask)["params"]["messages"][0]["content"]["text"] == "hi");
  server.Send({{"jsonrpc", "2.0"},
               {"id", (*ask)["id"]},
               {"result",
                {{"role", "assistant"},
                 {"content", {{"type", "text"}, {"text", "hello back"}}},
                 {"model", "test-model"}}}});
  auto r = server.Await(1);
  REQUIRE(r);
  CHECK(FirstText(r) == "LLM response: hello back");

  // Without the client capability the tool is told, and nothing is asked.
  StdioServer plain(Conformance());
  REQUIRE(plain.started());
  REQUIRE(plain.Initialize());
  std::vector<json> others;
  r = plain.Request(1, "tools/call", Call("test_sampling", {{"prompt", "hi"}}),
                    milliseconds(5000), &others);
  REQUIRE(r);
  CHECK(others.empty());
  CHECK(FirstText(r).find("Sampling not supported") != std::string::npos);
  FinishAndDrain(server);
  FinishAndDrain(plain);
}

TEST_CASE(
    "the server answers calls in flight and exits 0 promptly when stdin "
    "reaches EOF",
    "[integration][stdio]") {
  SECTION("idle") {
    StdioServer server(Conformance());
    REQUIRE(server.started());
    REQUIRE(server.Initialize());
    auto start = Clock::now();
    FinishAndDrain(server);
    CHECK(Since(start) < milliseconds(1000));
  }
  SECTION("with a call in flight, whose answer still arrives") {
    StdioServer server(Conformance());
    REQUIRE(server.started());
    REQUIRE(server.Initialize());
    server.Send(StdioServer::MakeRequest(
        1, "tools/call",
        Call("test_cancellable_sleep", {{"duration_ms", 200}})));
    auto start = Clock::now();
    std::vector<json> rest = FinishAndDrain(server);
    CHECK(Since(start) < milliseconds(1500));
    bool answered = false;
    for (const json& m : rest)
      answered = answered ||
                 (m.contains("id") && m["id"] == 1 && m.contains("result"));
    CHECK(answered);
  }
  SECTION("before initialize") {
    StdioServer server(Conformance());
    REQUIRE(server.started());
    auto start = Clock::now();
    FinishAndDrain(server);
    CHECK(Since(start) < milliseconds(1000));
  }
}

TEST_CASE("the server exits 0 promptly on SIGTERM, even with a call in flight",
          "[integration][stdio]") {
  StdioServer server(Conformance());
  REQUIRE(server.started());
  REQUIRE(server.Initialize());
  server.Send(StdioServer::MakeRequest(
      1, "tools/call",
      Call("test_cancellable_sleep", {{"duration_ms", 10000}})));
  REQUIRE(server.Request(2, "ping"));  // The call is in flight by now.
  auto start = Clock::now();
  server.process().Signal(SIGTERM);
  auto code = server.process().Wait(milliseconds(3000));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(Since(start) < milliseconds(1500));
  CHECK(server.process().PartialStdoutLine().empty());
}

TEST_CASE(
    "the hpc-mcp binary keeps stdout to protocol messages through a session",
    "[integration][stdio]") {
  StdioServer server(BuiltBinary("hpc-mcp"), {"--log-level", "debug"});
  REQUIRE(server.started());
  auto r = server.Initialize();
  REQUIRE(r);
  REQUIRE(r->contains("result"));
  CHECK((*r)["result"]["serverInfo"]["name"] == "hpc-mcp");
  auto tools = server.Request(1, "tools/list");
  REQUIRE(tools);
  REQUIRE(tools->contains("result"));
  // The product's tools are still being written; the list may be empty.
  CHECK((*tools)["result"]["tools"].is_array());
  CHECK(ErrorCode(server.Request(2, "tools/call", Call("no_such_tool"))) ==
        -32602);
  FinishAndDrain(server);
}

TEST_CASE(
    "a process that was never initialized serves 2026-07-28 requests, and a "
    "legacy initialize may still follow",
    "[integration][stdio]") {
  StdioServer server(Conformance());
  REQUIRE(server.started());
  auto discover = server.Modern(1, "server/discover");
  REQUIRE(discover);
  REQUIRE(discover->contains("result"));
  const json& result = (*discover)["result"];
  CHECK(result["resultType"] == "complete");
  CHECK(result["supportedVersions"][0] == "2026-07-28");
  CHECK(result["_meta"][hpc::testing::kMetaServerInfo]["name"] ==
        "hpc-mcp-conformance-server");

  auto call = server.Modern(2, "tools/call", Call("test_simple_text"));
  REQUIRE(call);
  CHECK(FirstText(call) == "This is a simple text response for testing.");
  CHECK((*call)["result"]["resultType"] == "complete");
  auto list = server.Modern(3, "tools/list");
  REQUIRE(list);
  CHECK((*list)["result"]["cacheScope"] == "public");

  // Modern requests are stateless: each one carries its _meta.
  CHECK(ErrorCode(server.Request(4, "tools/list")) == -32602);
  CHECK(ErrorCode(server.Modern(5, "logging/setLevel", {{"level", "debug"}})) ==
        -32601);

  // A client that probed with server/discover may fall back to legacy.
  auto init = server.Initialize();
  REQUIRE(init);
  REQUIRE(init->contains("result"));
  CHECK((*init)["result"]["protocolVersion"] == "2025-11-25");
  auto legacy = server.Request(6, "tools/list");
  REQUIRE(legacy);
  CHECK_FALSE((*legacy)["result"].contains("resultType"));
  // 2026-07-28 stdio: the server wrote no request of its own to stdout.
  for (const json& m : FinishAndDrain(server)) {
    INFO(m.dump());
    CHECK_FALSE((m.contains("method") && m.contains("id")));
  }
}

TEST_CASE(
    "after a legacy initialize a process serves every request as legacy, "
    "modern _meta or not",
    "[integration][stdio]") {
  StdioServer server(Conformance());
  REQUIRE(server.started());
  auto init = server.Initialize();
  REQUIRE(init);
  REQUIRE(init->contains("result"));
  auto call = server.Modern(1, "tools/call", Call("test_simple_text"));
  REQUIRE(call);
  REQUIRE(call->contains("result"));
  CHECK(FirstText(call) == "This is a simple text response for testing.");
  CHECK_FALSE((*call)["result"].contains("resultType"));
  CHECK_FALSE((*call)["result"].contains("_meta"));
  auto list = server.Modern(2, "tools/list");
  REQUIRE(list);
  CHECK_FALSE((*list)["result"].contains("ttlMs"));
  CHECK_FALSE((*list)["result"].contains("resultType"));
  // What 2026-07-28 removed is served, what it added is not.
  CHECK(server.Modern(3, "ping").value_or(json())["result"] == json::object());
  CHECK(server.Request(4, "logging/setLevel", {{"level", "debug"}})
            .value_or(json())["result"] == json::object());
  CHECK(ErrorCode(server.Modern(5, "server/discover")) == -32601);
  FinishAndDrain(server);
}
