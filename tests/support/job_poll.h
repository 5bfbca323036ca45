// Polls a Scheduler until jobs reach terminal states, for tests that run
// real jobs: every id of a test is submitted first, then all are polled
// together with one deadline, so slow cases overlap.
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tools/cluster/scheduler.h"

namespace hpc::testing {

// The last status of every id (array parents expand to their tasks), after
// all are terminal, or what was known when `deadline` passed or when
// `expected_rows` (if non-zero) statuses had not all become terminal. Polls
// at `interval`; queries that fail are retried until the deadline.
inline std::map<std::string, cluster::JobStatus> WaitTerminal(
    cluster::Scheduler& sched, const std::vector<std::string>& ids,
    std::chrono::seconds deadline,
    std::chrono::milliseconds interval = std::chrono::milliseconds(250),
    size_t expected_rows = 0) {
  std::map<std::string, cluster::JobStatus> last;
  const auto end = std::chrono::steady_clock::now() + deadline;
  // Bounded in count as well as time.
  const int max_polls = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline) /
          interval + 1);
  for (int i = 0; i < max_polls; ++i) {
    auto q = sched.Query(ids);
    if (q.ok()) {
      bool all = expected_rows == 0 || q->size() >= expected_rows;
      for (const auto& s : *q) {
        last[s.job_id] = s;
        all = all && cluster::IsTerminal(s.state);
      }
      if (all && !q->empty()) break;
    }
    if (std::chrono::steady_clock::now() >= end) break;
    std::this_thread::sleep_for(interval);
  }
  return last;
}

}  // namespace hpc::testing
