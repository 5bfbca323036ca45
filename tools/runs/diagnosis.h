// Why a job failed: one category with the evidence lines that show it and
// what to do next. Fed with the scheduler's final status and the tails of
// the job's logs; pure, so that every rule is unit-tested on log text
// shaped like real failures (tests/testdata/failures/).
//
// Categories, most specific first: gpu_oom, host_oom, nan_loss, nccl_error,
// import_error, file_not_found, permission_denied, disk_full, segfault,
// missing_log_dir, timeout, node_fail, preempted, cancelled, quick_death,
// unknown. A log line that proves a cause wins over the scheduler's state
// (a CUDA OOM makes the job FAILED, not OUT_OF_MEMORY); the scheduler's state
// wins where the log says nothing (TIMEOUT, NODE_FAIL, PREEMPTED). What a
// job prints while the scheduler kills it is a consequence, not a cause:
// under NODE_FAIL and PREEMPTED no log line overrides the state, under
// TIMEOUT and CANCELLED NCCL errors and crashes do not (nor does a SIGKILL's
// "Killed"); such lines are kept as one line of evidence. A Python
// traceback's final exception (launcher wrappers such as torchrun's
// ChildFailedError skipped) is the first evidence line when it shows the
// cause. `summary` and `remediation` name the values found (module, path,
// allocation size, uid, checkpoint, a longer time limit).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tools/cluster/job_state.h"
#include "tools/runs/metrics.h"

namespace hpc::runs {

struct DiagnosisInput {
  cluster::JobStatus status;               // Final state from the scheduler.
  std::optional<int64_t> elapsed_seconds;  // Start to end, when known.
  std::string stdout_tail, stderr_tail;    // Last lines (up to ~200 each).
  bool stdout_missing = false;             // The log file does not exist.
  bool log_dir_missing = false;            // Its directory does not exist.
  std::vector<MetricPoint> metrics;        // From the log, oldest first.
  std::string newest_checkpoint;           // Path, when one was found.
  std::string time_limit;                  // As requested ("04:00:00").
};

struct Diagnosis {
  std::string category;
  std::string summary;                // One line: what happened.
  std::vector<std::string> evidence;  // Up to 5 lines quoted from the logs
                                      // or the scheduler, each under 300 bytes.
  std::string remediation;            // What to do next.
  bool retryable = false;             // The same job may succeed as is
                                      // (node_fail, preempted, quick_death).
};

// The diagnosis of an ended job that did not complete; also called for a
// "completed" job whose log shows NaN loss (category nan_loss) — for any
// other completed job the category is "none".
Diagnosis Diagnose(const DiagnosisInput& input);

nlohmann::json ToJson(const Diagnosis& d);

}  // namespace hpc::runs
