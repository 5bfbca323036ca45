// cancel: stops a run of this repository's journal, and only its own jobs.
//
// The journal records the intent (cancel_requested: jobs, by, reason) before
// the scheduler is asked, so a crash mid-cancel still leaves the reason for
// the run's end. The job ids come only from the run's journal events: an id
// the agent typed never reaches the scheduler. The scheduler is then asked
// until every task has ended (bounded): only a confirmed end is journaled
// as `cancelled`; an unconfirmed one is left to poll, which records the end
// when the scheduler reports it.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>

#include "mcp_server/registration.h"
#include "tools/registry.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/run_resources.h"
#include "tools/runs/store.h"
#include "tools/runs/submitter.h"
#include "tools/workspace/repo.h"

namespace hpc::tools {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Long enough for scancel/qdel and the wrapper's SIGTERM grace to take
// effect, short enough for an agent to wait on; what is not confirmed by
// then is poll's to record.
constexpr auto kVerifyBudget = std::chrono::seconds(20);
// Pauses between scheduler queries: quick at first (local cancels are
// immediate), then spaced out so a slow controller is not hammered.
constexpr int kQueryPausesMs[] = {500, 1000, 2000, 3000, 4000, 4500, 5000};
// Unconfirmed after this many queries (about 3.5 s): cancel again.
constexpr size_t kResendAfterQueries = 3;

struct Outcome {
  std::string run_id, state, previous_state, native_state, message;
  std::vector<std::string> cancelled_jobs;
  bool verified = false;
};

mcp::ToolResult Answer(const Outcome& o) {
  json s{{"run_id", o.run_id},
         {"state", o.state},
         {"previous_state", o.previous_state},
         {"cancelled_jobs", o.cancelled_jobs},
         {"verified", o.verified},
         {"message", o.message}};
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

// Sleeps for `d` unless the request is cancelled first; false if it was.
bool Pause(const std::stop_token& stop, milliseconds d) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  cv.wait_for(lock, stop, d, [] { return false; });
  return !stop.stop_requested();
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

// The distinct native states of `statuses` ("CANCELLED by 1001"), at most
// a few: a thousand-task array must not make a thousand-word event.
std::string NativeStates(const std::vector<cluster::JobStatus>& statuses) {
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (const auto& s : statuses) {
    std::string n = s.native_state.empty() ? cluster::JobStateName(s.state)
                                           : s.native_state;
    if (seen.insert(n).second) out.push_back(n);
    if (out.size() == 4) break;
  }
  return Join(out);
}

struct Verification {
  bool ended = false;  // Every task terminal, per the scheduler.
  std::vector<cluster::JobStatus> statuses;  // The last answer.
  Status error;                              // The last failed query.
};

// Asks the scheduler about `ids` until every task has ended, the budget is
// spent, or the request is cancelled. Jobs still alive after a few seconds
// are sent the cancel once more: a signal can be lost when it reaches a job
// in the middle of starting (the local wrapper between its last cancel
// check and the script's start), and every backend accepts a repeated
// cancel of the same ids.
Verification WaitEnded(mcp::RequestContext& ctx, cluster::Scheduler& sched,
                       const std::vector<std::string>& ids) {
  Verification v;
  const auto deadline = Clock::now() + kVerifyBudget;
  const std::stop_token stop = ctx.stop_token();
  const size_t n = std::size(kQueryPausesMs);
  for (size_t i = 0;; ++i) {
    auto q = sched.Query(ids);
    if (q.ok()) {
      v.statuses = std::move(*q);
      v.ended = !v.statuses.empty() &&
                std::all_of(v.statuses.begin(), v.statuses.end(),
                            [](const cluster::JobStatus& s) {
                              return cluster::IsTerminal(s.state);
                            });
      if (v.ended) return v;
    } else {
      v.error = q.status();
    }
    if (i == kResendAfterQueries) (void)sched.Cancel(ids);
    const milliseconds pause(kQueryPausesMs[std::min(i, n - 1)]);
    if (Clock::now() + pause > deadline) return v;
    ctx.Progress(static_cast<double>(i + 1), std::nullopt,
                 "waiting for the scheduler to confirm that the jobs ended");
    if (!Pause(stop, pause)) return v;
  }
}

// The submit lock, waiting a little for a submit in flight (it finishes in
// seconds) but never without bound, and never past a cancelled request.
Result<runs::SubmitLock> LockSubmits(runs::RunStore& store,
                                     const std::stop_token& stop) {
  for (int i = 0;; ++i) {
    auto lock = store.TryLockSubmits();
    if (lock.ok() || lock.status().reason() != "busy" || i == 20) return lock;
    if (!Pause(stop, milliseconds(500))) return lock;
  }
}

Result<mcp::ToolResult> Cancel(mcp::RequestContext& ctx, const json& args) {
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

  Verification v = WaitEnded(ctx, sched, ids);
  if (!v.ended) {
    o.state = "cancelling";
    std::string seen =
        !v.statuses.empty() ? "last seen: " + NativeStates(v.statuses)
        : !v.error.ok()     ? "the last query failed: " + v.error.message()
                            : "no answer yet";
    o.message = "asked the scheduler to cancel run " + run_id + " (jobs " +
                Join(ids) + "); it has not confirmed the end within " +
                std::to_string(kVerifyBudget.count()) + " s (" + seen +
                "). poll records the end when the scheduler reports it.";
    return Answer(o);
  }
  o.verified = true;
  o.native_state = NativeStates(v.statuses);
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

}  // namespace

Status RegisterCancel(mcp::Server& server) {
  return mcp::AddToolFromAssets(server, HpcAssets(), "schemas/tools", "cancel",
                                Cancel);
}

}  // namespace hpc::tools
