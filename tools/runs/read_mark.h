// Where an agent last looked: <state dir>/heartbeat.read holds the journal
// sequence number that the latest `poll` or `wait_for_runs` answered with
// ({"seq": 120, "journal": "<journal id>", "at": "<UTC time>"}). The patrol
// reads it to write heartbeat.md's "Changed since" and never moves it, so
// the digest always says what happened since an agent last saw the runs.
//
// The mark only moves forward. Two agents answering at the same moment may
// leave the smaller of their two sequence numbers (no lock is taken); the
// cost is a change listed once more, never one left out.
//
// Thread-safety: functions may be called concurrently, also by several
// processes (the file is replaced by rename).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "mcp_server/status.h"
#include "tools/runs/store.h"

namespace hpc::runs {

struct ReadMark {
  uint64_t seq = 0;
  std::string at;  // When the agent was answered.
};

// Records that an agent was answered with the journal as of `seq`. An error
// is for the log only: answering the agent never depends on it.
Status MarkRead(RunStore& store, uint64_t seq);

// The mark of the store's journal; nullopt when no agent has looked yet (or
// the mark belongs to a journal that was replaced).
std::optional<ReadMark> LoadReadMark(RunStore& store);

}  // namespace hpc::runs
