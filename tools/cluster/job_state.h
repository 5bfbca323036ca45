// The normalized job states every scheduler backend maps its own onto,
// keeping the native string beside them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hpc::cluster {

enum class JobState {
  kPending,      // Queued, held, or waiting on a dependency or begin time.
  kRunning,      // Started (includes completing, suspended).
  kCompleted,    // Ended with exit code 0.
  kFailed,       // Ended non-zero, or could not launch.
  kCancelled,    // Cancelled by a user or an admin.
  kTimeout,      // Killed at its time limit.
  kOutOfMemory,  // Killed for exceeding its memory.
  kNodeFail,     // Lost with its node.
  kPreempted,    // Evicted by a higher-priority job.
  kUnknown,      // Not in the queue and no record says how it ended (yet).
};

// "pending", "running", ... as they appear on the wire.
const char* JobStateName(JobState s);
std::optional<JobState> ParseJobState(std::string_view name);
// Terminal states never change again (unknown is not terminal).
bool IsTerminal(JobState s);

struct JobStatus {
  std::string job_id;        // As the scheduler prints it ("123", "7_3", "8.2").
  JobState state = JobState::kUnknown;
  std::string native_state;  // "CANCELLED by 1001", "Eqw", ...
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string reason;        // Pending reason or failure detail.
  std::optional<int64_t> start_time, end_time;  // Epoch seconds.
  std::string nodes;
};

}  // namespace hpc::cluster
