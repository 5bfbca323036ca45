// SHA-256 of files on this machine, with OpenSSL's EVP over every core.
//
// Files are hashed in parallel, one file per worker thread: SHA-256 is a
// chain over a file's blocks, so a single file cannot be split across
// cores, but the shards of a checkpoint can. Each worker streams its file
// through one fixed-size buffer, so memory stays at threads x buffer_bytes
// whatever the checkpoint's size. Largest files go first, so that one big
// shard left for last does not keep every other core idle.
//
// Thread-safety: functions are thread-safe; HashLocalFiles starts its own
// threads and joins them before it returns.
#pragma once

#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::checkpoint {

// Called with the bytes hashed so far and the total expected.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Whether `s` is 64 lower-case hex digits.
bool IsSha256Hex(std::string_view s);

struct HashTask {
  std::string path;   // Absolute; a symlink is refused (O_NOFOLLOW).
  uint64_t size = 0;  // As listed: for progress, and to notice a file
                      // that changed while it was read.
};

struct FileHash {
  std::string sha256;  // Empty when `error` is set.
  uint64_t bytes = 0;  // Bytes read.
  std::string error;   // Why this file could not be hashed.
};

struct HashOptions {
  int threads = 0;                // 0: one per core.
  size_t buffer_bytes = 1 << 20;  // Per thread.
  std::stop_token stop;           // Checked after every buffer.
  ProgressFn progress;            // From the calling thread, every
                                  // `progress_every_ms` and at the end.
  int progress_every_ms = 250;
};

// One FileHash per task, in the tasks' order. A file that cannot be opened
// or read, or whose size is not the listed size, gets an `error` and the
// others are still hashed. Cancelled when `stop` is requested.
Result<std::vector<FileHash>> HashLocalFiles(const std::vector<HashTask>& tasks,
                                             const HashOptions& options);

}  // namespace hpc::checkpoint
