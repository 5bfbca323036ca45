// Integrity protection for the `requestState` of input-required results
// (2026-07-28 basic/patterns/mrtr.mdx): the state a tool hands out travels
// through the client, which must not be able to forge or alter it.
//
// A sealed state is "v1.<expiry>.<base64url(payload)>.<hex HMAC-SHA256>",
// the MAC taken over the expiry, the request it belongs to (method and
// tool/prompt name, so that state cannot be replayed into another tool)
// and the payload. The key is random per process unless given: a state
// outlives neither a restart nor its TTL, and the client then starts over.
//
// Thread-safety: immutable after construction.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace hpc::mcp {

class RequestStateSealer {
 public:
  // `key` empty: 32 random bytes.
  explicit RequestStateSealer(std::string key = "",
                              std::chrono::seconds ttl = std::chrono::minutes(30));

  std::string Seal(std::string_view scope, std::string_view payload) const;
  // The payload, or nullopt when `sealed` was altered, belongs to another
  // scope, or expired.
  std::optional<std::string> Open(std::string_view scope, std::string_view sealed) const;

 private:
  std::string Mac(std::string_view expiry, std::string_view scope,
                  std::string_view payload) const;
  std::string key_;
  std::chrono::seconds ttl_;
};

}  // namespace hpc::mcp
