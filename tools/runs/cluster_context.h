// Everything a run-loop tool needs to act on a profile's cluster: the
// profile, its Remote (shared per process, see connect.h), its scheduler,
// its path policy and resolved roots.
//
// Thread-safety: a Cluster is used by one tool call; its members are
// thread-safe objects.
#pragma once

#include <memory>
#include <string>

#include "mcp_server/status.h"
#include "tools/cluster/path_policy.h"
#include "tools/cluster/profile.h"
#include "tools/cluster/scheduler.h"
#include "tools/remote/remote.h"

namespace hpc::runs {

struct Cluster {
  cluster::ClusterProfile profile;
  std::shared_ptr<remote::Remote> remote;
  std::unique_ptr<cluster::Scheduler> scheduler;
  cluster::PathPolicy policy{{}, ""};
  std::string work_root, log_root;  // Absolute, ~ resolved.
  std::string repo;                 // The experiment repository.
  // Whether a path is one hpc-mcp may read or write: under the profile's
  // roots, or (for a profile on this machine) under the repository.
  Result<std::string> CheckPath(const std::string& path) const;
};

// What a caller will do through the cluster it opens.
enum class Intent {
  // Query the scheduler and read files, nothing else. Only for tools whose
  // definition says readOnlyHint: true (and resources/read).
  kObserve,
  // Anything that may change something: submit, cancel, write files, upload.
  kChange,
};

// The one check behind a profile's `read_only: true`: refuses a change
// through it, naming the profile file and the field to change.
Status CheckMayChange(const cluster::ClusterProfile& profile);

// Loads profile `name` as seen from `repo` and connects to it.
//
// Contract: with Intent::kChange a read_only profile is refused here, before
// any connection. kChange is the default, so that every tool whose
// readOnlyHint is false is covered without asking for it; passing kObserve
// is a claim that the calling tool is read-only. A mutating tool that acts
// on a profile without opening its cluster (write_run_log's publish) calls
// CheckMayChange itself. tests/tools/runs/read_only_test.cc calls every tool
// that is not read-only on a read_only profile, so a new one that slips past
// fails there.
Result<std::unique_ptr<Cluster>> OpenCluster(const std::string& name,
                                             const std::string& repo,
                                             Intent intent = Intent::kChange);

}  // namespace hpc::runs
