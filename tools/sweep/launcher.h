// Running a sweep: what submit_sweep, resubmit_failed and a poll of a
// sweep do. The model is in sweep.h, the plan in plan.h, the journal's
// view in state.h; this is where they meet the cluster.
//
// Submission is the run protocol of runs/submitter.h per batch, under the
// repository's submit lock: journal `batch_submitting` (with the batch's
// tag and tasks), submit the array carrying the tag as its comment,
// journal `batch_submitted`. A batch whose answer was lost is found by its
// tag and adopted, never submitted twice; a batch never journaled (the
// server died mid-plan) is submitted by the next submit_sweep of the same
// sweep or the next poll. So a kill at any moment loses no task and runs
// none twice.
//
// A poll of a sweep (AdvanceSweep) turns the scheduler's per-element
// statuses into task states, diagnoses failed tasks from their log tails
// (at most a few per poll; the rest on the next), applies the retry
// policy (retry.h): a retry is a new batch of the failed tasks once its
// delay passed; a task the scheduler cancelled because a task it depends
// on failed is `blocked` and released in a new batch once that task is
// done. When every task is done it submits the aggregate; when the sweep
// ends it writes run_logs/<sweep name>/summary.md. All of it is what
// submit_sweep's call asked for; a server started with --read-only only
// reports what is due (SetPollsDispatch).
//
// Thread-safety: functions are thread-safe; submissions to one repository
// are serialized by its submit lock.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/cluster/job_state.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/store.h"
#include "tools/sweep/expand.h"
#include "tools/sweep/sweep.h"

namespace hpc::sweep {

// Above this many tasks a sweep needs a confirm_token (runs/confirm.h),
// whatever its GPU-hours: a typo in a grid should cost one extra call, not
// a day of cluster time. kMaxSweepTasks (expand.h) is the hard ceiling.
inline constexpr uint64_t kConfirmAboveTasks = 10000;

// A loaded sweep and its tasks, shared (cached by spec hash per process).
struct Loaded {
  Sweep sweep;
  Expansion expansion;
};

struct SubmitSweepRequest {
  std::string profile = "local";
  std::string file;  // Repository file the sweep came from, if any.
  std::shared_ptr<const Loaded> loaded;
  bool dry_run = false, force = false;
  std::string confirm_token;
  // What identifies the sweep (hashed): the profile and the document as
  // loaded (a changed file is another sweep).
  nlohmann::json spec;
};

// Reads submit_sweep's arguments (validated against its schema): the sweep
// inline or from `file` in `repo`, loaded, counted (refused above the
// ceiling before anything is built) and expanded.
Result<SubmitSweepRequest> ParseSubmitSweepRequest(const std::string& repo,
                                                   const nlohmann::json& args);

// Submits (or, for dry_run, plans) the sweep; submit_sweep's output object.
Result<nlohmann::json> SubmitSweep(runs::RunStore& store, runs::Cluster& c,
                                   const SubmitSweepRequest& req);

// Whether polls submit what a sweep's policy makes due (retries, releases,
// the aggregate, unsubmitted batches). On by default; off in a server
// started with --read-only.
void SetPollsDispatch(bool enabled);

struct AdvanceOutcome {
  bool changed = false;
  std::vector<std::string> errors;  // Reported with the poll; not fatal.
};

// One poll step of sweep `sweep_id`: `statuses` is the answer of the
// poll's one scheduler query (it may hold other runs' jobs too).
Result<AdvanceOutcome> AdvanceSweep(runs::RunStore& store, runs::Cluster& c,
                                    const std::string& sweep_id,
                                    const std::vector<cluster::JobStatus>& statuses);

struct ResubmitRequest {
  std::string sweep_id;
  std::vector<std::string> tasks;  // Only these task ids; empty: all.
  bool dry_run = false;
};

// resubmit_failed: for each task that is stuck (and a failed aggregate), checks its expected outputs on the cluster (a task whose
// outputs all exist is done, whatever its exit code said); submits the
// rest as a new attempt, one batch per phase, those whose dependencies are
// not done yet left blocked until they are. Tasks that are done, queued or
// running are never touched. A sweep cancelled through cancel is refused
// (FailedPrecondition): it is submitted anew. The tool's output object.
Result<nlohmann::json> ResubmitFailed(runs::RunStore& store, runs::Cluster& c,
                                      const ResubmitRequest& req);

// The sweep of a run created by SubmitSweep, loaded from its spec (cached).
Result<std::shared_ptr<const Loaded>> LoadedFor(const runs::Run& run);

}  // namespace hpc::sweep
