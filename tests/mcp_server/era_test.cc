// The two protocol eras on values: what makes a request modern, the peer a
// modern request describes in its _meta, the methods 2026-07-28 removed, the
// HTTP status of an error, and the headers a modern POST mirrors.
#include "mcp_server/era.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tests/support/modern.h"

using namespace hpc::mcp;
using hpc::testing::ModernMeta;
using hpc::testing::ModernParams;

namespace {

// ReadModernPeer's error for `params`; code 0 when it succeeded.
RpcError PeerError(const json& params) {
  RpcError error{0, "", nullptr};
  std::optional<Peer> peer = ReadModernPeer(params, &error);
  if (peer) CHECK(error.code == 0);  // Success leaves the error alone.
  return error;
}

// A header getter over a map, case-insensitive as HTTP header names are.
// Records each name asked for.
struct Headers {
  std::map<std::string, std::string> values;
  std::vector<std::string> asked;

  std::function<std::optional<std::string>(std::string_view)> Getter() {
    return [this](std::string_view name) -> std::optional<std::string> {
      asked.emplace_back(name);
      for (const auto& [k, v] : values)
        if (std::equal(k.begin(), k.end(), name.begin(), name.end(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) ==
                     std::tolower(static_cast<unsigned char>(b));
            }))
          return v;
      return std::nullopt;
    };
  }
};

json Message(const std::string& method, json params, json id = 1) {
  json m{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
  if (!id.is_null()) m["id"] = std::move(id);
  return m;
}

// The error CheckModernHeaders answers (code 0: none).
int HeaderError(const json& message, const std::map<std::string, std::string>& values) {
  Headers h{values, {}};
  auto e = CheckModernHeaders(message, h.Getter());
  return e ? e->code : 0;
}

}  // namespace

TEST_CASE("ReadModernPeer reads the version, capabilities, client info and log level",
          "[unit]") {
  json params = ModernParams({{"name", "x"}}, {{"sampling", json::object()},
                                               {"roots", true},
                                               {"elicitation", false}});
  params["_meta"][hpc::testing::kMetaClientInfo] = {{"name", "c"}, {"version", "2"}};
  params["_meta"][hpc::testing::kMetaLogLevel] = "warning";
  RpcError error;
  std::optional<Peer> peer = ReadModernPeer(params, &error);
  REQUIRE(peer);
  CHECK(peer->modern);
  CHECK(peer->protocol_version == "2026-07-28");
  CHECK(peer->client_info == json{{"name", "c"}, {"version", "2"}});
  REQUIRE(peer->log_level);
  CHECK(*peer->log_level == LogLevel::kWarning);
  CHECK(peer->Supports("sampling"));
  CHECK(peer->Supports("roots"));
  CHECK_FALSE(peer->Supports("elicitation"));  // Declared false.
  CHECK_FALSE(peer->Supports("tasks"));        // Not declared.

  SECTION("clientInfo and logLevel are optional") {
    std::optional<Peer> bare = ReadModernPeer(ModernParams(), &error);
    REQUIRE(bare);
    CHECK(bare->client_info == json::object());
    CHECK_FALSE(bare->log_level);
    CHECK(bare->client_capabilities == json::object());
  }
}

TEST_CASE("ReadModernPeer answers a missing or malformed _meta with -32602", "[unit]") {
  const std::string version = hpc::testing::kMetaVersion;
  const std::string caps = hpc::testing::kMetaCapabilities;
  std::vector<std::pair<std::string, json>> cases = {
      {"no _meta", json{{"name", "x"}}},
      {"params not an object", json::array()},
      {"_meta not an object", json{{"_meta", "2026-07-28"}}},
      {"no version", json{{"_meta", {{caps, json::object()}}}}},
      {"version not a string", json{{"_meta", {{version, 20260728}, {caps, json::object()}}}}},
      {"no capabilities", json{{"_meta", {{version, "2026-07-28"}}}}},
      {"capabilities not an object",
       json{{"_meta", {{version, "2026-07-28"}, {caps, json::array()}}}}},
  };
  for (const auto& [what, params] : cases) {
    INFO(what);
    RpcError e = PeerError(params);
    CHECK(e.code == -32602);
    // The message tells a client what a modern request carries.
    CHECK_THAT(e.message, Catch::Contains(version));
  }
  for (json level : {json("loud"), json(3), json(nullptr)}) {
    INFO("logLevel " << level.dump());
    json params = ModernParams();
    params["_meta"][hpc::testing::kMetaLogLevel] = level;
    RpcError e = PeerError(params);
    CHECK(e.code == -32602);
    CHECK_THAT(e.message, Catch::Contains("warning"));
  }
}

TEST_CASE("ReadModernPeer answers an unknown or legacy version with -32022", "[unit]") {
  const std::vector<std::string> all = {"2026-07-28", "2025-11-25", "2025-06-18",
                                        "2025-03-26"};
  CHECK(AllProtocolVersions() == all);
  // Legacy versions are negotiated by initialize, never served per request.
  for (std::string v : {"v999", "2025-11-25", "2025-03-26", ""}) {
    INFO("version \"" << v << "\"");
    RpcError e = PeerError(ModernParams({}, json::object(), v));
    CHECK(e.code == -32022);
    REQUIRE(e.data.is_object());
    CHECK(e.data["supported"] == json(all));
    CHECK(e.data["requested"] == v);
  }
  // The message says how a legacy version is reached.
  CHECK_THAT(PeerError(ModernParams({}, json::object(), "2025-11-25")).message,
             Catch::Contains("initialize"));
}

TEST_CASE("only a legacy initialize and a bare ping are served as legacy", "[unit]") {
  json legacy_init{{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()}};
  CHECK_FALSE(ServedAsModern("initialize", legacy_init));
  CHECK_FALSE(ServedAsModern("ping", json::object()));
  // With modern _meta they are modern (and then refused as removed).
  CHECK(ServedAsModern("initialize", ModernParams(legacy_init)));
  CHECK(ServedAsModern("ping", ModernParams()));
  // Everything else is modern, _meta or not.
  for (std::string m : {"tools/list", "tools/call", "server/discover", "subscriptions/listen",
                        "logging/setLevel", "no/such/method"}) {
    INFO(m);
    CHECK(ServedAsModern(m, json::object()));
    CHECK(ServedAsModern(m, ModernParams()));
  }
  // _meta that is no object, or lacks the version, does not make a
  // request modern.
  CHECK_FALSE(ServedAsModern("initialize", json{{"_meta", "x"}}));
  CHECK_FALSE(ServedAsModern("ping", json{{"_meta", {{"progressToken", 1}}}}));
}

TEST_CASE("the methods 2026-07-28 removed are known as removed", "[unit]") {
  for (std::string m : {"initialize", "ping", "logging/setLevel", "resources/subscribe",
                        "resources/unsubscribe"}) {
    INFO(m);
    CHECK(IsRemovedInModern(m));
  }
  for (std::string m : {"server/discover", "subscriptions/listen", "tools/list", "tools/call",
                        "prompts/get", "resources/read", "completion/complete"}) {
    INFO(m);
    CHECK_FALSE(IsRemovedInModern(m));
  }
}

TEST_CASE("a modern error maps to its HTTP status", "[unit]") {
  auto status = [](int code) { return ModernHttpStatus({code, "", nullptr}); };
  CHECK(status(-32601) == 404);
  for (int code : {-32602, -32600, -32700, -32020, -32021, -32022}) {
    INFO(code);
    CHECK(status(code) == 400);
  }
  // Anything else is an answer about the request, not a refusal of it.
  for (int code : {-32603, -32002, -32000, 1}) {
    INFO(code);
    CHECK(status(code) == 200);
  }
}

TEST_CASE("modern headers must mirror the body", "[unit]") {
  const std::map<std::string, std::string> call_headers = {
      {"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"}, {"Mcp-Name", "echo"}};
  json call = Message("tools/call", ModernParams({{"name", "echo"}}));
  CHECK(HeaderError(call, call_headers) == 0);

  SECTION("the name comes from params.name or params.uri, by method") {
    CHECK(HeaderError(Message("prompts/get", ModernParams({{"name", "p"}})),
                      {{"MCP-Protocol-Version", "2026-07-28"},
                       {"Mcp-Method", "prompts/get"},
                       {"Mcp-Name", "p"}}) == 0);
    CHECK(HeaderError(Message("resources/read", ModernParams({{"uri", "test://a"}})),
                      {{"MCP-Protocol-Version", "2026-07-28"},
                       {"Mcp-Method", "resources/read"},
                       {"Mcp-Name", "test://a"}}) == 0);
    // Other methods need no Mcp-Name.
    CHECK(HeaderError(Message("tools/list", ModernParams()),
                      {{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/list"}}) ==
          0);
  }
  SECTION("each header missing or different is -32020") {
    for (const char* name : {"MCP-Protocol-Version", "Mcp-Method", "Mcp-Name"}) {
      INFO(name << " missing");
      auto h = call_headers;
      h.erase(name);
      CHECK(HeaderError(call, h) == -32020);
      INFO(name << " different");
      h = call_headers;
      h[name] = "other";
      CHECK(HeaderError(call, h) == -32020);
    }
    for (const auto& [method, field] : std::vector<std::pair<std::string, std::string>>{
             {"prompts/get", "name"}, {"resources/read", "uri"}}) {
      INFO(method << " without Mcp-Name");
      CHECK(HeaderError(Message(method, ModernParams({{field, "n"}})),
                        {{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", method}}) ==
            -32020);
      CHECK(HeaderError(Message(method, ModernParams({{field, "n"}})),
                        {{"MCP-Protocol-Version", "2026-07-28"},
                         {"Mcp-Method", method},
                         {"Mcp-Name", "m"}}) == -32020);
    }
    // The message names the header and the value expected.
    Headers h{{{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"}}, {}};
    auto e = CheckModernHeaders(call, h.Getter());
    REQUIRE(e);
    CHECK_THAT(e->message, Catch::Contains("Mcp-Name") && Catch::Contains("echo"));
  }
  SECTION("names are looked up by the getter, which compares them case-blind") {
    CHECK(HeaderError(call, {{"mcp-protocol-version", "2026-07-28"},
                             {"MCP-METHOD", "tools/call"},
                             {"mcp-name", "echo"}}) == 0);
    Headers h{call_headers, {}};
    CheckModernHeaders(call, h.Getter());
    CHECK(h.asked == std::vector<std::string>{"MCP-Protocol-Version", "Mcp-Method", "Mcp-Name"});
  }
  SECTION("values are trimmed") {
    CHECK(HeaderError(call, {{"MCP-Protocol-Version", " 2026-07-28\t"},
                             {"Mcp-Method", "\ttools/call "},
                             {"Mcp-Name", "  echo  "}}) == 0);
  }
  SECTION("=?base64?...?= values are decoded; a broken one is refused") {
    // "héllo wörld" (UTF-8), as a client must encode it.
    json named = Message("tools/call", ModernParams({{"name", "h\xc3\xa9llo w\xc3\xb6rld"}}));
    auto h = call_headers;
    h["Mcp-Name"] = "=?base64?aMOpbGxvIHfDtnJsZA==?=";
    CHECK(HeaderError(named, h) == 0);
    // Padding of one, and none.
    CHECK(HeaderError(Message("tools/call", ModernParams({{"name", "echo!"}})),
                      {{"MCP-Protocol-Version", "2026-07-28"},
                       {"Mcp-Method", "tools/call"},
                       {"Mcp-Name", "=?base64?ZWNobyE=?="}}) == 0);
    h["Mcp-Name"] = "=?base64?ZWNobw==?=";  // "echo"
    CHECK(HeaderError(call, h) == 0);
    CHECK(HeaderError(named, h) == -32020);  // Decodes, but to another name.
    for (std::string broken : {"=?base64?ZWNobw=?=", "=?base64?ZW*obw==?=", "=?base64?Z?=",
                               "=?base64?====?="}) {
      INFO(broken);
      h["Mcp-Name"] = broken;
      CHECK(HeaderError(call, h) == -32020);
    }
    // Refused as broken, not as missing.
    h["Mcp-Name"] = "=?base64?ZW*obw==?=";
    Headers getter{h, {}};
    auto e = CheckModernHeaders(call, getter.Getter());
    REQUIRE(e);
    CHECK_THAT(e->message, Catch::Contains("Mcp-Name") && Catch::Contains("base64") &&
                               !Catch::Contains("missing"));
    // The version header may be encoded too.
    h = call_headers;
    h["MCP-Protocol-Version"] = "=?base64?MjAyNi0wNy0yOA==?=";
    CHECK(HeaderError(call, h) == 0);
  }
  SECTION("a body without a version is left to ReadModernPeer") {
    json bare = Message("tools/call", {{"name", "echo"}});
    CHECK(HeaderError(bare, {{"Mcp-Method", "tools/call"}, {"Mcp-Name", "echo"}}) == 0);
    CHECK(HeaderError(bare, {{"Mcp-Name", "echo"}}) == -32020);  // Mcp-Method still needed.
  }
  SECTION("the request needing headers is the one checked, whatever else the body holds") {
    // An id of any JSON-RPC type, and params with extra members.
    json m = Message("tools/call", ModernParams({{"name", "echo"}, {"arguments", {{"a", 1}}}}),
                     "req-7");
    CHECK(HeaderError(m, call_headers) == 0);
    // Not an object: nothing to check here (the server answers it).
    CHECK(HeaderError(json::array(), {}) == 0);
  }
}
