// SshRemote: the Remote seam over libssh2, with one persistent connection
// per host per process.
//
// Every SshRemote for the same (user, host, port, identity_file,
// known_hosts) shares one SshSession (ssh_session.h) through a process-wide
// registry: the registry holds weak references, the SshRemotes strong ones,
// so the connection lives while some SshRemote for it does. The key includes
// the key file and known_hosts because a connection may only be reused by
// callers that would have authenticated and verified it the same way. The
// connection's own settings (keepalive, timeouts, max_channels) are those of
// the SshRemote that created the shared endpoint; login_shell and setup are
// each SshRemote's own.
//
// Commands: RemoteCommandLine (command_line.h) builds the string, one
// channel each, many at once on the shared connection.
// Files: SFTP on the same connection. WriteFileAtomic writes a temporary
// file beside the target (O_EXCL), fsyncs it where the server supports it,
// and renames it over the target (SFTP rename, or `mv -f` when the server's
// SFTP v3 rename refuses to replace a file, as OpenSSH's does).
//
// Reconnecting: a broken connection is replaced transparently by the next
// call. A call that fails *because* the connection broke is retried once on
// a new connection only when nothing can have happened yet (the channel
// could not be opened) or the operation is idempotent (file operations). A
// command whose exec request was sent is never re-run: it fails with
// ssh_unreachable, retry_safe=false.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tools/cluster/profile.h"
#include "tools/remote/remote.h"
#include "tools/remote/ssh_options.h"

namespace hpc::remote {

class SshEndpoint;

class SshRemote : public Remote {
 public:
  // Does not connect; the first call does.
  explicit SshRemote(SshOptions options);
  ~SshRemote() override;

  Result<CommandResult> Run(const std::vector<std::string>& argv,
                            const RunOptions& options) override;
  Result<std::string> ReadFile(const std::string& path, uint64_t offset,
                               size_t max_bytes) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Status WriteFileAtomic(const std::string& path, std::string_view content,
                         uint32_t mode = 0644) override;
  Result<std::vector<DirEntry>> ListDir(const std::string& path) override;
  std::string Describe() const override;

  // Connects now (if not connected), so that configuration errors (host
  // key, credentials) surface before the first real call.
  Status Connect();

  // The longest command string sent over exec; longer ones fail with
  // command_failed (libssh2 cannot send larger requests).
  static constexpr size_t kMaxCommandBytes = 32 * 1024;

 private:
  const SshOptions options_;
  std::shared_ptr<SshEndpoint> endpoint_;
};

// Options for a profile whose access.kind is "ssh".
SshOptions SshOptionsFromProfile(const cluster::ClusterProfile& profile);

}  // namespace hpc::remote
