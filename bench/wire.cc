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

}  // namespace

std::unique_ptr<Wire> MakeWire(std::string_view name) {
  if (name == "2025-11-25") return std::make_unique<SessionWire>("2025-11-25");
  return nullptr;
}

}  // namespace mcp_bench
