#include "tools/runs/run_resources.h"

#include "mcp_server/json_rpc.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/log_reader.h"
#include "tools/runs/poller.h"
#include "tools/runs/store.h"

namespace hpc::runs {
namespace {

using nlohmann::json;

// The run and its store, looked up in every repository this server knows.
Result<std::pair<std::shared_ptr<RunStore>, Run>> FindRun(const std::string& id) {
  for (const auto& store : RunStore::Known()) {
    auto table = store->Load();
    if (!table.ok()) continue;
    auto it = (*table)->runs.find(id);
    if (it != (*table)->runs.end()) return std::make_pair(store, it->second);
  }
  return NotFound("run " + id + " is in no repository this server has seen; call list_runs "
                  "with its repo first");
}

Result<json> ReadRun(const std::string& uri, const std::map<std::string, std::string>& vars) {
  auto found = FindRun(vars.at("run_id"));
  if (!found.ok()) return found.status();
  json view = RunJson(found->second, 0, false);
  view["repo"] = found->first->repo();
  return json::array({{{"uri", uri}, {"mimeType", "application/json"}, {"text", mcp::Dump(view)}}});
}

Result<json> ReadLog(const std::string& uri, const std::map<std::string, std::string>& vars) {
  const std::string& stream = vars.at("stream");
  if (stream != "stdout" && stream != "stderr")
    return NotFound("no log stream \"" + stream + "\"; use stdout or stderr");
  auto found = FindRun(vars.at("run_id"));
  if (!found.ok()) return found.status();
  const Run& run = found->second;
  const Attempt* a = run.current();
  const Job* job = a ? a->Find("main") : nullptr;
  if (!job) return NotFound("run " + run.id + " has no job yet");
  std::string path = stream == "stderr" ? job->stderr_path : job->stdout_path;
  if (auto at = path.find("{task}"); at != std::string::npos)
    path.replace(at, 6, job->array_tasks.empty() ? "0" : std::to_string(job->array_tasks.front()));
  auto cluster =
      OpenCluster(run.profile, found->first->repo(), Intent::kObserve);
  if (!cluster.ok()) return cluster.status();
  LogQuery q;
  auto chunk = TailLines(*(*cluster)->remote, path, q);
  if (!chunk.ok()) return chunk.status();
  std::string text;
  for (const auto& l : chunk->lines) text += l + "\n";
  return json::array({{{"uri", uri}, {"mimeType", "text/plain"}, {"text", text}}});
}

}  // namespace

Status AddRunResources(mcp::Server& server) {
  HPC_RETURN_IF_ERROR(server.AddResourceTemplate(
      {{"uriTemplate", "hpc://runs/{run_id}"},
       {"name", "run"},
       {"title", "A training run"},
       {"description", "A run of the repository's journal as poll reports it: state, progress, "
                       "health, diagnosis. Subscribe to hear when it changes."},
       {"mimeType", "application/json"}},
      ReadRun));
  return server.AddResourceTemplate(
      {{"uriTemplate", "hpc://runs/{run_id}/log/{stream}"},
       {"name", "run_log"},
       {"title", "A run's log"},
       {"description", "The last 200 lines of a run's stdout or stderr (the main job; the first "
                       "task of an array). tail_log reads more selectively."},
       {"mimeType", "text/plain"}},
      ReadLog);
}

void NotifyRunChanged(mcp::RequestContext& ctx, const std::string& run_id) {
  for (const char* suffix : {"", "/log/stdout", "/log/stderr"})
    ctx.ResourceUpdated("hpc://runs/" + run_id + suffix);
}

}  // namespace hpc::runs
