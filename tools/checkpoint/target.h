// Which checkpoint a sign_checkpoint or verify_checkpoint call is about,
// and where it lives: the run (when run_id is given) and its profile, the
// checkpoint's directory checked against the profile's roots, and the Site
// that lists and hashes it there. Also what both tools report with.
//
// Thread-safety: a CheckpointTarget is used by one tool call.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "mcp_server/tool.h"
#include "tools/checkpoint/site.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/run.h"
#include "tools/runs/store.h"

namespace hpc::checkpoint {

struct CheckpointTarget {
  std::string repo;
  std::shared_ptr<runs::RunStore> store;  // Set with a run.
  std::optional<runs::Run> run;
  std::unique_ptr<runs::Cluster> cluster;
  std::string root;  // Normalized, under the profile's roots.
  std::unique_ptr<Site> site;
  std::vector<std::string> weight_extensions;  // Defaults + the profile's.
  bool local = false;                          // The files are on this machine.
};

// From the arguments repo, run_id, path and profile. Without `path`, the
// run's linked checkpoint is used: for `from_signoff`, the directory of its
// checkpoint_signoff link first, then its checkpoint link. `intent` is the
// calling tool's (see runs::OpenCluster).
Result<CheckpointTarget> OpenTarget(mcp::RequestContext& ctx,
                                    const nlohmann::json& args,
                                    bool from_signoff, runs::Intent intent);

// A file argument on this machine (a key, an allowed_signers file): "~" and
// "~/x" expand against $HOME; anything else must be absolute.
Result<std::string> ExpandLocalPath(const std::string& path, const char* what);

// "1.50 GiB".
std::string GiB(uint64_t bytes);

// Hashing progress for the client: "hashed 1.50 GiB of 3.00 GiB".
ProgressFn HashProgress(mcp::RequestContext& ctx);

// The call's duration so far, for its `seconds` field.
double SecondsSince(std::chrono::steady_clock::time_point start);

}  // namespace hpc::checkpoint
