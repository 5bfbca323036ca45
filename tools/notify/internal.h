// Private to tools/notify/: what its .cc files share. Not for other folders;
// notify.h is the interface.
//
// Thread-safety: everything here is thread-safe (no shared state).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mcp_server/status.h"
#include "tools/notify/notify.h"

namespace hpc::notify::internal {

inline constexpr char kDefaultApiBase[] = "https://api.telegram.org";

// "~/x" -> "$HOME/x"; anything else unchanged. Empty when it starts with ~
// and HOME is not set.
std::string ExpandHome(const std::string& path);

// `text` on one line: control characters (line breaks included) become
// spaces, runs of spaces collapse, and it is cut to at most `max` bytes on a
// UTF-8 character boundary, ending in "..." when cut.
std::string OneLine(std::string_view text, size_t max);

// "hpc-mcp: run bert-lr3 failed (timeout) after 3h12m": the first line of
// NoticeText, and ntfy's Title.
std::string NoticeTitle(const Notice& n);

// An http(s) URL, split for cpp-httplib.
struct HttpUrl {
  std::string scheme;  // http | https
  std::string host;    // As written; an IPv6 literal keeps its brackets.
  int port = 0;        // As written, else the scheme's default.
  bool explicit_port = false;
  std::string path;  // From the first '/' on, query included; "/" if none.
  bool has_userinfo = false;

  // "https://host:443", what httplib::Client takes.
  std::string Origin() const;
  // "https://host" plus "/..." when there is a path: the path and query of a
  // webhook or an ntfy topic may be secrets, so they are never shown.
  std::string Shown() const;
};

// Errors say what is wrong without repeating the URL (it may hold a secret).
Result<HttpUrl> ParseHttpUrl(std::string_view url);

// How one attempt went.
struct Attempt {
  bool ok = false;
  bool retry = false;  // Whether another attempt may succeed.
  std::string error;   // What failed; never a secret or the URL.
  std::string hint;    // What to do about it.
  std::string reason;  // Status::reason(): notify_unreachable, ...

  static Attempt Ok() { return Attempt{true, false, "", "", ""}; }
  static Attempt Fail(bool retry, std::string error, std::string hint,
                      std::string reason) {
    return Attempt{false, retry, std::move(error), std::move(hint),
                   std::move(reason)};
  }
};

struct HttpPost {
  HttpUrl url;
  std::string path;  // Replaces url.path (Telegram's /bot<token>/...).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;
};

struct HttpReply {
  int status = 0;
  std::string body;
};

// One POST, bounded by `timeout` for connecting, sending and reading. Ok
// (with `reply` filled) whenever the server answered, whatever the status;
// a failed Attempt when it could not be reached or did not answer.
Attempt PostOnce(const HttpPost& post, std::chrono::seconds timeout,
                 HttpReply* reply);

// The verdict on an HTTP status: 2xx delivered; 408, 429 and 5xx worth
// another attempt; anything else refused for good. `detail` (the answer's
// body or a description from it) is shortened and redacted.
Attempt JudgeStatus(int status, std::string_view detail);

}  // namespace hpc::notify::internal
