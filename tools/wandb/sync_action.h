// The sync action of sync_wandb: everything between a measured run
// directory and a journaled URL. Measures the shared staging beside the run,
// finds the token, names the defaults the run's own files would pick (so
// the agent can tell the user what is overridden), and for a real sync
// prunes staging (when asked), runs `wandb sync` with a progress heartbeat,
// parses and redacts its output, and appends `linked` {kind: wandb} to the
// run that holds the directory.
//
// Thread-safety: one call per tool request; see the members' own notes.
#pragma once

#include <nlohmann/json.hpp>

#include "mcp_server/status.h"
#include "mcp_server/tool.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/run.h"
#include "tools/runs/store.h"
#include "tools/wandb/run_dir.h"

namespace hpc::wandb {

// `args` are sync_wandb's validated arguments (defaults applied); `run` the
// journal's run the directory belongs to, or null (then nothing is linked).
// Returns sync_wandb's structured answer for action sync.
Result<nlohmann::json> SyncAction(mcp::RequestContext& ctx,
                                  const nlohmann::json& args,
                                  runs::Cluster& cluster, Inventory inv,
                                  runs::RunStore& store, const runs::Run* run);

// "12.3 MiB".
std::string Mib(uint64_t bytes);

}  // namespace hpc::wandb
