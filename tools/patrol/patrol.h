// The patrol: what `hpc-mcp patrol` does for each repository, with no MCP
// client connected. One pass over a repository
//   1. polls every active run with runs::PollRuns, the code behind the
//      `poll` tool: the same journal events from the same evidence, and the
//      same per-machine query cache, so a patrol and any number of agents
//      ask each cluster at most once per query interval;
//   2. with a notify config, announces the milestones that are due
//      (notices.h: each exactly once across patrols and processes);
//   3. rewrites heartbeat.md (heartbeat.h).
// A cluster that cannot be reached is an error line in the digest, not a
// failed pass; a repository whose journal cannot be read is.
//
// Thread-safety: PatrolRepo may run concurrently, also for one repository.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/notify/notify.h"

namespace hpc::patrol {

struct PatrolOptions {
  std::optional<notify::Config> notify;  // None: nothing is announced.
  std::string by;                        // "patrol <pid>@<host>".
};

struct RepoReport {
  std::string repo;
  bool skipped = false;             // No journal: nothing was ever submitted.
  std::vector<std::string> errors;  // Clusters, notices: the pass went on.
  int active = 0, changed = 0;      // Runs polled, runs the poll changed.
  int sent = 0, failed = 0;         // Notice deliveries.
  std::string heartbeat;            // The digest's path.
};

// One pass over `repo` (an absolute directory). NotFound when it is not a
// directory; the journal's error when it cannot be read. A repository
// without a journal is skipped (nothing is created in it).
Result<RepoReport> PatrolRepo(const std::string& repo,
                              const PatrolOptions& options);

// "patrol <pid>@<hostname>".
std::string PatrolName();

}  // namespace hpc::patrol
