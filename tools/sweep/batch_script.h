// The batch script of one sweep batch: one scheduler array whose element
// `base + i` runs task i of the batch. Everything a task needs (its argv,
// environment, preconditions and expected outputs) is written into a
// `case` on the element, each value quoted by remote::ShellQuote (the one
// quoting function), so no parameter value is ever read by a shell.
//
// What a task does, in order: create the log and exit directories; select
// its settings; cd to its workdir; wait up to precondition_wait_seconds for
// each precondition (a shared filesystem may show a fresh file late), else
// exit kPreconditionMissingExit saying which; run the command; on exit 0
// check every expected output, else exit kOutputMissingExit saying which;
// record its exit code in <exit_dir>/<element>.exit. The last two exit
// codes and their "hpc-mcp: ..." lines are how the driver tells them from
// the command's own failures.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "tools/sweep/expand.h"

namespace hpc::sweep {

inline constexpr int kOutputMissingExit = 65;
inline constexpr int kPreconditionMissingExit = 66;
inline constexpr char kPreconditionMissingLine[] = "hpc-mcp: precondition missing: ";
inline constexpr char kOutputMissingLine[] = "hpc-mcp: expected output missing: ";

struct BatchScript {
  std::string sweep_id, batch_id, kind, tag, phase;
  std::string workdir;            // Absolute.
  std::vector<std::string> dirs;  // Created first.
  std::string exit_dir;
  int base = 0;                   // Element of the first task.
  int precondition_wait_seconds = 30;
  std::vector<const Task*> tasks;  // Element base + i runs tasks[i].
  // The aggregate: run `command` once (no tasks), then check `outputs`.
  std::vector<std::string> command, outputs;
};

std::string RenderBatchScript(const BatchScript& b);

}  // namespace hpc::sweep
