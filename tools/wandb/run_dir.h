// W&B run directories where they lie (this machine or a cluster, through
// the Remote seam): finding them, measuring them, and reading their own
// files without network.
//
// An offline run directory, as wandb writes it:
//   <training dir>/wandb/offline-run-<yyyymmdd_hhmmss>-<id>/
//     run-<id>.wandb        the transaction log: history, summary, config,
//                           console output; `wandb sync` replays it
//     run-<id>.wandb.synced written by `wandb sync --mark-synced`
//     files/                wandb-summary.json, config.yaml,
//                           wandb-metadata.json, output.log, media/...:
//                           uploaded by the sync
//     logs/, tmp/           debug logs and scratch: not uploaded
// (online runs use run-<yyyymmdd_hhmmss>-<id>/ and sync the same way).
// Transient artifact staging (copies of files logged as artifacts, kept
// until an upload) collects under an `artifacts/staging` directory: inside
// the run directory, or in the data directory of the training dir
// (<training dir>/wandb_data/artifacts/staging, when WANDB_DATA_DIR pointed
// there). It can dwarf the run itself.
//
// Listings come from one `find -P` on the machine (GNU find; symlinks are
// listed, never followed), so a directory of thousands of files costs one
// round trip.
//
// Thread-safety: functions over values and a thread-safe Remote.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/remote/read_file.h"
#include "tools/remote/remote.h"

namespace hpc::wandb {

struct Entry {
  char type = 'f';    // find's %y: f file, d directory, l symlink, ...
  uint64_t size = 0;  // Bytes (of the link itself for a symlink).
  std::string rel;    // Path relative to the walked root.
};

struct Listing {
  std::vector<Entry> entries;
  bool truncated = false;  // More entries than could be listed.
};

// Everything under `root` (absolute, a directory), at most `max_depth`
// levels down (0: no limit). NotFound when `root` does not exist.
Result<Listing> Walk(remote::Remote& remote, const std::string& root,
                     int max_depth = 0);

// Parses find's "-printf '%y\t%s\t%P\0'" output (exposed for tests).
Listing ParseFindOutput(std::string_view out, bool truncated);

struct RunDir {
  std::string path;        // Absolute.
  std::string wandb_id;    // From run-<id>.wandb.
  std::string wandb_file;  // Absolute path of run-<id>.wandb.
  uint64_t wandb_bytes = 0;
  bool offline = false;  // The directory is named offline-run-*.
  bool synced = false;   // run-<id>.wandb.synced exists.
  std::string started;   // "2026-03-11T15:00:00" from the name; "" if none.
};

// The run directories of a listing of `root` (run-<id>.wandb files and
// their directories), sorted by path (and so by start time).
std::vector<RunDir> FindRunDirs(const Listing& listing,
                                const std::string& root);

struct Staging {
  std::string path;  // Absolute directory.
  uint64_t bytes = 0;
  size_t files = 0;
  std::string scope;  // "run" (inside the run dir) or "data_dir" (shared by
                      // every run whose WANDB_DATA_DIR it is).
};

struct Inventory {
  RunDir run;
  uint64_t total_bytes = 0;
  size_t total_files = 0;
  uint64_t upload_bytes = 0;  // The transaction log and files/ outside staging.
  size_t upload_files = 0;
  std::vector<Entry> largest_uploads;  // Up to 10, largest first.
  uint64_t other_bytes = 0;            // logs/, tmp/, ...: not uploaded.
  std::vector<Staging> staging;        // Inside the run dir (scope "run").
  uint64_t staging_bytes = 0;          // Of every entry of `staging`.
  bool truncated = false;
};

// Measures run directory `path` from its listing. FailedPrecondition (reason
// not_a_run_dir) unless it holds exactly one run-<id>.wandb (what
// `wandb sync` requires; it skips other directories).
Result<Inventory> TakeInventory(const Listing& listing,
                                const std::string& path);

// The directory wandb was started from: the parent of the `wandb/` that
// holds `run_dir`, else the run dir's parent.
std::string TrainingDir(const std::string& run_dir);

// "[default]" keys of a wandb settings file (wandb/settings, INI).
nlohmann::json ParseSettings(std::string_view text);

// The run's own files, for action read. `keys` limits history to those
// metrics (all when empty); each series keeps at most `max_points`,
// spread evenly and always with the first and last.
struct ReadOptions {
  std::vector<std::string> keys;
  size_t max_points = 50;
  size_t max_keys = 64;
  uint64_t max_log_bytes = 64ull << 20;  // Of run-<id>.wandb read.
};
Result<nlohmann::json> ReadRunFiles(remote::Remote& remote,
                                    const Inventory& inv,
                                    const ReadOptions& options);

// Series of numeric metrics from history rows: {key: {count, first, last,
// min, max, points: [[step, value]...]}}, keys starting with '_' left out.
// Non-finite values appear as strings in points and are counted in
// `non_finite`. Exposed for tests.
nlohmann::json Curves(const std::vector<nlohmann::json>& rows,
                      const ReadOptions& options);

// tools/remote/read_file.h, under the name this module's tests call it by.
using remote::ReadWhole;

}  // namespace hpc::wandb
