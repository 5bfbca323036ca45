// Runs and their logs as MCP resources:
//   hpc://runs/{run_id}               the run as poll reports it (JSON)
//   hpc://runs/{run_id}/log/{stream}  the last 200 lines of stdout|stderr
// Subscribers get notifications/resources/updated for both whenever a
// poll or wait_for_runs (in any session of this server) journals a change
// to the run (NotifyRunChanged).
#pragma once

#include "mcp_server/server.h"
#include "mcp_server/status.h"
#include "mcp_server/tool.h"

namespace hpc::runs {

Status AddRunResources(mcp::Server& server);

// Tells the subscribers of run `run_id`'s resources that it changed.
void NotifyRunChanged(mcp::RequestContext& ctx, const std::string& run_id);

}  // namespace hpc::runs
