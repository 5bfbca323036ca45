// The one seam through which hpc-mcp touches a machine: run a command, read,
// stat, write and list files. Three implementations: LocalRemote
// (posix_spawn, no shell), SshRemote (libssh2, one persistent session per
// host per process), OpenSshRemote (the system ssh with a ControlMaster
// socket, for ssh_config aliases, ProxyJump, certificates, two-factor).
//
// Commands are argv vectors, never shell strings built by concatenation. A
// remote implementation that must hand a string to a shell (SSH exec) builds
// it with ShellJoin (shell.h), the only quoting code in the project.
//
// Errors carry a stable Status::reason(): ssh_unreachable, auth_failed,
// host_key_unknown, host_key_changed, timeout, command_failed (could not be
// started, or killed by us), not_found, permission_denied, io_error; with
// retry_safe() and a remediation line.
//
// Thread-safety: every method may be called concurrently from many threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::remote {

struct RunOptions {
  std::string stdin_data;  // Written to the command's stdin, then closed.
  std::chrono::milliseconds timeout{60000};
  size_t max_output = 1 << 20;  // Per stream; the rest is discarded.
  std::string cwd;              // Empty: the login directory.
  std::map<std::string, std::string> env;  // Added to the environment.
  // Run inside the profile's login shell with its setup lines (module
  // loads, venv activation). Off for plumbing (mkdir, cat) that needs none.
  bool login_shell = true;
};

struct CommandResult {
  int exit_code = -1;     // -1 when killed by a signal.
  int signal = 0;         // The signal that ended it, 0 if none.
  std::string out, err;   // Capped at RunOptions::max_output each.
  bool out_truncated = false, err_truncated = false;
  std::chrono::milliseconds elapsed{0};
  bool ok() const { return exit_code == 0; }
};

struct FileInfo {
  bool is_dir = false;
  uint64_t size = 0;
  int64_t mtime = 0;  // Seconds since the epoch.
  uint32_t mode = 0;  // Permission bits.
};

struct DirEntry {
  std::string name;
  bool is_dir = false;
  uint64_t size = 0;
  int64_t mtime = 0;
};

class Remote {
 public:
  virtual ~Remote() = default;

  // Runs argv[0] with arguments argv[1..]. A non-zero exit status is a
  // successful Run with result.exit_code set; an error Status means the
  // command could not be run or finished (unreachable, timeout, ...).
  virtual Result<CommandResult> Run(const std::vector<std::string>& argv,
                                    const RunOptions& options) = 0;

  // Up to `max_bytes` of `path` from byte `offset` (fewer at end of file).
  virtual Result<std::string> ReadFile(const std::string& path, uint64_t offset,
                                       size_t max_bytes) = 0;

  // NotFound (reason not_found) when `path` does not exist.
  virtual Result<FileInfo> Stat(const std::string& path) = 0;

  // Writes to a temporary file beside `path`, then renames it into place, so
  // a reader sees the old or the new content, never a mix. Creates missing
  // parent directories.
  virtual Status WriteFileAtomic(const std::string& path,
                                 std::string_view content,
                                 uint32_t mode = 0644) = 0;

  virtual Result<std::vector<DirEntry>> ListDir(const std::string& path) = 0;

  // "local", "ssh hpctest@127.0.0.1:2222", "openssh cluster-alias".
  virtual std::string Describe() const = 0;
};

}  // namespace hpc::remote
