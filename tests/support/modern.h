// What a 2026-07-28 ("modern") client adds to every request: the protocol
// version and its capabilities in params._meta (basic/versioning.mdx).
// Shared by the in-process tests and the stdio and HTTP clients.
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "mcp_server/era.h"

namespace hpc::testing {

using json = nlohmann::json;

inline constexpr const char* kModernVersion = "2026-07-28";
// The reserved _meta keys, as the core spells them (mcp_server/era.h).
inline constexpr const char* kMetaVersion = mcp::meta::kProtocolVersion;
inline constexpr const char* kMetaCapabilities = mcp::meta::kClientCapabilities;
inline constexpr const char* kMetaClientInfo = mcp::meta::kClientInfo;
inline constexpr const char* kMetaLogLevel = mcp::meta::kLogLevel;
inline constexpr const char* kMetaServerInfo = mcp::meta::kServerInfo;
inline constexpr const char* kMetaSubscriptionId = mcp::meta::kSubscriptionId;

// The _meta of a modern request.
inline json ModernMeta(json capabilities = json::object(),
                       const std::string& version = kModernVersion) {
  return {{kMetaVersion, version}, {kMetaCapabilities, std::move(capabilities)}};
}

// `params` with the modern _meta merged into whatever _meta it already has
// (a progressToken, a logLevel).
inline json ModernParams(json params = json::object(),
                         json capabilities = json::object(),
                         const std::string& version = kModernVersion) {
  if (!params.is_object()) params = json::object();
  json meta = ModernMeta(std::move(capabilities), version);
  if (params.contains("_meta") && params["_meta"].is_object())
    meta.update(params["_meta"]);
  params["_meta"] = std::move(meta);
  return params;
}

// A complete modern JSON-RPC request.
inline json ModernRequest(const json& id, const std::string& method,
                          json params = json::object(),
                          json capabilities = json::object()) {
  return {{"jsonrpc", "2.0"},
          {"id", id},
          {"method", method},
          {"params", ModernParams(std::move(params), std::move(capabilities))}};
}

}  // namespace hpc::testing
