// The hpc-mcp tool set: the one place that lists every tool, prompt and
// resource the product binary serves.
//
// Adding a tool: write schemas/tools/<name>.json and tools/<name>.cc (with a
// Register<Name> function), add one line to RegisterAll in registry.cc, and
// add tests/tools/<name>_test.cc. A test checks that the four sets of names
// agree.
#pragma once

#include "mcp_server/assets.h"
#include "mcp_server/server.h"
#include "mcp_server/status.h"

namespace hpc::tools {

// The product's embedded files: schemas/, prompts/, cluster_profiles/.
mcp::AssetTable HpcAssets();  // Generated at build time.

// The server's identity and instructions (prompts/instructions.md).
mcp::ServerOptions DefaultServerOptions();

// Registers every tool, prompt and resource of hpc-mcp.
Status RegisterAll(mcp::Server& server);

// One per tool, defined in tools/<name>.cc, alphabetically.
Status RegisterPreflight(mcp::Server& server);

}  // namespace hpc::tools
