// resubmit_failed: re-runs only the failed or missing tasks of a sweep
// (tools/sweep/launcher.h ResubmitFailed); this file is the tool's edge.
#include "mcp_server/registration.h"
#include "tools/registry.h"
#include "tools/sweep/launcher.h"
#include "tools/workspace/repo.h"

namespace hpc::tools {
namespace {

using nlohmann::json;

Result<mcp::ToolResult> ResubmitFailed(mcp::RequestContext& ctx, const json& args) {
  auto repo = workspace::ResolveRepo(ctx, args);
  if (!repo.ok()) return repo.status();
  auto store = runs::RunStore::ForRepo(*repo);
  if (!store.ok()) return store.status();
  sweep::ResubmitRequest req;
  req.sweep_id = args["sweep_id"];
  req.tasks = args.value("tasks", std::vector<std::string>{});
  req.dry_run = args.value("dry_run", false);
  auto table = (*store)->Load();
  if (!table.ok()) return table.status();
  auto it = (*table)->runs.find(req.sweep_id);
  if (it == (*table)->runs.end() || !it->second.sweep)
    return NotFound("sweep " + req.sweep_id + " is not in the journal of " + *repo +
                    "; list_runs shows this repository's runs and sweeps");
  auto cluster = runs::OpenCluster(it->second.profile, *repo);
  if (!cluster.ok()) return cluster.status();
  auto out = sweep::ResubmitFailed(**store, **cluster, req);
  if (!out.ok()) return out.status();
  const json& o = *out;
  std::string text = std::string(req.dry_run ? "dry run: would resubmit " : "resubmitted ") +
                     std::to_string(o["resubmitted"].get<int64_t>()) + " tasks of sweep " +
                     req.sweep_id + "; " + std::to_string(o["found_complete"].get<int64_t>()) +
                     " found complete (outputs exist); " +
                     std::to_string(o["waiting_for_dependencies"].get<int64_t>()) +
                     " wait for their dependencies.";
  if (o.value("resubmitted", 0) == 0 && o.value("found_complete", 0) == 0 &&
      o.value("waiting_for_dependencies", 0) == 0 && !o.value("aggregate_rerun", false))
    text += " Nothing had failed.";
  mcp::ToolResult r;
  r.content = json::array({{{"type", "text"}, {"text", text}}});
  r.structured = o;
  return r;
}

}  // namespace

Status RegisterResubmitFailed(mcp::Server& server) {
  return mcp::AddToolFromAssets(server, HpcAssets(), "schemas/tools", "resubmit_failed",
                                ResubmitFailed);
}

}  // namespace hpc::tools
