// The protocol dialect the driver speaks. Transports (stdio, HTTP) only move
// bytes; everything that depends on the MCP revision (handshake, request
// bodies, per-request HTTP headers) comes from a Wire: the 2025-11-25 wire
// (initialize + sessions) and the 2026-07-28 stateless wire (no initialize,
// `_meta` per request, Mcp-Method/Mcp-Name headers).

#ifndef HPC_MCP_BENCH_WIRE_H_
#define HPC_MCP_BENCH_WIRE_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace mcp_bench {

// What the benchmark calls: tool name, JSON arguments, expected text.
struct CallSpec {
  std::string tool = "test_simple_text";
  std::string arguments_json = "{}";
  std::string expected_text = "This is a simple text response for testing.";
};

// A request body split around its numeric id, so the hot path only copies
// the id digits: body = prefix + id + suffix.
struct CallFrame {
  std::string prefix;
  std::string suffix;
};

// What a session learned in its handshake (HTTP needs it in headers).
struct SessionInfo {
  std::string session_id;        // Mcp-Session-Id; empty when none
  std::string protocol_version;  // negotiated
};

class Wire {
 public:
  virtual ~Wire() = default;
  virtual std::string_view name() const = 0;
  // Whether a session opens with initialize + notifications/initialized.
  virtual bool has_initialize() const = 0;
  virtual std::string InitializeRequest(int64_t id) const = 0;
  virtual std::string InitializedNotification() const = 0;
  // Checks an initialize result and fills info->protocol_version.
  virtual bool AcceptInitializeResult(const nlohmann::json& result,
                                      SessionInfo* info,
                                      std::string* error) const = 0;
  virtual std::string ListToolsRequest(int64_t id,
                                       const std::string& cursor) const = 0;
  virtual CallFrame ToolsCallFrame(const CallSpec& spec) const = 0;
  // Extra header lines ("Name: value\r\n"...) for a POST after the handshake.
  virtual std::string HttpHeaders(const SessionInfo& info,
                                  std::string_view method,
                                  std::string_view tool) const = 0;
};

// Returns nullptr for an unknown wire name. Known: "2025-11-25",
// "2026-07-28".
std::unique_ptr<Wire> MakeWire(std::string_view name);

}  // namespace mcp_bench

#endif  // HPC_MCP_BENCH_WIRE_H_
