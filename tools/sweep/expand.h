// A sweep's tasks: one per parameter set of each phase, with everything a
// job needs already substituted, and the tasks each one waits for.
//
// Order, deterministic: phases as declared; in a phase, seeds slowest, then
// the grid's parameters by name with the last varying fastest (or the list
// in its order). Placeholders are replaced by plain string replacement
// inside each argv element (template.h): no value is ever read by a shell,
// so spaces, quotes, ';', '$(...)' and newlines arrive verbatim. Values
// also become environment variables (sweep.h ParamEnvName).
//
// Size is checked before anything is built: CountTasks multiplies list
// sizes, and ExpandSweep refuses a sweep above its ceiling with the count,
// so a million-task grid costs microseconds, not gigabytes. The tool asks
// for a confirmation below the ceiling, from CountTasks, as it sees fit.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mcp_server/status.h"
#include "tools/sweep/sweep.h"

namespace hpc::sweep {

// The most tasks one sweep may have, whatever the profile says: beyond it
// the journal, a poll and a summary stop being cheap.
inline constexpr uint64_t kMaxSweepTasks = 100000;

struct TaskCount {
  uint64_t total = 0;               // Saturating at UINT64_MAX.
  std::vector<uint64_t> per_phase;  // As Sweep::phases.
};
TaskCount CountTasks(const Sweep& sweep);

struct Task {
  std::string id;
  int phase = 0;     // Index into Sweep::phases.
  size_t index = 0;  // Position in its phase (${index}).
  std::vector<std::pair<std::string, std::string>> params;  // By name.
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;  // By name.
  std::vector<std::string> expected_outputs, preconditions;
  // The tasks this one waits for through a depends_on with match, as
  // indices into Expansion::tasks, ascending. A whole-phase depends_on
  // adds nothing here (it would be every task of that phase).
  std::vector<size_t> after;

  // The task's value of parameter `name`; nullptr when it has none.
  const std::string* Param(std::string_view name) const;
};

struct Expansion {
  struct Span {
    size_t first = 0, count = 0;
  };
  std::vector<Task> tasks;   // Phase by phase, as declared.
  std::vector<Span> phases;  // Where each phase's tasks are.
  std::unordered_map<std::string, size_t> by_id;
};

struct ExpandOptions {
  uint64_t max_tasks = kMaxSweepTasks;
  // Per-task dependency edges in all: a match on too few parameters makes
  // every task wait for thousands.
  uint64_t max_dependency_edges = 1000000;
};

// Every task, or the first problem found: above max_tasks
// (ResourceExhausted, reason sweep_too_large, before anything is built);
// two tasks with one id; an id unsafe in a file name; a path with control
// characters; a task whose match finds no task to wait for.
Result<Expansion> ExpandSweep(const Sweep& sweep,
                              const ExpandOptions& options = {});

// "12,345".
std::string FormatCount(uint64_t n);

}  // namespace hpc::sweep
