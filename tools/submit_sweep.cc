// submit_sweep: a sweep (grid, list or seeds; phases) as one unit, exactly
// once, recorded in the repository's journal. The work is in
// tools/sweep/launcher.h; this file is the tool's edge.
#include "mcp_server/registration.h"
#include "tools/registry.h"
#include "tools/runs/limits.h"
#include "tools/sweep/launcher.h"
#include "tools/workspace/repo.h"

namespace hpc::tools {
namespace {

using nlohmann::json;

std::string Text(const json& o, const std::string& profile) {
  const std::string id = o["sweep_id"];
  if (o.contains("confirm")) {
    std::string why;
    for (const auto& w : o["confirm"]["why"]) why += (why.empty() ? "" : "; ") + w.get<std::string>();
    return "confirmation needed for sweep " + id + ": " + why +
           ". Nothing was submitted; the plan is in structuredContent.plan. To submit, repeat the "
           "same call with \"confirm_token\": \"" + o["confirm"]["token"].get<std::string>() +
           "\" (works once, within 15 minutes).";
  }
  if (o["dry_run"].get<bool>()) {
    const json& p = o["plan"];
    const json& n = p["counts"];
    std::string t = "dry run of sweep " + id + " on " + profile + ": nothing submitted. " +
                    n["tasks"].dump() + " tasks in " + n["arrays"].dump() + " arrays, " +
                    n["waves"].dump() + " waves, " + n["submissions"].dump() +
                    " submissions; about " + runs::FormatHours(o["estimate"]["gpu_hours"]) +
                    " GPU-hours.";
    if (p.contains("estimate") && p["estimate"].value("known", false))
      t += " Estimated wall clock: " + p["estimate"].value("wall_clock", "") + " (" +
           p["estimate"].value("assumes", "") + ").";
    for (const auto& n : p.value("notes", json::array())) t += "\nnote: " + n.get<std::string>();
    return t + "\n--- first batch script:\n" + o.value("first_script", "");
  }
  std::string t = std::string(o["idempotent"].get<bool>() ? "already submitted: sweep " : "submitted sweep ") +
                  id + ", " + o["state"].get<std::string>() + "; " +
                  std::to_string(o["batches"].size()) + " scheduler submissions for " +
                  std::to_string(o["tasks"].get<int64_t>()) + " tasks";
  if (o.contains("summary")) t += " (" + o["summary"].value("line", "") + ")";
  return t + ". Watch it with poll or wait_for_runs (run id " + id + ").";
}

Result<mcp::ToolResult> SubmitSweep(mcp::RequestContext& ctx, const json& args) {
  auto repo = workspace::ResolveRepo(ctx, args);
  if (!repo.ok()) return repo.status();
  auto req = sweep::ParseSubmitSweepRequest(*repo, args);
  if (!req.ok()) return req.status();
  auto store = runs::RunStore::ForRepo(*repo);
  if (!store.ok()) return store.status();
  auto cluster = runs::OpenCluster(req->profile, *repo);
  if (!cluster.ok()) return cluster.status();
  auto out = sweep::SubmitSweep(**store, **cluster, *req);
  if (!out.ok()) return out.status();
  mcp::ToolResult r;
  r.content = json::array({{{"type", "text"}, {"text", Text(*out, req->profile)}}});
  r.structured = std::move(*out);
  return r;
}

}  // namespace

Status RegisterSubmitSweep(mcp::Server& server) {
  return mcp::AddToolFromAssets(server, HpcAssets(), "schemas/tools", "submit_sweep", SubmitSweep);
}

}  // namespace hpc::tools
