#include "tools/cluster/scheduler.h"

#include "tools/cluster/host.h"
#include "tools/cluster/job_request.h"
#include "tools/cluster/local.h"
#include "tools/cluster/sge.h"
#include "tools/cluster/slurm.h"
#include "tools/cluster/text.h"

namespace hpc::cluster {

Result<std::string> RemoteUser(remote::Remote& remote) {
  remote::RunOptions o;
  o.login_shell = false;
  o.timeout = std::chrono::seconds(30);
  auto r = remote.Run({"id", "-un"}, o);
  if (!r.ok()) return r.status();
  std::string user(text::Trim(r->out));
  if (!r->ok() || user.empty())
    return Unavailable("cannot tell which user " + remote.Describe() +
                       " logs in as (id -un: " + CommandMessage(*r) + ")")
        .WithReason("command_failed", true, "check the connection with preflight");
  return user;
}

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
