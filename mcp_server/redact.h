// Keeping secrets out of what leaves the server: tool results, log lines and
// journal events all pass through Redact, the one redaction pass.
//
// What it removes (each replaced by kRedacted):
//   - the values of secrets the server has read (RegisterSecret: the W&B API
//     key, the HTTP bearer token), wherever they appear;
//   - PEM private key blocks, to the end of the text when the END line is
//     missing (a tail cut it off);
//   - bearer tokens ("Bearer xxxxxxxx");
//   - tokens whose issuer shows in their shape: GitHub (ghp_.., github_pat_..),
//     Hugging Face (hf_..), OpenAI-style (sk-..), Slack (xox?-..), AWS access
//     key ids, JWTs;
//   - user:password@ in URLs;
//   - the value of key=value / key: value / "key": "value" whose key names a
//     secret (ends in api_key, apikey, access_key, token, secret, password,
//     passwd or credential(s)), except a shell reference ($VAR, "$(cat f)"),
//     which says where a secret comes from, not what it is.
// Not removed: bare 40-hex strings. A W&B key has that shape, but so does
// every git commit the tools report; the key is caught as a registered value
// instead. The publish sanitizer (tools/runlog/sanitize.h), which may lose a
// commit, adds that shape and more on top of this pass.
//
// Cost: each rule has literal needles; a text holding none of them (and no
// registered value) is returned as it came without running a regex.
//
// Thread-safety: everything here is thread-safe.
#pragma once

#include <spdlog/sinks/sink.h>

#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "mcp_server/json_rpc.h"

namespace hpc::mcp {

inline constexpr char kRedacted[] = "<redacted>";

// Remembers a secret the server has read; from now on Redact removes it.
// Values shorter than 8 characters are ignored: they would match ordinary
// text.
void RegisterSecret(std::string value);

// Key names that look secret but hold a value the server hands to the agent
// on purpose (a one-time confirmation token, say): key=value with such a key
// is kept. Known values and secret shapes are removed under any key.
using PublicKeys = std::set<std::string, std::less<>>;

// `text` with what the file comment lists removed.
std::string Redact(std::string_view text, const PublicKeys& public_keys = {});

// Redact over every string in `value`, in place; also replaces the whole
// value of an object member whose key names a secret ({"HF_TOKEN": "..."}).
// Object keys themselves are kept.
void RedactJson(json& value, const PublicKeys& public_keys = {});

// A log sink that redacts each message and hands it to `inner` (which keeps
// its own formatting); set_pattern and set_formatter reach `inner`.
std::shared_ptr<spdlog::sinks::sink> RedactingSink(
    std::shared_ptr<spdlog::sinks::sink> inner);

}  // namespace hpc::mcp
