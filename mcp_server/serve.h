// The command line shared by every binary built on mcp_server: flags,
// logging, signals, and the choice of transport.
//
//   BIN [--stdio | --http] [--host H] [--port N] [--port-file F]
//       [--auth-token-file F] [--allow-origin O]... [--log-level L]
//       [--read-only] ...
//
// `register_all` adds the binary's tools, prompts and resources; if it
// fails (a missing or invalid schema, say) the process exits with status 2
// before serving anything.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "mcp_server/server.h"
#include "mcp_server/status.h"

namespace hpc::mcp {

// A flag of the binary built on the core (the core knows none of its
// meaning): `--name VALUE` calls `set(VALUE)` before anything is
// registered; a non-OK status exits with 2 and its message.
struct AppFlag {
  std::string name;        // "--state-dir"
  std::string value_name;  // "DIR"
  std::string help;        // One line for --help.
  std::function<Status(const std::string&)> set;
};

// Logging as every command of the binary does it: spdlog's default logger
// writes to stderr only (on stdio, stdout carries protocol messages and
// nothing else), each line through the redaction pass (redact.h).
// `level_name` empty: $HPC_MCP_LOG_LEVEL, else info. InvalidArgument for an
// unknown level.
Status SetUpLogging(std::string level_name);

int ServeMain(int argc, char** argv, ServerOptions defaults,
              const std::function<Status(Server&)>& register_all,
              const std::vector<AppFlag>& app_flags = {});

}  // namespace hpc::mcp
