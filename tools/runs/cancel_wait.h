// After a cancel: asking the scheduler until it confirms that the jobs
// ended, bounded, and naming how they ended.
#pragma once
#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

#include "mcp_server/tool.h"
#include "tools/cluster/scheduler.h"

namespace hpc::runs {

// Long enough for scancel/qdel and the wrapper's SIGTERM grace to take
// effect, short enough for an agent to wait on; what is not confirmed by
// then is poll's to record.
inline constexpr auto kCancelVerifyBudget = std::chrono::seconds(20);

struct CancelVerification {
  bool ended = false;  // Every task terminal, per the scheduler.
  std::vector<cluster::JobStatus> statuses;  // The last answer.
  Status error;                              // The last failed query.
};

// Asks the scheduler about `ids` until every task has ended, the budget is
// spent, or the request is cancelled, with progress notifications. Jobs
// still alive after a few seconds are sent the cancel once more: a signal
// can be lost when it reaches a job in the middle of starting (the local
// wrapper between its last cancel check and the script's start), and every
// backend accepts a repeated cancel of the same ids.
CancelVerification WaitEnded(mcp::RequestContext& ctx,
                             cluster::Scheduler& sched,
                             const std::vector<std::string>& ids);

// The distinct native states of `statuses` ("CANCELLED by 1001"), at most
// a few: a thousand-task array must not make a thousand-word event.
std::string NativeStates(const std::vector<cluster::JobStatus>& statuses);

// Sleeps for `d` unless `stop` is requested first; false if it was.
bool Pause(const std::stop_token& stop, std::chrono::milliseconds d);

}  // namespace hpc::runs
