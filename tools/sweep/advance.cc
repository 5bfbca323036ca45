// One poll step of a sweep (launcher.h AdvanceSweep).
#include <algorithm>
#include <chrono>
#include <map>

#include "tools/cluster/gpus.h"
#include "tools/cluster/job_request.h"
#include "tools/cluster/text.h"
#include "tools/runs/diagnosis.h"
#include "tools/runs/poller.h"
#include "tools/runs/submitter.h"
#include "tools/sweep/batch_script.h"
#include "tools/sweep/launch_internal.h"
#include "tools/sweep/launcher.h"
#include "tools/sweep/retry.h"

namespace hpc::sweep {
namespace {

using cluster::JobState;
using cluster::JobStatus;
using launch::BatchPlan;
using nlohmann::json;

// Failed tasks diagnosed per poll (two log reads each); the rest wait for
// the next poll, still counted as running.
constexpr size_t kDiagnosesPerPoll = 16;

// Batches whose exit files one poll reads at most (one remote command
// each); the others wait for the next poll.
constexpr size_t kExitFileBatchesPerPoll = 4;

// Statuses from the exit files batch scripts write (runs::ScriptPreamble),
// for jobs the scheduler no longer knows: accounting off, or broken, and
// the job purged from the queue while no poll looked (the server was down).
// Only files older than two minutes count: a job that just ended is
// unknown for a few seconds while accounting lags the queue (Grid Engine's
// flush time, sacct), and the scheduler's answer then also names its node
// and times, which a retry elsewhere and the duration estimates need.
class ExitFiles {
 public:
  explicit ExitFiles(runs::Cluster& c) : c_(c) {}

  // The status of `id`, array task `task` of `b` ("main" for a job that is
  // no array), as its exit file says; null without one.
  const JobStatus* Find(const BatchRecord& b, const std::string& id,
                        const std::string& task) {
    auto dir = codes_.find(b.exit_dir);
    if (dir == codes_.end()) {
      if (codes_.size() >= kExitFileBatchesPerPoll) return nullptr;
      dir = codes_.emplace(b.exit_dir, Read(b.exit_dir)).first;
    }
    auto code = dir->second.find(task);
    if (code == dir->second.end()) return nullptr;
    JobStatus& s = statuses_[id];
    s.job_id = id;
    s.exit_code = code->second;
    s.state = code->second == 0 ? JobState::kCompleted : JobState::kFailed;
    s.native_state = "exit file " + std::to_string(code->second);
    return &s;
  }

 private:
  // Task -> exit code, from one listing of `dir`; empty when it cannot be
  // read (the next poll tries again).
  std::map<std::string, int> Read(const std::string& dir) {
    remote::RunOptions o;
    o.login_shell = false;
    o.timeout = std::chrono::seconds(30);
    o.max_output = 4 << 20;
    auto r = c_.remote->Run(
        {"sh", "-c",
         "cd -- \"$1\" 2>/dev/null || exit 0;"
         " find . -maxdepth 1 -name '*.exit' -type f -mmin +2 |"
         " while IFS= read -r f; do g=${f#./};"
         " IFS= read -r x < \"$f\" && printf '%s %s\\n' \"${g%.exit}\" \"$x\";"
         " done; exit 0",
         "hpc-exit-files", dir},
        o);
    std::map<std::string, int> out;
    if (!r.ok() || !r->ok()) return out;
    for (std::string_view line : cluster::text::Lines(r->out)) {
      size_t sp = line.find(' ');
      if (sp == std::string_view::npos) continue;
      if (auto code = cluster::text::ParseInt(line.substr(sp + 1)))
        out[std::string(line.substr(0, sp))] = static_cast<int>(*code);
    }
    return out;
  }

  runs::Cluster& c_;
  std::map<std::string, std::map<std::string, int>> codes_;  // By exit_dir.
  std::map<std::string, JobStatus> statuses_;  // Stable addresses.
};

bool DependencyCancelled(const JobStatus& st) {
  return st.state == JobState::kCancelled &&
         (st.reason.find("DependencyNeverSatisfied") != std::string::npos ||
          st.native_state.find("Dependency") != std::string::npos);
}

std::optional<int64_t> Elapsed(const JobStatus& st) {
  if (st.start_time && st.end_time && *st.end_time >= *st.start_time)
    return *st.end_time - *st.start_time;
  return std::nullopt;
}

// The first line of `text` that starts with `prefix`, without it.
std::string LineAfter(const std::string& text, const std::string& prefix) {
  size_t at = text.find(prefix);
  if (at == std::string::npos) return "";
  size_t from = at + prefix.size(), end = text.find('\n', from);
  return text.substr(from, end == std::string::npos ? std::string::npos : end - from);
}

// The diagnosis of a failed task: the batch script's own two failures
// first (their exit code and line), then runs::Diagnose.
runs::Diagnosis DiagnoseTask(runs::Cluster& c, const BatchRecord& b, uint32_t element,
                             const JobStatus& st) {
  const std::string out = b.Log(b.stdout_path, element), err = b.Log(b.stderr_path, element);
  runs::DiagnosisInput in = runs::ReadEvidence(*c.remote, out, err);
  in.status = st;
  in.elapsed_seconds = Elapsed(st);
  const std::string all = in.stderr_tail + in.stdout_tail;
  runs::Diagnosis d;
  if (st.exit_code == kPreconditionMissingExit) {
    if (std::string path = LineAfter(all, kPreconditionMissingLine); !path.empty()) {
      d.category = "precondition_missing";
      d.summary = "precondition missing: " + path + " did not exist when the task started "
                  "(nor within precondition_wait_seconds after)";
      d.evidence = {kPreconditionMissingLine + path};
      d.remediation = "create it (or repair the task that writes it), then call resubmit_failed";
      return d;
    }
  }
  if (st.exit_code == kOutputMissingExit) {
    if (std::string path = LineAfter(all, kOutputMissingLine); !path.empty()) {
      d.category = "output_missing";
      d.summary = "the command exited 0 but did not write " + path;
      d.evidence = {kOutputMissingLine + path};
      d.remediation = "check where the command writes its results (expected_outputs are "
                      "relative to the workdir), then call resubmit_failed";
      return d;
    }
  }
  return runs::Diagnose(in);
}

int64_t NowSeconds() { return runs::SubmitClockNow(); }

// Tasks grouped by phase, in task order.
std::map<int, std::vector<uint32_t>> ByPhase(const Loaded& l, const std::vector<uint32_t>& tasks) {
  std::map<int, std::vector<uint32_t>> out;
  for (uint32_t t : tasks) out[l.expansion.tasks[t].phase].push_back(t);
  return out;
}

// The GPUs the last failed attempts of `tasks` ran on, where the backend
// places GPUs itself (host, local): a retry after a GPU OOM prefers others.
std::vector<int> AvoidGpus(const runs::Cluster& c, const SweepState& s,
                           const std::vector<uint32_t>& tasks) {
  std::vector<int> avoid;
  if (!c.profile.gpus.nvidia_smi) return avoid;
  for (uint32_t t : tasks)
    for (int g : cluster::GpusOfNodes(s.tasks[t].nodes))
      if (std::find(avoid.begin(), avoid.end(), g) == avoid.end()) avoid.push_back(g);
  return avoid;
}

// The nodes the last failed attempts of `tasks` ran on, on a batch
// scheduler, for the failures a node can cause (GPU or host memory taken by
// others, a failing node): a retry prefers other nodes. The backend drops
// the preference when no other node could run the task.
std::vector<std::string> AvoidNodes(const runs::Cluster& c, const SweepState& s,
                                    const std::vector<uint32_t>& tasks) {
  std::vector<std::string> avoid;
  if (c.profile.scheduler != "slurm" && c.profile.scheduler != "sge")
    return avoid;
  for (uint32_t t : tasks) {
    const TaskRecord& task = s.tasks[t];
    // Slurm's "None assigned" and the like name no node.
    if (!PrefersElsewhere(task.category) || task.nodes.empty() ||
        task.nodes.find_first_of(" ()") != std::string::npos)
      continue;
    if (std::find(avoid.begin(), avoid.end(), task.nodes) == avoid.end())
      avoid.push_back(task.nodes);
  }
  return avoid;
}

// Submits one batch per phase of `tasks` as `kind`; each waits for
// nothing (what they depend on is done, or is a retry's own concern).
Status SubmitNew(runs::RunStore& store, runs::Cluster& c, const std::string& sweep_id,
                 const Loaded& l, const std::string& kind, const std::vector<uint32_t>& tasks) {
  for (auto& [phase, list] : ByPhase(l, tasks)) {
    auto table = store.Load();
    if (!table.ok()) return table.status();
    const SweepState& s = *(*table)->runs.at(sweep_id).sweep;
    BatchPlan b;
    b.id = kind + "-" + std::to_string(s.batches.size());
    b.kind = kind;
    b.phase = phase;
    b.tasks = list;
    HPC_RETURN_IF_ERROR(launch::Build(c, l, sweep_id, b));
    if (kind == kRetryBatch) {
      b.request.avoid_gpus = AvoidGpus(c, s, list);
      b.request.avoid_nodes = AvoidNodes(c, s, list);
    }
    HPC_RETURN_IF_ERROR(launch::Dispatch(store, c, sweep_id, b, /*journaled=*/false));
  }
  return Status::Ok();
}

Status SubmitAggregate(runs::RunStore& store, runs::Cluster& c, const std::string& sweep_id,
                       const Loaded& l) {
  BatchPlan b;
  b.id = kAggregateBatch;
  b.kind = kAggregateBatch;
  HPC_RETURN_IF_ERROR(launch::Build(c, l, sweep_id, b));
  auto table = store.Load();
  if (!table.ok()) return table.status();
  // A second aggregate after a repaired sweep gets its own batch id.
  const SweepState& s = *(*table)->runs.at(sweep_id).sweep;
  if (s.batch_index.count(b.id)) {
    b.id = std::string(kAggregateBatch) + "-" + std::to_string(s.batches.size());
    HPC_RETURN_IF_ERROR(launch::Build(c, l, sweep_id, b));
  }
  return launch::Dispatch(store, c, sweep_id, b, /*journaled=*/false);
}

// Task states from the poll's statuses; failures diagnosed and decided.
Status ObserveTasks(runs::RunStore& store, runs::Cluster& c, const runs::Run& run,
                    const Loaded& l, const std::vector<JobStatus>& statuses, int64_t now) {
  const SweepState& s = *run.sweep;
  std::map<std::string, const JobStatus*> by_id;
  for (const JobStatus& st : statuses) by_id[st.job_id] = &st;
  const std::string& scheduler = c.profile.scheduler;
  ExitFiles files(c);
  // The status of job `id` of batch `b`: the scheduler's, else, once the
  // scheduler no longer knows the batch's job, its exit file's.
  auto status_of = [&](const BatchRecord& b, const std::string& id,
                       const std::string& task) -> const JobStatus* {
    auto it = by_id.find(id);
    if (it != by_id.end() && it->second->state != JobState::kUnknown)
      return it->second;
    auto job = by_id.find(b.job_id);
    if (job == by_id.end() || job->second->state != JobState::kUnknown)
      return nullptr;
    return files.Find(b, id, task);
  };
  json changes = json::array();
  size_t diagnosed = 0;
  for (uint32_t i = 0; i < s.tasks.size(); ++i) {
    const TaskRecord& t = s.tasks[i];
    if ((t.state != TaskState::kQueued && t.state != TaskState::kRunning) || t.batch < 0)
      continue;
    const BatchRecord& b = s.batches[t.batch];
    const std::string id = b.ElementJobId(t.element, scheduler);
    const JobStatus* found =
        status_of(b, id, std::to_string(b.base + t.element));
    if (!found) continue;
    const JobStatus& st = *found;
    json ch{{"t", i}, {"j", id}};
    switch (st.state) {
      case JobState::kPending:
        if (t.state == TaskState::kQueued) continue;
        ch["s"] = "queued";
        break;
      case JobState::kRunning:
        if (t.state == TaskState::kRunning) continue;
        ch["s"] = "running";
        break;
      case JobState::kCompleted:
        ch["s"] = "done";
        ch["x"] = 0;
        if (auto e = Elapsed(st)) ch["e"] = *e;
        break;
      case JobState::kUnknown:
        continue;
      default: {
        // Slurm's accounting loses the reason of an aftercorr task
        // cancelled while pending (Reason None once it left the queue):
        // never started, while a task it depends on is not done, is the
        // same thing.
        bool dead_dependency = false;
        if (DependencyCancelled(st) ||
            (st.state == JobState::kCancelled && !st.start_time && !run.cancel_requested &&
             !launch::DependenciesDone(l, s, i, &dead_dependency))) {
          ch["s"] = "blocked";
          ch["c"] = "dependency";
          ch["m"] = "a task it depends on did not succeed; it runs once that task is done";
          break;
        }
        if (st.state == JobState::kCancelled && run.cancel_requested) {
          ch["s"] = "cancelled";
          break;
        }
        if (diagnosed++ >= kDiagnosesPerPoll) continue;  // The next poll.
        runs::Diagnosis d = DiagnoseTask(c, b, t.element, st);
        const RetryDecision r =
            DecideRetry(l.sweep.retry, d.category, static_cast<int>(t.attempts.size()));
        ch["c"] = d.category;
        ch["m"] = d.summary + (r.why.empty() ? "" : " (" + r.why + ")");
        if (!st.nodes.empty()) ch["n"] = st.nodes;
        if (st.exit_code) ch["x"] = *st.exit_code;
        if (r.retry) {
          ch["s"] = "retry_wait";
          ch["nb"] = now + r.delay_seconds;
        } else {
          ch["s"] = "stuck";
        }
      }
    }
    changes.push_back(std::move(ch));
  }
  // The aggregate job.
  const AggregateRecord& a = s.aggregate;
  if (a.batch >= 0 && (a.state == "queued" || a.state == "running")) {
    const BatchRecord& b = s.batches[a.batch];
    if (const JobStatus* found = status_of(b, b.job_id, "main")) {
      const JobStatus& st = *found;
      json ev;
      if (st.state == JobState::kRunning && a.state != "running") ev = {{"state", "running"}};
      if (st.state == JobState::kCompleted)
        ev = {{"state", "completed"},
              {"output", l.sweep.aggregate ? l.sweep.aggregate->output.Render({l.sweep.name}) : ""}};
      if (cluster::IsTerminal(st.state) && st.state != JobState::kCompleted) {
        runs::Diagnosis d = DiagnoseTask(c, b, 0, st);
        ev = {{"state", "failed"}, {"message", d.summary}};
      }
      if (!ev.is_null()) HPC_RETURN_IF_ERROR(store.Append(run.id, "aggregate_changed", ev));
    }
  }
  return launch::AppendChanges(store, run.id, std::move(changes));
}

// Retries whose delay passed, blocked tasks whose dependencies are done,
// the aggregate once every task is. REQUIRES: the submit lock.
Status DispatchDue(runs::RunStore& store, runs::Cluster& c, const std::string& sweep_id,
                   const Loaded& l, int64_t now) {
  auto table = store.Load();
  if (!table.ok()) return table.status();
  const SweepState& s = *(*table)->runs.at(sweep_id).sweep;
  std::vector<uint32_t> retry, release;
  bool all_done = true;
  for (uint32_t i = 0; i < s.tasks.size(); ++i) {
    const TaskRecord& t = s.tasks[i];
    all_done &= t.state == TaskState::kDone;
    if (t.state == TaskState::kRetryWait && t.not_before <= now) retry.push_back(i);
    bool stuck = false;
    if (t.state == TaskState::kBlocked && launch::DependenciesDone(l, s, i, &stuck))
      release.push_back(i);
  }
  HPC_RETURN_IF_ERROR(SubmitNew(store, c, sweep_id, l, kRetryBatch, retry));
  HPC_RETURN_IF_ERROR(SubmitNew(store, c, sweep_id, l, kReleaseBatch, release));
  if (all_done && s.has_aggregate && s.aggregate.state.empty())
    HPC_RETURN_IF_ERROR(SubmitAggregate(store, c, sweep_id, l));
  return Status::Ok();
}

}  // namespace

Result<AdvanceOutcome> AdvanceSweep(runs::RunStore& store, runs::Cluster& c,
                                    const std::string& sweep_id,
                                    const std::vector<JobStatus>& statuses) {
  AdvanceOutcome out;
  auto table = store.Load();
  if (!table.ok()) return table.status();
  const uint64_t seq_before = (*table)->seq;
  auto found = (*table)->runs.find(sweep_id);
  if (found == (*table)->runs.end() || !found->second.sweep)
    return NotFound("sweep " + sweep_id + " is not in the journal");
  auto loaded = LoadedFor(found->second);
  if (!loaded.ok()) return loaded.status();
  const Loaded& l = **loaded;
  const int64_t now = NowSeconds();
  const bool dispatch = launch::PollsDispatch() && !found->second.cancel_requested;

  HPC_RETURN_IF_ERROR(ObserveTasks(store, c, found->second, l, statuses, now));
  {
    // Another process submitting to this repository finishes its own work;
    // this poll's share waits for the next one.
    auto lock = store.TryLockSubmits();
    if (lock.ok()) {
      if (Status s = launch::FinishSubmission(store, c, sweep_id, l, dispatch); !s.ok())
        out.errors.push_back("sweep " + sweep_id + ": " + s.message());
      if (dispatch)
        if (Status s = DispatchDue(store, c, sweep_id, l, now); !s.ok())
          out.errors.push_back("sweep " + sweep_id + ": " + s.message());
    }
  }
  HPC_RETURN_IF_ERROR(launch::SyncState(store, sweep_id, l, "", out.errors));
  auto last = store.Load();
  if (!last.ok()) return last.status();
  out.changed = (*last)->seq != seq_before;
  return out;
}

}  // namespace hpc::sweep
