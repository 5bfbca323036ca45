// Exactly-once submission of a run: the logic behind the `submit` tool.
//
// Protocol, under the repository's submit lock (store.h), for each job of
// the run (the smoke job first, then the main job chained after it):
//   1. journal `submitting` (with the job's tag) and fsync;
//   2. dispatch to the scheduler, the job carrying the tag as its comment;
//   3. journal `submitted` with the job id.
// If the process dies between 1 and 3, or the scheduler's answer is lost on
// the way back, the run stays `submitting`. The next submit of the same spec
// (or a poll) reconciles it: the scheduler is searched for the tag
// (Scheduler::FindByComment) and a job found is adopted; only a job that
// provably never reached the scheduler is dispatched again. "Provably": the
// reconciler first takes the job's cluster-side submit lock and its claim
// (ClaimInflightSubmit below), so a submit command of the dead process that
// is still running has finished, and one still on its way will refuse to
// run. So a kill -9 at any moment loses no run and submits no job twice.
//
// Idempotence: a submit whose spec hashes like an active run's returns that
// run (idempotent: true) unless `force`.
//
// Before anything is journaled, every job is checked against the
// profile's limits (limits.h; dry runs too, which report the estimate and
// the checks), and a submission above the profile's confirmation threshold
// is answered with its plan and a confirm_token instead (confirm.h).
//
// Thread-safety: functions are thread-safe (the submit lock serializes
// submits to one repository across threads and processes).
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"
#include "tools/cluster/scheduler.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/store.h"

namespace hpc::runs {

struct SubmitRequest {
  std::string profile = "local", name;
  std::vector<std::string> command;  // argv; or
  std::string script;                // a program's text (with its #! line)
  std::string workdir;               // Empty: the repo (local) or work_root.
  std::map<std::string, std::string> env;
  cluster::Resources resources;
  std::string array;  // A range ("0-9%2"); or
  std::vector<std::map<std::string, std::string>> param_sets;  // one task each
  std::vector<std::string> depends_on;  // Run ids of this repository.
  bool smoke = false;
  std::vector<std::string> smoke_args, smoke_command;
  std::string smoke_time = "00:10:00";
  bool dry_run = false, force = false;
  std::string confirm_token;  // From an earlier answer (confirm.h).
  nlohmann::json spec;  // What identifies the run (hashed): every field but
                        // dry_run, force, confirm_token and repo.
};

// Reads a submit tool call's arguments (already validated against
// schemas/tools/submit.json).
Result<SubmitRequest> ParseSubmitRequest(const nlohmann::json& args);

// Submits (or, for dry_run, plans) `req`; the submit tool's output object.
Result<nlohmann::json> SubmitRun(RunStore& store, Cluster& cluster, const SubmitRequest& req);

// Finishes a run left `submitting` (see above): adopts jobs found by their
// tag; dispatches those never submitted when `dispatch_missing`, else
// leaves them for the next submit. Takes the submit lock unless the caller
// holds it (`locked`).
Status ReconcileRun(RunStore& store, Cluster& cluster, const std::string& run_id,
                    bool dispatch_missing, bool locked);

// What the sweep driver (tools/sweep/launcher.h) shares with submit's
// protocol:
// Whether a failed Scheduler::Submit certainly created no job (the
// scheduler or our own checks refused); otherwise the answer may have been
// lost and the job may exist.
bool SubmitFailureIsDefinite(const Status& s);
// Step 2 of the protocol for one job: `before` (if any; e.g. writing a
// program file), then Scheduler::Submit of `request`, between the fault
// points below. When the answer is lost or unclear, the scheduler is
// searched for `tag` and a job found is the answer (how "comment", else
// "answer"). The error: a definite refusal (SubmitFailureIsDefinite) or
// one after which whether the job exists is still unknown.
struct Dispatched {
  std::string job_id, how;
};
Result<Dispatched> SubmitOrAdopt(Cluster& c, const cluster::JobRequest& request,
                                 const std::string& tag,
                                 const std::function<Status()>& before = nullptr);
// Waits (up to 600 s) until a submit still running on the cluster under
// request.submit_lock let go of it, then claims the lock for
// request.submit_token (cluster::ClaimSubmitLockArgv): a submit of an
// earlier dispatch that reaches the lock only now does not run. After it,
// FindByComment sees every job earlier dispatches created, and `request`
// may be submitted.
Status ClaimInflightSubmit(Cluster& c, const cluster::JobRequest& request);
// Unix seconds, from the clock below.
int64_t SubmitClockNow();

// Called at named points of a submission ("before_dispatch",
// "after_dispatch"); a non-OK status there acts as if the scheduler's
// answer was lost. For fault tests only.
void SetSubmitFaultHookForTesting(std::function<Status(std::string_view point)> hook);

// Replaces the clock (unix seconds) submit reads for run ids, the 24-hour
// window and confirm_token expiry; nullptr restores the system clock. For
// tests only.
void SetSubmitClockForTesting(std::function<int64_t()> now);

}  // namespace hpc::runs
