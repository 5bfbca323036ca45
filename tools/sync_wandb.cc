// sync_wandb: an offline W&B run where it lies (this machine or a cluster,
// directly, through srun or in a container, as the profile's `wandb:` says).
// Actions: find (offline runs under a directory), read (the run's own
// summary, config and curves, no network), sync (dry run by default: size,
// uploads, staging, the command with the key redacted; for real: prune
// staging if asked, sync, record the URL in the journal as `linked` wandb).
// The guard rails (explicit destination, key on stdin only, redaction) are
// in tools/wandb/sync.h.
#include "mcp_server/registration.h"
#include "tools/registry.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/store.h"
#include "tools/wandb/run_dir.h"
#include "tools/wandb/sync_action.h"
#include "tools/workspace/repo.h"

namespace hpc::tools {
namespace {

using nlohmann::json;

// The run of the journal the directory belongs to: the one named, else the
// run on this profile whose workdir holds `path` (the deepest).
const runs::Run* OwningRun(const runs::RunTable& t, const std::string& run_id,
                           const std::string& profile,
                           const std::string& path) {
  if (!run_id.empty()) {
    auto it = t.runs.find(run_id);
    return it == t.runs.end() ? nullptr : &it->second;
  }
  const runs::Run* best = nullptr;
  for (const auto& [id, r] : t.runs)
    if (r.profile == profile && !r.workdir.empty() &&
        path.rfind(r.workdir + "/", 0) == 0 &&
        (!best || r.workdir.size() > best->workdir.size()))
      best = &r;
  return best;
}

Result<mcp::ToolResult> SyncWandb(mcp::RequestContext& ctx, const json& args) {
  auto repo = workspace::ResolveRepo(ctx, args);
  if (!repo.ok()) return repo.status();
  auto store = runs::RunStore::ForRepo(*repo);
  if (!store.ok()) return store.status();
  auto table = (*store)->Load();
  if (!table.ok()) return table.status();
  const std::string run_id = args.value("run_id", ""), action = args["action"];
  const runs::Run* named = OwningRun(**table, run_id, "", "");
  if (!run_id.empty() && !named)
    return NotFound("run " + run_id + " is not in the journal of " + *repo);
  const std::string profile =
      args.value("profile", named ? named->profile : "local");
  auto cluster = runs::OpenCluster(profile, *repo);
  if (!cluster.ok()) return cluster.status();
  runs::Cluster& c = **cluster;
  std::string path;
  if (args.contains("path")) {
    auto p = c.CheckPath(args["path"].get<std::string>());
    if (!p.ok()) return p.status();
    path = *p;
  } else if (named && !named->workdir.empty()) {
    path = named->workdir;
  } else {
    return InvalidArgument(
        "give path (an offline run directory, or for find a directory to "
        "search) or run_id");
  }
  std::vector<wandb::RunDir> found;
  if (action == "find" || !args.contains("path")) {
    auto l = wandb::Walk(*c.remote, path, 5);
    if (!l.ok()) return l.status();
    found = wandb::FindRunDirs(*l, path);
    if (action == "find") {
      json runs = json::array();
      for (const auto& d : found)
        runs.push_back({{"path", d.path},
                        {"wandb_run_id", d.wandb_id},
                        {"offline", d.offline},
                        {"synced", d.synced},
                        {"started", d.started},
                        {"wandb_bytes", d.wandb_bytes}});
      json out{{"action", "find"},
               {"path", path},
               {"runs", runs},
               {"truncated", l->truncated}};
      std::string text =
          std::to_string(found.size()) + " W&B run dir(s) under " + path;
      for (const auto& d : found)
        text += "\n" + d.path +
                (d.synced    ? " (synced)"
                 : d.offline ? " (offline, not synced)"
                             : "");
      mcp::ToolResult r;
      r.content = json::array({{{"type", "text"}, {"text", text}}});
      r.structured = std::move(out);
      return r;
    }
    if (found.size() != 1) {
      std::string list;
      for (const auto& d : found) list += "\n  " + d.path;
      return InvalidArgument(
          "run " + run_id + " has " + std::to_string(found.size()) +
          " W&B run dirs under " + path + "; pass path:" + list);
    }
    path = found[0].path;
  }
  auto listing = wandb::Walk(*c.remote, path);
  if (!listing.ok()) return listing.status();
  auto inv = wandb::TakeInventory(*listing, path);
  if (!inv.ok()) return inv.status();
  json out;
  std::string text;
  if (action == "read") {
    wandb::ReadOptions ro;
    ro.keys = args.value("keys", std::vector<std::string>{});
    ro.max_points = args["max_points"];
    auto files = wandb::ReadRunFiles(*c.remote, *inv, ro);
    if (!files.ok()) return files.status();
    out = json{{"action", "read"},
               {"path", path},
               {"profile", c.profile.name},
               {"wandb_run_id", inv->run.wandb_id}};
    out.update(*files);
    const json& h = out["history"];
    text = path + ": " + std::to_string(h["rows"].get<size_t>()) +
           " history rows from " + h["source"].get<std::string>() + ", " +
           std::to_string(h["metrics"].size()) + " numeric metric(s)";
    for (const auto& [k, m] : h["metrics"].items())
      text += "\n  " + k + ": " + m["first"][1].dump() + " -> " +
              m["last"][1].dump() + " (" +
              std::to_string(m["count"].get<size_t>()) + " points, last step " +
              m["last"][0].dump() + ")";
  } else {
    const runs::Run* owner = OwningRun(**table, run_id, c.profile.name, path);
    auto synced = wandb::SyncAction(ctx, args, c, *inv, **store, owner);
    if (!synced.ok()) return synced.status();
    out = std::move(*synced);
    text = out["dry_run"].get<bool>()
               ? "dry run: " + path + " is " + wandb::Mib(out["size_bytes"]) +
                     ", would upload " + wandb::Mib(out["upload_bytes"]) +
                     " in " +
                     std::to_string(out["upload_files"].get<size_t>()) +
                     " file(s); staging " + wandb::Mib(out["staging_bytes"]) +
                     "\ncommand: " + out["command"].get<std::string>()
               : "synced " + path + " to " + out["url"].get<std::string>() +
                     (out["linked_run"].is_null()
                          ? " (no run of the journal holds it)"
                          : " (linked to run " +
                                out["linked_run"].get<std::string>() + ")") +
                     (out.contains("run_log")
                          ? "; run log " + out["run_log"].get<std::string>() +
                                " updated"
                          : "");
    for (const auto& w : out["warnings"])
      text += "\nwarning: " + w.get<std::string>();
  }
  mcp::ToolResult r;
  r.content = json::array({{{"type", "text"}, {"text", text}}});
  r.structured = std::move(out);
  return r;
}

}  // namespace

Status RegisterSyncWandb(mcp::Server& server) {
  return mcp::AddToolFromAssets(server, HpcAssets(), "schemas/tools",
                                "sync_wandb", SyncWandb);
}

}  // namespace hpc::tools
