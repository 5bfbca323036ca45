#include "mcp_server/request_state.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <vector>

namespace hpc::mcp {
namespace {

constexpr char kB64Url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string B64UrlEncode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) out.push_back(kB64Url[(acc >> (bits -= 6)) & 63]);
  }
  if (bits > 0) out.push_back(kB64Url[(acc << (6 - bits)) & 63]);
  return out;
}

std::optional<std::string> B64UrlDecode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::char_traits<char>::find(kB64Url, 64, c);
    if (!p) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64Url);
    bits += 6;
    if (bits >= 8) out.push_back(static_cast<char>((acc >> (bits -= 8)) & 0xff));
  }
  // Only the canonical encoding: a dangling character (6 bits left) or
  // non-zero padding bits would let several texts stand for one payload,
  // so that a sealed state could be altered and still open.
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RequestStateSealer::RequestStateSealer(std::string key, std::chrono::seconds ttl)
    : key_(std::move(key)), ttl_(ttl) {
  if (key_.empty()) {
    key_.resize(32);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), 32) != 1)
      std::abort();  // No entropy: unsafe to go on.
  }
}

std::string RequestStateSealer::Mac(std::string_view expiry, std::string_view scope,
                                    std::string_view payload) const {
  // Length-prefixed fields, so that no two (scope, payload) pairs collide.
  std::string msg;
  for (std::string_view f : {expiry, scope, payload}) {
    msg += std::to_string(f.size());
    msg += ':';
    msg += f;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 15]);
  }
  return hex;
}

std::string RequestStateSealer::Seal(std::string_view scope, std::string_view payload) const {
  std::string expiry = std::to_string(NowSeconds() + ttl_.count());
  return "v1." + expiry + "." + B64UrlEncode(payload) + "." + Mac(expiry, scope, payload);
}

std::optional<std::string> RequestStateSealer::Open(std::string_view scope,
                                                    std::string_view sealed) const {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= sealed.size(); ++i) {
    if (i == sealed.size() || sealed[i] == '.') {
      parts.push_back(sealed.substr(start, i - start));
      start = i + 1;
    }
  }
  if (parts.size() != 4 || parts[0] != "v1" || parts[1].empty() || parts[1].size() > 18)
    return std::nullopt;
  for (char c : parts[1])
    if (c < '0' || c > '9') return std::nullopt;
  auto payload = B64UrlDecode(parts[2]);
  if (!payload) return std::nullopt;
  std::string want = Mac(parts[1], scope, *payload);
  if (want.size() != parts[3].size() ||
      CRYPTO_memcmp(want.data(), parts[3].data(), want.size()) != 0)
    return std::nullopt;
  if (std::stoll(std::string(parts[1])) < NowSeconds()) return std::nullopt;
  return payload;
}

}  // namespace hpc::mcp
