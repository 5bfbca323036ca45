#include "tools/runs/cancel_wait.h"

#include <algorithm>
#include <condition_variable>
#include <iterator>
#include <mutex>
#include <set>

namespace hpc::runs {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Pauses between scheduler queries: quick at first (local cancels are
// immediate), then spaced out so a slow controller is not hammered.
constexpr int kQueryPausesMs[] = {500, 1000, 2000, 3000, 4000, 4500, 5000};
// Unconfirmed after this many queries (about 3.5 s): cancel again.
constexpr size_t kResendAfterQueries = 3;

}  // namespace

bool Pause(const std::stop_token& stop, milliseconds d) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  cv.wait_for(lock, stop, d, [] { return false; });
  return !stop.stop_requested();
}

std::string NativeStates(const std::vector<cluster::JobStatus>& statuses) {
  std::set<std::string> seen;
  std::string out;
  for (const auto& s : statuses) {
    std::string n = s.native_state.empty() ? cluster::JobStateName(s.state)
                                           : s.native_state;
    if (!seen.insert(n).second) continue;
    out += (out.empty() ? "" : ", ") + n;
    if (seen.size() == 4) break;
  }
  return out;
}

CancelVerification WaitEnded(mcp::RequestContext& ctx,
                             cluster::Scheduler& sched,
                             const std::vector<std::string>& ids) {
  CancelVerification v;
  const auto deadline = Clock::now() + kCancelVerifyBudget;
  const std::stop_token stop = ctx.stop_token();
  const size_t n = std::size(kQueryPausesMs);
  for (size_t i = 0;; ++i) {
    auto q = sched.Query(ids);
    if (q.ok()) {
      v.statuses = std::move(*q);
      v.ended = !v.statuses.empty() &&
                std::all_of(v.statuses.begin(), v.statuses.end(),
                            [](const cluster::JobStatus& s) {
                              return cluster::IsTerminal(s.state);
                            });
      if (v.ended) return v;
    } else {
      v.error = q.status();
    }
    if (i == kResendAfterQueries) (void)sched.Cancel(ids);
    const milliseconds pause(kQueryPausesMs[std::min(i, n - 1)]);
    if (Clock::now() + pause > deadline) return v;
    ctx.Progress(static_cast<double>(i + 1), std::nullopt,
                 "waiting for the scheduler to confirm that the jobs ended");
    if (!Pause(stop, pause)) return v;
  }
}

}  // namespace hpc::runs
