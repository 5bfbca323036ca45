// The `local` backend: the host backend (host.h) on this machine, through a
// LocalRemote (posix_spawn, no shell). Jobs run detached under the job
// wrapper and survive a restart of the server.
//
// Thread-safety: the scheduler is thread-safe.
#pragma once

#include <memory>

#include "tools/cluster/profile.h"
#include "tools/cluster/scheduler.h"
#include "tools/remote/remote.h"

namespace hpc::cluster {

// `remote` may be null: a LocalRemote with the profile's login shell and
// setup lines is made.
std::unique_ptr<Scheduler> MakeLocalScheduler(
    const ClusterProfile& profile, std::shared_ptr<remote::Remote> remote);

}  // namespace hpc::cluster
