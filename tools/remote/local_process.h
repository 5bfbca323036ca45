// Runs one local program with posix_spawn (no shell) and collects its output:
// the process behind LocalRemote::Run and, through it, every `ssh` that
// OpenSshRemote starts.
//
// The child gets a new session (and so its own process group), default signal
// dispositions and an empty signal mask, whatever the server set for itself.
// On timeout the whole process group is killed with SIGKILL, so helpers the
// command started die with it (unless they made their own session).
//
// Thread-safety: RunProcess may be called from many threads at once. It
// reaps only its own child (waitpid on that pid).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/remote/remote.h"

namespace hpc::remote {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH.
  std::string stdin_data;         // Written, then stdin is closed.
  std::chrono::milliseconds timeout{60000};
  size_t max_output = 1 << 20;  // Per stream; the rest is read and dropped.
  std::string cwd;              // Empty: ours.
  std::map<std::string, std::string> env;  // Added to (or replacing in) ours.
};

// The program's exit status and output. Errors: command_failed when it could
// not be started (missing program, bad cwd: the message says which), timeout
// when it ran past spec.timeout (it was killed), io_error for pipe failures.
// REQUIRES: spec.argv is non-empty and has no NUL bytes (ValidateRun).
Result<CommandResult> RunProcess(const ProcessSpec& spec);

}  // namespace hpc::remote
