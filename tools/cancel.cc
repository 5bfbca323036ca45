// cancel: stops a run of this repository's journal, and only its own jobs;
// or, where the profile says cancel_scope: own_jobs, one job of the login
// user that hpc-mcp did not start. Never another user's job.
//
// For a run, the journal records the intent (cancel_requested: jobs, by,
// reason) before the scheduler is asked, so a crash mid-cancel still leaves
// the reason for the run's end. The job ids come only from the run's journal
// events: an id the agent typed never reaches the scheduler unless the
// profile allows own_jobs and the scheduler names the login user as the
// job's owner. The scheduler is then asked until every task has ended
// (bounded): only a confirmed end is journaled as `cancelled`; an
// unconfirmed one is left to poll, which records the end when the scheduler
// reports it.
#include <algorithm>
#include <chrono>
#include <optional>
#include <set>

#include "mcp_server/registration.h"
#include "tools/registry.h"
#include "tools/runs/cancel_wait.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/run_resources.h"
#include "tools/runs/store.h"
#include "tools/runs/submitter.h"
#include "tools/workspace/repo.h"

namespace hpc::tools {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

struct Outcome {
  std::string run_id, job_id, state, previous_state, native_state, message;
  std::vector<std::string> cancelled_jobs;
  bool verified = false;
};

mcp::ToolResult Answer(const Outcome& o) {
  json s{{"state", o.state},
         {"previous_state", o.previous_state},
         {"cancelled_jobs", o.cancelled_jobs},
         {"verified", o.verified},
         {"message", o.message}};
  if (!o.run_id.empty()) s["run_id"] = o.run_id;
  if (!o.job_id.empty()) s["job_id"] = o.job_id;
  if (!o.native_state.empty()) s["native_state"] = o.native_state;
  mcp::ToolResult r = mcp::ToolResult::Text(o.message);
  r.structured = std::move(s);
  return r;
}

std::string Join(const std::vector<std::string>& v,
                 const std::string& sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// Who asked, for the run log and the `cancelled` diagnosis ("by whom").
std::string Requester(const mcp::RequestContext& ctx) {
  json info = ctx.ClientInfo();
  std::string name = info.is_object() ? info.value("name", "") : "";
  if (name.empty()) return "unknown MCP client";
  std::string version = info.value("version", "");
  return version.empty() ? name : name + " " + version;
}

// The answer for a run whose journal already shows its end: nothing is
// sent to the scheduler.
Outcome AlreadyEnded(const runs::Run& run) {
  Outcome o;
  o.run_id = run.id;
  o.state = o.previous_state = run.state;
  o.native_state = run.native_state;
  o.verified = true;
  if (run.state == "cancelled") {
    o.message = "run " + run.id + " was already cancelled; nothing to do.";
    return o;
  }
  std::string how = run.state;
  if (run.diagnosis.is_object() &&
      !run.diagnosis.value("category", "").empty() &&
      run.diagnosis.value("category", "") != "none")
    how += " (" + run.diagnosis.value("category", "") + ")";
  o.message = "run " + run.id + " already ended: " + how + " at " +
              run.updated_at + "; nothing to cancel.";
  return o;
}

// The submit lock, waiting a little for a submit in flight (it finishes in
// seconds) but never without bound, and never past a cancelled request.
Result<runs::SubmitLock> LockSubmits(runs::RunStore& store,
                                     const std::stop_token& stop) {
  for (int i = 0;; ++i) {
    auto lock = store.TryLockSubmits();
    if (lock.ok() || lock.status().reason() != "busy" || i == 20) return lock;
    if (!runs::Pause(stop, milliseconds(500))) return lock;
  }
}

Result<mcp::ToolResult> CancelRun(mcp::RequestContext& ctx,
                                  const json& args) {
  const std::string run_id = args["run_id"];
  const std::string confirm = args["confirm"];
  const std::string reason = args.value("reason", "");
  if (confirm != run_id)
    return InvalidArgument(
        "confirm (\"" + confirm + "\") does not repeat run_id (\"" + run_id +
        "\"); nothing was cancelled. To cancel " + run_id +
        ", call cancel again with confirm set to exactly the same run id.");
  auto repo = workspace::ResolveRepo(ctx, args);
  if (!repo.ok()) return repo.status();
  auto store_or = runs::RunStore::ForRepo(*repo);
  if (!store_or.ok()) return store_or.status();
  runs::RunStore& store = **store_or;
  auto table = store.Load();
  if (!table.ok()) return table.status();
  auto it = (*table)->runs.find(run_id);
  if (it == (*table)->runs.end())
    return NotFound(
        "run " + run_id + " is not in the journal of " + *repo +
        "; cancel acts only on that repository's runs. Call list_runs (with "
        "the same repo) to see them, or pass the repo that submitted the "
        "run.");
  runs::Run run = it->second;
  if (!run.active()) return Answer(AlreadyEnded(run));

  auto cluster = runs::OpenCluster(run.profile, *repo);
  if (!cluster.ok()) return cluster.status();
  cluster::Scheduler& sched = *(*cluster)->scheduler;
  const std::string by = Requester(ctx);
  const std::string why =
      "cancelled by " + by + (reason.empty() ? "" : ": " + reason);
  Outcome o;
  o.run_id = run_id;
  o.previous_state = run.state;

  // A run still `submitting` may have a job the journal does not know yet
  // (the answer was lost): adopt it first, so that it is cancelled too.
  // The submit lock is held to the end, so no submit dispatches the run
  // between this check and its being recorded as cancelled.
  std::optional<runs::SubmitLock> lock;
  if (run.state == runs::kSubmitting) {
    auto l = LockSubmits(store, ctx.stop_token());
    if (!l.ok())
      return Status(
          l.status().code(),
          "run " + run_id + " is being submitted by another call right now (" +
              l.status().message() +
              "); nothing was cancelled. Call cancel again in a few seconds.");
    lock.emplace(std::move(*l));
    Status s = runs::ReconcileRun(store, **cluster, run_id,
                                  /*dispatch_missing=*/false, /*locked=*/true);
    if (!s.ok())
      return Status(
          s.code(),
          "run " + run_id +
              " is still being submitted, and whether its job reached the "
              "scheduler could not be checked (" +
              s.message() +
              "); nothing was cancelled. Call cancel again once the cluster "
              "answers.");
    table = store.Load();
    if (!table.ok()) return table.status();
    run = (*table)->runs.at(run_id);
    if (!run.active()) return Answer(AlreadyEnded(run));
  }

  const std::vector<std::string> ids = run.JobIds();
  if (ids.empty()) {
    // No job ever reached the scheduler: recording the run as cancelled is
    // the whole cancel, and keeps any later submit from dispatching it.
    HPC_RETURN_IF_ERROR(store.Append(
        run_id, "cancel_requested",
        {{"jobs", json::array()}, {"by", by}, {"reason", reason}}));
    HPC_RETURN_IF_ERROR(store.Append(
        run_id, "cancelled",
        {{"verified", true}, {"native_state", ""}, {"never_submitted", true}}));
    HPC_RETURN_IF_ERROR(store.Append(
        run_id, "state_changed",
        {{"from", run.state},
         {"to", "cancelled"},
         {"native_state", ""},
         {"reason", why + " (no job had reached the scheduler)"}}));
    o.state = "cancelled";
    o.verified = true;
    o.message = "run " + run_id +
                " had no job on the scheduler yet; it is recorded as cancelled "
                "and will never be submitted.";
    runs::NotifyRunChanged(ctx, run_id);
    return Answer(o);
  }

  HPC_RETURN_IF_ERROR(
      store.Append(run_id, "cancel_requested",
                   {{"jobs", ids}, {"by", by}, {"reason", reason}}));
  Status sent = sched.Cancel(ids);
  if (!sent.ok())
    return Status(
        sent.code(),
        "the scheduler did not accept the cancel of run " + run_id + " (jobs " +
            Join(ids) + "): " + sent.message() +
            ". The request is in the journal; check the run with poll and "
            "call cancel again.");
  o.cancelled_jobs = ids;

  runs::CancelVerification v = runs::WaitEnded(ctx, sched, ids);
  if (!v.ended) {
    o.state = "cancelling";
    std::string seen =
        !v.statuses.empty() ? "last seen: " + runs::NativeStates(v.statuses)
        : !v.error.ok()     ? "the last query failed: " + v.error.message()
                            : "no answer yet";
    o.message = "asked the scheduler to cancel run " + run_id + " (jobs " +
                Join(ids) + "); it has not confirmed the end within " +
                std::to_string(runs::kCancelVerifyBudget.count()) + " s (" + seen +
                "). poll records the end when the scheduler reports it.";
    return Answer(o);
  }
  o.verified = true;
  o.native_state = runs::NativeStates(v.statuses);
  const bool cancelled = std::any_of(
      v.statuses.begin(), v.statuses.end(), [](const cluster::JobStatus& s) {
        return s.state == cluster::JobState::kCancelled;
      });
  if (!cancelled) {
    // Every job had ended by itself before the cancel arrived: its real
    // outcome (and diagnosis) is poll's to record, not a made-up cancel.
    o.state = runs::AggregateState(v.statuses);
    o.message =
        "run " + run_id + " had already ended (" + o.state + ", " +
        o.native_state +
        ") before the cancel reached it; call poll to record its outcome.";
    return Answer(o);
  }
  // Another caller (poll) may have recorded the end meanwhile.
  table = store.Load();
  if (!table.ok()) return table.status();
  const runs::Run& now = (*table)->runs.at(run_id);
  if (now.active()) {
    HPC_RETURN_IF_ERROR(store.Append(
        run_id, "cancelled",
        {{"verified", true}, {"native_state", o.native_state}, {"jobs", ids}}));
    HPC_RETURN_IF_ERROR(store.Append(run_id, "state_changed",
                                     {{"from", now.state},
                                      {"to", "cancelled"},
                                      {"native_state", o.native_state},
                                      {"tasks", runs::CountStates(v.statuses)},
                                      {"reason", why}}));
  }
  o.state = "cancelled";
  o.message = "cancelled run " + run_id + " (jobs " + Join(ids) +
              "); the scheduler confirms: " + o.native_state + ".";
  runs::NotifyRunChanged(ctx, run_id);
  return Answer(o);
}

// Whether `job_id` names one of `run`'s jobs or one of their tasks.
bool RunHasJob(const runs::Run& run, const std::string& job_id) {
  for (const auto& id : run.JobIds())
    if (job_id == id || job_id.starts_with(id + "_") ||
        job_id.starts_with(id + "."))
      return true;
  return false;
}

// A scheduler job that no run of the journal started (submitted by hand or
// from another repository): only with the profile's cancel_scope: own_jobs,
// and only when the scheduler says the login user owns it. No journal event
// besides the audit: there is no run to record it on.
Result<mcp::ToolResult> CancelJob(mcp::RequestContext& ctx, const json& args) {
  const std::string job_id = args["job_id"];
  const std::string confirm = args["confirm"];
  const std::string profile = args.value("profile", "local");
  if (confirm != job_id)
    return InvalidArgument(
        "confirm (\"" + confirm + "\") does not repeat job_id (\"" + job_id +
        "\"); nothing was cancelled. To cancel job " + job_id +
        ", call cancel again with confirm set to exactly the same job id.");
  auto repo = workspace::ResolveRepo(ctx, args);
  if (!repo.ok()) return repo.status();
  auto store = runs::RunStore::ForRepo(*repo);
  if (!store.ok()) return store.status();
  auto table = (*store)->Load();
  if (!table.ok()) return table.status();
  for (const auto& [id, run] : (*table)->runs)
    if (run.profile == profile && RunHasJob(run, job_id))
      return InvalidArgument("job " + job_id + " belongs to run " + id +
                             " of this repository; nothing was cancelled. "
                             "Cancel the run instead (run_id and confirm " +
                             id + "), so that its journal records why.");
  auto cluster = runs::OpenCluster(profile, *repo);
  if (!cluster.ok()) return cluster.status();
  const cluster::ClusterProfile& p = (*cluster)->profile;
  if (p.cancel_scope != "own_jobs")
    return PermissionDenied(
               "profile " + p.name +
               " lets cancel stop only the runs of this repository's journal "
               "(cancel_scope: runs in " + p.source + "); job " + job_id +
               " is not one of them, so nothing was cancelled")
        .WithReason("cancel_scope", false,
                    "if it is a run of this repository, cancel it by run_id "
                    "(list_runs shows them); otherwise ask the person who "
                    "owns " + p.source +
                        " whether to set cancel_scope: own_jobs there");
  cluster::Scheduler& sched = *(*cluster)->scheduler;
  auto owner = sched.Owner(job_id);
  if (!owner.ok()) return owner.status();
  if (!owner->active)
    return NotFound("job " + job_id + " is not queued or running on " +
                    p.name + "; nothing was cancelled. Check the id (the "
                    "scheduler's queue lists the jobs that can be cancelled).");
  if (!owner->mine())
    return PermissionDenied("job " + job_id + " belongs to user " +
                            owner->owner + ", not to " + owner->me +
                            " (the user profile " + p.name +
                            " logs in as); hpc-mcp never cancels another "
                            "user's job, so nothing was cancelled")
        .WithReason("foreign_job", false,
                    "ask " + owner->owner +
                        " or the cluster's administrators to cancel it");
  Status sent = sched.Cancel({job_id});
  if (!sent.ok()) return sent;
  Outcome o;
  o.job_id = job_id;
  o.previous_state = "active";
  o.cancelled_jobs = {job_id};
  runs::CancelVerification v = runs::WaitEnded(ctx, sched, {job_id});
  o.native_state = runs::NativeStates(v.statuses);
  o.verified = v.ended;
  o.state = !v.ended ? "cancelling" : runs::AggregateState(v.statuses);
  o.message = v.ended ? "cancelled job " + job_id + " of " + owner->me +
                            " on " + p.name + "; the scheduler says: " +
                            o.native_state + "."
                      : "asked the scheduler to cancel job " + job_id +
                            "; it has not confirmed the end within " +
                            std::to_string(runs::kCancelVerifyBudget.count()) +
                            " s. Check again with the scheduler's queue.";
  return Answer(o);
}

Result<mcp::ToolResult> Cancel(mcp::RequestContext& ctx, const json& args) {
  if (args.contains("run_id") == args.contains("job_id"))
    return InvalidArgument(
        "give exactly one of run_id (a run of this repository's journal) and "
        "job_id (a scheduler job hpc-mcp did not start, which the profile's "
        "cancel_scope: own_jobs must allow); nothing was cancelled.");
  return args.contains("run_id") ? CancelRun(ctx, args) : CancelJob(ctx, args);
}

}  // namespace

Status RegisterCancel(mcp::Server& server) {
  return mcp::AddToolFromAssets(server, HpcAssets(), "schemas/tools", "cancel",
                                Cancel);
}

}  // namespace hpc::tools
