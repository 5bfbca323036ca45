// One poll of a repository's runs: the logic behind `poll` and
// `wait_for_runs` (and the patrol, later), so that every caller writes the
// same journal events from the same evidence.
//
// A poll (1) adopts runs left `submitting` whose job exists, (2) asks each
// cluster once for every job of the selected runs, through the shared query
// cache (query_cache.h), (3) for a running run reads only the log bytes
// written since its cursor, extracts metrics and runs the health checks,
// (4) diagnoses a run that ended without success from its log tails, and
// (5) journals what changed: state_changed, progress (when the step moved,
// at most once a minute), health (when a status changed), diagnosed.
//
// Thread-safety: PollRuns may run concurrently for one repository; each
// event it appends is checked against the latest table first, so two
// pollers do not journal the same change twice (at worst a progress event).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/remote/remote.h"
#include "tools/runs/diagnosis.h"
#include "tools/runs/store.h"

namespace hpc::runs {

struct PollRequest {
  std::vector<std::string> run_ids;  // Empty: every active run.
  bool has_since = false;
  uint64_t since = 0;                // Journal sequence of the cursor.
};

struct PollOutcome {
  // Per run: run_id, name, profile, state, native_state, elapsed_s,
  // time_limit_s, exit_code, job_ids, tasks, progress, health, diagnosis,
  // changed (since the cursor; true for all without one).
  std::vector<nlohmann::json> runs;
  uint64_t seq = 0;                   // For the next cursor.
  std::vector<std::string> errors;    // Per-profile failures (unreachable
                                      // cluster): the other runs are served.
  std::vector<std::string> problems;  // The journal's.
  std::vector<std::string> changed;   // Runs this poll journaled a change to.
};

Result<PollOutcome> PollRuns(RunStore& store, const PollRequest& req);

// What a diagnosis reads of an ended job: the last lines of its stdout and
// stderr (`err` may equal `out`), whether the log or its directory is
// missing, and the metrics in those lines. The caller fills in the rest.
DiagnosisInput ReadEvidence(remote::Remote& remote, const std::string& out,
                            const std::string& err);

// The per-run JSON PollRuns reports, from the journal alone (no scheduler).
nlohmann::json RunJson(const Run& run, uint64_t since, bool has_since);

}  // namespace hpc::runs
