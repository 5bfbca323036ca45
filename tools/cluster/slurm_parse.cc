// The pure parts of the Slurm backend: argv builders, output parsers,
// the state table (declared in slurm.h, namespace slurm).
#include "tools/cluster/slurm.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <utility>

#include "tools/cluster/job_request.h"
#include "tools/cluster/text.h"

namespace hpc::cluster {
namespace slurm {
namespace {

using text::Contains;
using text::ParseInt;
using text::Split;
using text::Trim;

struct StateRow {
  const char* name;
  const char* code;  // squeue %t
  JobState state;
};

// Every state of Slurm 22.05 (squeue(1) and sacct(1) "JOB STATE CODES").
// Lifecycle states that precede the start map to pending, those of a job
// that holds an allocation to running; a requeued job will run again.
constexpr StateRow kStates[] = {
    {"PENDING", "PD", JobState::kPending},
    {"CONFIGURING", "CF", JobState::kPending},  // Nodes booting; not started.
    {"REQUEUED", "RQ", JobState::kPending},
    {"REQUEUE_HOLD", "RH", JobState::kPending},
    {"REQUEUE_FED", "RF", JobState::kPending},
    {"RESV_DEL_HOLD", "RD", JobState::kPending},
    {"RUNNING", "R", JobState::kRunning},
    {"COMPLETING", "CG", JobState::kRunning},  // Epilog; exit code known.
    {"SUSPENDED", "S", JobState::kRunning},
    {"STOPPED", "ST", JobState::kRunning},
    {"RESIZING", "RS", JobState::kRunning},
    {"SIGNALING", "SI", JobState::kRunning},
    {"STAGE_OUT", "SO", JobState::kRunning},
    {"COMPLETED", "CD", JobState::kCompleted},
    {"FAILED", "F", JobState::kFailed},
    {"LAUNCH_FAILED", "LF", JobState::kFailed},
    // Requeued and held by a site epilog because of its exit value: it ended
    // badly and will not run again by itself.
    {"SPECIAL_EXIT", "SE", JobState::kFailed},
    {"CANCELLED", "CA", JobState::kCancelled},
    // A federation sibling removed because another cluster started the job.
    {"REVOKED", "RV", JobState::kCancelled},
    {"TIMEOUT", "TO", JobState::kTimeout},
    {"DEADLINE", "DL", JobState::kTimeout},  // Killed at its --deadline.
    {"OUT_OF_MEMORY", "OOM", JobState::kOutOfMemory},
    {"NODE_FAIL", "NF", JobState::kNodeFail},
    {"BOOT_FAIL", "BF", JobState::kNodeFail},  // Node did not boot.
    {"PREEMPTED", "PR", JobState::kPreempted},
};

// "7_[2-4%2]" -> {"7_2","7_3","7_4"}; "7_[1,5-6]"; anything else unchanged.
std::vector<std::string> ExpandArrayId(std::string_view id) {
  size_t open = id.find("_[");
  if (open == std::string_view::npos || id.back() != ']') return {std::string(id)};
  std::string_view base = id.substr(0, open);
  std::string_view list = id.substr(open + 2, id.size() - open - 3);
  auto spec = ParseArraySpec(list);
  if (!spec.ok()) return {std::string(id)};
  std::vector<std::string> out;
  for (int64_t t : spec->tasks)
    out.push_back(std::string(base) + "_" + std::to_string(t));
  return out;
}

// "3:0" -> (3, 0).
std::optional<std::pair<int, int>> ParseExit(std::string_view s) {
  auto parts = Split(Trim(s), ':');
  if (parts.size() != 2) return std::nullopt;
  auto a = ParseInt(parts[0]), b = ParseInt(parts[1]);
  if (!a || !b) return std::nullopt;
  return std::pair<int, int>(static_cast<int>(*a), static_cast<int>(*b));
}

std::string CleanReason(std::string_view r) {
  r = Trim(r);
  if (r == "None" || r == "(null)") return "";
  return std::string(r);
}

std::string CleanNodes(std::string_view n) {
  n = Trim(n);
  if (n == "None assigned" || n == "(null)" || n == "None") return "";
  return std::string(n);
}

// Fills the fields every source shares; exit code and times only where the
// job has reached them.
JobStatus MakeStatus(std::string id, std::string_view native,
                     std::string_view exit, std::string_view start,
                     std::string_view end, std::string_view nodes,
                     std::string_view reason, int utc_offset) {
  JobStatus s;
  s.job_id = std::move(id);
  s.native_state = std::string(Trim(native));
  s.state = MapState(s.native_state);
  s.reason = CleanReason(reason);
  // sacct's Reason is the last reason the job waited: noise once it
  // completed ("Dependency" on a job that ran fine).
  if (s.state == JobState::kCompleted) s.reason.clear();
  s.nodes = CleanNodes(nodes);
  if (s.state != JobState::kPending)
    s.start_time = text::ParseTimestamp(start, utc_offset);
  // A job cancelled before it was given nodes never started; Slurm prints
  // the cancel time as its start.
  if (s.state == JobState::kCancelled && s.nodes.empty()) s.start_time.reset();
  if (IsTerminal(s.state)) {
    s.end_time = text::ParseTimestamp(end, utc_offset);
    if (auto e = ParseExit(exit)) {
      s.exit_code = e->first;
      if (e->second != 0) s.signal = e->second;
    }
  }
  return s;
}

// Explains the outcomes whose native record says little.
void Explain(JobStatus& s) {
  // --kill-on-invalid-dep: Slurm itself cancelled the job (plain
  // "CANCELLED", not "CANCELLED by <uid>") because a dependency failed.
  if (s.state == JobState::kCancelled && s.native_state == "CANCELLED" &&
      text::StartsWith(s.reason, "Dependency")) {
    s.reason =
        "DependencyNeverSatisfied: a job it depends on (afterok, or the "
        "element of an aftercorr array) did not complete successfully, so "
        "Slurm cancelled it";
    return;
  }
  if (s.state == JobState::kFailed && s.signal == 53 && s.exit_code == 0 &&
      !text::Contains(s.reason, "signal 53")) {
    std::string why =
        "the job could not be launched (signal 53): slurmd failed to open its "
        "output files or to start the script, so there is no log; hpc-mcp "
        "creates log directories before submitting, so suspect a bad node or "
        "a filesystem not mounted on it and run a short smoke job";
    s.reason = s.reason.empty() ? why : s.reason + ": " + why;
  }
}

bool IsTaskOf(std::string_view id, std::string_view parent) {
  return id.size() > parent.size() + 1 && id.substr(0, parent.size()) == parent &&
         id[parent.size()] == '_';
}

int64_t TaskNumber(std::string_view id) {
  size_t us = id.rfind('_');
  auto n = ParseInt(id.substr(us + 1));
  return n ? *n : -1;
}

std::string Join(const std::vector<std::string>& v, char sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

JobState MapState(std::string_view native) {
  std::string_view s = Trim(native);
  // "CANCELLED by 1001"; fixed-width sacct truncates to "CANCELLED+".
  s = s.substr(0, s.find(' '));
  if (!s.empty() && s.back() == '+') s.remove_suffix(1);
  for (const auto& row : kStates)
    if (s == row.name || s == row.code) return row.state;
  return JobState::kUnknown;
}

Result<std::string> RenderScript(const JobRequest& r) {
  if (!IsShellScript(r.script)) {
    if (!r.env.empty())
      return InvalidArgument(
          "env needs a shell script (#!/bin/bash): hpc-mcp writes the "
          "variables as export lines into it, because sbatch --export splits "
          "values at commas");
    return r.script;
  }
  std::string block =
      "# --- hpc-mcp (generated): job identity and environment ---\n"
      "if [ -n \"${SLURM_ARRAY_JOB_ID:-}\" ]; then\n"
      "  export HPC_JOB_ID=\"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"\n"
      "  export HPC_ARRAY_TASK_ID=\"${SLURM_ARRAY_TASK_ID}\"\n"
      "else\n"
      "  export HPC_JOB_ID=\"${SLURM_JOB_ID:-}\"\n"
      "fi\n" +
      ExportLines(r.env) + "# --- end hpc-mcp ---\n";
  return InsertAfterHeader(r.script, block);
}

std::vector<std::string> SbatchArgv(const JobRequest& r) {
  const Resources& res = r.resources;
  std::vector<std::string> a = {"sbatch",
                                "--parsable",
                                "--job-name=" + r.name,
                                "--output=" + r.stdout_path,
                                "--error=" + r.stderr_path,
                                "--chdir=" + r.workdir};
  if (!res.time.empty()) a.push_back("--time=" + res.time);
  if (res.nodes > 0) a.push_back("--nodes=" + std::to_string(res.nodes));
  if (res.cpus > 0) a.push_back("--cpus-per-task=" + std::to_string(res.cpus));
  if (!res.mem.empty()) {
    auto mib = ParseMemoryMiB(res.mem);
    if (mib.ok()) a.push_back("--mem=" + std::to_string(*mib) + "M");
  }
  // --gres works with every select plugin (--gpus needs cons_tres) and means
  // GPUs per node, the unit our Resources uses.
  if (res.gpus > 0) a.push_back("--gres=gpu:" + std::to_string(res.gpus));
  if (!res.partition.empty()) a.push_back("--partition=" + res.partition);
  if (!res.account.empty()) a.push_back("--account=" + res.account);
  if (!res.qos.empty()) a.push_back("--qos=" + res.qos);
  if (!res.constraint.empty()) a.push_back("--constraint=" + res.constraint);
  if (!r.array.empty()) a.push_back("--array=" + r.array);
  if (!r.avoid_nodes.empty())
    a.push_back("--exclude=" + Join(r.avoid_nodes, ','));
  // One --dependency, kinds joined by ',' (all must hold): a second
  // --dependency option would replace the first.
  std::string dep;
  for (const auto& [kind, ids] :
       {std::pair{"afterok", &r.after_ok}, std::pair{"afterany", &r.after_any},
        std::pair{"aftercorr", &r.after_corr}}) {
    if (ids->empty()) continue;
    dep += (dep.empty() ? "" : ",") + std::string(kind);
    for (const auto& id : *ids) dep += ":" + id;
  }
  if (!dep.empty()) {
    a.push_back("--dependency=" + dep);
    // Without it a job whose dependency failed (afterok, an aftercorr
    // element) or never existed pends forever with reason
    // DependencyNeverSatisfied, holding a queue slot and hiding the outcome.
    a.push_back("--kill-on-invalid-dep=yes");
  }
  if (!r.comment.empty()) a.push_back("--comment=" + r.comment);
  a.push_back(r.script_path);
  return a;
}

bool ExcludedEveryNode(const remote::CommandResult& r) {
  const std::string all = r.err + "\n" + r.out;
  return !r.ok() &&
         (Contains(all, "Requested node configuration is not available") ||
          Contains(all, "Invalid node name specified"));
}

Result<std::string> ParseSbatchOutput(std::string_view out) {
  return text::SubmittedJobId(out, ';', "sbatch --parsable");
}

Status CommandError(std::string_view command, const remote::CommandResult& r,
                    const std::string& where) {
  std::string msg = CommandMessage(r);
  const std::string all = r.err + "\n" + r.out;
  if (Contains(all, "Unable to contact slurm controller") ||
      Contains(all, "Socket timed out") ||
      Contains(all, "Zero Bytes were transmitted"))
    return Unavailable(std::string(command) + " on " + where +
                       " cannot reach the Slurm controller: " + msg)
        .WithReason("scheduler_unavailable", true,
                    "slurmctld is not answering; check `scontrol ping`, "
                    "retry in a minute, or ask the cluster's admins");
  if (command == "sbatch")
    return InvalidArgument("sbatch rejected the job: " + msg)
        .WithReason("submit_rejected", false,
                    "fix the request (partition, memory, time, account) "
                    "as the message says; `sinfo` lists partitions and limits");
  return Unavailable(std::string(command) + " failed on " + where + ": " + msg)
      .WithReason("scheduler_error", true, "retry; if it persists, run the "
                                           "command by hand on the login node");
}

// %A raw job id, %i id (array tasks "7_3", folded pending tasks
// "7_[2-4%2]"), %T long state, %r reason, %P partition, %S start, %e end,
// %l time limit, %N nodes, %k comment last because it is free text. The
// same format as the captures in tests/testdata/slurm.
constexpr char kSqueueFormat[] = "%A|%i|%T|%r|%P|%S|%e|%l|%N|%k";
constexpr size_t kSqueueFields = 10;

std::vector<std::string> SqueueArgv(const std::vector<std::string>& ids) {
  // --states=all: jobs that ended within MinJobAge stay visible, with the
  // controller's accurate reason (NonZeroExitCode, JobLaunchFailure,
  // DependencyNeverSatisfied, ...) and without sacct's lag.
  return {"squeue", "--noheader", "--array", "--states=all",
          "--jobs=" + Join(ids, ','), std::string("--format=") + kSqueueFormat};
}

std::vector<std::string> SacctArgv(const std::vector<std::string>& ids) {
  // No -X: the batch step carries the signal of cancelled and timed-out
  // jobs. --parsable2: fixed width truncates ("CANCELLED+").
  return {"sacct", "--noheader", "--parsable2", "--jobs=" + Join(ids, ','),
          "--format=JobID,State,ExitCode,Start,End,NodeList,Reason,Comment"};
}

std::vector<std::string> SqueueCommentsArgv() {
  // No --array: pending tasks stay one folded row, so a large array costs
  // a line per running task only. --me is the caller, whatever its name.
  return {"squeue", "--me", "--noheader", "--states=all", "--format=%F|%k"};
}

std::vector<std::string> SacctCommentsArgv(int days) {
  // -X: allocations only, steps carry no comment of their own. sacct
  // selects jobs eligible within the window: a job cancelled before its
  // --begin time was never eligible in the past, so the window reaches far
  // into the future.
  return {"sacct",
          "--noheader",
          "--parsable2",
          "-X",
          "--starttime=now-" + std::to_string(days) + "days",
          "--endtime=now+3650days",
          "--format=JobID,Comment"};
}

std::vector<std::string> ParseCommentRows(std::string_view out,
                                          std::string_view comment) {
  std::vector<std::string> ids;
  for (std::string_view line : text::Lines(out)) {
    size_t bar = line.find('|');
    if (bar == std::string_view::npos || line.substr(bar + 1) != comment)
      continue;
    // "7", "7_3", "7_[1-4%2]", "7.batch", "7+0" (a het job component).
    std::string_view id = Trim(line.substr(0, bar));
    id = id.substr(0, id.find_first_of("_.+"));
    if (id.empty() || !std::all_of(id.begin(), id.end(),
                                   [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    if (std::find(ids.begin(), ids.end(), id) == ids.end())
      ids.emplace_back(id);
  }
  return ids;
}

std::vector<std::string> ScontrolArgv(const std::string& id) {
  std::vector<std::string> a = {"scontrol", "--oneliner", "show", "job"};
  if (!id.empty()) a.push_back(id);
  return a;
}

std::vector<std::string> SqueueOwnerArgv(const std::string& id) {
  return {"squeue", "--noheader", "--jobs=" + id, "--format=%u"};
}

bool IsJobId(std::string_view id) {
  size_t digits = 0, i = 0;
  while (i < id.size() && id[i] >= '0' && id[i] <= '9') ++i, ++digits;
  if (digits == 0 || digits > 12) return false;
  if (i == id.size()) return true;
  if (id[i] != '_' || id.size() - i - 1 == 0 || id.size() - i - 1 > 9)
    return false;
  for (++i; i < id.size(); ++i)
    if (id[i] < '0' || id[i] > '9') return false;
  return true;
}

std::vector<std::string> ScancelArgv(const std::vector<std::string>& ids) {
  std::vector<std::string> a = {"scancel"};
  a.insert(a.end(), ids.begin(), ids.end());
  return a;
}

namespace {

// Splits a delimited line into exactly `n` fields, the last one taking any
// further delimiters (free text).
std::optional<std::vector<std::string_view>> Fields(std::string_view line,
                                                    size_t n) {
  std::vector<std::string_view> f;
  size_t start = 0;
  while (f.size() + 1 < n) {
    size_t p = line.find('|', start);
    if (p == std::string_view::npos) return std::nullopt;
    f.push_back(line.substr(start, p - start));
    start = p + 1;
  }
  f.push_back(line.substr(start));
  return f;
}

}  // namespace

std::vector<JobStatus> ParseSqueue(std::string_view out, int utc_offset) {
  std::vector<JobStatus> rows;
  for (std::string_view line : text::Lines(out)) {
    if (Trim(line).empty()) continue;
    auto f = Fields(line, kSqueueFields);
    if (!f) continue;
    const auto& v = *f;
    for (std::string& id : ExpandArrayId(Trim(v[1]))) {
      JobStatus s = MakeStatus(std::move(id), v[2], "", v[5], v[6], v[8], v[3],
                               utc_offset);
      rows.push_back(std::move(s));
    }
  }
  return rows;
}

std::vector<JobStatus> ParseSacct(std::string_view out, int utc_offset) {
  std::vector<JobStatus> jobs;
  std::map<std::string, size_t> index;
  std::map<std::string, std::pair<int, int>> batch_exit;
  std::set<std::string> from_range;  // Rows that came from a bracketed row.
  for (std::string_view line : text::Lines(out)) {
    if (Trim(line).empty()) continue;
    auto f = Fields(line, 8);
    if (!f) continue;
    const auto& v = *f;
    std::string_view id = Trim(v[0]);
    size_t dot = id.find('.');
    if (dot != std::string_view::npos) {
      if (id.substr(dot + 1) == "batch")
        if (auto e = ParseExit(v[2]))
          batch_exit[std::string(id.substr(0, dot))] = *e;
      continue;
    }
    // A bracketed row ("7_[0-3]") is the array's tasks still folded in its
    // record, e.g. cancelled while pending; its range may name tasks that
    // also have rows of their own (they ran), and those rows are the truth.
    const bool folded = id.find('[') != std::string_view::npos;
    for (std::string& one : ExpandArrayId(id)) {
      JobStatus s = MakeStatus(one, v[1], v[2], v[3], v[4], v[5], v[6],
                               utc_offset);
      if (auto it = index.find(one); it != index.end()) {
        if (folded && !from_range.count(one)) continue;
        // sacct without --duplicates prints one row per job; should a
        // requeued job appear twice, the later row is the newer.
        jobs[it->second] = std::move(s);
      } else {
        index[one] = jobs.size();
        jobs.push_back(std::move(s));
      }
      if (folded)
        from_range.insert(one);
      else
        from_range.erase(one);
    }
  }
  for (JobStatus& s : jobs) {
    auto b = batch_exit.find(s.job_id);
    // The allocation row of a cancelled or timed-out job says 0:0; its batch
    // step says how the script ended (0:15, 15:0).
    if (b != batch_exit.end() && IsTerminal(s.state) &&
        s.state != JobState::kCompleted && s.exit_code.value_or(0) == 0 &&
        !s.signal.has_value() && (b->second.first != 0 || b->second.second != 0)) {
      s.exit_code = b->second.first;
      if (b->second.second != 0) s.signal = b->second.second;
    }
    Explain(s);
  }
  return jobs;
}

std::vector<JobStatus> ParseScontrol(std::string_view out, int utc_offset) {
  std::vector<JobStatus> jobs;
  for (std::string_view line : text::Lines(out)) {
    line = Trim(line);
    if (!text::StartsWith(line, "JobId=")) continue;
    // "Key=Value Key=Value": a token without '=' continues the previous
    // value (values may hold spaces); the first occurrence of a key wins,
    // and the keys read here precede every user-controlled free text field.
    std::map<std::string, std::string, std::less<>> kv;
    std::string last;
    for (std::string_view tok : Split(line, ' ')) {
      size_t eq = tok.find('=');
      bool key_like = eq != std::string_view::npos && eq > 0 &&
                      std::all_of(tok.begin(), tok.begin() + eq, [](char c) {
                        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                               (c >= '0' && c <= '9') || c == '_' || c == ':' ||
                               c == '/';
                      });
      if (key_like) {
        last = std::string(tok.substr(0, eq));
        if (kv.count(last)) {
          last.clear();
          continue;
        }
        kv[last] = std::string(tok.substr(eq + 1));
      } else if (!last.empty()) {
        kv[last] += " " + std::string(tok);
      }
    }
    auto get = [&](std::string_view k) -> std::string {
      auto it = kv.find(k);
      return it == kv.end() ? "" : it->second;
    };
    std::vector<std::string> ids;
    std::string array_job = get("ArrayJobId"), task = get("ArrayTaskId");
    if (!array_job.empty() && !task.empty()) {
      ids = ExpandArrayId(array_job + "_[" + task + "]");
      if (ids.size() == 1 && ids[0].find('[') != std::string::npos)
        ids = {array_job + "_" + task};
    } else {
      ids = {get("JobId")};
    }
    for (std::string& id : ids) {
      JobStatus s = MakeStatus(std::move(id), get("JobState"), get("ExitCode"),
                               get("StartTime"), get("EndTime"),
                               get("NodeList"), get("Reason"), utc_offset);
      Explain(s);
      jobs.push_back(std::move(s));
    }
  }
  return jobs;
}

namespace {

// One job or task as both sources see it. The queue is fresher (sacct lags
// by seconds) and, for jobs the controller still holds, has the accurate
// reason (sacct's Reason is the last pending reason, often stale); sacct
// has the exit code, which squeue does not print.
//
// A task cancelled while pending is recorded in sacct as its array's folded
// row ("7_[0-1]", never started), which names the tasks that did run too;
// until a task's own record reaches sacct, that row is all sacct has for
// it. A queue row saying the task ended otherwise is then the truth.
JobStatus Combine(const JobStatus* queue, const JobStatus* acct) {
  if (queue == nullptr) return *acct;
  if (acct == nullptr || !IsTerminal(queue->state) || !IsTerminal(acct->state))
    return *queue;
  if (acct->state == JobState::kCancelled && !acct->start_time &&
      queue->state != JobState::kCancelled)
    return *queue;
  JobStatus s = *acct;
  if (!queue->reason.empty()) s.reason = queue->reason;
  if (s.nodes.empty()) s.nodes = queue->nodes;
  return s;
}

}  // namespace

std::vector<JobStatus> Merge(const std::vector<std::string>& ids,
                             const std::vector<JobStatus>& queue,
                             const std::vector<JobStatus>& accounting) {
  std::vector<JobStatus> out;
  for (const std::string& id : ids) {
    // (task number, id) -> (queue row, accounting row); the job itself is
    // task -1.
    std::map<std::pair<int64_t, std::string>,
             std::pair<const JobStatus*, const JobStatus*>>
        rows;
    bool has_tasks = false;
    for (int src = 0; src < 2; ++src) {
      for (const JobStatus& s : src == 0 ? queue : accounting) {
        std::pair<int64_t, std::string> key;
        if (s.job_id == id) {
          key = {-1, s.job_id};
        } else if (IsTaskOf(s.job_id, id)) {
          key = {TaskNumber(s.job_id), s.job_id};
          has_tasks = true;
        } else {
          continue;
        }
        (src == 0 ? rows[key].first : rows[key].second) = &s;
      }
    }
    if (rows.empty()) {
      JobStatus s;
      s.job_id = id;
      s.state = JobState::kUnknown;
      s.reason =
          "not in the queue and no accounting record (yet): sacct lags the "
          "queue by a few seconds; an unknown or purged id stays unknown";
      out.push_back(std::move(s));
      continue;
    }
    for (const auto& [key, pair] : rows) {
      // An array parent is its tasks; a row for the parent id itself only
      // stands alone.
      if (key.first == -1 && has_tasks) continue;
      JobStatus s = Combine(pair.first, pair.second);
      Explain(s);
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace slurm

}  // namespace hpc::cluster
