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

// Loads profile `name` as seen from `repo` and connects to it.
Result<std::unique_ptr<Cluster>> OpenCluster(const std::string& name, const std::string& repo);

}  // namespace hpc::runs
