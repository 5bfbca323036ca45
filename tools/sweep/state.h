// A submitted sweep as the journal tells it: per-task state and the
// batches (scheduler submissions) the tasks ran in. Pure replay, like
// runs::RunTable, of which it is a part: a sweep is a run of the journal
// (its `created` event carries a `sweep` object), so that poll,
// wait_for_runs, list_runs, cancel and the notices treat it as one entity.
//
// Events of a sweep (run = the sweep's id), besides the run events
// created and state_changed:
//   batch_submitting      batch, phase, kind, tasks (indices), base, tag,
//                         script_path, stdout_path, stderr_path, exit_dir,
//                         after ([{batch, kind}])
//   batch_submitted       batch, job_id, how (answer|comment)
//   batch_submit_failed   batch, lost, message, reason
//   tasks_changed         changes: [{t, s, x?, c?, m?, nb?, j?, e?, n?}]
//                         (task index, state, exit code, diagnosis
//                         category and summary, retry not before (unix
//                         seconds), the scheduler's id of the task, seconds
//                         it ran, where a failed attempt ran)
//   aggregate_changed     state, output?, message?
//   sweep_summary         path (summary.md, repository-relative)
// A batch's tasks are journaled with it, so each task's attempts (every
// batch it was part of) replay without the sweep being expanded again.
//
// Thread-safety: values; SweepState is copied on write by RunTable.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/journal/journal.h"

namespace hpc::sweep {

// Task states.
enum class TaskState : uint8_t {
  kWaiting,    // Not in the scheduler: its batch is being submitted.
  kQueued,     // In the scheduler, not started.
  kRunning,
  kDone,       // Exited 0 with every expected output (or found complete).
  kRetryWait,  // Failed; a retry is due at not_before.
  kBlocked,    // A task it depends on failed; runs again once that is done.
  kStuck,      // Failed in a way retrying cannot fix: parked for a person.
  kCancelled,  // Cancelled through cancel.
};
const char* TaskStateName(TaskState s);  // "waiting", "queued", ...
std::optional<TaskState> ParseTaskState(std::string_view name);
// Whether the task will still change without anyone asking (waiting,
// queued, running, retry_wait). A blocked task waits for one that is not
// active either once nothing is: it needs resubmit_failed.
bool IsActive(TaskState s);

// Batch kinds: why a submission was made.
inline constexpr char kPlanBatch[] = "plan";          // The initial plan.
inline constexpr char kRetryBatch[] = "retry";        // The retry policy.
inline constexpr char kReleaseBatch[] = "release";    // Blocked tasks whose
                                                      // dependencies are done.
inline constexpr char kResubmitBatch[] = "resubmit";  // resubmit_failed.
inline constexpr char kAggregateBatch[] = "aggregate";

struct BatchRecord {
  std::string id;  // "b0", "b1", ... in submission order.
  int phase = -1;  // -1 for the aggregate.
  std::string kind;
  std::vector<uint32_t> tasks;  // Element `base + i` runs tasks[i].
  int base = 0;                 // First array index (Grid Engine: 1).
  std::string tag, job_id, script_path, stdout_path, stderr_path, exit_dir;
  std::vector<std::pair<std::string, std::string>> after;  // Batch, kind.
  // A retry's preferences (cluster::JobRequest's avoid_nodes, avoid_gpus).
  std::vector<std::string> avoid_nodes;
  std::vector<int> avoid_gpus;
  std::string submitted_at;
  bool lost = false;    // Its submission's answer was lost.
  bool failed = false;  // The scheduler refused it.
  // The scheduler's id of element `i` (Slurm "123_4", Grid Engine "123.5").
  std::string ElementJobId(size_t i, const std::string& scheduler) const;
  // stdout/stderr of element i ({task} in the templates).
  std::string Log(const std::string& tmpl, size_t i) const;
};

struct TaskAttempt {
  int batch = -1;  // Index into SweepState::batches.
  TaskState outcome = TaskState::kWaiting;  // As last journaled.
  std::string category;                     // Of its failure.
};

struct TaskRecord {
  TaskState state = TaskState::kWaiting;
  int batch = -1;        // The current attempt's batch (index).
  uint32_t element = 0;  // Its position in that batch.
  std::optional<int> exit_code;
  std::string category, summary;  // The last failure's diagnosis.
  int64_t not_before = 0;         // kRetryWait: unix seconds.
  std::string job_id;             // The scheduler's id of the attempt.
  std::optional<int64_t> elapsed_s;  // Of the attempt that got it done.
  std::string nodes;  // Where the last failed attempt ran (JobStatus::nodes).
  std::vector<TaskAttempt> attempts;
  int retries() const {
    return attempts.empty() ? 0 : static_cast<int>(attempts.size()) - 1;
  }
};

struct PhaseSpan {
  std::string name;
  std::string template_key;  // plan.h TemplateKey: durations across sweeps.
  uint32_t first = 0, count = 0;
};

struct AggregateRecord {
  std::string state;  // "" (not yet), submitting, queued, running,
                      // completed, failed.
  int batch = -1;
  std::string output, message;
};

// batch_submitting, batch_submitted, batch_submit_failed, tasks_changed,
// aggregate_changed, sweep_summary.
bool IsSweepEvent(std::string_view name);

struct SweepState {
  std::string name;
  std::vector<PhaseSpan> phases;
  std::vector<std::string> task_ids;
  std::vector<TaskRecord> tasks;
  std::vector<BatchRecord> batches;
  std::map<std::string, int> batch_index;  // By id.
  AggregateRecord aggregate;
  bool has_aggregate = false;
  std::string summary_path;  // Repository-relative, once written.

  // The sweep described by a `created` event's `sweep` object.
  static SweepState FromCreated(const nlohmann::json& sweep);
  // Applies a sweep event (IsSweepEvent); what did not fit is added to
  // `problems`.
  void Apply(const journal::Event& e, std::vector<std::string>& problems);

  // A cancel of the whole sweep went through: every task that was still
  // active is cancelled.
  void CancelActive();

  int PhaseOf(uint32_t task) const;
  // Counts by state name, states with no task left out.
  std::map<std::string, int64_t> Counts() const;
  // Whether any task may still change or a batch/aggregate is in flight.
  bool Active() const;
  // The run state the sweep has: "submitting" while a batch has no job
  // id, running while a task (or the aggregate) runs, pending while any
  // other is active, else completed when every task is done (and the
  // aggregate completed), cancelled when any was cancelled, failed.
  std::string RunState() const;
  // Job ids of batches one of whose tasks is queued or running at its
  // current attempt, and of a running aggregate: what a poll asks about
  // and a cancel cancels.
  std::vector<std::string> ActiveJobIds() const;
  // Every job id ever submitted.
  std::vector<std::string> AllJobIds() const;
};

// The compact summary poll, wait_for_runs and list_runs show: counts by
// state, retries, the stuck and blocked tasks with their diagnoses (at
// most `max_listed`, then how many more), phases' counts, the aggregate.
// Its `line` is SummaryLine.
nlohmann::json SummaryJson(const SweepState& s, size_t max_listed = 10);

// One line: "12 tasks: 10 done, 1 stuck, 1 queued · 1 retry · stuck t3
// (gpu_oom)", at most three tasks named.
std::string SummaryLine(const SweepState& s);

}  // namespace hpc::sweep
