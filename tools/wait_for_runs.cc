// wait_for_runs: one tool call per long wait. Polls (tools/runs/poller.h)
// until a watched run changes state or a health check fails, sending
// progress at least every 30 s so that clients keep the request alive, and
// stopping at once when the client cancels. An answer moves the read mark
// (tools/runs/read_mark.h) as poll's does; a cancelled wait does not.
#include <chrono>
#include <map>
#include <spdlog/spdlog.h>

#include <thread>

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
using Clock = std::chrono::steady_clock;

constexpr auto kProgressEvery = std::chrono::seconds(25);

std::string HealthOf(const json& v) { return v["health"].value("status", "unknown"); }

Result<mcp::ToolResult> WaitForRuns(mcp::RequestContext& ctx, const json& args) {
  auto repo = workspace::ResolveRepo(ctx, args);
  if (!repo.ok()) return repo.status();
  auto store = runs::RunStore::ForRepo(*repo);
  if (!store.ok()) return store.status();
  const auto timeout = std::chrono::seconds(args.value("timeout_s", 1500));
  const auto interval = std::chrono::seconds(args.value("interval_s", 15));
  runs::PollRequest req;
  req.run_ids = args.value("run_ids", std::vector<std::string>{});

  const auto start = Clock::now();
  auto first = runs::PollRuns(**store, req);
  if (!first.ok()) return first.status();
  for (const auto& id : first->changed) runs::NotifyRunChanged(ctx, id);
  // Watch the same runs throughout, even after they leave the active set.
  std::map<std::string, json> before;
  for (const auto& v : first->runs) before[v["run_id"]] = v;
  if (req.run_ids.empty())
    for (const auto& [id, v] : before) req.run_ids.push_back(id);

  std::string reason;
  std::vector<json> changed;
  runs::PollOutcome last = *first;
  // Runs that are already over when the wait starts are news in themselves.
  for (const auto& v : first->runs)
    if (!runs::IsActiveState(v["state"])) changed.push_back(v);
  if (!changed.empty()) reason = "state_changed";
  if (before.empty()) reason = "nothing_active";
  auto last_progress = Clock::now();
  std::stop_token stop = ctx.stop_token();
  while (reason.empty()) {
    // Sleep one interval in short slices, so that cancellation is prompt
    // and progress goes out on time.
    const auto wake = Clock::now() + interval;
    while (Clock::now() < wake && !stop.stop_requested() && Clock::now() - start < timeout) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (Clock::now() - last_progress >= kProgressEvery) {
        auto waited = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count();
        ctx.Progress(static_cast<double>(waited), static_cast<double>(timeout.count()),
                     "waiting on " + std::to_string(before.size()) + " run(s): " +
                         runs::CountLine(last.runs));
        last_progress = Clock::now();
      }
    }
    if (stop.stop_requested()) return Status(StatusCode::kCancelled, "wait_for_runs cancelled");
    if (Clock::now() - start >= timeout) {
      reason = "timeout";
      break;
    }
    auto now = runs::PollRuns(**store, req);
    if (!now.ok()) return now.status();
    for (const auto& id : now->changed) runs::NotifyRunChanged(ctx, id);
    last = *now;
    for (const auto& v : now->runs) {
      const json& b = before[v["run_id"]];
      if (v["state"] != b["state"]) {
        changed.push_back(v);
        if (reason.empty()) reason = "state_changed";
      } else if (HealthOf(v) == "fail" && HealthOf(b) != "fail") {
        changed.push_back(v);
        reason = "health_failed";
      }
    }
  }
  const auto waited = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count();
  std::vector<json> shown = reason == "timeout" ? last.runs : changed;
  std::string summary;
  if (reason == "nothing_active")
    summary = "nothing to wait for: no active runs in " + *repo;
  else if (reason == "timeout")
    summary = "no change in " + std::to_string(waited) + " s: " + runs::CountLine(last.runs);
  else
    summary = std::to_string(changed.size()) + " run(s) changed after " + std::to_string(waited) + " s";
  const std::string cursor = (*store)->MakeCursor(last.seq);
  if (Status m = runs::MarkRead(**store, last.seq); !m.ok())
    spdlog::warn("wait_for_runs: cannot record the read mark: {}", m.message());
  std::string text = summary + " (cursor " + cursor + ")";
  for (const auto& v : shown) text += "\n" + runs::RunLine(v);
  json structured{{"runs", shown}, {"cursor", cursor}, {"reason", reason},
                  {"waited_s", waited}, {"summary", summary}};
  if (!last.errors.empty()) structured["errors"] = last.errors;
  mcp::ToolResult r;
  r.content = json::array({{{"type", "text"}, {"text", text}}});
  r.structured = std::move(structured);
  return r;
}

}  // namespace

Status RegisterWaitForRuns(mcp::Server& server) {
  return mcp::AddToolFromAssets(server, HpcAssets(), "schemas/tools", "wait_for_runs", WaitForRuns);
}

}  // namespace hpc::tools
