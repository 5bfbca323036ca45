// The hpc-mcp tool set: the one place that lists every tool, prompt and
// resource the product binary serves.
//
// Adding a tool: write schemas/tools/<name>.json and tools/<name>.cc (with a
// Register<Name> function), add one line to RegisterAll in registry.cc, and
// add tests/tools/<name>_test.cc. A test checks that the four sets of names
// agree.
#pragma once

#include "mcp_server/assets.h"
#include "mcp_server/schema.h"
#include "mcp_server/serve.h"
#include "mcp_server/server.h"
#include "mcp_server/status.h"

namespace hpc::tools {

// The product's embedded files: schemas/, prompts/, cluster_profiles/.
mcp::AssetTable HpcAssets();  // Generated at build time.

// The embedded schema at `path` ("schemas/cluster_profile.json"), compiled
// once per process. Aborts if it is missing or does not compile: that is a
// build defect, the schemas ship inside the binary.
const mcp::JsonSchema& HpcSchema(const std::string& path);

// The server's identity and instructions (prompts/instructions.md), the
// audit of mutating calls (runs/audit.h) and the redaction of every tool
// result (mcp_server/redact.h).
mcp::ServerOptions DefaultServerOptions();

// hpc-mcp's own flags (--state-dir).
std::vector<mcp::AppFlag> AppFlags();

// Registers every tool, prompt and resource of hpc-mcp.
Status RegisterAll(mcp::Server& server);

// One per tool, defined in tools/<name>.cc, alphabetically.
Status RegisterCancel(mcp::Server& server);
Status RegisterListRuns(mcp::Server& server);
Status RegisterPoll(mcp::Server& server);
Status RegisterPreflight(mcp::Server& server);
Status RegisterResubmitFailed(mcp::Server& server);
Status RegisterSignCheckpoint(mcp::Server& server);
Status RegisterSubmit(mcp::Server& server);
Status RegisterSubmitSweep(mcp::Server& server);
Status RegisterSyncWandb(mcp::Server& server);
Status RegisterTailLog(mcp::Server& server);
Status RegisterVerifyCheckpoint(mcp::Server& server);
Status RegisterWaitForRuns(mcp::Server& server);
Status RegisterWriteRunLog(mcp::Server& server);

}  // namespace hpc::tools
