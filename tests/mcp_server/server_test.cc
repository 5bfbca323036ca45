// The protocol core in process: dispatch, errors, tools, pagination,
// cancellation, progress and concurrency, through a recording Outbound.
#include "mcp_server/server.h"

#include <catch2/catch.hpp>
#include <thread>

#include "tests/support/capture.h"
#include "tests/support/tool_def.h"

using namespace hpc::mcp;
using hpc::testing::ToolDef;
using hpc::Result;
using hpc::testing::Capture;

namespace {


json Req(int id, const std::string& method, json params = json::object()) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
}

struct Fixture {
  explicit Fixture(size_t page_size = 50) : server(Options(page_size)) {
    REQUIRE(server.AddTool(ToolDef("echo", json::parse(R"({
      "type":"object","required":["text"],"additionalProperties":false,
      "properties":{"text":{"type":"string"},"times":{"type":"integer","default":1}}})")),
                           [](RequestContext&, const json& a) -> Result<ToolResult> {
                             std::string out;
                             for (int i = 0; i < a["times"].get<int>(); ++i) out += a["text"].get<std::string>();
                             return ToolResult::Text(out);
                           }).ok());
    REQUIRE(server.AddTool(ToolDef("sleep"), [](RequestContext& ctx, const json&) -> Result<ToolResult> {
      for (int i = 0; i < 500 && !ctx.stop_token().stop_requested(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      return ToolResult::Text("woke");
    }).ok());
    REQUIRE(server.AddTool(ToolDef("progress"), [](RequestContext& ctx, const json&) -> Result<ToolResult> {
      for (double p : {1.0, 1.0, 0.5, 2.0, 3.0}) ctx.Progress(p, 3.0);
      ctx.Log(LogLevel::kDebug, "hidden at the default level");
      ctx.Log(LogLevel::kWarning, "visible");
      return ToolResult::Text("done");
    }).ok());
    REQUIRE(server.AddTool(ToolDef("throws"), [](RequestContext&, const json&) -> Result<ToolResult> {
      throw std::runtime_error("boom");
    }).ok());
    REQUIRE(server.AddTool(ToolDef("fails"), [](RequestContext&, const json&) -> Result<ToolResult> {
      return hpc::NotFound("no run named x; list_runs shows the runs");
    }).ok());
    json structured = ToolDef("structured");
    structured["outputSchema"] = json::parse(
        R"({"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}})");
    REQUIRE(server.AddTool(structured, [](RequestContext&, const json&) -> Result<ToolResult> {
      return ToolResult::Structured({{"n", "not a number"}});
    }).ok());
    REQUIRE(server.AddTool(ToolDef("ask"), [](RequestContext& ctx, const json&) -> Result<ToolResult> {
      auto r = ctx.AskClient("sampling/createMessage", {{"messages", json::array()}},
                             std::chrono::seconds(5));
      if (!r.ok()) return r.status();
      return ToolResult::Text((*r)["content"]["text"]);
    }).ok());
    REQUIRE(server.AddResource({{"uri", "test://a"}, {"name", "a"}},
                               [](const std::string& uri, const auto&) -> Result<json> {
                                 return json::array({{{"uri", uri}, {"text", "A"}}});
                               }).ok());
    REQUIRE(server.AddPromptFile("---\nname: p\narguments:\n  - name: who\n    required: true\n"
                                 "completions:\n  who: [alice, albert, bob]\n---\nHi {{who}}\n",
                                 "p.md").ok());
    session = server.NewSession("");
    session->SetStandalone(standalone);
  }
  static ServerOptions Options(size_t page_size) {
    ServerOptions o;
    o.page_size = page_size;
    o.strict_output = true;
    return o;
  }
  // Sends one message and waits for the n-th response overall.
  json Call(const json& m, json caps = json::object()) {
    size_t before = out->responses().size();
    server.Handle(session, m, out);
    REQUIRE(out->WaitResponses(before + 1));
    return out->responses()[before];
  }
  void Init(const std::string& version = "2025-11-25", json caps = json::object()) {
    json r = Call(Req(0, "initialize", {{"protocolVersion", version},
                                       {"capabilities", caps},
                                       {"clientInfo", {{"name", "t"}, {"version", "1"}}}}));
    REQUIRE(r.contains("result"));
  }
  Server server;
  std::shared_ptr<Session> session;
  std::shared_ptr<Capture> out = std::make_shared<Capture>();
  std::shared_ptr<Capture> standalone = std::make_shared<Capture>();
};

int ErrorCode(const json& r) { return r.at("error").at("code").get<int>(); }
std::string Text(const json& r) { return r["result"]["content"][0]["text"]; }

}  // namespace

TEST_CASE("initialize echoes a supported version and answers the latest otherwise", "[unit]") {
  for (std::string v : {"2025-11-25", "2025-06-18", "2025-03-26"}) {
    Fixture f;
    json r = f.Call(Req(1, "initialize", {{"protocolVersion", v}}));
    CHECK(r["result"]["protocolVersion"] == v);
  }
  Fixture f;
  json r = f.Call(Req(1, "initialize", {{"protocolVersion", "1999-01-01"}}));
  CHECK(r["result"]["protocolVersion"] == "2025-11-25");
  CHECK(r["result"]["serverInfo"]["name"] == "hpc-mcp");
  CHECK(r["result"]["capabilities"].contains("tools"));
  CHECK(r["result"]["capabilities"]["resources"]["subscribe"] == true);
  CHECK(ErrorCode(f.Call(Req(2, "initialize", {{"protocolVersion", "2025-11-25"}}))) == -32600);
}

TEST_CASE("every malformed request gets its JSON-RPC error and the server stays up", "[unit]") {
  Fixture f;
  // Before initialize, a request is served as 2026-07-28, which needs _meta.
  CHECK(ErrorCode(f.Call(Req(1, "tools/list"))) == -32602);
  CHECK(f.Call(Req(2, "ping"))["result"] == json::object());  // Ping always works.
  f.Init();
  CHECK(ErrorCode(f.Call(Req(3, "no/such/method"))) == -32601);
  CHECK(ErrorCode(f.Call(Req(4, "initialize", {{"protocolVersion", 5}}))) == -32600);
  CHECK(ErrorCode(f.Call(json{{"jsonrpc", "2.0"}, {"id", 5}, {"method", "ping"}, {"params", json::array()}})) == -32602);
  json invalid = f.Call(json{{"jsonrpc", "1.0"}, {"id", 6}, {"method", "ping"}});
  CHECK(ErrorCode(invalid) == -32600);
  CHECK(invalid["id"] == 6);
  size_t before = f.out->responses().size();
  f.server.HandleText(f.session, "{not json", f.out);
  REQUIRE(f.out->WaitResponses(before + 1));
  json parse = f.out->responses()[before];
  CHECK(ErrorCode(parse) == -32700);
  CHECK(parse["id"].is_null());
  CHECK(ErrorCode(f.Call(Req(7, "tools/call", {{"arguments", json::object()}}))) == -32602);
  CHECK(ErrorCode(f.Call(Req(8, "logging/setLevel", {{"level", "loud"}}))) == -32602);
  CHECK(f.Call(Req(9, "ping"))["result"] == json::object());
}

TEST_CASE("an unknown tool is -32602 with a suggestion; tool failures are isError", "[unit]") {
  Fixture f;
  f.Init();
  json unknown = f.Call(Req(1, "tools/call", {{"name", "ecko"}}));
  CHECK(ErrorCode(unknown) == -32602);
  CHECK_THAT(unknown["error"]["message"].get<std::string>(), Catch::Contains("Did you mean \"echo\""));

  json bad = f.Call(Req(2, "tools/call", {{"name", "echo"}, {"arguments", {{"text", 3}}}}));
  CHECK(bad["result"]["isError"] == true);
  CHECK_THAT(Text(bad), Catch::Contains("/text") && Catch::Contains("\"string\""));

  json missing = f.Call(Req(3, "tools/call", {{"name", "echo"}}));
  CHECK(missing["result"]["isError"] == true);
  CHECK_THAT(Text(missing), Catch::Contains("text"));

  json thrown = f.Call(Req(4, "tools/call", {{"name", "throws"}}));
  CHECK(thrown["result"]["isError"] == true);
  CHECK_THAT(Text(thrown), Catch::Contains("boom"));

  json failed = f.Call(Req(5, "tools/call", {{"name", "fails"}}));
  CHECK(failed["result"]["isError"] == true);
  CHECK(Text(failed) == "no run named x; list_runs shows the runs");

  json out = f.Call(Req(6, "tools/call", {{"name", "structured"}}));
  CHECK(out["result"]["isError"] == true);
  CHECK_THAT(Text(out), Catch::Contains("outputSchema"));
}

TEST_CASE("schema defaults are applied before the handler runs", "[unit]") {
  Fixture f;
  f.Init();
  CHECK(Text(f.Call(Req(1, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "ab"}}}}))) == "ab");
  CHECK(Text(f.Call(Req(2, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "ab"}, {"times", 2}}}}))) == "abab");
}

TEST_CASE("lists paginate with opaque cursors and refuse unknown ones", "[unit]") {
  Fixture f(2);
  f.Init();
  std::vector<std::string> names;
  json cursor;
  for (int page = 0; page < 10; ++page) {
    json params = cursor.is_null() ? json::object() : json{{"cursor", cursor}};
    json r = f.Call(Req(100 + page, "tools/list", params));
    REQUIRE(r.contains("result"));
    CHECK(r["result"]["tools"].size() <= 2);
    for (const json& t : r["result"]["tools"]) names.push_back(t["name"]);
    if (!r["result"].contains("nextCursor")) break;
    cursor = r["result"]["nextCursor"];
  }
  CHECK(names == std::vector<std::string>{"ask", "echo", "fails", "progress", "sleep", "structured", "throws"});
  CHECK(ErrorCode(f.Call(Req(1, "tools/list", {{"cursor", "garbage"}}))) == -32602);
  CHECK(ErrorCode(f.Call(Req(2, "tools/list", {{"cursor", "o999"}}))) == -32602);
  CHECK(ErrorCode(f.Call(Req(3, "tools/list", {{"cursor", 5}}))) == -32602);
}

TEST_CASE("a cancelled call stops its handler and is never answered", "[unit]") {
  Fixture f;
  f.Init();
  size_t before = f.out->responses().size();
  auto start = std::chrono::steady_clock::now();
  f.server.Handle(f.session, Req(42, "tools/call", {{"name", "sleep"}}), f.out);
  // A slow call does not block other requests.
  CHECK(f.Call(Req(43, "ping"))["result"] == json::object());
  f.server.Handle(f.session,
                  json{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"},
                       {"params", {{"requestId", 42}, {"reason", "user"}}}},
                  f.out);
  REQUIRE(f.out->WaitResponses(before + 2));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  CHECK(f.out->abandoned() == 1);
  for (const json& r : f.out->responses()) CHECK(r["id"] != 42);
  // Cancelling an unknown or finished request is ignored.
  f.server.Handle(f.session,
                  json{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"},
                       {"params", {{"requestId", 42}}}},
                  f.out);
  CHECK(f.Call(Req(44, "ping"))["result"] == json::object());
}

TEST_CASE("an id in flight cannot be reused", "[unit]") {
  Fixture f;
  f.Init();
  f.server.Handle(f.session, Req(7, "tools/call", {{"name", "sleep"}}), f.out);
  json dup = f.Call(Req(7, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "x"}}}}));
  CHECK(ErrorCode(dup) == -32600);
  f.server.Handle(f.session, json{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"},
                                  {"params", {{"requestId", 7}}}}, f.out);
}

TEST_CASE("progress is sent only for a token and only when it increases", "[unit]") {
  Fixture f;
  f.Init();
  json r = f.Call(Req(1, "tools/call", {{"name", "progress"}, {"_meta", {{"progressToken", "tok"}}}}));
  CHECK(Text(r) == "done");
  std::vector<double> seen;
  int logs = 0;
  for (const json& n : f.out->notifications()) {
    if (n["method"] == "notifications/progress") {
      CHECK(n["params"]["progressToken"] == "tok");
      seen.push_back(n["params"]["progress"]);
    } else if (n["method"] == "notifications/message") {
      ++logs;
      CHECK(n["params"]["level"] == "warning");
    }
  }
  CHECK(seen == std::vector<double>{1, 2, 3});
  CHECK(logs == 1);
  // Without a token: no progress at all.
  size_t notes = f.out->notifications().size();
  f.Call(Req(2, "tools/call", {{"name", "progress"}}));
  for (size_t i = notes; i < f.out->notifications().size(); ++i)
    CHECK(f.out->notifications()[i]["method"] != "notifications/progress");
  // logging/setLevel debug lets the debug line through.
  f.Call(Req(3, "logging/setLevel", {{"level", "debug"}}));
  size_t n0 = f.out->notifications().size();
  f.Call(Req(4, "tools/call", {{"name", "progress"}}));
  CHECK(f.out->notifications().size() - n0 == 2);
}

TEST_CASE("many calls run concurrently on the pool", "[unit]") {
  Fixture f;
  f.Init();
  size_t before = f.out->responses().size();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i) f.server.Handle(f.session, Req(1000 + i, "tools/call", {{"name", "sleep"}}), f.out);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  f.session->CancelAll();
  REQUIRE(f.out->WaitResponses(before + 8));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
}

TEST_CASE("batches are answered as arrays in 2025-03-26 and refused later", "[unit]") {
  Fixture old_client;
  old_client.Init("2025-03-26");
  json batch = json::array({Req(1, "ping"), json{{"jsonrpc", "2.0"}, {"method", "notifications/x"}},
                            Req(2, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "b"}}}})});
  json r = old_client.Call(batch);
  REQUIRE(r.is_array());
  CHECK(r.size() == 2);
  CHECK(ErrorCode(old_client.Call(json::array())) == -32600);
  Fixture f;
  f.Init();
  CHECK(ErrorCode(f.Call(batch)) == -32600);
}

TEST_CASE("resources read, report not-found with the uri, and notify subscribers", "[unit]") {
  Fixture f;
  f.Init();
  json r = f.Call(Req(1, "resources/read", {{"uri", "test://a"}}));
  CHECK(r["result"]["contents"][0]["text"] == "A");
  json nf = f.Call(Req(2, "resources/read", {{"uri", "test://nope"}}));
  CHECK(ErrorCode(nf) == -32002);
  CHECK(nf["error"]["data"]["uri"] == "test://nope");
  CHECK(f.Call(Req(3, "resources/subscribe", {{"uri", "test://a"}}))["result"] == json::object());
  f.server.NotifyResourceUpdated("test://a");
  REQUIRE(f.standalone->WaitNotifications(1));
  CHECK(f.standalone->notifications()[0]["params"]["uri"] == "test://a");
  f.Call(Req(4, "resources/unsubscribe", {{"uri", "test://a"}}));
  f.server.NotifyResourceUpdated("test://a");
  CHECK(f.standalone->notifications().size() == 1);
}

TEST_CASE("prompts render arguments, check them, and complete their values", "[unit]") {
  Fixture f;
  f.Init();
  json r = f.Call(Req(1, "prompts/get", {{"name", "p"}, {"arguments", {{"who", "ann"}}}}));
  CHECK(r["result"]["messages"][0]["content"]["text"] == "Hi ann\n");
  CHECK(ErrorCode(f.Call(Req(2, "prompts/get", {{"name", "p"}}))) == -32602);
  CHECK(ErrorCode(f.Call(Req(3, "prompts/get", {{"name", "p"}, {"arguments", {{"who", "a"}, {"x", "y"}}}}))) == -32602);
  CHECK(ErrorCode(f.Call(Req(4, "prompts/get", {{"name", "q"}}))) == -32602);
  json c = f.Call(Req(5, "completion/complete", {{"ref", {{"type", "ref/prompt"}, {"name", "p"}}},
                                                 {"argument", {{"name", "who"}, {"value", "al"}}}}));
  CHECK(c["result"]["completion"]["values"] == json({"alice", "albert"}));
}

TEST_CASE("a tool can ask the client only for declared capabilities", "[unit]") {
  Fixture f;
  f.Init();
  json r = f.Call(Req(1, "tools/call", {{"name", "ask"}}));
  CHECK(r["result"]["isError"] == true);
  CHECK_THAT(Text(r), Catch::Contains("sampling"));

  Fixture g;
  g.Init("2025-11-25", {{"sampling", json::object()}});
  size_t before = g.out->responses().size();
  g.server.Handle(g.session, Req(2, "tools/call", {{"name", "ask"}}), g.out);
  REQUIRE(g.out->WaitNotifications(1));
  json ask = g.out->notifications()[0];
  CHECK(ask["method"] == "sampling/createMessage");
  g.server.Handle(g.session, json{{"jsonrpc", "2.0"}, {"id", ask["id"]},
                                  {"result", {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "hi"}}}}}},
                  g.out);
  REQUIRE(g.out->WaitResponses(before + 1));
  CHECK(Text(g.out->responses()[before]) == "hi");
}

TEST_CASE("bad tool definitions are refused at registration", "[unit]") {
  Server s{ServerOptions{}};
  auto noop = [](RequestContext&, const json&) -> Result<ToolResult> { return ToolResult::Text(""); };
  json no_annotations = ToolDef("a");
  no_annotations.erase("annotations");
  CHECK_FALSE(s.AddTool(no_annotations, noop).ok());
  json partial = ToolDef("b");
  partial["annotations"].erase("openWorldHint");
  CHECK_FALSE(s.AddTool(partial, noop).ok());
  CHECK_FALSE(s.AddTool(ToolDef("bad name!"), noop).ok());
  CHECK_FALSE(s.AddTool(ToolDef("c", json{{"type", "object"}, {"properties", {{"x", {{"type", "nope"}}}}}}), noop).ok());
  CHECK_FALSE(s.AddTool(ToolDef("d", json{{"type", "array"}}), noop).ok());
  CHECK(s.AddTool(ToolDef("e"), noop).ok());
  CHECK_FALSE(s.AddTool(ToolDef("e"), noop).ok());
}

TEST_CASE("malformed members never crash the server (fuzzer findings)", "[unit]") {
  Fixture old_client;
  old_client.Init("2025-03-26");
  json batch = json::array({json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", 5}}});
  json r = old_client.Call(batch);
  REQUIRE(r.is_array());
  CHECK(ErrorCode(r[0]) == -32600);

  Fixture f;
  f.Init();
  for (json params : {json{{"ref", json::object()}, {"argument", {{"name", "who"}}}},
                      json{{"ref", {{"type", "ref/prompt"}}}, {"argument", {{"name", "who"}}}},
                      json{{"ref", {{"type", "ref/resource"}}}, {"argument", {{"name", "x"}}}},
                      json{{"ref", {{"type", "ref/prompt"}, {"name", "p"}}}, {"argument", json::object()}},
                      json{{"ref", {{"type", "ref/prompt"}, {"name", "p"}}}, {"argument", {{"name", "who"}, {"value", 5}}}},
                      json{{"ref", {{"type", "ref/prompt"}, {"name", "p"}}}, {"argument", {{"name", "who"}}}, {"context", 3}}}) {
    INFO(params.dump());
    CHECK(ErrorCode(f.Call(Req(2, "completion/complete", params))) == -32602);
  }
  // A long multi-byte value is cut on a character boundary in error texts.
  std::string snowmen;
  for (int i = 0; i < 40; ++i) snowmen += "\xE2\x98\x83";
  json bad = f.Call(Req(3, "tools/call", {{"name", "echo"}, {"arguments", {{"text", 1}, {"times", snowmen}}}}));
  CHECK_NOTHROW(bad.dump());
}
