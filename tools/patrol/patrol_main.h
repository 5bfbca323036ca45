// `hpc-mcp patrol`: the command line of the patrol (patrol.h).
//
//   hpc-mcp patrol [--repo DIR]... [--every DURATION] [--notify-config FILE]
//                  [--state-dir DIR] [--log-level LEVEL]
//
// Without --every: one pass, for cron; exit status 0 when every repository
// was patrolled (failed notifications included: they are logged and
// journaled), 1 when one could not be read, 2 for a bad command line or
// notify config. With --every: a pass every DURATION until SIGTERM or
// SIGINT (exit 0), whatever the passes meet. Logs go to stderr.
#pragma once

namespace hpc::tools {

// `argv[0]` is "patrol".
int PatrolMain(int argc, char** argv);

}  // namespace hpc::tools
