// JSON-RPC 2.0 messages as MCP uses them: classification, error codes and
// builders. No framing and no transport here.
//
// Thread-safety: free functions on values.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace hpc::mcp {

using json = nlohmann::json;

// JSON-RPC and MCP error codes. Only mcp_server/ emits these: tools report
// failures as `isError` results, never as protocol errors.
namespace rpc {
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kResourceNotFound = -32002;  // MCP <= 2025-11-25.
// 2026-07-28: the only codes of the -32020..-32099 range the revision defines.
inline constexpr int kHeaderMismatch = -32020;
inline constexpr int kMissingClientCapability = -32021;  // data.requiredCapabilities
inline constexpr int kUnsupportedProtocolVersion = -32022;  // data.supported, .requested
}  // namespace rpc

// A protocol-level failure of one request.
struct RpcError {
  int code = rpc::kInternalError;
  std::string message;
  json data;  // Null when absent.
};

enum class MessageKind {
  kRequest,       // Has "method" and "id".
  kNotification,  // Has "method", no "id".
  kResponse,      // Has "id" and "result" or "error", no "method".
  kInvalid,       // Anything else.
};

// Classifies `m` and, for kInvalid, says why in `why`. A valid message is an
// object with "jsonrpc":"2.0"; request ids are strings or integers (never
// null, never fractional).
MessageKind Classify(const json& m, std::string* why);

// Parses one UTF-8 JSON text. Returns a discarded value (is_discarded()) on
// a syntax error; never throws.
json ParseJson(std::string_view text);

json MakeResult(const json& id, json result);
json MakeError(const json& id, const RpcError& error);
json MakeNotification(std::string_view method, json params);
json MakeRequest(const json& id, std::string_view method, json params);

// obj[key] when obj is an object and that member is a string, else
// `fallback`. Never throws, whatever the client sent.
std::string StringOr(const json& obj, std::string_view key,
                     std::string fallback = "");

// A stable map key for a request id ("s:abc" or "i:42").
std::string IdKey(const json& id);

// Serializes without throwing: invalid UTF-8 in strings is replaced.
std::string Dump(const json& j);

}  // namespace hpc::mcp
