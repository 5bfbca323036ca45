#include "tools/cluster/job_state.h"

#include <array>
#include <utility>

namespace hpc::cluster {
namespace {

// One row per state; the order of the enum, so JobStateName can index.
constexpr std::array<std::pair<JobState, const char*>, 10> kNames = {{
    {JobState::kPending, "pending"},
    {JobState::kRunning, "running"},
    {JobState::kCompleted, "completed"},
    {JobState::kFailed, "failed"},
    {JobState::kCancelled, "cancelled"},
    {JobState::kTimeout, "timeout"},
    {JobState::kOutOfMemory, "out_of_memory"},
    {JobState::kNodeFail, "node_fail"},
    {JobState::kPreempted, "preempted"},
    {JobState::kUnknown, "unknown"},
}};

}  // namespace

const char* JobStateName(JobState s) {
  for (const auto& [state, name] : kNames)
    if (state == s) return name;
  return "unknown";
}

std::optional<JobState> ParseJobState(std::string_view name) {
  for (const auto& [state, n] : kNames)
    if (name == n) return state;
  return std::nullopt;
}

bool IsTerminal(JobState s) {
  switch (s) {
    case JobState::kPending:
    case JobState::kRunning:
    case JobState::kUnknown:  // May still turn up in accounting.
      return false;
    default:
      return true;
  }
}

}  // namespace hpc::cluster
