// The two eras of MCP (2026-07-28 basic/versioning.mdx) and what tells a
// request of one from the other.
//
// Legacy (2025-11-25 and earlier): `initialize` opens a session, whose
// negotiated version, client capabilities and log level hold for every later
// request. Modern (2026-07-28): no session; every request carries its
// version and the client's capabilities in `params._meta`, and the server
// keeps nothing between requests. We are dual-era: an `initialize` selects
// legacy semantics for the stdio process or the HTTP session it opens, and
// any other request without such a session is served as modern.
//
// Thread-safety: free functions on values.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/json_rpc.h"
#include "mcp_server/tool.h"

namespace hpc::mcp {

using json = nlohmann::json;

// Keys of `_meta` the protocol reserves.
namespace meta {
inline constexpr const char* kProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char* kClientInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr const char* kClientCapabilities = "io.modelcontextprotocol/clientCapabilities";
inline constexpr const char* kLogLevel = "io.modelcontextprotocol/logLevel";
inline constexpr const char* kServerInfo = "io.modelcontextprotocol/serverInfo";
inline constexpr const char* kSubscriptionId = "io.modelcontextprotocol/subscriptionId";
}  // namespace meta

// The versions served per request, newest first.
const std::vector<std::string>& ModernProtocolVersions();
// The versions `initialize` negotiates, newest first.
const std::vector<std::string>& SupportedProtocolVersions();
// Both, newest first: what server/discover and -32022 list.
std::vector<std::string> AllProtocolVersions();

// Who sent a request, as far as the reply may depend on it.
struct Peer {
  bool modern = false;
  std::string protocol_version;
  json client_info = json::object();
  json client_capabilities = json::object();
  // Log notifications at or above this level may accompany the reply;
  // none at all when empty (modern requests without `_meta` logLevel).
  std::optional<LogLevel> log_level;

  // Whether the client declared `capability` ("sampling", "elicitation",
  // "roots"): an object (or true) under that name.
  bool Supports(std::string_view capability) const;
};

// Whether a request on a stream that no `initialize` opened is served as
// modern: everything except a legacy `initialize` (one without modern
// `_meta`) and a bare `ping` (legacy clients may ping before initializing).
bool ServedAsModern(std::string_view method, const json& params);

// Reads the peer of a modern request from `params._meta`. On failure,
// `error` is exactly what the revision prescribes: -32602 for a missing or
// malformed required field, -32022 (data: supported, requested) for a
// version we do not serve per request.
std::optional<Peer> ReadModernPeer(const json& params, RpcError* error);

// Methods 2026-07-28 removed (answered -32601 to modern requests).
bool IsRemovedInModern(std::string_view method);

// The HTTP status for an error answer to a modern request (Streamable HTTP
// 2026-07-28 "server validation"): 404 for -32601, 400 for -32602, -32020,
// -32021, -32022 and request-level errors, 200 otherwise.
int ModernHttpStatus(const RpcError& error);

// Checks the headers a modern POST must carry against its body (SEP-2243):
// MCP-Protocol-Version equals `_meta` protocolVersion, Mcp-Method equals the
// method, Mcp-Name equals params.name (tools/call, prompts/get) or
// params.uri (resources/read). `header` returns a header's value by
// case-insensitive name, or nullopt. Values are trimmed and may be
// "=?base64?...?=" encoded. Returns the -32020 error, or nullopt when all
// match. A body without a protocolVersion is left to ReadModernPeer.
std::optional<RpcError> CheckModernHeaders(
    const json& message,
    const std::function<std::optional<std::string>(std::string_view)>& header);

}  // namespace hpc::mcp
