// MCP over stdio: newline-delimited JSON-RPC on a pair of file descriptors.
//
// stdout carries protocol messages only; logs go to stderr (see logging.h).
// The transport exits when its input reaches EOF (after letting requests in
// flight finish, up to a grace period) or when `stop_fd` becomes readable
// (the signal handler writes to it on SIGTERM/SIGINT).
#pragma once

#include <chrono>
#include <cstddef>

#include "mcp_server/server.h"

namespace hpc::mcp {

struct StdioOptions {
  int in_fd = 0;
  int out_fd = 1;
  int stop_fd = -1;  // Readable means: stop now.
  std::chrono::milliseconds eof_grace{5000};
  size_t max_message_bytes = 16 << 20;
};

// Serves one session until EOF or stop. Returns the process exit code.
int ServeStdio(Server& server, const StdioOptions& options);

}  // namespace hpc::mcp
