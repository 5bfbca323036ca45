// Checking a checkpoint against its MODEL_PASSPORT.json and SIGNOFF.json,
// where it lives (hashing runs on the site, see site.h). The result is one
// observation per check, always all of them, in this order:
//
//   passport           MODEL_PASSPORT.json is there, a regular file, valid
//                      per schemas/model_passport.json
//   paths_inside_root  every listed path stays inside the root: relative,
//                      no '..', not through or onto a symlink
//   files_present      every listed file exists
//   file_hashes        every listed file has its size and SHA-256
//   unlisted_files     no weight file on disk is missing from the list, no
//                      symlink points out of the root (fail); other
//                      unlisted files are a soft_signal
//   signoff            SIGNOFF.json is there and valid (missing: not_checked,
//                      or fail when required)
//   passport_hash      the sign-off's passport_sha256 is the passport's
//   signoff_weights    the sign-off's weight hashes are the passport's
//   signoff_verdict    the sign-off's own verdict (pass / soft_signal /
//                      fail), with its reason
//   signature          SIGNOFF.json.sig verifies (ssh_sig.h); not_checked
//                      when there is none and none was expected
//
// Status is pass, soft_signal, fail or not_checked (a check that could not
// run because an earlier one failed, or had nothing to check).
//
// Thread-safety: one call per Site at a time.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/checkpoint/site.h"
#include "tools/remote/remote.h"

namespace hpc::checkpoint {

struct Observation {
  std::string check, status, detail;
  std::vector<std::string> paths;  // The files concerned, at most 50.
};

struct VerifyRequest {
  std::string root;  // Absolute, already checked against the profile.
  bool require_signoff = false;
  std::string allowed_signers;  // Local file; empty: signer not checked.
  std::vector<std::string> weight_extensions;  // Besides the passport's.
  std::stop_token stop;
  ProgressFn progress;
};

struct VerifyReport {
  std::vector<Observation> checks;
  std::string verdict;  // The worst status: fail, soft_signal, else pass.
  std::string passport_sha256;  // Empty when there is no passport.
  nlohmann::json signoff;       // {verdict, verdict_reason, signer,
                                // signed_at} or null.
  size_t files_listed = 0;
  uint64_t bytes_hashed = 0;
  std::string hashed_on;
};

// A Status error only when the root cannot be listed, the site cannot be
// reached, or `stop` was requested; everything about the checkpoint itself
// is an observation.
Result<VerifyReport> VerifyCheckpoint(Site& site, remote::Remote& remote,
                                      const VerifyRequest& req);

}  // namespace hpc::checkpoint
