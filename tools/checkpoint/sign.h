// Signing a checkpoint: list its tree where it lives, refuse one that is
// still being written or is incomplete, hash every file there, then write
// MODEL_PASSPORT.json, SIGNOFF.json and (with a key) SIGNOFF.json.sig into
// its directory (passport.h has the formats).
//
// Refusals are FailedPrecondition with a reason:
//   checkpoint_still_writing  a file or directory changed in the last
//                             `quiet_seconds` (by the site's clock), or
//                             while it was being hashed
//   zero_byte_shards          a weight file is empty
//   no_weight_files           nothing matches the weight extensions
//   checkpoint_has_symlinks   a symlink (its target would not be covered)
//   unsupported_file          a FIFO, socket or device, or a name that is
//                             not UTF-8
//   hash_failed               a file could not be read
// Nothing is written when signing is refused or the SSH signature fails.
//
// Thread-safety: one call per Site at a time.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/checkpoint/passport.h"
#include "tools/checkpoint/site.h"
#include "tools/remote/remote.h"

namespace hpc::checkpoint {

struct SignRequest {
  std::string root;  // Absolute, already checked against the profile.
  std::string verdict, reason, signer;
  std::string signing_key;  // Local key file; empty: no signature.
  std::vector<std::string> weight_extensions;
  Provenance provenance;        // config_* are filled in here.
  std::string config_snapshot;  // Absolute, on the site; empty: none.
  nlohmann::json input_contract;
  int quiet_seconds = 60;
  std::stop_token stop;
  ProgressFn progress;  // Bytes hashed.
};

struct SignOutcome {
  std::string passport_path, signoff_path;
  std::string signature_path;  // Empty without a key.
  std::string passport_sha256;
  size_t files = 0, weight_files = 0;
  uint64_t total_bytes = 0;
  std::string hashed_on;  // Site::Describe().
};

// `remote` writes the files (the same machine as `site`).
Result<SignOutcome> SignCheckpoint(Site& site, remote::Remote& remote,
                                   const SignRequest& req);

}  // namespace hpc::checkpoint
