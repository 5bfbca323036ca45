// LocalRemote: the Remote seam on this machine, for the `local` profile and
// as the process runner under OpenSshRemote.
//
// Commands run with posix_spawn, no shell (local_process.h). When
// RunOptions::login_shell is set and the profile has setup lines, the command
// crosses a shell exactly as it would over SSH: `/bin/sh -c` runs
// RemoteCommandLine(...) (command_line.h), the same string SshRemote sends.
// Files are read, written and listed with POSIX calls.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <string>
#include <vector>

#include "tools/remote/remote.h"

namespace hpc::remote {

class LocalRemote : public Remote {
 public:
  // `login_shell` and `setup`: the profile's (e.g. {"bash", "-l"} and module
  // loads). Without setup lines commands run directly, with no shell at all.
  explicit LocalRemote(std::vector<std::string> login_shell = {},
                       std::vector<std::string> setup = {});

  Result<CommandResult> Run(const std::vector<std::string>& argv,
                            const RunOptions& options) override;
  Result<std::string> ReadFile(const std::string& path, uint64_t offset,
                               size_t max_bytes) override;
  Result<FileInfo> Stat(const std::string& path) override;
  // Temp file beside `path` (mkstemp), fsync, fchmod, rename, then an fsync
  // of the directory so the rename itself survives a crash.
  Status WriteFileAtomic(const std::string& path, std::string_view content,
                         uint32_t mode = 0644) override;
  // Entries other than "." and ".."; symbolic links are reported as
  // themselves (lstat), as SFTP does.
  Result<std::vector<DirEntry>> ListDir(const std::string& path) override;
  std::string Describe() const override { return "local"; }

 private:
  std::vector<std::string> login_shell_;
  std::vector<std::string> setup_;
};

}  // namespace hpc::remote
