// Confirmation of costly work. A submit estimated above the profile's
// limits.confirm_above_gpu_hours (limits.h) is not submitted: it returns
// its plan and a one-time confirm_token, and the same call repeated with
// the token submits.
//
// A token binds the call's spec hash (SpecHash of SubmitRequest::spec:
// every argument but repo, dry_run, force and confirm_token), expires
// kConfirmTtlSeconds after it is issued, and works once.
//
// Tokens are kept in the repository's journal rather than a file of their
// own: the journal is already durable (flock, fsync), survives restarts, is
// shared by every server on the repository, and is the audit trail. Issue
// is a repository-wide `confirm_requested` event; use is the
// `confirm_token_sha256` of the run's own `created` event, so a token is
// spent exactly when its run comes to exist, never one without the other.
// Both happen under the submit lock (store.h): two calls cannot spend one
// token. Only a token's SHA-256 is written, so the journal never holds a
// usable token.
//
// Thread-safety: pure functions, except NewConfirmToken (OpenSSL's RNG,
// thread-safe).
#pragma once

#include <cstdint>
#include <string>

#include "mcp_server/status.h"
#include "tools/runs/run.h"

namespace hpc::runs {

inline constexpr int64_t kConfirmTtlSeconds = 15 * 60;

// 128 random bits (OpenSSL RAND_bytes) as 32 hex digits.
Result<std::string> NewConfirmToken();

// What the journal keeps of a token.
std::string ConfirmTokenDigest(const std::string& token);

// The confirmation `token` grants to a call whose spec hashes to
// `spec_hash` at `now` (unix seconds). Otherwise FailedPrecondition with
// reason confirm_token_unknown, confirm_token_used, confirm_token_mismatch
// or confirm_token_expired, saying what to do.
Result<Confirmation> RedeemConfirmation(const RunTable& table,
                                        const std::string& token,
                                        const std::string& spec_hash,
                                        int64_t now);

}  // namespace hpc::runs
