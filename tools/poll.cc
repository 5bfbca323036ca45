// poll: one monitoring tick over a repository's runs (tools/runs/poller.h
// does the work). With a cursor, only what changed is returned, and a
// quiet tick is one short line: a heartbeat over many quiet runs costs the
// agent almost nothing. Each answer moves the repository's read mark
// (tools/runs/read_mark.h), where heartbeat.md's "Changed since" starts.
#include <spdlog/spdlog.h>

#include "mcp_server/registration.h"
#include "tools/registry.h"
#include "tools/runs/poller.h"
#include "tools/runs/read_mark.h"
#include "tools/runs/run_resources.h"
#include "tools/runs/summary.h"
#include "tools/workspace/repo.h"

namespace hpc::tools {
namespace {

using nlohmann::json;

Result<mcp::ToolResult> Poll(mcp::RequestContext& ctx, const json& args) {
  auto repo = workspace::ResolveRepo(ctx, args);
  if (!repo.ok()) return repo.status();
  auto store = runs::RunStore::ForRepo(*repo);
  if (!store.ok()) return store.status();
  runs::PollRequest req;
  req.run_ids = args.value("run_ids", std::vector<std::string>{});
  if (args.contains("since")) {
    auto loaded = (*store)->Load();  // The journal's identity, for the cursor.
    if (!loaded.ok()) return loaded.status();
    auto seq = (*store)->ParseCursor(args["since"].get<std::string>());
    if (!seq.ok()) return seq.status();
    req.has_since = true;
    req.since = *seq;
  }
  auto out = runs::PollRuns(**store, req);
  if (!out.ok()) return out.status();
  for (const auto& id : out->changed) runs::NotifyRunChanged(ctx, id);
  // The agent sees the journal as of out->seq: heartbeat.md's "Changed
  // since" starts there (read_mark.h).
  if (Status m = runs::MarkRead(**store, out->seq); !m.ok())
    spdlog::warn("poll: cannot record the read mark: {}", m.message());
  std::vector<json> listed;
  int active = 0, unchanged = 0;
  for (auto& v : out->runs) {
    const std::string st = v["state"];
    if (runs::IsActiveState(st)) ++active;
    if (v["changed"].get<bool>())
      listed.push_back(v);
    else
      ++unchanged;
  }
  const std::string cursor = (*store)->MakeCursor(out->seq);
  std::string summary;
  if (out->runs.empty())
    summary = "no active runs in " + *repo;
  else if (listed.empty())
    summary = "no change: " + runs::CountLine(out->runs);
  else
    summary = std::to_string(listed.size()) + " changed; " + runs::CountLine(out->runs);
  std::string text = summary + " (cursor " + cursor + ")";
  for (const auto& v : listed) text += "\n" + runs::RunLine(v);
  for (const auto& e : out->errors) text += "\nerror: " + e;
  json structured{{"runs", listed}, {"cursor", cursor}, {"active", active},
                  {"unchanged", unchanged}, {"summary", summary}};
  if (!out->errors.empty()) structured["errors"] = out->errors;
  if (!out->problems.empty()) structured["problems"] = out->problems;
  mcp::ToolResult r;
  r.content = json::array({{{"type", "text"}, {"text", text}}});
  r.structured = std::move(structured);
  return r;
}

}  // namespace

Status RegisterPoll(mcp::Server& server) {
  return mcp::AddToolFromAssets(server, HpcAssets(), "schemas/tools", "poll", Poll);
}

}  // namespace hpc::tools
