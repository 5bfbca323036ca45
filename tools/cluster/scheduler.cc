#include "tools/cluster/scheduler.h"

#include "tools/cluster/host.h"
#include "tools/cluster/local.h"
#include "tools/cluster/sge.h"
#include "tools/cluster/slurm.h"

namespace hpc::cluster {

Result<std::unique_ptr<Scheduler>> MakeScheduler(
    const ClusterProfile& profile, std::shared_ptr<remote::Remote> remote) {
  const std::string& s = profile.scheduler;
  if (s == "local") return MakeLocalScheduler(profile, std::move(remote));
  if (!remote)
    return InvalidArgument("profile " + profile.name + ": scheduler " + s +
                           " needs a remote (access) to run its commands");
  if (s == "slurm") return MakeSlurmScheduler(profile, std::move(remote));
  if (s == "sge") return MakeSgeScheduler(profile, std::move(remote));
  if (s == "host") return MakeHostScheduler(profile, std::move(remote), "host");
  return InvalidArgument("profile " + profile.name + ": unknown scheduler \"" +
                         s + "\" (expected local, slurm, sge or host)");
}

}  // namespace hpc::cluster
