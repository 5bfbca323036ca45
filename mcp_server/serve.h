// The command line shared by every binary built on mcp_server: flags,
// logging, signals, and the choice of transport.
//
//   BIN [--stdio | --http] [--host H] [--port N] [--port-file F]
//       [--auth-token-file F] [--allow-origin O]... [--log-level L] ...
//
// `register_all` adds the binary's tools, prompts and resources; if it
// fails (a missing or invalid schema, say) the process exits with status 2
// before serving anything.
#pragma once

#include <functional>

#include "mcp_server/server.h"
#include "mcp_server/status.h"

namespace hpc::mcp {

int ServeMain(int argc, char** argv, ServerOptions defaults,
              const std::function<Status(Server&)>& register_all);

}  // namespace hpc::mcp
