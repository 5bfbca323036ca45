// tail_log: the end of a run's log, or what was written since a cursor,
// reading only the bytes it returns (tools/runs/log_reader.h).
#include "mcp_server/registration.h"
#include "tools/registry.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/log_reader.h"
#include "tools/runs/metrics.h"
#include "tools/runs/store.h"
#include "tools/workspace/repo.h"

namespace hpc::tools {
namespace {

using nlohmann::json;

// The log file of `run` that the arguments name.
Result<std::string> RunLogPath(const runs::Run& run, const json& args) {
  const runs::Attempt* a = run.current();
  if (!a || a->jobs.empty())
    return FailedPrecondition("run " + run.id + " has no job yet; poll it first");
  std::string role = args.value("role", "");
  if (role.empty()) {
    // The main job, unless only the smoke job has run so far.
    role = "main";
    const runs::Job* smoke = a->Find("smoke");
    if (smoke && (run.state == "pending" || run.state == runs::kSubmitting ||
                  (run.diagnosis.is_object() && run.diagnosis.value("role", "") == "smoke")))
      role = "smoke";
  }
  const runs::Job* job = a->Find(role);
  if (!job) return NotFound("run " + run.id + " has no " + role + " job");
  std::string tmpl = args.value("stream", "stdout") == "stderr" ? job->stderr_path : job->stdout_path;
  std::string task = args.value("task", "");
  if (task.empty() && !job->array_tasks.empty()) task = std::to_string(job->array_tasks.front());
  size_t at = tmpl.find("{task}");
  if (at != std::string::npos) {
    tmpl.replace(at, 6, task);
  } else if (!args.value("task", "").empty()) {
    return InvalidArgument("run " + run.id + " is not an array; drop `task`");
  }
  return tmpl;
}

Result<mcp::ToolResult> TailLog(mcp::RequestContext& ctx, const json& args) {
  const bool by_run = args.contains("run_id"), by_path = args.contains("path");
  if (by_run == by_path) return InvalidArgument("give exactly one of run_id or path");
  auto repo = workspace::ResolveRepo(ctx, args);
  if (!repo.ok()) return repo.status();
  std::string profile = args.value("profile", "local");
  std::string path;
  if (by_run) {
    auto store = runs::RunStore::ForRepo(*repo);
    if (!store.ok()) return store.status();
    auto table = (*store)->Load();
    if (!table.ok()) return table.status();
    auto it = (*table)->runs.find(args["run_id"].get<std::string>());
    if (it == (*table)->runs.end())
      return NotFound("run " + args["run_id"].get<std::string>() + " is not in the journal of " +
                      *repo + "; list_runs shows this repository's runs");
    profile = it->second.profile;
    auto p = RunLogPath(it->second, args);
    if (!p.ok()) return p.status();
    path = *p;
  }
  auto cluster = runs::OpenCluster(profile, *repo, runs::Intent::kObserve);
  if (!cluster.ok()) return cluster.status();
  if (by_path) {
    auto checked = (*cluster)->CheckPath(args["path"].get<std::string>());
    if (!checked.ok()) return checked.status();
    path = *checked;
  }
  runs::LogQuery q;
  q.max_lines = static_cast<size_t>(args.value("lines", 100));
  q.max_bytes = static_cast<size_t>(args.value("max_bytes", 24000));
  if (args.contains("grep")) {
    auto re = runs::CompileGrep(args["grep"].get<std::string>());
    if (!re.ok()) return re.status();
    q.grep = std::move(*re);
  }
  Result<runs::LogChunk> chunk =
      args.contains("cursor")
          ? runs::ReadSince(*(*cluster)->remote, path, std::stoull(args["cursor"].get<std::string>()), q)
          : runs::TailLines(*(*cluster)->remote, path, q);
  if (!chunk.ok()) {
    Status s = chunk.status();
    if (s.code() == StatusCode::kNotFound)
      return NotFound("log " + path + " does not exist (yet): a pending job has not opened it; poll the run");
    return s;
  }
  std::string text;
  for (const auto& l : chunk->lines) text += l + "\n";
  json metrics = runs::ToJson(runs::Latest(runs::ExtractMetrics(text)));
  json out{{"path", path}, {"lines", chunk->lines}, {"cursor", std::to_string(chunk->cursor)},
           {"truncated", chunk->truncated}, {"size", chunk->size}, {"metrics", metrics}};
  if (chunk->rotated) out["rotated"] = true;
  std::string head = path + ": " + std::to_string(chunk->lines.size()) + " line(s)" +
                     (chunk->truncated ? " (more left out)" : "") + ", cursor " +
                     std::to_string(chunk->cursor) + "\n";
  mcp::ToolResult r;
  r.content = json::array({{{"type", "text"}, {"text", head + text}}});
  r.structured = std::move(out);
  return r;
}

}  // namespace

Status RegisterTailLog(mcp::Server& server) {
  return mcp::AddToolFromAssets(server, HpcAssets(), "schemas/tools", "tail_log", TailLog);
}

}  // namespace hpc::tools
