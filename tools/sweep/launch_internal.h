// What launcher.cc, advance.cc and resubmit.cc share: a batch from plan to
// scheduler, and the journal's side of it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mcp_server/status.h"
#include "tools/cluster/scheduler.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/store.h"
#include "tools/sweep/launcher.h"
#include "tools/sweep/plan.h"
#include "tools/sweep/state.h"

namespace hpc::sweep::launch {

// One submission: a scheduler array of some tasks of one phase (or the
// aggregate), and what it waits for.
struct BatchPlan {
  std::string id, kind;
  int phase = -1;
  std::vector<uint32_t> tasks;  // Indices into Expansion::tasks.
  std::vector<std::pair<std::string, DependencyKind>> after;  // Batch ids.
  // Filled by Build.
  int base = 0;
  std::string tag, stdout_template, stderr_template, exit_dir;
  cluster::JobRequest request;
};

// "hpc-mcp:<sweep id>:<batch id>": the comment a batch's job carries.
std::string Tag(const std::string& sweep_id, const std::string& batch_id);

// A phase's workdir: its own (checked against the profile's roots), else
// the repository (local profile) or the work root.
Result<std::string> Workdir(const runs::Cluster& c, const Phase& phase);

// Renders the batch's script and job request.
Status Build(const runs::Cluster& c, const Loaded& l, const std::string& sweep_id,
             BatchPlan& b);

// The initial plan's arrays as batches (ids "<phase>.<k>").
std::vector<BatchPlan> PlanBatches(const Plan& plan);

// The plan of a submitted sweep, re-made with the limits it was made with.
Plan PlanOf(const Loaded& l, const runs::Run& run);

// Fills the request's dependencies from the batches it waits for. A batch
// whose tasks all ended needs no waiting (and the scheduler may have
// forgotten it); FailedPrecondition when one cannot be waited for (refused
// by the scheduler, or an afterok/aftercorr on tasks that did not all
// succeed): the caller blocks the batch's tasks instead.
Status ResolveAfter(const SweepState& s, BatchPlan& b);

// The submission protocol (launcher.h) for one batch; `journaled`: its
// batch_submitting is already in the journal.
Status Dispatch(runs::RunStore& store, runs::Cluster& c, const std::string& sweep_id,
                BatchPlan& b, bool journaled);

// Reconciles batches left without a job id (adopting them by tag) and,
// with `dispatch`, submits those never submitted and the plan's batches
// not yet journaled: `built` when the caller has just built them
// (submit_sweep), else planned and built again. REQUIRES: the caller holds
// the submit lock.
Status FinishSubmission(runs::RunStore& store, runs::Cluster& c, const std::string& sweep_id,
                        const Loaded& l, bool dispatch,
                        const std::vector<BatchPlan>* built = nullptr);

// Appends a tasks_changed event when `changes` is not empty.
Status AppendChanges(runs::RunStore& store, const std::string& sweep_id,
                     nlohmann::json changes);

// Journals the run state the sweep's tasks give it (SweepState::RunState)
// when it differs from the journal's, with the counts, and writes
// summary.md when that state is an end. What could not be written is
// added to `errors`.
Status SyncState(runs::RunStore& store, const std::string& sweep_id, const Loaded& l,
                 const std::string& reason, std::vector<std::string>& errors);

// SetPollsDispatch's setting (launcher.h).
bool PollsDispatch();

// Whether every task `task` depends on (matched and whole-phase) is done.
// `stuck` is set when one of them can no longer get done without a person.
bool DependenciesDone(const Loaded& l, const SweepState& s, uint32_t task, bool* stuck);

}  // namespace hpc::sweep::launch
