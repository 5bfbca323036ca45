// submit: one run (smoke job, main job or array) to a profile, exactly once,
// recorded in the repository's journal. The protocol is in
// tools/runs/submitter.h; this file is the tool's edge.
#include "mcp_server/registration.h"
#include "tools/registry.h"
#include "tools/runs/limits.h"
#include "tools/runs/submitter.h"
#include "tools/workspace/repo.h"

namespace hpc::tools {
namespace {

using nlohmann::json;

Result<mcp::ToolResult> Submit(mcp::RequestContext& ctx, const json& args) {
  auto repo = workspace::ResolveRepo(ctx, args);
  if (!repo.ok()) return repo.status();
  auto req = runs::ParseSubmitRequest(args);
  if (!req.ok()) return req.status();
  auto store = runs::RunStore::ForRepo(*repo);
  if (!store.ok()) return store.status();
  auto cluster = runs::OpenCluster(req->profile, *repo);
  if (!cluster.ok()) return cluster.status();
  auto out = runs::SubmitRun(**store, **cluster, *req);
  if (!out.ok()) return out.status();
  const json& o = *out;
  std::string text;
  if (o.contains("confirm")) {
    const json& k = o["confirm"];
    text = "confirmation needed: " + o["run_id"].get<std::string>() +
           " would use about " + runs::FormatHours(k["gpu_hours"]) +
           " GPU-hours, above profile " + req->profile +
           "'s confirm_above_gpu_hours of " +
           runs::FormatHours(k["above_gpu_hours"]) +
           ". Nothing was submitted; the plan is in structuredContent.plan. "
           "To submit, repeat the same call with \"confirm_token\": \"" +
           k["token"].get<std::string>() + "\" (works once, within " +
           std::to_string(k["expires_in_s"].get<int64_t>() / 60) + " minutes).";
  } else if (o["dry_run"].get<bool>()) {
    text = "dry run of " + o["run_id"].get<std::string>() +
           ": nothing submitted. Estimate: " +
           runs::FormatHours(o["estimate"]["gpu_hours"]) + " GPU-hours" +
           (o["estimate"]["needs_confirmation"].get<bool>()
                ? " (above the profile's confirmation threshold: submit "
                  "will ask for a confirm_token)"
                : "") +
           ".\n";
    for (const auto& j : o["plan"]["jobs"])
      text += "--- " + j["role"].get<std::string>() + " job: " + j["script_path"].get<std::string>() +
              "\n" + j["script"].get<std::string>();
  } else {
    std::string ids;
    for (const auto& j : o["jobs"])
      ids += (ids.empty() ? "" : ", ") + j["role"].get<std::string>() + " " +
             j["job_id"].get<std::string>();
    text = std::string(o["idempotent"].get<bool>() ? "already submitted: " : "submitted ") +
           o["run_id"].get<std::string>() + " (" + ids + "), " + o["state"].get<std::string>() +
           "; logs " + o["log_paths"].value("stdout", "") + ". Watch it with poll or wait_for_runs.";
  }
  mcp::ToolResult r;
  r.content = json::array({{{"type", "text"}, {"text", text}}});
  r.structured = o;
  return r;
}

}  // namespace

Status RegisterSubmit(mcp::Server& server) {
  return mcp::AddToolFromAssets(server, HpcAssets(), "schemas/tools", "submit", Submit);
}

}  // namespace hpc::tools
