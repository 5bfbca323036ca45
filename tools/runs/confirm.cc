#include "tools/runs/confirm.h"

#include <openssl/rand.h>

#include "tools/checkpoint/sha256.h"

namespace hpc::runs {
namespace {

constexpr char kAgain[] =
    "call submit again without confirm_token: it answers with the plan and a "
    "new token";

}  // namespace

Result<std::string> NewConfirmToken() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return Internal(
        "no randomness for a confirm_token (OpenSSL RAND_bytes failed)");
  std::string hex;
  for (unsigned char c : raw) {
    hex += "0123456789abcdef"[c >> 4];
    hex += "0123456789abcdef"[c & 15];
  }
  return hex;
}

std::string ConfirmTokenDigest(const std::string& token) {
  return checkpoint::Sha256Hex(token);
}

Result<Confirmation> RedeemConfirmation(const RunTable& table,
                                        const std::string& token,
                                        const std::string& spec_hash,
                                        int64_t now) {
  auto it = table.confirmations.find(ConfirmTokenDigest(token));
  if (it == table.confirmations.end())
    return FailedPrecondition(
               "confirm_token was not issued by submit in this repository; "
               "nothing was submitted")
        .WithReason("confirm_token_unknown", false, kAgain);
  const Confirmation& k = it->second;
  if (!k.used_by.empty())
    return FailedPrecondition("confirm_token was already used, by run " +
                              k.used_by +
                              "; a token works once. Nothing was submitted")
        .WithReason("confirm_token_used", false,
                    "to run the same thing again, " + std::string(kAgain));
  if (k.spec_hash != spec_hash)
    return FailedPrecondition(
               "confirm_token was issued for other arguments (spec " +
               k.spec_hash + ", this call's is " + spec_hash +
               "): a token confirms exactly the call that returned it. Nothing "
               "was submitted")
        .WithReason("confirm_token_mismatch", false,
                    "repeat the exact call that returned the token, or " +
                        std::string(kAgain) + " for these arguments");
  if (now >= k.expires_at)
    return FailedPrecondition("confirm_token expired " +
                              std::to_string(now - k.expires_at) +
                              " s ago (tokens last " +
                              std::to_string(kConfirmTtlSeconds / 60) +
                              " minutes); nothing was submitted")
        .WithReason("confirm_token_expired", false, kAgain);
  return k;
}

}  // namespace hpc::runs
