#include "tools/cluster/job_state.h"

#include <catch2/catch.hpp>

namespace hpc::cluster {
namespace {

TEST_CASE("job state names round-trip", "[unit][cluster]") {
  for (JobState s :
       {JobState::kPending, JobState::kRunning, JobState::kCompleted,
        JobState::kFailed, JobState::kCancelled, JobState::kTimeout,
        JobState::kOutOfMemory, JobState::kNodeFail, JobState::kPreempted,
        JobState::kUnknown}) {
    auto back = ParseJobState(JobStateName(s));
    REQUIRE(back.has_value());
    CHECK(*back == s);
  }
  CHECK(std::string(JobStateName(JobState::kOutOfMemory)) == "out_of_memory");
  CHECK_FALSE(ParseJobState("RUNNING").has_value());
  CHECK_FALSE(ParseJobState("").has_value());
}

TEST_CASE("terminal states", "[unit][cluster]") {
  CHECK_FALSE(IsTerminal(JobState::kPending));
  CHECK_FALSE(IsTerminal(JobState::kRunning));
  CHECK_FALSE(IsTerminal(JobState::kUnknown));  // Accounting may still tell.
  for (JobState s : {JobState::kCompleted, JobState::kFailed,
                     JobState::kCancelled, JobState::kTimeout,
                     JobState::kOutOfMemory, JobState::kNodeFail,
                     JobState::kPreempted})
    CHECK(IsTerminal(s));
}

}  // namespace
}  // namespace hpc::cluster
