#include "tools/cluster/connect.h"

#include <map>
#include <mutex>

#include "mcp_server/json_rpc.h"
#include "tools/remote/local_remote.h"
#include "tools/remote/openssh_remote.h"
#include "tools/remote/ssh_remote.h"

namespace hpc::cluster {
namespace {

std::mutex g_mu;
// Keyed by everything that shapes the connection, so an edited profile
// gets a fresh Remote while unchanged ones keep theirs. Never destroyed:
// at exit, OpenSSL is torn down before static destructors would close the
// SSH sessions, and libssh2's teardown would then crash in libcrypto.
auto& g_remotes = *new std::map<std::string, std::shared_ptr<remote::Remote>>();
// Keyed by the Remote's control block, not its address: a new Remote at a
// freed Remote's address must not inherit its home.
std::map<std::weak_ptr<remote::Remote>, std::string, std::owner_less<>> g_homes;

std::string Key(const ClusterProfile& p) {
  nlohmann::json k{{"access", p.raw.value("access", nlohmann::json())},
                   {"login", p.login_shell},
                   {"setup", p.setup}};
  return p.access.kind + "\n" + mcp::Dump(k);
}

}  // namespace

Result<std::shared_ptr<remote::Remote>> ConnectRemote(const ClusterProfile& profile) {
  std::string key = Key(profile);
  std::lock_guard lock(g_mu);
  if (auto it = g_remotes.find(key); it != g_remotes.end()) return it->second;
  std::shared_ptr<remote::Remote> r;
  if (profile.access.kind == "local")
    r = std::make_shared<remote::LocalRemote>(profile.login_shell, profile.setup);
  else if (profile.access.kind == "ssh")
    r = std::make_shared<remote::SshRemote>(remote::SshOptionsFromProfile(profile));
  else if (profile.access.kind == "openssh")
    r = std::make_shared<remote::OpenSshRemote>(remote::OpenSshOptionsFromProfile(profile));
  else
    return InvalidArgument("profile " + profile.name + ": unknown access kind " +
                           profile.access.kind);
  g_remotes[key] = r;
  return r;
}

Result<std::string> RemoteHome(const std::shared_ptr<remote::Remote>& remote_ptr) {
  remote::Remote& remote = *remote_ptr;
  {
    std::lock_guard lock(g_mu);
    if (auto it = g_homes.find(remote_ptr); it != g_homes.end()) return it->second;
  }
  remote::RunOptions o;
  o.login_shell = false;
  o.timeout = std::chrono::seconds(30);
  auto r = remote.Run({"printenv", "HOME"}, o);
  if (!r.ok()) return r.status();
  std::string home = r->out;
  while (!home.empty() && (home.back() == '\n' || home.back() == '\r')) home.pop_back();
  if (!r->ok() || home.empty() || home[0] != '/')
    return Status(StatusCode::kFailedPrecondition,
                  "cannot learn the home directory on " + remote.Describe() +
                      ": printenv HOME exited " + std::to_string(r->exit_code) + " " + r->err)
        .WithReason("command_failed", true, "check that the account has a home directory");
  std::lock_guard lock(g_mu);
  std::erase_if(g_homes, [](const auto& kv) { return kv.first.expired(); });
  g_homes[remote_ptr] = home;
  return home;
}

Result<PathPolicy> PolicyFor(const ClusterProfile& profile,
                             const std::shared_ptr<remote::Remote>& remote) {
  std::vector<std::string> roots = profile.allowed_roots;
  roots.push_back(profile.work_root);
  roots.push_back(profile.log_root);
  bool needs_home = false;
  for (const auto& r : roots) needs_home = needs_home || r.rfind("~", 0) == 0;
  std::string home;
  if (needs_home) {
    auto h = RemoteHome(remote);
    if (!h.ok()) return h.status();
    home = *h;
  }
  return PathPolicy(roots, home);
}

}  // namespace hpc::cluster
