// The runs of one repository: its journal (<repo>/.hpc-mcp/journal.jsonl,
// or under --state-dir), the table replayed from it, and the lock that
// makes submits to the repository one at a time across processes.
//
// The table is kept per process and brought up to date on each Load by
// reading only the events appended since the last one (Journal::ReadFrom),
// so a poll over a long-lived repository replays nothing twice. Another
// process's appends are seen on the next Load.
//
// Thread-safety: RunStore is thread-safe; ForRepo returns one store per
// state directory per process, and records the repository in the user's
// list of repositories (repo_registry.h) the first time.
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/journal/journal.h"
#include "tools/runs/run.h"

namespace hpc::runs {

// Where every repository's state goes instead of <repo>/.hpc-mcp (the
// server's --state-dir flag); empty: per repository.
void SetStateDirOverride(std::string dir);

// The state directory of `repo` (an absolute directory): <repo>/.hpc-mcp,
// or the override. Creates nothing.
std::string StateDirFor(const std::string& repo);

// An exclusive flock on a lock file of the state directory (submit.lock,
// notify.lock), released on destruction (and by the kernel if the process
// dies). flock locks belong to the open file, so two threads of one process
// exclude each other as two processes do.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {}
  FileLock(FileLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  int fd_;
};
using SubmitLock = FileLock;

class RunStore {
 public:
  // The store of `repo` (an absolute directory).
  static Result<std::shared_ptr<RunStore>> ForRepo(const std::string& repo);

  // Every store this process has opened, then the store of the server's
  // working directory: where a run id without a repository (an MCP
  // resource URI) is looked up.
  static std::vector<std::shared_ptr<RunStore>> Known();

  // The table as of now (a snapshot; later appends do not change it).
  Result<std::shared_ptr<const RunTable>> Load();

  // Appends one event (fsync'ed before it returns) and applies it.
  Status Append(const std::string& run, const std::string& name, nlohmann::json context);

  // Blocks until this process holds the repository's submit lock.
  Result<SubmitLock> LockSubmits();
  // The lock if free now; FailedPrecondition (reason busy) if another
  // holder has it.
  Result<SubmitLock> TryLockSubmits();
  // Blocks until this process holds <state dir>/`name` (a lock file of its
  // own, such as notify.lock; never the journal or submit.lock's purpose).
  Result<FileLock> LockFile(const std::string& name);

  // The opaque poll cursor for `seq` ("<seq>.<journal id>"), and back.
  // InvalidArgument for a cursor that is malformed or from another journal.
  std::string MakeCursor(uint64_t seq) const;
  Result<uint64_t> ParseCursor(const std::string& cursor) const;

  // The journal's short identity, as cursors carry it (8 hex digits);
  // empty before the first Load.
  std::string journal_id();

  const std::string& repo() const { return repo_; }
  const std::string& state_dir() const { return state_dir_; }
  const std::string& journal_path() const { return journal_.path(); }

 private:
  RunStore(std::string repo, std::string state_dir, journal::Journal j)
      : repo_(std::move(repo)), state_dir_(std::move(state_dir)), journal_(std::move(j)) {}
  Status CatchUpLocked();
  Result<FileLock> Lock(const std::string& name, bool wait);

  const std::string repo_, state_dir_;
  journal::Journal journal_;
  std::mutex mu_;
  std::shared_ptr<const RunTable> table_ = std::make_shared<RunTable>();
  uint64_t offset_ = 0;
  std::string journal_id_;  // Derived from the header's id; guarded by mu_.
};

}  // namespace hpc::runs
