// Read-only probes of a cluster for the preflight checklist: each probe runs
// a few harmless commands through the Remote and turns what they print into
// a Check with evidence and, when not ok, a remediation.
#pragma once

#include <string>
#include <vector>

#include "tools/cluster/profile.h"
#include "tools/remote/remote.h"

namespace hpc::cluster {

struct Check {
  std::string name;    // Stable: "reachable", "scheduler_commands", ...
  std::string status;  // ok | warn | fail | skipped
  std::string evidence;
  std::string remediation;
};

// The scheduler's commands and versions, its controller, its partitions or
// queues (and whether the profile's default exists), and accounting.
std::vector<Check> ProbeScheduler(const ClusterProfile& profile, remote::Remote& remote);

// Whether `root` (absolute, ~ resolved) exists, is writable, and has free
// space (warn below 10 GiB, fail below 1 GiB).
std::vector<Check> ProbeRoot(const std::string& label, const std::string& root,
                             remote::Remote& remote);

// With gpus.placement: nvidia-smi (host and local profiles): the GPUs
// nvidia-smi's query reports and which are free (memory in use below
// gpus.free_below_mib); fail when the query does not work, since every
// task asking for GPUs would then be refused; warn when none is free.
// Nothing for other profiles.
std::vector<Check> ProbeGpus(const ClusterProfile& profile,
                             remote::Remote& remote);

// python3 and wandb on the login shell's PATH (warn only).
std::vector<Check> ProbeTools(remote::Remote& remote);

}  // namespace hpc::cluster
