#include "target.h"

namespace mcp_bench {

using nlohmann::json;

CallVerifier::Verdict ParseHandshakeResponse(std::string_view message,
                                             int64_t id, json* result,
                                             std::string* error) {
  json j = json::parse(message.begin(), message.end(), nullptr,
                       /*allow_exceptions=*/false);
  auto bad = [&](const std::string& why) {
    *error = why + ": " + std::string(message.substr(0, 400));
    return CallVerifier::Verdict::kBad;
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (j.value("jsonrpc", "") != "2.0") return bad("jsonrpc is not \"2.0\"");
  if (j.contains("method")) {
    if (!j.contains("id")) return CallVerifier::Verdict::kNotification;
    return bad("server sent a request during the handshake");
  }
  if (!j.contains("id") || j["id"] != id) {
    return bad("response id is not " + std::to_string(id));
  }
  if (j.contains("error")) return bad("error response");
  if (!j.contains("result") || !j["result"].is_object()) {
    return bad("no result object");
  }
  *result = std::move(j["result"]);
  return CallVerifier::Verdict::kOk;
}

bool ToolListed(const json& result, const std::string& tool,
                std::string* next_cursor, std::string* error) {
  next_cursor->clear();
  if (!result.contains("tools") || !result["tools"].is_array()) {
    *error = "tools/list result has no tools array";
    return false;
  }
  for (const json& t : result["tools"]) {
    if (t.is_object() && t.value("name", "") == tool) return true;
  }
  if (result.contains("nextCursor") && result["nextCursor"].is_string()) {
    *next_cursor = result["nextCursor"].get<std::string>();
  }
  if (next_cursor->empty()) *error = "tool " + tool + " is not listed";
  return false;
}

}  // namespace mcp_bench
