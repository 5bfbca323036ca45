#include "tools/cluster/local.h"

#include "tools/cluster/host.h"
#include "tools/remote/local_remote.h"

namespace hpc::cluster {

std::unique_ptr<Scheduler> MakeLocalScheduler(
    const ClusterProfile& profile, std::shared_ptr<remote::Remote> remote) {
  if (!remote)
    remote = std::make_shared<remote::LocalRemote>(profile.login_shell,
                                                   profile.setup);
  return MakeHostScheduler(profile, std::move(remote), "local");
}

}  // namespace hpc::cluster
