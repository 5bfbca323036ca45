#include "mcp_server/tool.h"

#include "mcp_server/json_rpc.h"

namespace hpc::mcp {

namespace {
constexpr const char* kLevelNames[] = {"debug", "info",     "notice", "warning",
                                       "error", "critical", "alert",  "emergency"};
}  // namespace

const char* LogLevelName(LogLevel level) {
  return kLevelNames[static_cast<int>(level)];
}

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  for (int i = 0; i < 8; ++i)
    if (name == kLevelNames[i]) return static_cast<LogLevel>(i);
  return std::nullopt;
}

ToolResult ToolResult::Text(std::string text) {
  ToolResult r;
  r.content.push_back({{"type", "text"}, {"text", std::move(text)}});
  return r;
}

ToolResult ToolResult::Structured(json structured) {
  ToolResult r = Text(Dump(structured));
  r.structured = std::move(structured);
  return r;
}

ToolResult ToolResult::InputRequired(json input_requests, std::string request_state) {
  ToolResult r;
  r.content = json::array();
  r.input_requests = input_requests.is_object() ? std::move(input_requests) : json::object();
  r.request_state = std::move(request_state);
  return r;
}

}  // namespace hpc::mcp
