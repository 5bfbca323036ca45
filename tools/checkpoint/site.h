// Where a checkpoint's files are, and the two things done there: list the
// tree (without following symlinks) and hash files. Hashing runs on the
// machine that holds the files, so no checkpoint byte crosses the network:
//   LocalSite   this machine: POSIX listing, OpenSSL over every core
//               (sha256.h).
//   RemoteSite  a cluster over the Remote seam: `find -printf` lists the
//               tree, `sha256sum` hashes it there, a few batches at a time.
// Remote commands are argv vectors and run outside the login shell
// (coreutils and findutils need no module loads). sha256sum follows
// symlinks where LocalSite's O_NOFOLLOW refuses them: callers hash only
// what List showed as regular files, and sign re-lists after hashing; a
// file swapped for a link between the two on the cluster is not caught.
//
// Thread-safety: a Site may be used from one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/checkpoint/sha256.h"
#include "tools/remote/remote.h"

namespace hpc::checkpoint {

enum class EntryType { kFile, kDir, kSymlink, kOther };

struct Entry {
  std::string path;  // Relative to the root, '/'-separated, never empty.
  EntryType type = EntryType::kFile;
  uint64_t size = 0;
  int64_t mtime = 0;        // Seconds since the epoch.
  std::string link_target;  // Symlinks only: the target as stored.
};

struct Tree {
  std::string root;
  std::vector<Entry> entries;  // Sorted by path; the root itself excluded.
  const Entry* Find(const std::string& path) const;
};

// The most entries a listing may hold (ResourceExhausted beyond).
inline constexpr size_t kMaxEntries = 1000000;

class Site {
 public:
  virtual ~Site() = default;

  // Every entry under `root` (a directory, or a symlink to one), without
  // following symlinks below it. NotFound when `root` does not exist,
  // InvalidArgument when it is not a directory.
  virtual Result<Tree> List(const std::string& root) = 0;

  // The SHA-256 of each file (absolute paths; sizes as listed), in order.
  // Per-file failures are set in FileHash::error; a Status error means the
  // site could not be asked at all, or `stop` was requested.
  virtual Result<std::vector<FileHash>> Hash(const std::vector<HashTask>& files,
                                             const ProgressFn& progress,
                                             std::stop_token stop) = 0;

  // The site's clock, in seconds since the epoch: file ages are measured
  // against the clock that stamped the files.
  virtual Result<int64_t> Now() = 0;

  // "this machine (OpenSSL, 2 threads)", "the cluster (sha256sum)".
  virtual std::string Describe() const = 0;
};

// `threads` 0: one per core.
std::unique_ptr<Site> MakeLocalSite(int threads = 0);
// `parallel`: how many sha256sum commands run at once (a login node is
// shared: keep it small).
std::unique_ptr<Site> MakeRemoteSite(std::shared_ptr<remote::Remote> remote,
                                     int parallel = 2);

// Parses `find -printf '%y\0%s\0%T@\0%P\0%l\0'` output (the root's own
// record, with an empty %P, is dropped after its type is checked). Exposed
// for tests.
Result<Tree> ParseFindOutput(const std::string& root, const std::string& out);

}  // namespace hpc::checkpoint
