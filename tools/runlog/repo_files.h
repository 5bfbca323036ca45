// The experiment repository's files as write_run_log touches them: every
// path is repository-relative, checked lexically (layout.h CheckRelative)
// and on disk (no component may be a symlink that leads out of the
// repository, and the file itself may not be a symlink at all, so that
// neither a read nor a write is redirected), and every write is atomic
// (temp file beside the target, fsync, rename, fsync of the directory:
// remote::LocalRemote::WriteFileAtomic), so a reader or a crash sees the
// old file or the new one, never half of one.
//
// Thread-safety: RepoFiles is immutable after Open; FileLock serializes
// read-modify-write cycles across threads and processes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::runlog {

class RepoFiles {
 public:
  // `repo`: an absolute, existing directory (resolved with realpath).
  static Result<RepoFiles> Open(const std::string& repo);

  // The absolute path of `rel` once checked; PermissionDenied (reason
  // path_outside_repo) when it would leave the repository.
  Result<std::string> Resolve(const std::string& rel) const;

  // The file's content, nullopt when it does not exist; ResourceExhausted
  // past `max_bytes` (a run log is a few kilobytes; a huge file there is
  // not one).
  Result<std::optional<std::string>> Read(const std::string& rel,
                                          size_t max_bytes = 4 << 20) const;

  // Replaces (or creates, with its directories) the file atomically.
  Status Write(const std::string& rel, std::string_view content) const;

  // Names of the regular files directly in directory `rel_dir` (sorted);
  // empty when it does not exist.
  Result<std::vector<std::string>> List(const std::string& rel_dir) const;

  const std::string& root() const { return root_; }

 private:
  explicit RepoFiles(std::string root) : root_(std::move(root)) {}
  std::string root_;  // realpath of the repository.
};

// An exclusive flock on a lock file, released on destruction (or by the
// kernel when the process dies).
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::string& path);
  FileLock(FileLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace hpc::runlog
