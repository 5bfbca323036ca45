#include "tools/runs/cluster_context.h"

#include "tools/cluster/connect.h"

namespace hpc::runs {

Result<std::string> Cluster::CheckPath(const std::string& path) const {
  auto checked = policy.Check(path);
  if (checked.ok() || profile.access.kind != "local") return checked;
  auto n = cluster::NormalizePath(path);
  if (n.ok() && (*n == repo || n->rfind(repo + "/", 0) == 0)) return *n;
  return checked.status();
}

Status CheckMayChange(const cluster::ClusterProfile& profile) {
  if (!profile.read_only) return Status::Ok();
  return PermissionDenied(
             "profile " + profile.name + " is read-only (read_only: true in " +
             profile.source +
             "): no tool that changes something acts through it, so nothing "
             "was done. poll, wait_for_runs, tail_log, list_runs, preflight "
             "and verify_checkpoint still work on it")
      .WithReason(
          "profile_read_only", false,
          "ask the person who owns " + profile.source +
              " whether to set read_only: false there; do not work around it "
              "with another profile");
}

Result<std::unique_ptr<Cluster>> OpenCluster(const std::string& name,
                                             const std::string& repo,
                                             Intent intent) {
  auto profile = cluster::LoadProfile(name, repo);
  if (!profile.ok()) return profile.status();
  if (intent == Intent::kChange) HPC_RETURN_IF_ERROR(CheckMayChange(*profile));
  auto c = std::make_unique<Cluster>();
  c->profile = std::move(*profile);
  c->repo = repo;
  auto remote = cluster::ConnectRemote(c->profile);
  if (!remote.ok()) return remote.status();
  c->remote = *remote;
  auto scheduler = cluster::MakeScheduler(c->profile, c->remote);
  if (!scheduler.ok()) return scheduler.status();
  c->scheduler = std::move(*scheduler);
  auto policy = cluster::PolicyFor(c->profile, c->remote);
  if (!policy.ok()) return policy.status();
  c->policy = std::move(*policy);
  std::string home;
  if (c->profile.work_root.rfind("~", 0) == 0 || c->profile.log_root.rfind("~", 0) == 0) {
    auto h = cluster::RemoteHome(c->remote);
    if (!h.ok()) return h.status();
    home = *h;
  }
  auto resolve = [&](const std::string& p) -> Result<std::string> {
    if (p.empty()) return std::string();
    return cluster::NormalizePath(cluster::ExpandHome(p, home));
  };
  auto work = resolve(c->profile.work_root);
  if (!work.ok()) return work.status();
  auto logs = resolve(c->profile.log_root);
  if (!logs.ok()) return logs.status();
  if (work->empty())
    return FailedPrecondition("profile " + c->profile.name + " (" + c->profile.source +
                              ") has no paths.work_root; the run loop needs one for scripts")
        .WithReason("profile_incomplete", false, "set paths.work_root in " + c->profile.source);
  c->work_root = *work;
  c->log_root = logs->empty() ? *work + "/logs" : *logs;
  return c;
}

}  // namespace hpc::runs
