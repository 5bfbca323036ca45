// resubmit_failed's work (launcher.h ResubmitFailed).
#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "tools/remote/remote.h"
#include "tools/runs/submitter.h"
#include "tools/sweep/launch_internal.h"
#include "tools/sweep/launcher.h"

namespace hpc::sweep {
namespace {

using launch::BatchPlan;
using nlohmann::json;

// Paths per existence check: one remote command each, well under ARG_MAX.
constexpr size_t kPathsPerCheck = 500;

// Which of `paths` (absolute) exist on the cluster: a fixed script, the
// paths as its quoted arguments.
Result<std::set<std::string>> Existing(runs::Cluster& c, const std::vector<std::string>& paths) {
  std::set<std::string> found;
  remote::RunOptions o;
  o.login_shell = false;
  o.timeout = std::chrono::seconds(60);
  for (size_t at = 0; at < paths.size(); at += kPathsPerCheck) {
    std::vector<std::string> argv = {
        "sh", "-c", "for p do [ -e \"$p\" ] && printf '%s\\n' \"$p\"; done; exit 0", "sh"};
    for (size_t i = at; i < paths.size() && i < at + kPathsPerCheck; ++i) argv.push_back(paths[i]);
    auto r = c.remote->Run(argv, o);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0)
      return Status(StatusCode::kUnavailable,
                    "could not check the expected outputs on " + c.remote->Describe() + ": " +
                        r->err);
    size_t from = 0;
    for (size_t nl = r->out.find('\n'); nl != std::string::npos; nl = r->out.find('\n', from)) {
      found.insert(r->out.substr(from, nl - from));
      from = nl + 1;
    }
  }
  return found;
}

std::string Absolute(const std::string& workdir, const std::string& path) {
  return path.empty() || path[0] == '/' ? path : workdir + "/" + path;
}

}  // namespace

Result<json> ResubmitFailed(runs::RunStore& store, runs::Cluster& c, const ResubmitRequest& req) {
  auto lock = store.LockSubmits();
  if (!lock.ok()) return lock.status();
  auto table = store.Load();
  if (!table.ok()) return table.status();
  auto it = (*table)->runs.find(req.sweep_id);
  if (it == (*table)->runs.end() || !it->second.sweep)
    return NotFound("sweep " + req.sweep_id + " is not in the journal of " + store.repo() +
                    "; list_runs shows this repository's runs and sweeps");
  const runs::Run& run = it->second;
  if (run.profile != c.profile.name)
    return InvalidArgument("sweep " + run.id + " ran on profile " + run.profile);
  if (run.cancel_requested)
    return FailedPrecondition("sweep " + run.id + " was cancelled through cancel")
        .WithReason("sweep_cancelled", false,
                    "submit it again with submit_sweep (force: true) to run it anew");
  auto loaded = LoadedFor(run);
  if (!loaded.ok()) return loaded.status();
  const Loaded& l = **loaded;
  const SweepState& s = *run.sweep;

  std::vector<uint32_t> candidates;
  std::vector<std::string> skipped;
  if (req.tasks.empty()) {
    for (uint32_t i = 0; i < s.tasks.size(); ++i)
      if (s.tasks[i].state == TaskState::kStuck) candidates.push_back(i);
  } else {
    for (const std::string& id : req.tasks) {
      auto at = l.expansion.by_id.find(id);
      if (at == l.expansion.by_id.end())
        return InvalidArgument("task " + id + " is not a task of sweep " + run.id +
                               " (poll shows the failed task ids)");
      const TaskState st = s.tasks[at->second].state;
      if (st == TaskState::kStuck)
        candidates.push_back(static_cast<uint32_t>(at->second));
      else
        skipped.push_back(id + " (" + TaskStateName(st) + ")");
    }
  }

  // A task whose expected outputs all exist is done, whatever its exit
  // code said.
  std::vector<std::string> paths;
  std::vector<std::string> workdirs(l.sweep.phases.size());
  for (size_t p = 0; p < l.sweep.phases.size(); ++p) {
    auto w = launch::Workdir(c, l.sweep.phases[p]);
    if (!w.ok()) return w.status();
    workdirs[p] = *w;
  }
  for (uint32_t t : candidates)
    for (const std::string& out : l.expansion.tasks[t].expected_outputs)
      paths.push_back(Absolute(workdirs[l.expansion.tasks[t].phase], out));
  std::set<std::string> existing;
  if (!paths.empty()) {
    auto e = Existing(c, paths);
    if (!e.ok()) return e.status();
    existing = std::move(*e);
  }
  std::vector<uint32_t> complete, rerun;
  for (uint32_t t : candidates) {
    const Task& task = l.expansion.tasks[t];
    bool all = !task.expected_outputs.empty();
    for (const std::string& out : task.expected_outputs)
      all &= existing.count(Absolute(workdirs[task.phase], out)) > 0;
    (all ? complete : rerun).push_back(t);
  }
  // What depends on a task being rerun waits for it: blocked, released by
  // a later poll once it is done.
  std::vector<uint32_t> now_tasks, later;
  for (uint32_t t : rerun) {
    bool waits = false;
    const Task& task = l.expansion.tasks[t];
    auto pending = [&](size_t d) {
      const bool done = s.tasks[d].state == TaskState::kDone ||
                        std::find(complete.begin(), complete.end(), d) != complete.end();
      if (!done) waits = true;
    };
    for (size_t d : task.after) pending(d);
    for (const Dependency& d : l.sweep.phases[task.phase].depends_on) {
      if (!d.match.empty()) continue;
      const Expansion::Span& span = l.expansion.phases[d.phase_index];
      for (size_t i = span.first; i < span.first + span.count; ++i) pending(i);
    }
    (waits ? later : now_tasks).push_back(t);
  }

  auto ids = [&](const std::vector<uint32_t>& v) {
    json a = json::array();
    for (size_t i = 0; i < v.size() && i < 100; ++i) a.push_back(l.expansion.tasks[v[i]].id);
    return a;
  };
  const bool aggregate_failed = s.has_aggregate && s.aggregate.state == "failed";
  json out{{"sweep_id", run.id},
           {"dry_run", req.dry_run},
           {"found_complete", complete.size()},
           {"resubmitted", now_tasks.size()},
           {"waiting_for_dependencies", later.size()},
           {"found_complete_tasks", ids(complete)},
           {"resubmitted_tasks", ids(now_tasks)},
           {"waiting_tasks", ids(later)},
           {"skipped", skipped},
           {"aggregate_rerun", aggregate_failed && candidates.empty()},
           {"batches", json::array()}};
  if (req.dry_run) return out;

  json changes = json::array();
  for (uint32_t t : complete)
    changes.push_back({{"t", t}, {"s", "done"}, {"m", "found complete: its expected outputs exist"}});
  for (uint32_t t : later)
    changes.push_back({{"t", t},
                       {"s", "blocked"},
                       {"c", "dependency"},
                       {"m", "resubmitted; waits for the tasks it depends on to be done"}});
  HPC_RETURN_IF_ERROR(launch::AppendChanges(store, run.id, std::move(changes)));
  size_t first_new = s.batches.size();
  std::map<int, std::vector<uint32_t>> by_phase;
  for (uint32_t t : now_tasks) by_phase[l.expansion.tasks[t].phase].push_back(t);
  for (auto& [phase, list] : by_phase) {
    auto fresh = store.Load();
    if (!fresh.ok()) return fresh.status();
    BatchPlan b;
    b.id = std::string(kResubmitBatch) + "-" +
           std::to_string((*fresh)->runs.at(run.id).sweep->batches.size());
    b.kind = kResubmitBatch;
    b.phase = phase;
    b.tasks = list;
    HPC_RETURN_IF_ERROR(launch::Build(c, l, run.id, b));
    HPC_RETURN_IF_ERROR(launch::Dispatch(store, c, run.id, b, /*journaled=*/false));
  }
  // Only the aggregate failed: run it again (the next poll submits it).
  if (aggregate_failed && candidates.empty())
    HPC_RETURN_IF_ERROR(store.Append(run.id, "aggregate_changed", {{"state", ""}}));
  auto done = store.Load();
  if (!done.ok()) return done.status();
  const runs::Run& after = (*done)->runs.at(run.id);
  for (size_t i = first_new; i < after.sweep->batches.size(); ++i)
    out["batches"].push_back({{"id", after.sweep->batches[i].id},
                              {"job_id", after.sweep->batches[i].job_id},
                              {"tasks", after.sweep->batches[i].tasks.size()}});
  // The sweep is active again (or, every task found complete, done): its
  // state says so before the next poll.
  std::vector<std::string> errors;
  HPC_RETURN_IF_ERROR(launch::SyncState(store, run.id, l, "resubmit_failed", errors));
  auto synced = store.Load();
  if (!synced.ok()) return synced.status();
  const std::string state = (*synced)->runs.at(run.id).state;
  out["state"] = state;
  return out;
}

}  // namespace hpc::sweep
