// Making a run log fit to publish (TRAINING_LOG.md): what identifies the
// cluster, the account or the person goes, the training dynamics, config
// and W&B link stay.
//
// Removed, in this order:
//   1. secrets: what the server-wide redaction pass removes
//      (mcp_server/redact.h: registered secrets, key=value secrets such as
//      WANDB_API_KEY=... or "hf_token": "...", issuer-shaped tokens, bearer
//      tokens, PEM private keys, user:password@ in URLs), plus any
//      40-hex-digit string (a W&B API key; a git commit shown in full looks
//      the same, so run logs show commits abbreviated) and Basic credentials;
//   2. absolute paths (/..., ~/..., $SCRATCH/...) outside URLs: replaced by
//      "…/<last component>", which keeps "step_1000" or "config.yaml" and
//      drops the scratch/home/project directories before it;
//   3. IPv4 addresses, and node names of the usual shapes (nid001234,
//      node017, cn-042);
//   4. the known identifiers: job ids (see below), node and host names,
//      user names (the profile's, and those the text shows in /home/<name>/
//      or "user: <name>"), and whatever the caller adds.
// URLs are kept as written (a W&B URL names an entity, which the user
// chose to share), except for credentials in them.
//
// Job ids are numbers, and a step count or a metric could equal one: a job
// id is replaced wherever it appears as a word only when it has at least 5
// characters (Slurm ids in practice; the local backend's are longer still);
// shorter ones only where the text says it is a job ("job 42",
// "job_id: 42", "slurm-42.out", "42.out").
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hpc::runlog {

struct Identifiers {
  std::vector<std::string>
      job_ids;  // Array task forms (123_4, 8.2) are covered.
  std::vector<std::string> nodes;
  std::vector<std::string> hosts;
  std::vector<std::string> users;
  std::vector<std::string> extra;  // Anything else the caller wants gone.
};

// Adds to `ids` the user and node names that `text` itself reveals:
// /home/<user>/, /Users/<user>/, "user: <name>", USER=<name>, "node:
// <name>", "NodeList=<name>", "hostname: <name>", "on node <name>" (node
// names must contain a digit, so "node failure" teaches nothing).
void LearnFromText(std::string_view text, Identifiers& ids);

// `text` with the above removed.
std::string Sanitize(std::string_view text, const Identifiers& ids);

// What `text` still holds that Sanitize would remove, one description per
// finding ("user name 'alice'", "a secret (ghp_…)"): the check run on the
// result before it is written. Empty when clean.
std::vector<std::string> Leaks(std::string_view text, const Identifiers& ids);

}  // namespace hpc::runlog
