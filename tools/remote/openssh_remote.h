// OpenSshRemote: the Remote seam through the system `ssh` binary, for what
// libssh2 cannot do: ssh_config aliases, ProxyJump, certificates, Kerberos,
// two-factor prompts answered once by a ControlMaster.
//
// Every call starts `ssh` with posix_spawn (argv only, local_process.h). The
// connection is shared through a ControlMaster socket that this object owns:
// it lives in a private 0700 directory under $XDG_RUNTIME_DIR (else /tmp),
// `ControlMaster=auto` + `ControlPersist` re-create the master on demand if
// it died, and the destructor stops it (`ssh -O exit`) and removes the
// directory. `BatchMode=yes`: ssh never prompts.
//
// Commands: RemoteCommandLine (command_line.h) builds the string, passed to
// ssh as one argument after `--` and the destination.
// Files: small constant `sh -c` scripts whose operands ($1, $2, ...) carry
// the paths, run without the login shell: `tail -c +N | head -c M` to read,
// `stat -L -c`, `find -maxdepth 1 -printf` to list, and `cat > temp` from
// stdin then `mv -f -T temp path` to write atomically.
//
// Errors: ssh exits 255 for its own failures; its stderr then says which, and
// is mapped to the same reasons SshRemote uses (host key, Permission denied,
// connection refused or timed out, connection lost). A command of the user's
// that itself exits 255 without such text is reported as exit code 255.
// A command killed by a signal also shows as exit code 255 (ssh does not
// pass the signal on), with CommandResult::signal 0.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <vector>

#include "tools/cluster/profile.h"
#include "tools/remote/remote.h"

namespace hpc::remote {

struct OpenSshOptions {
  // An ssh_config alias or [user@]host; never starts with '-'.
  std::string destination;
  std::string ssh_config;                    // -F FILE; empty: ssh's default.
  std::vector<std::string> ssh_options;      // Each passed as -o OPTION.
  std::chrono::seconds connect_timeout{10};  // ConnectTimeout.
  std::chrono::seconds keepalive{30};        // ServerAliveInterval; 0: off.
  std::chrono::seconds io_timeout{60};       // File operations.
  std::chrono::seconds control_persist{600};
  // false: a new connection per command (no ControlMaster), the baseline
  // the benchmark compares against.
  bool control_master = true;
  // Concurrent ssh processes; keep below the server's MaxSessions when
  // multiplexing (OpenSSH default 10).
  int max_sessions = 8;
  std::vector<std::string> login_shell = {"bash", "-l"};
  std::vector<std::string> setup;
  std::string ssh_binary = "ssh";
};

class OpenSshRemote : public Remote {
 public:
  // Creates the private control directory; does not connect. A bad
  // destination or an unusable directory is reported by every call.
  explicit OpenSshRemote(OpenSshOptions options);
  ~OpenSshRemote() override;  // Stops the master, removes the directory.

  Result<CommandResult> Run(const std::vector<std::string>& argv,
                            const RunOptions& options) override;
  Result<std::string> ReadFile(const std::string& path, uint64_t offset,
                               size_t max_bytes) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Status WriteFileAtomic(const std::string& path, std::string_view content,
                         uint32_t mode = 0644) override;
  Result<std::vector<DirEntry>> ListDir(const std::string& path) override;
  std::string Describe() const override;

  // The ssh argv that runs `remote_command` (exposed for tests).
  std::vector<std::string> SshArgv(const std::string& remote_command) const;

 private:
  // Runs argv (no login shell) for a file operation.
  Result<CommandResult> RunPlumbing(const std::vector<std::string>& argv,
                                    const std::string& stdin_data,
                                    size_t max_output);

  const OpenSshOptions options_;
  Status config_error_;
  std::string control_dir_;  // Empty without a ControlMaster.
  std::string control_path_;
  std::counting_semaphore<1024> sessions_;
};

// The error that ssh's exit status 255 and stderr stand for, or nullopt when
// they do not look like ssh's own failure (then the command itself exited
// 255). `destination` names the host in messages.
std::optional<Status> ClassifySshFailure(int exit_code, std::string_view err,
                                         std::string_view destination);

// Options for a profile whose access.kind is "openssh".
OpenSshOptions OpenSshOptionsFromProfile(
    const cluster::ClusterProfile& profile);

}  // namespace hpc::remote
