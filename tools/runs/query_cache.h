// One scheduler query per cluster per query interval, however many pollers
// ask: every session of this server and every other hpc-mcp process of the
// user on this machine share the answers.
//
// In process: one entry per cluster (keyed by the profile's scheduler and
// access), guarded by a mutex, so that concurrent pollers wait for the one
// query in flight instead of starting their own. Across processes: the
// entry is also kept in a small file under the cache directory
// ($HPC_MCP_CACHE_DIR, else $XDG_CACHE_HOME/hpc-mcp, else
// ~/.cache/hpc-mcp), written atomically, with an flock on a lock file
// beside it held while one process queries.
//
// An answer is served from the cache when it is younger than the profile's
// limits.min_query_interval_seconds and covers every id asked for; ids the
// entry lacks are queried (together with the entry's ids that have not
// ended, so that the entry stays whole). A failed query is not cached.
//
// Thread-safety: thread-safe and multi-process safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/cluster/profile.h"
#include "tools/cluster/scheduler.h"

namespace hpc::runs {

struct QueryStats {
  bool from_cache = false;     // Served without asking the scheduler.
  double age_seconds = 0;      // Age of the answer served.
};

// The status of each id as Scheduler::Query returns it (array parents
// expanded to their tasks), through the cache.
Result<std::vector<cluster::JobStatus>> CachedQuery(
    const cluster::ClusterProfile& profile, cluster::Scheduler& scheduler,
    const std::vector<std::string>& job_ids, QueryStats* stats = nullptr);

// Forgets every in-process entry (tests).
void ResetQueryCacheForTesting();

}  // namespace hpc::runs
