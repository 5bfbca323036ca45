// A run: one experiment the agent submitted, as the journal's events tell
// it. Nothing here is stored anywhere but in the events; Fold replays them
// into the table of runs, and every tool reads that table.
//
// Events of a run (journal_event.name, context fields):
//   created         name, profile, scheduler, spec, spec_hash, workdir, tag,
//                   gpu_hours and jobs (the estimate limits.h checked),
//                   confirm_token_sha256 (the confirmation it used, if any)
//   submitting      attempt, role (smoke|main), tag, script_path,
//                   stdout_path, stderr_path, exit_dir, array_tasks
//   submitted       attempt, role, job_id, how (answer|comment)
//   submit_failed   attempt, role, message, reason, lost (the answer was
//                   lost: the job may exist; the next call adopts it)
//   state_changed   from, to, native_state, exit_code, elapsed_s,
//                   time_limit_s, tasks (counts by state), reason
//   progress        metrics (metrics.h ToJson), cursor, step_changed_at
//   health          status, checks
//   diagnosed       category, summary, evidence, remediation, retryable
//   cancel_requested  jobs, by
//   cancelled       verified, native_state
//   linked          kind (run_log|wandb|checkpoint|...), value
// Repository-wide events (run ""):
//   audit           tool, client, session, arguments (redacted), outcome,
//                   error, run_ids, duration_ms: one per call of a mutating
//                   tool, see audit.h
//   confirm_requested  token_sha256, spec_hash, run_id (planned),
//                      gpu_hours, expires_at (unix seconds): see confirm.h
//   notify_started  seq: notifications were configured for this repository
//                   (the first patrol with a notify config); only milestones
//                   after `seq` are announced, so turning them on does not
//                   announce the past
//   notice_claimed  key, event, run, channels (Describe() of each), by
//                   ("patrol <pid>@<host>"): a patrol will send this notice
//                   on these channels; appended under notify.lock after
//                   checking that no live claim exists (tools/patrol/notices.h)
//   notice_sent     key, channel, ok, error (when not ok): one per channel
//                   and claim, after the delivery's retries
// Notice events are repository-wide so that they do not make a run look
// changed to poll's cursor.
// Unknown names are ignored by Fold (a newer server may add some).
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/cluster/job_state.h"
#include "tools/journal/journal.h"
#include "tools/sweep/state.h"

namespace hpc::runs {

// Run states: the job states of job_state.h plus the two before a job id
// is known. "submitting": recorded before dispatch, no job id yet;
// "submit_failed": the scheduler refused (terminal).
inline constexpr char kSubmitting[] = "submitting";
inline constexpr char kSubmitFailed[] = "submit_failed";

// Whether a run in `state` may still change (pending, running, unknown,
// submitting).
bool IsActiveState(const std::string& state);

struct Job {
  std::string role;       // "smoke" or "main".
  std::string tag;        // The run tag the job carries (comment).
  std::string job_id;     // Empty until submitted or adopted.
  std::string script_path, stdout_path, stderr_path;  // Log paths may hold
                                                      // "{task}".
  std::string exit_dir;   // Where the script records exit codes.
  std::vector<int64_t> array_tasks;  // Empty: not an array.
  std::string submitted_at;
  bool lost = false;      // Submit answer lost; adoption pending.
};

struct Attempt {
  int number = 1;
  std::vector<Job> jobs;  // Smoke first when there is one.
  const Job* Find(const std::string& role) const;
  Job* Find(const std::string& role);
};

struct Run {
  std::string id, name, profile, scheduler;
  nlohmann::json spec;  // The resolved submit spec.
  std::string spec_hash, workdir, created_at, updated_at;
  double gpu_hours = 0;   // Estimated at submission (limits.h).
  int64_t job_count = 0;  // Scheduler jobs, array tasks counted.
  std::string state = kSubmitting;
  std::string native_state, state_reason;
  std::optional<int> exit_code;
  std::optional<int64_t> elapsed_s, time_limit_s;
  nlohmann::json tasks;  // Counts by state for arrays ({} otherwise).
  std::vector<Attempt> attempts;
  nlohmann::json progress;   // Last metrics seen (metrics.h ToJson).
  uint64_t log_cursor = 0;   // Of the main job's stdout (first task).
  std::string step_changed_at;  // When the step counter last moved.
  nlohmann::json health;     // {status, checks}.
  nlohmann::json diagnosis;  // Diagnosis ToJson, or null.
  nlohmann::json links = nlohmann::json::object();  // kind -> value.
  bool cancel_requested = false;
  bool started = false;          // Seen running at least once.
  std::string state_changed_at;  // When `state` last changed.
  uint64_t changed_seq = 0;  // Sequence number of its last event.
  // Set for a sweep (submit_sweep): its tasks and batches. Shared between
  // table snapshots; RunTable::Apply copies it before changing it unless
  // the table being built is its only holder. Never change it elsewhere.
  std::shared_ptr<sweep::SweepState> sweep;

  const Attempt* current() const {
    return attempts.empty() ? nullptr : &attempts.back();
  }
  // Job ids of the current attempt (every role), in order; of a sweep,
  // the batches with a task queued or running (SweepState::ActiveJobIds).
  std::vector<std::string> JobIds() const;
  bool active() const { return IsActiveState(state); }
};

// A confirm_token issued by submit (confirm.h), keyed by its SHA-256.
struct Confirmation {
  std::string spec_hash, run_id;  // What it binds; the run it plans.
  double gpu_hours = 0;
  int64_t expires_at = 0;  // Unix seconds.
  std::string used_by;     // The run whose `created` consumed it.
};

// A change of a run worth showing a person, in journal order: its
// creation, each change of its state, and each time its health turned to
// fail. A pure replay, so every process derives the same milestones with
// the same sequence numbers: what the patrol announces (once per key) and
// what heartbeat.md lists.
struct Milestone {
  uint64_t seq = 0;      // Of the event that made it.
  std::string ts, run;
  std::string kind;      // created | state | health
  std::string from, to;  // Run states (kind state), health statuses (health).
  // The notification it is (notify.h kEvents: run_started, run_finished,
  // run_failed, health_failed), or empty: a change no one is told about
  // (pending again, a cancel asked through `cancel`, a creation).
  std::string notice;
  nlohmann::json detail;  // health: the checks that failed; else null.
};

// What the journal says of one notice (key "<journal id>:<run>:<event>:<seq>").
struct NoticeRecord {
  std::string event, run;
  std::string claimed_by, claimed_at;  // The latest claim.
  uint64_t claim_seq = 0;              // Of the first claim.
  std::vector<std::string> channels;   // Every channel ever claimed.
  struct Delivery {
    bool ok = false;
    std::string error, ts;
  };
  std::map<std::string, Delivery> sent;  // By channel.
};

// The runs of a journal, keyed by id. Sequence numbers count events from 1
// in journal order.
struct RunTable {
  std::map<std::string, Run> runs;
  std::map<std::string, Confirmation> confirmations;  // By token_sha256.
  std::vector<Milestone> milestones;                  // In journal order.
  std::map<std::string, NoticeRecord> notices;        // By key.
  // The `seq` of the first notify_started: milestones after it are
  // announced. Unset: notifications were never configured here.
  std::optional<uint64_t> notify_from;
  uint64_t seq = 0;  // Events folded so far.
  std::vector<std::string> problems;  // From the journal, and events that
                                      // did not fit their run.
  void Apply(const journal::Event& e);
};

// "<yyyymmdd>-<name>-<4 hex>" for a run named `name` (sanitized to
// [a-z0-9-], at most 40 characters) created at `unix_seconds` (UTC).
std::string MakeRunId(const std::string& name, int64_t unix_seconds,
                      uint32_t random);
// Whether `id` has that shape.
bool IsRunId(const std::string& id);

// A stable hash of a spec: SHA-256 of its canonical JSON (keys sorted),
// hex, first 16 digits.
std::string SpecHash(const nlohmann::json& spec);

// The state of a run whose jobs report `statuses` (every task of every job
// of the current attempt): running while any runs; pending while any
// waits and none runs; once all have ended, completed only if all did,
// otherwise the first failure's state in order of severity.
std::string AggregateState(const std::vector<cluster::JobStatus>& statuses);

// Counts by state name ({"running": 3, "completed": 7}).
nlohmann::json CountStates(const std::vector<cluster::JobStatus>& statuses);

// Seconds since the epoch of a journal timestamp; 0 when malformed.
int64_t ParseTs(const std::string& ts);

}  // namespace hpc::runs
