// The protocol core serving 2026-07-28 ("modern") requests in process, next
// to legacy sessions of the same server: discovery, result metadata,
// caching hints, removed methods, logging and progress by _meta, missing
// client capabilities, input-required round trips in both eras, and
// subscriptions/listen.
#include <catch2/catch.hpp>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mcp_server/server.h"
#include "tests/support/capture.h"
#include "tests/support/modern.h"
#include "tests/support/tool_def.h"

using namespace hpc::mcp;
using hpc::testing::ToolDef;
using hpc::Result;
using hpc::testing::Capture;
using hpc::testing::kMetaLogLevel;
using hpc::testing::kMetaServerInfo;
using hpc::testing::kMetaSubscriptionId;
using hpc::testing::ModernParams;
using hpc::testing::ModernRequest;

namespace {


json Req(const json& id, const std::string& method, json params = json::object()) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

json Note(const std::string& method, json params) {
  return {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

// The one elicitation an input-required handler here asks for.
json Elicit(const std::string& message) {
  return {{"method", "elicitation/create"},
          {"params",
           {{"message", message},
            {"requestedSchema",
             {{"type", "object"}, {"properties", {{"answer", {{"type", "string"}}}}}}}}}};
}

json Accept(const std::string& answer) {
  return {{"action", "accept"}, {"content", {{"answer", answer}}}};
}

const json kElicitation = {{"elicitation", json::object()}};

// What input-required handlers saw, one entry per attempt.
struct Seen {
  std::mutex mu;
  std::vector<json> responses;
  std::vector<std::string> states;

  void Add(json r, std::string s) {
    std::lock_guard lock(mu);
    responses.push_back(std::move(r));
    states.push_back(std::move(s));
  }
  size_t size() {
    std::lock_guard lock(mu);
    return responses.size();
  }
};

// Registers a tool that asks the client for an answer (key "ok") with state
// `state`, then reports the answer and the state it got back.
void AddConfirmTool(Server& server, const std::string& name, std::string state, Seen& seen) {
  REQUIRE(server
              .AddTool(ToolDef(name),
                       [&seen, state](RequestContext& ctx, const json&) -> Result<ToolResult> {
                         json r = ctx.InputResponses();
                         seen.Add(r, ctx.RequestState());
                         if (!r.contains("ok"))
                           return ToolResult::InputRequired({{"ok", Elicit("Submit?")}}, state);
                         return ToolResult::Text("confirmed " +
                                                 r["ok"]["content"].value("answer", "?") +
                                                 " with " + ctx.RequestState());
                       })
              .ok());
}

struct Fixture {
  Fixture() : server(Options()) {
    REQUIRE(server.AddTool(ToolDef("echo", json::parse(R"({"type":"object","required":["text"],
        "properties":{"text":{"type":"string"}}})")),
                           [](RequestContext&, const json& a) -> Result<ToolResult> {
                             return ToolResult::Text(a["text"].get<std::string>());
                           })
                .ok());
    REQUIRE(server.AddTool(ToolDef("logs"), [](RequestContext& ctx, const json&) -> Result<ToolResult> {
      ctx.Progress(1, 2);
      for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError})
        ctx.Log(l, std::string("at ") + LogLevelName(l));
      ctx.Progress(2, 2);
      return ToolResult::Text("logged");
    }).ok());
    REQUIRE(server.AddTool(ToolDef("needs_sampling"),
                           [](RequestContext& ctx, const json&) -> Result<ToolResult> {
                             if (auto s = ctx.RequireClientCapability("sampling"); !s.ok()) return s;
                             return ToolResult::Text("sampled");
                           })
                .ok());
    AddConfirmTool(server, "confirm", "state-A", seen);
    AddConfirmTool(server, "other", "state-B", seen_other);
    REQUIRE(server.AddPrompt({{"name", "ask_prompt"}, {"description", "asks who"}},
                             [this](RequestContext& ctx, const json&) -> Result<json> {
                               json r = ctx.InputResponses();
                               seen_prompt.Add(r, ctx.RequestState());
                               if (!r.contains("ok"))
                                 return json{{"inputRequests", {{"ok", Elicit("Who?")}}},
                                             {"requestState", "prompt-state"}};
                               std::string text = "Hi " + r["ok"]["content"].value("answer", "?") +
                                                  " (" + ctx.RequestState() + ")";
                               return json{{"messages",
                                            json::array({{{"role", "user"},
                                                          {"content", {{"type", "text"}, {"text", text}}}}})}};
                             })
                .ok());
    REQUIRE(server.AddPromptFile("---\nname: hello\n---\nHello\n", "hello.md").ok());
    auto reader = [](const std::string& uri, const auto&) -> Result<json> {
      return json::array({{{"uri", uri}, {"text", "contents of " + uri}}});
    };
    REQUIRE(server.AddResource({{"uri", "test://private"}, {"name", "private"}}, reader).ok());
    REQUIRE(server.AddResource({{"uri", "test://shared"}, {"name", "shared"}}, reader,
                               CacheHint{60000, true})
                .ok());
    REQUIRE(server.AddResourceTemplate({{"uriTemplate", "test://runs/{id}"}, {"name", "run"}}, reader)
                .ok());
    modern = server.NewSession("");
    modern->SetStandalone(modern_standalone);
    legacy = server.NewSession("");
    legacy->SetStandalone(legacy_standalone);
  }
  static ServerOptions Options() {
    ServerOptions o;
    o.name = "hpc-mcp";
    o.title = "HPC";
    o.version = "1.2.3";
    o.instructions = "Use the tools.";
    o.page_size = 3;
    o.list_ttl_ms = 120000;
    o.tools_list_changed = true;
    o.prompts_list_changed = true;
    o.resources_list_changed = false;
    o.request_state_key = "modern_test key";
    o.strict_output = true;
    return o;
  }

  // One request and what came back for it: the response (null when the
  // request was abandoned) and the notifications sent on its stream.
  struct Exchange {
    json response;
    std::vector<json> notes;
  };
  Exchange Run(const std::shared_ptr<Session>& session, const json& message) {
    auto out = std::make_shared<Capture>();
    server.Handle(session, message, out);
    REQUIRE(out->WaitResponses(1));
    auto responses = out->responses();
    return {responses.empty() ? json() : responses[0], out->notifications()};
  }
  json Modern(const json& id, const std::string& method, json params = json::object(),
              json caps = json::object()) {
    return Run(modern, ModernRequest(id, method, std::move(params), std::move(caps))).response;
  }
  json Legacy(const json& id, const std::string& method, json params = json::object()) {
    return Run(legacy, Req(id, method, std::move(params))).response;
  }
  json InitLegacy(json caps = json::object()) {
    json r = Legacy("init", "initialize",
                    {{"protocolVersion", "2025-11-25"},
                     {"capabilities", std::move(caps)},
                     {"clientInfo", {{"name", "legacy"}, {"version", "1"}}}});
    REQUIRE(r.contains("result"));
    return r["result"];
  }

  Seen seen, seen_other, seen_prompt;
  Server server;
  std::shared_ptr<Session> modern, legacy;
  std::shared_ptr<Capture> modern_standalone = std::make_shared<Capture>();
  std::shared_ptr<Capture> legacy_standalone = std::make_shared<Capture>();
};

int ErrorCode(const json& r) {
  return r.is_object() && r.contains("error") ? r["error"].value("code", 0) : 0;
}
std::string Text(const json& r) {
  if (!r.contains("result") || !r["result"].contains("content")) return "";
  return r["result"]["content"][0].value("text", "");
}
std::vector<std::string> Methods(const std::vector<json>& notes) {
  std::vector<std::string> out;
  for (const json& n : notes) out.push_back(n.value("method", ""));
  return out;
}

// Checks the two members 2026-07-28 adds to every result.
void CheckModernResult(const json& r, const std::string& result_type = "complete") {
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  CHECK(r["result"]["resultType"] == result_type);
  REQUIRE(r["result"].contains("_meta"));
  CHECK(r["result"]["_meta"][kMetaServerInfo] ==
        json{{"name", "hpc-mcp"}, {"version", "1.2.3"}, {"title", "HPC"}});
}

// Checks that a legacy result has none of them.
void CheckLegacyResult(const json& r) {
  INFO(r.dump());
  REQUIRE(r.contains("result"));
  CHECK_FALSE(r["result"].contains("resultType"));
  CHECK_FALSE(r["result"].contains("ttlMs"));
  CHECK_FALSE(r["result"].contains("cacheScope"));
  CHECK_FALSE((r["result"].contains("_meta") && r["result"]["_meta"].contains(kMetaServerInfo)));
}

// The requests every era serves, with params.
const std::vector<std::pair<std::string, json>>& CommonRequests() {
  static const std::vector<std::pair<std::string, json>> kAll = {
      {"tools/list", json::object()},
      {"tools/call", {{"name", "echo"}, {"arguments", {{"text", "hi"}}}}},
      {"tools/call", {{"name", "echo"}, {"arguments", {{"text", 5}}}}},  // isError.
      {"prompts/list", json::object()},
      {"prompts/get", {{"name", "hello"}}},
      {"resources/list", json::object()},
      {"resources/templates/list", json::object()},
      {"resources/read", {{"uri", "test://private"}}},
      {"resources/read", {{"uri", "test://runs/7"}}},
      {"completion/complete",
       {{"ref", {{"type", "ref/prompt"}, {"name", "hello"}}},
        {"argument", {{"name", "x"}, {"value", ""}}}}},
  };
  return kAll;
}

}  // namespace

TEST_CASE("server/discover tells a modern client the versions, capabilities and caching",
          "[unit]") {
  Fixture f;
  json r = f.Modern(1, "server/discover");
  CheckModernResult(r);
  const json& result = r["result"];
  CHECK(result["supportedVersions"] ==
        json({"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"}));
  CHECK(result["ttlMs"] == 120000);
  CHECK(result["cacheScope"] == "public");
  CHECK(result["instructions"] == "Use the tools.");
  CHECK(result["capabilities"]["tools"]["listChanged"] == true);
  CHECK(result["capabilities"]["prompts"]["listChanged"] == true);
  CHECK(result["capabilities"].contains("resources"));
  CHECK(result["capabilities"].contains("completions"));
  // The same capabilities a legacy initialize announces.
  CHECK(f.InitLegacy()["capabilities"] == result["capabilities"]);
  // Discovering does not open a session.
  CHECK_FALSE(f.modern->initialized());
}

TEST_CASE("every modern result carries resultType and serverInfo, and no legacy one does",
          "[unit]") {
  Fixture f;
  f.InitLegacy();
  int id = 1;
  for (const auto& [method, params] : CommonRequests()) {
    INFO(method << " " << params.dump());
    json modern = f.Modern(id++, method, params);
    CheckModernResult(modern);
    json legacy = f.Legacy(id++, method, params);
    CheckLegacyResult(legacy);
    // The era changes the envelope, not the answer.
    json stripped = modern["result"];
    for (const char* k : {"resultType", "_meta", "ttlMs", "cacheScope"}) stripped.erase(k);
    json plain = legacy["result"];
    plain.erase("_meta");
    CHECK(stripped == plain);
  }
}

TEST_CASE("modern lists and reads carry ttlMs and cacheScope; a resource is private by default",
          "[unit]") {
  Fixture f;
  int id = 1;
  for (std::string list : {"tools/list", "prompts/list", "resources/list",
                           "resources/templates/list"}) {
    // Every page, not only the first (page_size is 3, there are 5 tools).
    json params = json::object();
    for (int page = 0; page < 10; ++page) {
      INFO(list << " page " << page);
      json r = f.Modern(id++, list, params);
      REQUIRE(r.contains("result"));
      CHECK(r["result"]["ttlMs"] == 120000);
      CHECK(r["result"]["cacheScope"] == "public");
      if (!r["result"].contains("nextCursor")) break;
      params = {{"cursor", r["result"]["nextCursor"]}};
    }
  }
  json priv = f.Modern(id++, "resources/read", {{"uri", "test://private"}});
  CHECK(priv["result"]["ttlMs"] == 0);
  CHECK(priv["result"]["cacheScope"] == "private");
  json templ = f.Modern(id++, "resources/read", {{"uri", "test://runs/42"}});
  CHECK(templ["result"]["ttlMs"] == 0);
  CHECK(templ["result"]["cacheScope"] == "private");
  CHECK(templ["result"]["contents"][0]["text"] == "contents of test://runs/42");
  json shared = f.Modern(id++, "resources/read", {{"uri", "test://shared"}});
  CHECK(shared["result"]["ttlMs"] == 60000);
  CHECK(shared["result"]["cacheScope"] == "public");
}

TEST_CASE("an unknown resource is -32602 with the uri in modern and -32002 in legacy",
          "[unit]") {
  Fixture f;
  json modern = f.Modern(1, "resources/read", {{"uri", "test://nope"}});
  CHECK(ErrorCode(modern) == -32602);
  CHECK(modern["error"]["data"]["uri"] == "test://nope");
  f.InitLegacy();
  json legacy = f.Legacy(2, "resources/read", {{"uri", "test://nope"}});
  CHECK(ErrorCode(legacy) == -32002);
  CHECK(legacy["error"]["data"]["uri"] == "test://nope");
}

TEST_CASE("modern requests for removed or unknown methods, or with a bad _meta, are refused",
          "[unit]") {
  Fixture f;
  json init_params{{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()}};
  std::vector<std::pair<std::string, json>> removed = {
      {"initialize", init_params},
      {"ping", json::object()},
      {"logging/setLevel", {{"level", "debug"}}},
      {"resources/subscribe", {{"uri", "test://private"}}},
      {"resources/unsubscribe", {{"uri", "test://private"}}},
      {"no/such/method", json::object()},
  };
  int id = 1;
  for (const auto& [method, params] : removed) {
    INFO(method);
    json r = f.Modern(id++, method, params);
    CHECK(ErrorCode(r) == -32601);
    CHECK(r["id"] == id - 1);
  }
  // An initialize with modern _meta opened no session.
  CHECK_FALSE(f.modern->initialized());

  json bare = f.Run(f.modern, Req(id++, "tools/list")).response;
  CHECK(ErrorCode(bare) == -32602);
  json v999 = f.Run(f.modern, Req(id++, "tools/list", ModernParams({}, json::object(), "v999")))
                  .response;
  CHECK(ErrorCode(v999) == -32022);
  CHECK(v999["error"]["data"]["requested"] == "v999");
  CHECK(v999["error"]["data"]["supported"][0] == "2026-07-28");
  // A bare ping before initialize is still the legacy ping.
  CHECK(f.Run(f.modern, Req(id++, "ping")).response["result"] == json::object());
}

TEST_CASE("modern log notifications follow _meta logLevel and are absent without it",
          "[unit]") {
  Fixture f;
  auto levels = [&](json meta) {
    auto ex = f.Run(f.modern, ModernRequest(1, "tools/call",
                                            {{"name", "logs"}, {"_meta", std::move(meta)}}));
    CHECK(Text(ex.response) == "logged");
    std::vector<std::string> out;
    for (const json& n : ex.notes)
      if (n["method"] == "notifications/message") out.push_back(n["params"]["level"]);
    return out;
  };
  CHECK(levels(json::object()).empty());
  CHECK(levels({{kMetaLogLevel, "warning"}}) == std::vector<std::string>{"warning", "error"});
  CHECK(levels({{kMetaLogLevel, "debug"}}) ==
        std::vector<std::string>{"debug", "info", "warning", "error"});
  CHECK(levels({{kMetaLogLevel, "emergency"}}).empty());

  // Legacy sessions keep their session level (info by default).
  f.InitLegacy();
  auto ex = f.Run(f.legacy, Req(2, "tools/call", {{"name", "logs"}}));
  std::vector<std::string> legacy;
  for (const json& n : ex.notes)
    if (n["method"] == "notifications/message") legacy.push_back(n["params"]["level"]);
  CHECK(legacy == std::vector<std::string>{"info", "warning", "error"});
}

TEST_CASE("modern progress is sent for a progressToken and only then", "[unit]") {
  Fixture f;
  auto ex = f.Run(f.modern, ModernRequest(1, "tools/call",
                                          {{"name", "logs"}, {"_meta", {{"progressToken", "tok"}}}}));
  std::vector<double> progress;
  for (const json& n : ex.notes) {
    if (n["method"] != "notifications/progress") continue;
    CHECK(n["params"]["progressToken"] == "tok");
    progress.push_back(n["params"]["progress"]);
  }
  CHECK(progress == std::vector<double>{1, 2});
  ex = f.Run(f.modern, ModernRequest(2, "tools/call", {{"name", "logs"}}));
  CHECK(ex.notes.empty());
}

TEST_CASE("a tool that requires an undeclared capability is -32021 in modern, isError in legacy",
          "[unit]") {
  Fixture f;
  json r = f.Modern(1, "tools/call", {{"name", "needs_sampling"}});
  CHECK(ErrorCode(r) == -32021);
  CHECK(r["error"]["data"] == json{{"requiredCapabilities", {{"sampling", json::object()}}}});
  CHECK_THAT(r["error"]["message"].get<std::string>(), Catch::Contains("sampling"));
  json ok = f.Modern(2, "tools/call", {{"name", "needs_sampling"}}, {{"sampling", json::object()}});
  CheckModernResult(ok);
  CHECK(Text(ok) == "sampled");

  f.InitLegacy();
  json legacy = f.Legacy(3, "tools/call", {{"name", "needs_sampling"}});
  REQUIRE(legacy.contains("result"));
  CHECK(legacy["result"]["isError"] == true);
  CHECK_THAT(Text(legacy), Catch::Contains("sampling"));

  Fixture g;
  g.InitLegacy({{"sampling", json::object()}});
  CHECK(Text(g.Legacy(4, "tools/call", {{"name", "needs_sampling"}})) == "sampled");
}

TEST_CASE("an input-required tool: the modern client answers and repeats the call", "[unit]") {
  Fixture f;
  json first = f.Modern(1, "tools/call", {{"name", "confirm"}}, kElicitation);
  CheckModernResult(first, "input_required");
  const json& result = first["result"];
  CHECK(result["inputRequests"] == json{{"ok", Elicit("Submit?")}});
  REQUIRE(result["requestState"].is_string());
  const std::string state = result["requestState"];
  // Sealed: not the handler's plain state.
  CHECK(state != "state-A");
  CHECK(state.find("state-A") == std::string::npos);
  CHECK_FALSE(result.contains("content"));

  json answers = {{"ok", Accept("yes")}};
  json second = f.Modern(2, "tools/call",
                         {{"name", "confirm"}, {"inputResponses", answers}, {"requestState", state}},
                         kElicitation);
  CheckModernResult(second);
  CHECK(Text(second) == "confirmed yes with state-A");
  REQUIRE(f.seen.size() == 2);
  CHECK(f.seen.responses[0] == json::object());
  CHECK(f.seen.states[0] == "");
  CHECK(f.seen.responses[1] == answers);
  CHECK(f.seen.states[1] == "state-A");

  SECTION("an altered requestState is a JSON-RPC error and the tool does not run") {
    for (size_t i : {size_t{3}, state.size() / 2, state.size() - 1}) {
      std::string altered = state;
      altered[i] = altered[i] == 'a' ? 'b' : 'a';
      INFO("altered at " << i << ": " << altered);
      json r = f.Modern(3, "tools/call",
                        {{"name", "confirm"}, {"inputResponses", answers}, {"requestState", altered}},
                        kElicitation);
      CHECK(ErrorCode(r) == -32602);
    }
    CHECK(ErrorCode(f.Modern(4, "tools/call",
                             {{"name", "confirm"}, {"inputResponses", answers}, {"requestState", 5}},
                             kElicitation)) == -32602);
    CHECK(ErrorCode(f.Modern(5, "tools/call",
                             {{"name", "confirm"}, {"inputResponses", "yes"}, {"requestState", state}},
                             kElicitation)) == -32602);
    CHECK(f.seen.size() == 2);
  }
  SECTION("the state of one tool is refused by another") {
    json r = f.Modern(6, "tools/call",
                      {{"name", "other"}, {"inputResponses", answers}, {"requestState", state}},
                      kElicitation);
    CHECK(ErrorCode(r) == -32602);
    CHECK(f.seen_other.size() == 0);
    // And by a prompt.
    CHECK(ErrorCode(f.Modern(7, "prompts/get",
                             {{"name", "ask_prompt"}, {"inputResponses", answers},
                              {"requestState", state}},
                             kElicitation)) == -32602);
    CHECK(f.seen_prompt.size() == 0);
  }
  SECTION("a client without the capability an input request needs gets -32021") {
    json r = f.Modern(8, "tools/call", {{"name", "confirm"}});
    CHECK(ErrorCode(r) == -32021);
    CHECK(r["error"]["data"]["requiredCapabilities"] == json{{"elicitation", json::object()}});
  }
}

TEST_CASE("an input-required tool on a legacy session: the server asks the client itself",
          "[unit]") {
  Fixture f;
  f.InitLegacy(kElicitation);
  auto out = std::make_shared<Capture>();
  f.server.Handle(f.legacy, Req(1, "tools/call", {{"name", "confirm"}}), out);
  REQUIRE(out->WaitNotifications(1));
  json ask = out->notifications()[0];
  CHECK(ask["method"] == "elicitation/create");
  CHECK(ask["params"] == Elicit("Submit?")["params"]);
  REQUIRE(ask.contains("id"));
  CHECK(out->responses().empty());
  // The client's answer arrives as a response message on the session.
  f.server.Handle(f.legacy, json{{"jsonrpc", "2.0"}, {"id", ask["id"]}, {"result", Accept("yes")}},
                  out);
  REQUIRE(out->WaitResponses(1));
  json r = out->responses()[0];
  CHECK(r["id"] == 1);
  CheckLegacyResult(r);
  CHECK(Text(r) == "confirmed yes with state-A");
  REQUIRE(f.seen.size() == 2);
  CHECK(f.seen.responses[1] == json{{"ok", Accept("yes")}});
  CHECK(f.seen.states[1] == "state-A");

  SECTION("without the capability nothing is asked and the call is an isError result") {
    Fixture g;
    g.InitLegacy();
    auto ex = g.Run(g.legacy, Req(2, "tools/call", {{"name", "confirm"}}));
    CHECK(ex.notes.empty());
    CHECK(ex.response["result"]["isError"] == true);
    CHECK_THAT(Text(ex.response), Catch::Contains("elicitation"));
  }
}

TEST_CASE("a handler that calls AskClient twice works in both eras", "[unit]") {
  // Written once, blocking style: a legacy session answers each ask as a
  // server-to-client request; a modern client gets one input-required
  // round per ask, and the handler runs again from the start each time.
  std::atomic<int> runs{0};
  Server server(Fixture::Options());
  REQUIRE(server
              .AddTool(ToolDef("two_asks"),
                       [&runs](RequestContext& ctx, const json&) -> Result<ToolResult> {
                         ++runs;
                         auto who = ctx.AskClient("elicitation/create", Elicit("Who?")["params"],
                                                  std::chrono::seconds(5));
                         if (!who.ok()) return who.status();
                         auto roots = ctx.AskClient("roots/list", json::object(),
                                                    std::chrono::seconds(5));
                         if (!roots.ok()) return roots.status();
                         return ToolResult::Text((*who)["content"].value("answer", "?") + " in " +
                                                 (*roots)["roots"][0].value("uri", "?"));
                       })
              .ok());
  const json caps{{"elicitation", json::object()}, {"roots", json::object()}};
  const json roots{{"roots", {{{"uri", "file:///exp"}}}}};

  SECTION("modern: two rounds, the first answer carried in the sealed state") {
    auto session = server.NewSession("");
    auto call = [&](int id, json extra) {
      json params{{"name", "two_asks"}, {"arguments", json::object()}};
      params.update(extra);
      auto out = std::make_shared<Capture>();
      server.Handle(session, ModernRequest(id, "tools/call", params, caps), out);
      REQUIRE(out->WaitResponses(1));
      return out->responses()[0];
    };
    json r1 = call(1, json::object());
    INFO(r1.dump());
    REQUIRE(r1["result"]["resultType"] == "input_required");
    CHECK(r1["result"]["inputRequests"] == json{{"ask-1", Elicit("Who?")}});
    json r2 = call(2, {{"inputResponses", {{"ask-1", Accept("ada")}}},
                       {"requestState", r1["result"]["requestState"]}});
    INFO(r2.dump());
    REQUIRE(r2["result"]["resultType"] == "input_required");
    CHECK(r2["result"]["inputRequests"] ==
          json{{"ask-2", {{"method", "roots/list"}, {"params", json::object()}}}});
    // The client resends only the last round's answer.
    json r3 = call(3, {{"inputResponses", {{"ask-2", roots}}},
                       {"requestState", r2["result"]["requestState"]}});
    INFO(r3.dump());
    CHECK(r3["result"]["resultType"] == "complete");
    CHECK(Text(r3) == "ada in file:///exp");
    CHECK(runs == 3);
    // Without the state, the first answer is gone and asked for again.
    json again = call(4, {{"inputResponses", {{"ask-2", roots}}}});
    CHECK(again["result"]["inputRequests"].contains("ask-1"));
  }

  SECTION("legacy: two server-to-client requests in one call") {
    auto session = server.NewSession("");
    auto out = std::make_shared<Capture>();
    server.Handle(session,
                  Req(0, "initialize", {{"protocolVersion", "2025-11-25"}, {"capabilities", caps}}),
                  out);
    REQUIRE(out->WaitResponses(1));
    server.Handle(session, Req(1, "tools/call", {{"name", "two_asks"}}), out);
    // The n-th ask is the n-th notification (the next may come as soon as
    // the previous one is answered).
    size_t n = 0;
    for (const json& answer : {Accept("ada"), roots}) {
      REQUIRE(out->WaitNotifications(n + 1));
      json ask = out->notifications()[n++];
      server.Handle(session, json{{"jsonrpc", "2.0"}, {"id", ask["id"]}, {"result", answer}}, out);
    }
    REQUIRE(out->WaitResponses(2));
    CHECK(Text(out->responses()[1]) == "ada in file:///exp");
    CHECK(runs == 1);
  }
  server.Shutdown();
}

TEST_CASE("a prompt that needs input round-trips in both eras", "[unit]") {
  Fixture f;
  json first = f.Modern(1, "prompts/get", {{"name", "ask_prompt"}}, kElicitation);
  CheckModernResult(first, "input_required");
  CHECK(first["result"]["inputRequests"] == json{{"ok", Elicit("Who?")}});
  REQUIRE(first["result"]["requestState"].is_string());
  std::string state = first["result"]["requestState"];
  CHECK(state.find("prompt-state") == std::string::npos);
  json second = f.Modern(2, "prompts/get",
                         {{"name", "ask_prompt"},
                          {"inputResponses", {{"ok", Accept("Ann")}}},
                          {"requestState", state}},
                         kElicitation);
  CheckModernResult(second);
  CHECK(second["result"]["messages"][0]["content"]["text"] == "Hi Ann (prompt-state)");
  // Replayed into a tool: refused.
  CHECK(ErrorCode(f.Modern(3, "tools/call",
                           {{"name", "confirm"},
                            {"inputResponses", {{"ok", Accept("Ann")}}},
                            {"requestState", state}},
                           kElicitation)) == -32602);

  f.InitLegacy(kElicitation);
  auto out = std::make_shared<Capture>();
  f.server.Handle(f.legacy, Req(4, "prompts/get", {{"name", "ask_prompt"}}), out);
  REQUIRE(out->WaitNotifications(1));
  json ask = out->notifications()[0];
  CHECK(ask["method"] == "elicitation/create");
  f.server.Handle(f.legacy, json{{"jsonrpc", "2.0"}, {"id", ask["id"]}, {"result", Accept("Bo")}},
                  out);
  REQUIRE(out->WaitResponses(1));
  json legacy = out->responses()[0];
  CheckLegacyResult(legacy);
  CHECK(legacy["result"]["messages"][0]["content"]["text"] == "Hi Bo (prompt-state)");
}

TEST_CASE("subscriptions/listen acknowledges what it honours and delivers tagged notifications",
          "[unit]") {
  Fixture f;
  f.InitLegacy();
  // Listener A: tools and one resource; resourcesListChanged (not declared
  // by this server) and an unknown type are left out of the ack.
  auto a = std::make_shared<Capture>();
  f.server.Handle(f.modern,
                  ModernRequest("listen-a", "subscriptions/listen",
                                {{"notifications",
                                  {{"toolsListChanged", true},
                                   {"resourcesListChanged", true},
                                   {"fooChanged", true},
                                   {"resourceSubscriptions", {"test://private"}}}}}),
                  a);
  // Listener B: prompts only.
  auto b = std::make_shared<Capture>();
  f.server.Handle(f.modern,
                  ModernRequest(7, "subscriptions/listen",
                                {{"notifications", {{"promptsListChanged", true}}}}),
                  b);
  REQUIRE(a->WaitNotifications(1));
  REQUIRE(b->WaitNotifications(1));
  json ack_a = a->notifications()[0];
  CHECK(ack_a["method"] == "notifications/subscriptions/acknowledged");
  CHECK(ack_a["params"]["notifications"] ==
        json{{"toolsListChanged", true}, {"resourceSubscriptions", {"test://private"}}});
  CHECK(ack_a["params"]["_meta"][kMetaSubscriptionId] == "listen-a");
  json ack_b = b->notifications()[0];
  CHECK(ack_b["params"]["notifications"] == json{{"promptsListChanged", true}});
  CHECK(ack_b["params"]["_meta"][kMetaSubscriptionId] == 7);
  // A listen stays open: no response yet.
  CHECK(a->responses().empty());
  CHECK(b->responses().empty());

  // Notify* deliver synchronously, so what has not arrived when they
  // return does not come.
  f.server.NotifyListChanged("tools");
  CHECK(Methods(a->notifications()) ==
        std::vector<std::string>{"notifications/subscriptions/acknowledged",
                                 "notifications/tools/list_changed"});
  CHECK(b->notifications().size() == 1);
  f.server.NotifyListChanged("prompts");
  CHECK(a->notifications().size() == 2);
  CHECK(Methods(b->notifications()) ==
        std::vector<std::string>{"notifications/subscriptions/acknowledged",
                                 "notifications/prompts/list_changed"});
  f.server.NotifyListChanged("resources");  // Not declared: nobody hears it.
  f.server.NotifyResourceUpdated("test://shared");  // Nobody listens for it.
  CHECK(a->notifications().size() == 2);
  CHECK(b->notifications().size() == 2);
  f.server.NotifyResourceUpdated("test://private");
  REQUIRE(a->notifications().size() == 3);
  CHECK(a->notifications()[2]["method"] == "notifications/resources/updated");
  CHECK(a->notifications()[2]["params"]["uri"] == "test://private");
  CHECK(b->notifications().size() == 2);
  // Every notification on a listen stream names its subscription.
  for (const json& n : a->notifications()) CHECK(n["params"]["_meta"][kMetaSubscriptionId] == "listen-a");
  for (const json& n : b->notifications()) CHECK(n["params"]["_meta"][kMetaSubscriptionId] == 7);
  // The legacy session heard the list changes on its own stream, untagged.
  CHECK(Methods(f.legacy_standalone->notifications()) ==
        std::vector<std::string>{"notifications/tools/list_changed",
                                 "notifications/prompts/list_changed"});
  CHECK_FALSE(f.legacy_standalone->notifications()[0]["params"].contains("_meta"));
  CHECK(f.modern_standalone->notifications().empty());

  SECTION("the same id cannot open a second listen while the first is open") {
    json dup = f.Run(f.modern, ModernRequest(7, "subscriptions/listen",
                                             {{"notifications", {{"toolsListChanged", true}}}}))
                   .response;
    CHECK(ErrorCode(dup) == -32600);
  }
  SECTION("cancelling a listen stops delivery; shutdown ends the others with a result") {
    f.server.Handle(f.modern, Note("notifications/cancelled", {{"requestId", "listen-a"}}), a);
    f.server.NotifyListChanged("tools");
    f.server.NotifyResourceUpdated("test://private");
    CHECK(a->notifications().size() == 3);
    f.server.Shutdown();
    REQUIRE(b->WaitResponses(1));
    json end = b->responses()[0];
    CHECK(end["id"] == 7);
    CHECK(end["result"]["resultType"] == "complete");
    CHECK(end["result"]["_meta"][kMetaSubscriptionId] == 7);
    CHECK(end["result"]["_meta"][kMetaServerInfo]["name"] == "hpc-mcp");
    // The cancelled listen is never answered.
    CHECK(a->responses().empty());
  }
}

TEST_CASE("subscriptions/listen without a notifications object is -32602", "[unit]") {
  Fixture f;
  for (json params : {json::object(), json{{"notifications", true}}}) {
    INFO(params.dump());
    CHECK(ErrorCode(f.Modern(1, "subscriptions/listen", params)) == -32602);
  }
}

TEST_CASE("a legacy session and modern requests are served side by side on one server",
          "[unit]") {
  Fixture f;
  json init = f.InitLegacy();
  CHECK(init["protocolVersion"] == "2025-11-25");
  constexpr int kRounds = 25;
  std::vector<json> legacy, modern;
  // Without assertions: Catch2 asserts from one thread only. A response
  // that does not come within the wait is null and fails the checks below.
  auto send = [&](const std::shared_ptr<Session>& session, const json& message) {
    auto out = std::make_shared<Capture>();
    f.server.Handle(session, message, out);
    return out->WaitResponses(1) && !out->responses().empty() ? out->responses()[0] : json();
  };
  // Interleaved for real: two clients at once, each checked afterwards.
  std::thread legacy_client([&] {
    for (int i = 0; i < kRounds; ++i) {
      legacy.push_back(send(f.legacy, Req(i, "tools/call",
                                          {{"name", "echo"}, {"arguments", {{"text", "L"}}}})));
      legacy.push_back(send(f.legacy, Req(1000 + i, "tools/list")));
    }
  });
  std::thread modern_client([&] {
    for (int i = 0; i < kRounds; ++i) {
      modern.push_back(send(f.modern, ModernRequest(i, "tools/call",
                                                    {{"name", "echo"}, {"arguments", {{"text", "M"}}}})));
      modern.push_back(send(f.modern, ModernRequest(1000 + i, "server/discover")));
    }
  });
  legacy_client.join();
  modern_client.join();
  REQUIRE(legacy.size() == 2 * kRounds);
  REQUIRE(modern.size() == 2 * kRounds);
  for (int i = 0; i < kRounds; ++i) {
    INFO("round " << i);
    CheckLegacyResult(legacy[2 * i]);
    CHECK(Text(legacy[2 * i]) == "L");
    CheckLegacyResult(legacy[2 * i + 1]);
    CheckModernResult(modern[2 * i]);
    CHECK(Text(modern[2 * i]) == "M");
    CheckModernResult(modern[2 * i + 1]);
  }
  // Each kept its era: the legacy session its version, the modern stream
  // none, and removed methods stay removed for it only.
  CHECK(f.legacy->protocol_version() == "2025-11-25");
  CHECK_FALSE(f.modern->initialized());
  CHECK(f.Legacy(5000, "logging/setLevel", {{"level", "debug"}})["result"] == json::object());
  CHECK(ErrorCode(f.Modern(5001, "logging/setLevel", {{"level", "debug"}})) == -32601);
  // A modern _meta on the legacy session changes nothing: it stays legacy.
  CheckLegacyResult(f.Run(f.legacy, ModernRequest(5002, "tools/list")).response);
}
