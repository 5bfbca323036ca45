// HTTP for the webhook, ntfy and Telegram channels: URL splitting, one POST
// through cpp-httplib (http and https; certificates are always verified),
// and the verdict on the answer. Nothing here prints a URL: a webhook's path,
// an ntfy topic and Telegram's /bot<token>/ are secrets.

#include <httplib.h>

#include <algorithm>
#include <cctype>

#include "mcp_server/redact.h"
#include "tools/notify/internal.h"

namespace hpc::notify::internal {
namespace {

constexpr size_t kMaxReplyBytes = 64 * 1024;

bool HasSpaceOrControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7F;
  });
}

Attempt TransportFailure(httplib::Error error, std::chrono::seconds timeout) {
  const std::string secs = std::to_string(timeout.count()) + " s";
  const std::string check_server =
      "check that the server is up and that the url's host and port are "
      "right";
  switch (error) {
    case httplib::Error::Connection:
      return Attempt::Fail(true,
                           "could not connect (refused, unreachable, or the "
                           "host name does not resolve)",
                           check_server, "notify_unreachable");
    case httplib::Error::ConnectionTimeout:
      return Attempt::Fail(true, "no connection within " + secs, check_server,
                           "notify_unreachable");
    case httplib::Error::Read:
      return Attempt::Fail(
          true, "no answer within " + secs + " (or the connection dropped)",
          check_server + "; raise timeout_s if it is slow",
          "notify_unreachable");
    case httplib::Error::Write:
      return Attempt::Fail(true, "the connection dropped while sending",
                           check_server, "notify_unreachable");
    case httplib::Error::SSLConnection:
      return Attempt::Fail(true, "the TLS handshake failed",
                           "check that the server speaks https on that port "
                           "(or write http://)",
                           "notify_unreachable");
    case httplib::Error::SSLServerVerification:
      return Attempt::Fail(false,
                           "the server's TLS certificate did not verify "
                           "(expired, self-signed, or for another host name)",
                           "fix the server's certificate or use the host name "
                           "it was issued for; hpc-mcp never skips "
                           "verification",
                           "notify_rejected");
    case httplib::Error::SSLLoadingCerts:
      return Attempt::Fail(
          false, "the system's CA certificates could not be loaded",
          "install the ca-certificates package", "notify_unreachable");
    default:
      return Attempt::Fail(
          true, "the request failed (" + httplib::to_string(error) + ")",
          check_server, "notify_unreachable");
  }
}

}  // namespace

std::string HttpUrl::Origin() const {
  return scheme + "://" + host + ":" + std::to_string(port);
}

std::string HttpUrl::Shown() const {
  std::string s = scheme + "://" + host;
  if (explicit_port) s += ":" + std::to_string(port);
  if (path != "/") s += "/...";
  return s;
}

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos)
    return InvalidArgument("is not a URL; write http://... or https://...");
  HttpUrl u;
  u.scheme = std::string(url.substr(0, sep));
  std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (u.scheme != "http" && u.scheme != "https")
    return InvalidArgument("must start with http:// or https://");
  std::string_view rest = url.substr(sep + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail =
      end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    u.has_userinfo = true;
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return InvalidArgument("has an unclosed [ in its host");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      return InvalidArgument("has text after the ] of its host");
    if (!after.empty()) port = after.substr(1);
  } else if (size_t colon = authority.rfind(':');
             colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]")
    return InvalidArgument("names no host; write e.g. https://ntfy.sh/my-runs");
  if (HasSpaceOrControl(url))
    return InvalidArgument(
        "contains spaces or control characters; percent-encode them (%20)");
  u.host = std::string(host);
  u.port = u.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    int p = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || p > 65535) {
        p = -1;
        break;
      }
      p = p * 10 + (c - '0');
    }
    if (p < 1 || p > 65535)
      return InvalidArgument("has a bad port; write a number from 1 to 65535");
    u.port = p;
    u.explicit_port = true;
  }
  tail = tail.substr(0, tail.find('#'));  // A fragment never reaches servers.
  if (tail.empty())
    u.path = "/";
  else if (tail.front() == '?')
    u.path = "/" + std::string(tail);
  else
    u.path = std::string(tail);
  return u;
}

Attempt PostOnce(const HttpPost& post, std::chrono::seconds timeout,
                 HttpReply* reply) {
  httplib::Client client(post.url.Origin());
  if (!client.is_valid())
    return Attempt::Fail(false, "the URL cannot be used by the HTTP client",
                         "check the url's scheme and host", "notify_config");
  // httplib's read and write timeouts bound each socket wait, so a trickling
  // server can stretch an attempt; the connect timeout is exact.
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  // A redirected POST is reported (JudgeStatus), never followed: following it
  // would resend the notice, and any token, to a host nobody configured.
  client.set_follow_location(false);
  httplib::Headers headers;
  for (const auto& [name, value] : post.headers) headers.emplace(name, value);
  headers.emplace("User-Agent", "hpc-mcp/" HPC_MCP_VERSION);
  auto res = client.Post(post.path.empty() ? post.url.path : post.path, headers,
                         post.body, post.content_type);
  if (!res) return TransportFailure(res.error(), timeout);
  reply->status = res->status;
  reply->body = res->body.substr(0, kMaxReplyBytes);
  return Attempt::Ok();
}

Attempt JudgeStatus(int status, std::string_view detail) {
  if (status >= 200 && status < 300) return Attempt::Ok();
  std::string d = mcp::Redact(OneLine(detail, 200));
  std::string what =
      "HTTP " + std::to_string(status) + (d.empty() ? "" : ": " + d);
  if (status == 408 || status == 429 || status >= 500)
    return Attempt::Fail(true, what,
                         "the server is busy or failing: check its status "
                         "page or logs",
                         "notify_unreachable");
  if (status >= 300 && status < 400)
    return Attempt::Fail(false, what + " (a redirect, not followed for a POST)",
                         "write the address it redirects to as the url "
                         "(often https:// instead of http://)",
                         "notify_rejected");
  if (status == 401 || status == 403)
    return Attempt::Fail(false, what,
                         "the server refused the credentials: check that "
                         "token_file holds a valid token with the right to "
                         "post there",
                         "notify_rejected");
  if (status == 404)
    return Attempt::Fail(false, what, "check the url (its path or topic)",
                         "notify_rejected");
  return Attempt::Fail(false, what,
                       "the server refused the notice; check the channel's "
                       "url and token_file",
                       "notify_rejected");
}

}  // namespace hpc::notify::internal
