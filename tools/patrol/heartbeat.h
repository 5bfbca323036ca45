// heartbeat.md: the short digest an agent or a person reads first at cold
// start, at <state dir>/heartbeat.md (normally <repo>/.hpc-mcp/heartbeat.md).
// Every patrol pass rewrites it whole (temp file, then rename: a reader
// sees the previous digest or the new one, never half of one).
//
// Sections, each a few lines at most:
//   Needs attention   runs that failed and health checks that failed since
//                     the last read, each with its diagnosis, the first
//                     evidence line and what to do
//   Changed since     one line per run that changed since the last read:
//                     its states in order
//   Active            one line per active run: state, runtime, step, metric,
//                     health
//   Notifications     notices claimed since the last read: sent, failed or
//                     still on their way, per channel
//   Errors            clusters that could not be reached, journal problems
//                     (only when there are some)
// "The last read" is the read mark (runs/read_mark.h) that poll and
// wait_for_runs move; the patrol never does, so a change stays listed until
// an agent has been answered after it.
//
// Thread-safety: pure functions, and a write that concurrent writers may
// race (the last rename wins, each file whole).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/runs/read_mark.h"
#include "tools/runs/run.h"
#include "tools/runs/store.h"

namespace hpc::patrol {

struct HeartbeatInput {
  std::string repo;
  const runs::RunTable* table = nullptr;  // REQUIRES: not null.
  std::vector<nlohmann::json> runs;       // The poll's run views (poller.h).
  std::vector<std::string> errors;        // The poll's and the patrol's.
  std::optional<runs::ReadMark> read;
  std::string notify_config;  // The config file in use; empty: none.
  std::string by;             // "patrol 4242@login1".
  int64_t now = 0;            // Unix seconds.
};

// Lines listed per section at most; the rest is counted.
inline constexpr size_t kMaxLines = 20;

std::string RenderHeartbeat(const HeartbeatInput& in);

// Writes `text` to <state dir>/heartbeat.md atomically.
Status WriteHeartbeat(const runs::RunStore& store, const std::string& text);

}  // namespace hpc::patrol
