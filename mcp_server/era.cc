#include "mcp_server/era.h"

#include <openssl/evp.h>

#include <algorithm>

namespace hpc::mcp {
namespace {

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// SEP-2243 carries values that are not plain ASCII as "=?base64?B64?=".
// Returns the decoded value, or nullopt when the encoding is broken.
std::optional<std::string> DecodeHeaderValue(std::string v) {
  constexpr std::string_view kPrefix = "=?base64?", kSuffix = "?=";
  if (v.size() < kPrefix.size() + kSuffix.size() ||
      v.compare(0, kPrefix.size(), kPrefix) != 0 ||
      v.compare(v.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
    return v;
  std::string b64 = v.substr(kPrefix.size(), v.size() - kPrefix.size() - kSuffix.size());
  if (b64.size() % 4 != 0) return std::nullopt;
  std::string out(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && pad < b64.size() && b64[b64.size() - 1 - pad] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

RpcError Mismatch(std::string message) {
  return {rpc::kHeaderMismatch, std::move(message), nullptr};
}

}  // namespace

const std::vector<std::string>& ModernProtocolVersions() {
  static const std::vector<std::string> kVersions = {"2026-07-28"};
  return kVersions;
}

const std::vector<std::string>& SupportedProtocolVersions() {
  static const std::vector<std::string> kVersions = {"2025-11-25", "2025-06-18",
                                                     "2025-03-26"};
  return kVersions;
}

std::vector<std::string> AllProtocolVersions() {
  std::vector<std::string> all = ModernProtocolVersions();
  for (const auto& v : SupportedProtocolVersions()) all.push_back(v);
  return all;
}

bool Peer::Supports(std::string_view capability) const {
  auto it = client_capabilities.find(capability);
  return it != client_capabilities.end() && !it->is_null() &&
         !(it->is_boolean() && !it->get<bool>());
}

bool ServedAsModern(std::string_view method, const json& params) {
  const json* m = params.is_object() && params.contains("_meta") ? &params["_meta"] : nullptr;
  if (m && m->is_object() && m->contains(meta::kProtocolVersion)) return true;
  return method != "initialize" && method != "ping";
}

std::optional<Peer> ReadModernPeer(const json& params, RpcError* error) {
  auto invalid = [&](std::string what) {
    *error = {rpc::kInvalidParams,
              "Invalid params: " + what +
                  ". A 2026-07-28 request carries params._meta with \"" +
                  meta::kProtocolVersion + "\" (e.g. \"2026-07-28\") and \"" +
                  meta::kClientCapabilities +
                  "\" (an object); a legacy client sends initialize first",
              nullptr};
    return std::nullopt;
  };
  if (!params.is_object() || !params.contains("_meta")) return invalid("params._meta is missing");
  const json& m = params["_meta"];
  if (!m.is_object()) return invalid("params._meta is not an object");
  if (!m.contains(meta::kProtocolVersion) || !m[meta::kProtocolVersion].is_string())
    return invalid(std::string("_meta lacks a string \"") + meta::kProtocolVersion + "\"");
  if (!m.contains(meta::kClientCapabilities) || !m[meta::kClientCapabilities].is_object())
    return invalid(std::string("_meta lacks an object \"") + meta::kClientCapabilities + "\"");
  Peer peer;
  peer.modern = true;
  peer.protocol_version = m[meta::kProtocolVersion].get<std::string>();
  const auto& modern = ModernProtocolVersions();
  if (std::find(modern.begin(), modern.end(), peer.protocol_version) == modern.end()) {
    bool legacy = std::find(SupportedProtocolVersions().begin(),
                            SupportedProtocolVersions().end(),
                            peer.protocol_version) != SupportedProtocolVersions().end();
    *error = {rpc::kUnsupportedProtocolVersion,
              "Unsupported protocol version \"" + peer.protocol_version + "\"" +
                  (legacy ? ": it is served through initialize, not per request" : "") +
                  "; pick one of data.supported",
              {{"supported", AllProtocolVersions()}, {"requested", peer.protocol_version}}};
    return std::nullopt;
  }
  peer.client_capabilities = m[meta::kClientCapabilities];
  if (m.contains(meta::kClientInfo) && m[meta::kClientInfo].is_object())
    peer.client_info = m[meta::kClientInfo];
  if (m.contains(meta::kLogLevel)) {
    auto level = m[meta::kLogLevel].is_string()
                     ? ParseLogLevel(m[meta::kLogLevel].get<std::string>())
                     : std::nullopt;
    if (!level)
      return invalid(std::string("_meta \"") + meta::kLogLevel +
                     "\" must be one of debug, info, notice, warning, error, "
                     "critical, alert, emergency");
    peer.log_level = level;
  }
  return peer;
}

bool IsRemovedInModern(std::string_view method) {
  return method == "initialize" || method == "ping" || method == "logging/setLevel" ||
         method == "resources/subscribe" || method == "resources/unsubscribe";
}

int ModernHttpStatus(const RpcError& error) {
  switch (error.code) {
    case rpc::kMethodNotFound:
      return 404;
    case rpc::kInvalidParams:
    case rpc::kInvalidRequest:
    case rpc::kParseError:
    case rpc::kHeaderMismatch:
    case rpc::kMissingClientCapability:
    case rpc::kUnsupportedProtocolVersion:
      return 400;
    default:
      return 200;
  }
}

std::optional<RpcError> CheckModernHeaders(
    const json& message,
    const std::function<std::optional<std::string>(std::string_view)>& header) {
  if (!message.is_object()) return std::nullopt;
  const std::string method = StringOr(message, "method");
  const json kNone = json::object();
  const json& params = message.contains("params") && message["params"].is_object()
                           ? message["params"]
                           : kNone;
  // A value whose encoding is broken is refused as such, not as missing.
  std::optional<RpcError> broken;
  auto get = [&](std::string_view name) -> std::optional<std::string> {
    auto v = header(name);
    if (!v) return std::nullopt;
    auto decoded = DecodeHeaderValue(Trim(*v));
    if (!decoded)
      broken = Mismatch("Header mismatch: " + std::string(name) +
                        " is not a valid \"=?base64?...?=\" value; send the plain value, or "
                        "its padded base64 between =?base64? and ?=");
    return decoded;
  };
  if (params.contains("_meta") && params["_meta"].is_object() &&
      params["_meta"].contains(meta::kProtocolVersion)) {
    std::string body = StringOr(params["_meta"], meta::kProtocolVersion);
    auto h = get("MCP-Protocol-Version");
    if (broken) return broken;
    if (!h)
      return Mismatch("Header mismatch: the MCP-Protocol-Version header is missing; "
                      "send it with the value of _meta \"" + std::string(meta::kProtocolVersion) +
                      "\" (" + body + ")");
    if (*h != body)
      return Mismatch("Header mismatch: MCP-Protocol-Version is \"" + *h +
                      "\" but _meta says \"" + body + "\"; send the same version in both");
  }
  if (method.empty()) return std::nullopt;  // A notification or response: no Mcp-Method.
  if (!message.contains("id")) return std::nullopt;
  auto m = get("Mcp-Method");
  if (broken) return broken;
  if (!m)
    return Mismatch("Header mismatch: the Mcp-Method header is missing; send "
                    "Mcp-Method: " + method);
  if (*m != method)
    return Mismatch("Header mismatch: Mcp-Method is \"" + *m + "\" but the body's method is \"" +
                    method + "\"");
  const char* field = method == "tools/call" || method == "prompts/get" ? "name"
                      : method == "resources/read"                      ? "uri"
                                                                        : nullptr;
  if (!field) return std::nullopt;
  std::string want = StringOr(params, field);
  auto n = get("Mcp-Name");
  if (broken) return broken;
  if (!n)
    return Mismatch("Header mismatch: the Mcp-Name header is missing; send Mcp-Name: " +
                    want + " (params." + field + ")");
  if (*n != want)
    return Mismatch("Header mismatch: Mcp-Name is \"" + *n + "\" but params." + field +
                    " is \"" + want + "\"");
  return std::nullopt;
}

}  // namespace hpc::mcp
