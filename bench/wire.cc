#include "wire.h"

namespace mcp_bench {
namespace {

using nlohmann::json;

// The stateful revision: initialize negotiates a version; over HTTP the
// server hands out Mcp-Session-Id and every later request carries it and
// MCP-Protocol-Version.
class SessionWire : public Wire {
 public:
  explicit SessionWire(std::string version) : version_(std::move(version)) {}

  std::string_view name() const override { return version_; }
  bool has_initialize() const override { return true; }

  std::string InitializeRequest(int64_t id) const override {
    json req = {
        {"jsonrpc", "2.0"},
        {"id", id},
        {"method", "initialize"},
        {"params",
         {{"protocolVersion", version_},
          {"capabilities", json::object()},
          {"clientInfo", {{"name", "mcp_bench"}, {"version", "1.0"}}}}}};
    return req.dump();
  }

  std::string InitializedNotification() const override {
    return R"({"jsonrpc":"2.0","method":"notifications/initialized"})";
  }

  bool AcceptInitializeResult(const json& result, SessionInfo* info,
                              std::string* error) const override {
    if (!result.is_object() || !result.contains("protocolVersion") ||
        !result["protocolVersion"].is_string() ||
        !result.contains("capabilities") ||
        !result["capabilities"].is_object() ||
        !result["capabilities"].contains("tools") ||
        !result.contains("serverInfo")) {
      *error =
          "initialize result lacks protocolVersion/capabilities.tools/"
          "serverInfo: " +
          result.dump();
      return false;
    }
    info->protocol_version = result["protocolVersion"].get<std::string>();
    if (info->protocol_version != version_) {
      *error = "server negotiated " + info->protocol_version + ", asked for " +
               version_;
      return false;
    }
    return true;
  }

  std::string ListToolsRequest(int64_t id,
                               const std::string& cursor) const override {
    json req = {{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/list"}};
    if (!cursor.empty()) req["params"] = {{"cursor", cursor}};
    return req.dump();
  }

  CallFrame ToolsCallFrame(const CallSpec& spec) const override {
    // Arguments are embedded verbatim (validated by the caller).
    return {R"({"jsonrpc":"2.0","id":)",
            R"(,"method":"tools/call","params":{"name":)" +
                json(spec.tool).dump() + R"(,"arguments":)" +
                spec.arguments_json + "}}"};
  }

  std::string HttpHeaders(const SessionInfo& info, std::string_view,
                          std::string_view) const override {
    std::string h;
    if (!info.session_id.empty()) {
      h += "Mcp-Session-Id: " + info.session_id + "\r\n";
    }
    h += "MCP-Protocol-Version: " + info.protocol_version + "\r\n";
    return h;
  }

 private:
  std::string version_;
};

// The stateless revision: no initialize and no session; every request
// carries the version and the client's capabilities in params._meta, and
// over HTTP the MCP-Protocol-Version, Mcp-Method and (for tools/call)
// Mcp-Name headers that mirror the body.
class StatelessWire : public Wire {
 public:
  std::string_view name() const override { return kVersion; }
  bool has_initialize() const override { return false; }
  std::string InitializeRequest(int64_t) const override { return ""; }
  std::string InitializedNotification() const override { return ""; }
  bool AcceptInitializeResult(const json&, SessionInfo*, std::string* error) const override {
    *error = "the 2026-07-28 wire has no initialize";
    return false;
  }

  std::string ListToolsRequest(int64_t id, const std::string& cursor) const override {
    json params = {{"_meta", Meta()}};
    if (!cursor.empty()) params["cursor"] = cursor;
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/list"}, {"params", params}}
        .dump();
  }

  CallFrame ToolsCallFrame(const CallSpec& spec) const override {
    return {R"({"jsonrpc":"2.0","id":)",
            R"(,"method":"tools/call","params":{"name":)" + json(spec.tool).dump() +
                R"(,"arguments":)" + spec.arguments_json + R"(,"_meta":)" + Meta().dump() +
                "}}"};
  }

  std::string HttpHeaders(const SessionInfo&, std::string_view method,
                          std::string_view tool) const override {
    std::string h = "MCP-Protocol-Version: " + std::string(kVersion) + "\r\n";
    h += "Mcp-Method: " + std::string(method) + "\r\n";
    if (method == "tools/call") h += "Mcp-Name: " + std::string(tool) + "\r\n";
    return h;
  }

 private:
  static constexpr std::string_view kVersion = "2026-07-28";
  static json Meta() {
    return {{"io.modelcontextprotocol/protocolVersion", kVersion},
            {"io.modelcontextprotocol/clientCapabilities", json::object()},
            {"io.modelcontextprotocol/clientInfo", {{"name", "mcp_bench"}, {"version", "1.0"}}}};
  }
};

}  // namespace

std::unique_ptr<Wire> MakeWire(std::string_view name) {
  if (name == "2025-11-25") return std::make_unique<SessionWire>("2025-11-25");
  if (name == "2026-07-28") return std::make_unique<StatelessWire>();
  return nullptr;
}

}  // namespace mcp_bench
