// How a sweep's tasks reach the scheduler: packed into job arrays of at
// most the profile's max_array_size tasks, the arrays grouped into waves of
// at most max_concurrent_jobs, and everything chained by scheduler
// dependencies, so that the cluster itself advances the sweep even while
// hpc-mcp is down. One array is one submission: a 5,000-task sweep under
// max_array_size 1000 is 5 submissions, not 5,000.
//
// The dependencies, and why each has its kind (what the scheduler must
// guarantee, given that the server retries failed tasks itself):
//
// - Waves: every array of wave k+1 waits `afterany` for every array of
//   wave k. The wave exists only to bound how many arrays run at once
//   (max_concurrent_jobs), not to carry data, so it must release the next
//   wave whatever the previous one's outcome: `afterok` would let one
//   failed task (which the server retries on its own) stop the rest of
//   the sweep. With no max_concurrent_jobs there are no wave edges at all;
//   waves are then just the dependency levels.
//
// - A whole-phase depends_on: every array of the waiting phase waits
//   `afterok` for every array of the phase it names. That phase's outputs
//   are read by tasks nobody can name one by one, so only "all of them
//   succeeded" is safe; `afterany` would start students on a missing
//   teacher checkpoint, the failure this feature exists to prevent. The
//   cost: a failed task there holds the waiting phase (Slurm shows
//   DependencyNeverSatisfied) until the server's retry of it succeeds and
//   the server re-points or resubmits the held arrays; with the server
//   down the sweep waits, and never runs a task on missing inputs. Grid
//   Engine has no afterok (-hold_jid releases at any end): there the tool
//   must supply the "ok" itself, e.g. each waiting task checking the
//   phase's success before it starts and exiting as blocked otherwise.
//
// - A depends_on with match (student N after teacher N): when each waiting
//   task waits for exactly one task and every task of the other phase has
//   the same number m of waiting tasks (the common "m seeds per teacher"),
//   the waiting phase is packed into m arrays per array of the other phase,
//   aligned index for index (element i of the student array waits for
//   element i of its teacher array), each waiting `aftercorr` (Slurm:
//   element i starts once element i succeeded) / -hold_jid_ad (Grid
//   Engine, which wants both arrays the same size, as they are: element i
//   after element i, any end, so there the tool has to check the teacher's
//   expected outputs as the student's preconditions). One failed teacher
//   then holds back only its own students. Under max_concurrent_jobs the
//   aligned array also waits for its previous wave (afterany), so it never
//   starts before its teacher array ended; aftercorr adds the per-element
//   "succeeded". Any other shape (a task waiting for several, uneven
//   fan-out, two matched dependencies) falls back to the whole-phase
//   `afterok` above, and the plan's notes say so.
//
// Arrays are laid out phase by phase in Sweep::order and assigned to
// waves greedily: an array joins the last wave if it has room and the
// array depends on nothing in it, else opens the next one. Array element i
// is the i-th task of PlanArray::tasks (the tool maps it to the backend's
// index base: Slurm 0-based, Grid Engine -t 1-based).
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/cluster/profile.h"
#include "tools/sweep/expand.h"
#include "tools/sweep/sweep.h"

namespace hpc::sweep {

struct PlanLimits {
  int max_array_size = 0;       // 0: no limit (one array per phase).
  int max_concurrent_jobs = 0;  // Arrays per wave; 0: no limit.
  static PlanLimits FromProfile(const cluster::Limits& limits);
};

enum class DependencyKind {
  kAfterAny,   // The other array ended, however (Slurm afterany).
  kAfterOk,    // The other array's every task succeeded (afterok).
  kAfterCorr,  // Element-wise: element i after element i succeeded.
};
const char* DependencyKindName(DependencyKind kind);  // "afterany", ...

struct ArrayDependency {
  enum class Why { kWave, kPhase, kMatch };
  size_t array = 0;  // Index into Plan::arrays.
  DependencyKind kind = DependencyKind::kAfterAny;
  Why why = Why::kWave;
};

struct PlanArray {
  std::string id;  // "<phase>.<k>", k counting from 0 in the phase.
  int phase = 0;   // Index into Sweep::phases.
  int wave = 0;
  // Indices into Expansion::tasks; element i of the array is tasks[i].
  std::vector<size_t> tasks;
  std::vector<ArrayDependency> after;  // By array, then kind.
};

struct PhasePlan {
  size_t tasks = 0, arrays = 0;
  int first_wave = 0, last_wave = 0;
  // Per depends_on entry, as the scheduler sees it: "phase" (afterok on
  // the whole phase) or "aligned" (aftercorr, element by element).
  std::vector<std::string> dependency_modes;
};

struct Plan {
  PlanLimits limits;
  std::vector<PlanArray> arrays;  // Phase by phase in Sweep::order.
  std::vector<PhasePlan> phases;  // As Sweep::phases.
  int waves = 0;
  size_t tasks = 0;
  // What the reader should know: fallbacks and their reasons.
  std::vector<std::string> notes;
  size_t submissions() const { return arrays.size(); }
};

// REQUIRES: `expansion` is ExpandSweep(sweep).
Plan MakePlan(const Sweep& sweep, const Expansion& expansion,
              const PlanLimits& limits);

// What is known about how long one task runs, from earlier runs: seconds
// by phase name, or by TemplateKey of the phase's command (the phase name
// wins). `parallel_tasks`: how many tasks of one array the cluster runs at
// once (0: all of them), e.g. the GPUs a host has.
struct Durations {
  std::map<std::string, double> by_phase, by_template;
  int parallel_tasks = 0;
};

// A key for "the same command template" across sweeps and runs: the argv
// template as a JSON array.
std::string TemplateKey(const Phase& phase);

struct WallClock {
  bool known = false;  // Every phase's duration was given.
  double seconds = 0;  // Sum over waves of the wave's longest array.
  std::vector<std::string> unknown_phases;
};

// The wall-clock time of the plan if every task runs as long as given and
// no task waits in the queue: a lower bound for planning, not a promise.
WallClock EstimateWallClock(const Sweep& sweep, const Plan& plan,
                            const Durations& durations);

// The plan for dry_run: counts (tasks, arrays, waves, submissions), the
// limits, per phase its counts, waves and dependency modes, and the arrays
// with their first and last task ids, never one line per task; past
// `max_arrays` arrays, the first and last ones and how many were left out.
// With `wall_clock`, the estimate too.
nlohmann::json PlanJson(const Sweep& sweep, const Expansion& expansion,
                        const Plan& plan, const WallClock* wall_clock = nullptr,
                        size_t max_arrays = 40);

}  // namespace hpc::sweep
