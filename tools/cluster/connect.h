// The Remote a profile names, shared within the process.
//
// Every tool call for the same profile gets the same Remote object, so that
// SshRemote's persistent session and OpenSshRemote's ControlMaster serve all
// calls of all MCP sessions. A profile whose file changed (other access or
// shell) gets a new Remote.
#pragma once

#include <memory>
#include <string>

#include "mcp_server/status.h"
#include "tools/cluster/path_policy.h"
#include "tools/cluster/profile.h"
#include "tools/remote/remote.h"

namespace hpc::cluster {

Result<std::shared_ptr<remote::Remote>> ConnectRemote(const ClusterProfile& profile);

// $HOME on the machine `remote` reaches (cached per Remote object).
Result<std::string> RemoteHome(const std::shared_ptr<remote::Remote>& remote);

// The PathPolicy of `profile` (work_root, log_root, allowed_roots), with ~
// resolved against the remote home.
Result<PathPolicy> PolicyFor(const ClusterProfile& profile,
                             const std::shared_ptr<remote::Remote>& remote);

}  // namespace hpc::cluster
