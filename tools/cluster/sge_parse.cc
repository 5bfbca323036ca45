// The pure parts of the Grid Engine backend: argv builders, output parsers,
// the state table (declared in sge.h, namespace sge).
#include "tools/cluster/sge.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "tools/cluster/job_request.h"
#include "tools/cluster/mini_xml.h"
#include "tools/cluster/text.h"
#include "tools/remote/shell.h"

namespace hpc::cluster {
namespace sge {

using text::Contains;

namespace {

using text::ParseInt;
using text::Trim;

std::string Join(const std::vector<std::string>& v, char sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

bool IsJobNumber(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

// Grid Engine 8.1.9's qstat -xml -j names the element of each task of a job
// that sge_qmaster reloaded from its spool (any job queued or running across
// a qmaster restart) after its list, "<JATASK:     102.>" ... "</JATASK:
// 102.>", which is no XML name. One such job among the user's would make
// every -j answer unreadable, so the name is cut at the ':' before parsing.
std::string RepairElementNames(std::string_view doc) {
  std::string out;
  out.reserve(doc.size());
  size_t i = 0;
  while (i < doc.size()) {
    size_t lt = doc.find('<', i);
    if (lt == std::string_view::npos) break;
    size_t gt = doc.find('>', lt);
    if (gt == std::string_view::npos) break;
    std::string_view tag = doc.substr(lt, gt - lt);  // Without the '>'.
    if (tag.starts_with("<JATASK:") || tag.starts_with("</JATASK:"))
      tag = tag.substr(0, tag.find(':'));
    out.append(doc.substr(i, lt - i)).append(tag) += '>';
    i = gt + 1;
  }
  out.append(doc.substr(i));
  return out;
}

// The root of a qstat -xml document; `what` names the command in errors.
Result<xml::Element> ParseQstatDocument(std::string_view doc,
                                        std::string_view what) {
  auto root = xml::Parse(RepairElementNames(doc));
  if (!root.ok())
    return Internal("cannot read " + std::string(what) +
                    " output: " + root.status().message());
  return root;
}

// "12.3" -> "12"; "12" -> "12".
std::string BaseId(std::string_view id) {
  return std::string(id.substr(0, id.find('.')));
}

// The job numbers of every id in `lists`, once each, in order.
std::vector<std::string> BaseIds(
    std::initializer_list<const std::vector<std::string>*> lists) {
  std::vector<std::string> jobs;
  for (const auto* ids : lists) {
    for (const auto& id : *ids) {
      std::string base = BaseId(id);
      if (std::find(jobs.begin(), jobs.end(), base) == jobs.end())
        jobs.push_back(base);
    }
  }
  return jobs;
}

bool IsTaskOf(std::string_view id, std::string_view parent) {
  return id.size() > parent.size() + 1 &&
         id.substr(0, parent.size()) == parent && id[parent.size()] == '.';
}

int64_t TaskNumber(std::string_view id) {
  size_t dot = id.rfind('.');
  if (dot == std::string_view::npos) return -1;
  auto n = ParseInt(id.substr(dot + 1));
  return n ? *n : -1;
}

// The block inserted into every Grid Engine script; see sge.h for why.
constexpr char kBanner[] =
    "# --- hpc-mcp (generated): job identity, exit record, afterok, "
    "aftercorr, environment ---\n";

constexpr char kIdentityBlock[] =
    R"(if [ "${SGE_TASK_ID:-undefined}" = undefined ]; then
  HPC_JOB_ID="$JOB_ID"
else
  HPC_JOB_ID="$JOB_ID.$SGE_TASK_ID"
  HPC_ARRAY_TASK_ID="$SGE_TASK_ID"; export HPC_ARRAY_TASK_ID
fi
export HPC_JOB_ID
# How this job ended, for the jobs that depend on it: -hold_jid releases them
# on any exit status, so they check this record (SIGKILL leaves none).
trap 'hpc_rc=$?; printf "%s\n" "$hpc_rc" >"$hpc_state/$HPC_JOB_ID.exit.tmp" && mv -f "$hpc_state/$HPC_JOB_ID.exit.tmp" "$hpc_state/$HPC_JOB_ID.exit"' EXIT
)";

// The success check that makes -hold_jid afterok and -hold_jid_ad
// aftercorr (both release at any end). Follows the lines that set
// hpc_after_ok and hpc_after_corr (space-separated ids) and hpc_dep_exit
// (kDependencyExitStatus); a dependency that did not succeed ends the job
// there, with its .depfail marker and no exit record.
constexpr char kAfterOkBlock[] =
    R"(# Prints ok, failed or missing for predecessor $1: a job, an array
# (every task listed in $1.tasks), or one task "<job>.<task>".
hpc_dep_state() {
  if [ -f "$hpc_state/$1.tasks" ]; then
    for hpc_t in $(cat "$hpc_state/$1.tasks"); do
      [ -f "$hpc_state/$1.$hpc_t.exit" ] || { echo missing; return; }
      read -r hpc_rc <"$hpc_state/$1.$hpc_t.exit"
      [ "$hpc_rc" = 0 ] || { echo failed; return; }
    done
    echo ok
  elif [ -f "$hpc_state/$1.exit" ]; then
    read -r hpc_rc <"$hpc_state/$1.exit"
    if [ "$hpc_rc" = 0 ]; then echo ok; else echo failed; fi
  else
    echo missing
  fi
}
# Returns if predecessor $1 succeeded; else ends this job as not run.
hpc_dep_require() {
  hpc_st=$(hpc_dep_state "$1")
  hpc_try=0
  # A shared filesystem may show a fresh file late: look again, up to 10 s.
  while [ "$hpc_st" = missing ] && [ "$hpc_try" -lt 5 ]; do
    sleep 2
    hpc_try=$((hpc_try + 1))
    hpc_st=$(hpc_dep_state "$1")
  done
  if [ "$hpc_st" != ok ]; then
    echo "hpc-mcp: dependency $1 did not complete successfully ($hpc_st); DependencyNeverSatisfied, not running" >&2
    : >"$hpc_state/$HPC_JOB_ID.depfail"
    trap - EXIT
    exit "$hpc_dep_exit"
  fi
}
for hpc_dep in $hpc_after_ok; do hpc_dep_require "$hpc_dep"; done
# aftercorr: element i after element i of each array ($1.$SGE_TASK_ID.exit).
for hpc_dep in $hpc_after_corr; do hpc_dep_require "$hpc_dep.$SGE_TASK_ID"; done
)";

// Never fails the job: a job runs whether or not its tag could be written.
constexpr char kCommentBlock[] =
    R"(if [ ! -e "$hpc_state/$JOB_ID.comment" ]; then
  { printf '%s\n' "$hpc_comment" >"$hpc_state/$JOB_ID.comment.tmp.$$" &&
    mv -f "$hpc_state/$JOB_ID.comment.tmp.$$" \
      "$hpc_state/$JOB_ID.comment"; } 2>/dev/null || :
fi
)";

std::optional<int> FailedCode(std::string_view failed) {
  std::string_view f = Trim(failed);
  f = f.substr(0, f.find_first_of(" :"));
  auto n = ParseInt(f);
  if (!n) return std::nullopt;
  return static_cast<int>(*n);
}

std::string FailedText(std::string_view failed) {
  std::string_view f = Trim(failed);
  size_t colon = f.find(':');
  return colon == std::string_view::npos ? std::string(f)
                                         : std::string(Trim(f.substr(colon + 1)));
}

}  // namespace

JobState MapQstatState(std::string_view letters) {
  std::string_view s = Trim(letters);
  auto has = [&](char c) { return s.find(c) != std::string_view::npos; };
  if (s.empty()) return JobState::kUnknown;
  if (has('E')) return JobState::kFailed;  // Eqw: could not be started.
  if (has('r') || has('t')) return JobState::kRunning;  // Running, transferring.
  // Queued, waiting, held; "hRwq" is a restarted job waiting again.
  if (has('q') || has('w') || has('h')) return JobState::kPending;
  // Suspended (s, S, T) counts as running. A job being deleted (d) keeps
  // its lifecycle state until it is gone.
  if (has('s') || has('S') || has('T') || has('R') || has('d'))
    return JobState::kRunning;
  return JobState::kUnknown;
}

JobStatus MapAccounting(std::string_view failed, int exit_status) {
  JobStatus s;
  const int code = FailedCode(failed).value_or(-1);
  s.native_state = "failed=" + std::string(Trim(failed)) +
                   " exit_status=" + std::to_string(exit_status);
  s.exit_code = exit_status;
  if (code == 0) {
    s.state = exit_status == 0 ? JobState::kCompleted : JobState::kFailed;
    return s;
  }
  if (exit_status > 128) s.signal = exit_status - 128;
  s.reason = FailedText(failed);
  switch (code) {
    case 37:  // qmaster enforced h_rt, h_cpu, or h_vmem limit
      s.state = JobState::kTimeout;
      break;
    case 100:  // assumedly after job: killed by a signal once started.
    case 17:   // through signal
      s.state = JobState::kFailed;
      s.reason += s.signal ? "; killed by signal " + std::to_string(*s.signal) +
                                 " (qdel, kill -9 or the kernel's OOM killer; "
                                 "Grid Engine does not record which)"
                           : "";
      break;
    default:  // 1..36: the job could not be set up or started.
      s.state = JobState::kFailed;
      s.reason = "failed to launch (Grid Engine failure " +
                 std::to_string(code) + ": " + s.reason + ")";
      break;
  }
  return s;
}

Result<std::string> RenderScript(const JobRequest& r,
                                 const std::string& state_dir) {
  if (!IsShellScript(r.script))
    return InvalidArgument(
        "Grid Engine jobs need a shell script (#!/bin/bash): hpc-mcp inserts "
        "lines that export the environment and record the exit status; call "
        "other interpreters from it");
  std::string block = kBanner;
  block += "hpc_state=" + remote::ShellQuote(state_dir) + "\n";
  block += kIdentityBlock;
  if (!r.comment.empty()) {
    // For FindByComment once the job has left the queue: qacct does not
    // keep the -ac context. Before the dependency check, which may end the
    // job; the first task of an array writes it.
    block += "hpc_comment=" + remote::ShellQuote(r.comment) + "\n";
    block += kCommentBlock;
  }
  // after_any needs no check: -hold_jid releases at any end, as afterany.
  if (!r.after_ok.empty() || !r.after_corr.empty()) {
    block += "hpc_after_ok=" + remote::ShellQuote(Join(r.after_ok, ' ')) + "\n";
    block +=
        "hpc_after_corr=" + remote::ShellQuote(Join(r.after_corr, ' ')) + "\n";
    block += "hpc_dep_exit=" + std::to_string(kDependencyExitStatus) + "\n";
    block += kAfterOkBlock;
  }
  block += ExportLines(r.env);
  block += "# --- end hpc-mcp ---\n";
  return InsertAfterHeader(r.script, block);
}

Result<std::vector<std::string>> QsubArgv(const JobRequest& r) {
  const Resources& res = r.resources;
  for (const auto* p : {&r.stdout_path, &r.stderr_path})
    if (p->find(':') != std::string::npos)
      return InvalidArgument("log path \"" + *p +
                             "\": qsub reads ':' as host:path; choose a path "
                             "without ':'");
  if (!res.qos.empty())
    return InvalidArgument("Grid Engine has no QOS; remove qos \"" + res.qos +
                           "\"");
  if (!res.constraint.empty())
    return InvalidArgument(
        "Grid Engine has no node constraints; remove constraint \"" +
        res.constraint + "\" (request resources with the profile instead)");
  if (res.nodes > 1)
    return InvalidArgument(
        "multi-node jobs need a site-specific parallel environment on Grid "
        "Engine; hpc-mcp requests -pe smp (one node)");
  if (r.name[0] >= '0' && r.name[0] <= '9')
    return InvalidArgument("job name \"" + r.name +
                           "\": Grid Engine names cannot start with a digit");
  if (r.comment.find(',') != std::string::npos)
    return InvalidArgument("comment \"" + r.comment +
                           "\": Grid Engine job context (-ac) splits at ','");
  std::vector<std::string> a = {"qsub", "-terse", "-N", r.name};
  if (r.stdout_path == r.stderr_path) {
    a.insert(a.end(), {"-o", r.stdout_path, "-j", "y"});
  } else {
    a.insert(a.end(), {"-o", r.stdout_path, "-e", r.stderr_path});
  }
  a.insert(a.end(), {"-wd", r.workdir});
  // posix_compliant queues ignore the #! line and use the queue's shell.
  if (std::string shell = ShebangPath(r.script); !shell.empty())
    a.insert(a.end(), {"-S", shell});
  if (!res.partition.empty()) a.insert(a.end(), {"-q", res.partition});
  if (!res.account.empty()) a.insert(a.end(), {"-A", res.account});
  if (!res.time.empty()) {
    auto secs = ParseWalltime(res.time);
    if (!secs.ok()) return secs.status();
    a.insert(a.end(), {"-l", "h_rt=" + FormatHms(*secs)});
  }
  if (!res.mem.empty()) {
    auto mib = ParseMemoryMiB(res.mem);
    if (!mib.ok()) return mib.status();
    // h_vmem is per slot: spread the job's memory over its slots.
    int64_t slots = std::max(res.cpus, 1);
    a.insert(a.end(),
             {"-l", "h_vmem=" + std::to_string((*mib + slots - 1) / slots) + "M"});
  }
  if (res.cpus > 1) a.insert(a.end(), {"-pe", "smp", std::to_string(res.cpus)});
  // No standard GPU resource exists; "gpu" is the common complex name.
  if (res.gpus > 0) a.insert(a.end(), {"-l", "gpu=" + std::to_string(res.gpus)});
  if (!r.array.empty()) {
    auto spec = ParseArraySpec(r.array);
    if (!spec.ok()) return spec.status();
    if (!spec->single_range)
      return InvalidArgument("array \"" + r.array +
                             "\": Grid Engine takes one range a-b[:step] "
                             "(qsub -t), not a list");
    if (spec->first < 1)
      return InvalidArgument("array \"" + r.array +
                             "\": Grid Engine task ids start at 1");
    a.insert(a.end(), {"-t", std::to_string(spec->first) + "-" +
                                 std::to_string(spec->last) + ":" +
                                 std::to_string(spec->step)});
    if (spec->max_parallel > 0)
      a.insert(a.end(), {"-tc", std::to_string(spec->max_parallel)});
  }
  // Grid Engine holds on whole jobs, released at any end: the script's
  // block adds the success check of after_ok and after_corr.
  if (auto jobs = BaseIds({&r.after_ok, &r.after_any}); !jobs.empty())
    a.insert(a.end(), {"-hold_jid", Join(jobs, ',')});
  // Element i waits for element i: qsub rejects arrays of different ranges
  // (JobRequest::after_corr's contract).
  if (auto jobs = BaseIds({&r.after_corr}); !jobs.empty())
    a.insert(a.end(), {"-hold_jid_ad", Join(jobs, ',')});
  if (!r.comment.empty())
    a.insert(a.end(), {"-ac", std::string(kCommentVariable) + "=" + r.comment});
  if (!r.avoid_nodes.empty()) {
    // "h=!vm", "h=!(a|b)": any host but these. -w e makes qsub refuse a
    // job no queue could run (instead of queueing it for ever), so that
    // Submit can drop the preference when these were the only hosts.
    std::string hosts = Join(r.avoid_nodes, '|');
    if (r.avoid_nodes.size() > 1) hosts = "(" + hosts + ")";
    a.insert(a.end(), {"-w", "e", "-l", "h=!" + hosts});
  }
  a.push_back(r.script_path);
  return a;
}

bool NoSuitableQueue(const remote::CommandResult& r) {
  return !r.ok() && Contains(r.err + "\n" + r.out, "no suitable queues");
}

Result<std::string> ParseQsubOutput(std::string_view out) {
  return text::SubmittedJobId(out, '.', "qsub -terse");
}

Status CommandError(std::string_view command, const remote::CommandResult& r,
                    const std::string& where) {
  std::string msg = CommandMessage(r);
  const std::string all = r.err + "\n" + r.out;
  if (Contains(all, "unable to contact qmaster") ||
      Contains(all, "unable to send message to qmaster") ||
      Contains(all, "commlib error") || Contains(all, "failed receiving gdi"))
    return Unavailable(std::string(command) + " on " + where +
                       " cannot reach the Grid Engine master: " + msg)
        .WithReason("scheduler_unavailable", true,
                    "sge_qmaster is not answering; retry in a minute or ask "
                    "the cluster's admins (`qping` checks it)");
  if (command == "qsub")
    return InvalidArgument("qsub rejected the job: " + msg)
        .WithReason("submit_rejected", false,
                    "fix the request as the message says; `qconf -sql` lists "
                    "queues, `qconf -spl` parallel environments");
  return Unavailable(std::string(command) + " failed on " + where + ": " + msg)
      .WithReason("scheduler_error", true,
                  "retry; if it persists, run the command by hand");
}

std::vector<std::string> QstatArgv() {
  // $user is qstat's own placeholder for the caller (not a shell variable).
  return {"qstat", "-xml", "-g", "d", "-u", "$user"};
}

Result<std::vector<JobStatus>> ParseQstatXml(std::string_view doc,
                                             int utc_offset) {
  auto root = ParseQstatDocument(doc, "qstat -xml");
  if (!root.ok()) return root.status();
  std::vector<const xml::Element*> jobs;
  root->FindAll("job_list", &jobs);
  std::vector<JobStatus> out;
  for (const xml::Element* j : jobs) {
    std::string number(Trim(j->ChildText("JB_job_number")));
    if (number.empty()) continue;
    std::string letters(Trim(j->ChildText("state")));
    std::string tasks(Trim(j->ChildText("tasks")));
    std::string queue(Trim(j->ChildText("queue_name")));
    std::string start(Trim(j->ChildText("JAT_start_time")));
    std::vector<std::string> ids;
    if (tasks.empty()) {
      ids.push_back(number);
    } else {
      // -g d prints one task per entry; a grouped range ("2-10:1") or list
      // ("2,5") still expands.
      auto spec = ParseArraySpec(tasks);
      if (spec.ok())
        for (int64_t t : spec->tasks) ids.push_back(number + "." + std::to_string(t));
      else
        ids.push_back(number + "." + tasks);
    }
    for (auto& id : ids) {
      JobStatus s;
      s.job_id = id;
      s.native_state = letters;
      s.state = MapQstatState(letters);
      if (size_t at = queue.find('@'); at != std::string::npos)
        s.nodes = queue.substr(at + 1);
      if (s.state == JobState::kRunning)
        s.start_time = text::ParseTimestamp(start, utc_offset);
      if (letters.find('d') != std::string::npos) s.reason = "deletion requested";
      if (letters.find('h') != std::string::npos && s.state == JobState::kPending)
        s.reason = "held (waiting on -hold_jid dependencies or a user hold)";
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::vector<std::string> QstatJobArgv(const std::vector<std::string>& ids) {
  std::vector<std::string> bases;
  for (const auto& id : ids) {
    std::string b = BaseId(id);
    if (std::find(bases.begin(), bases.end(), b) == bases.end()) bases.push_back(b);
  }
  return {"qstat", "-j", Join(bases, ',')};
}

std::map<std::string, std::string> ParseErrorReasons(std::string_view out) {
  std::map<std::string, std::string> reasons;
  std::string job;
  for (std::string_view line : text::Lines(out)) {
    if (text::StartsWith(line, "job_number:")) {
      job = std::string(Trim(line.substr(11)));
      continue;
    }
    if (!text::StartsWith(line, "error reason")) continue;
    std::string_view rest = Trim(line.substr(12));
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos || job.empty()) continue;
    std::string task(Trim(rest.substr(0, colon)));
    std::string msg(Trim(rest.substr(colon + 1)));
    reasons.emplace(job + "." + task, msg);
    reasons.emplace(job, msg);  // The first task's reason for the whole job.
  }
  return reasons;
}

std::string ParseOwner(std::string_view out) {
  for (std::string_view line : text::Lines(out))
    if (text::StartsWith(line, "owner:")) return std::string(Trim(line.substr(6)));
  return "";
}

std::vector<std::string> QacctArgv(const std::vector<std::string>& ids) {
  std::vector<std::string> bases;
  for (const auto& id : ids) {
    std::string b = BaseId(id);
    if (std::find(bases.begin(), bases.end(), b) == bases.end()) bases.push_back(b);
  }
  // qacct takes one job per call; one remote command runs them all. The
  // script is a constant: the ids arrive as positional parameters.
  std::vector<std::string> a = {"sh", "-c", "for j do qacct -j \"$j\"; done",
                                "sh"};
  a.insert(a.end(), bases.begin(), bases.end());
  return a;
}

std::vector<JobStatus> ParseQacct(std::string_view out, int utc_offset) {
  std::vector<JobStatus> jobs;
  std::map<std::string, size_t> index;
  std::map<std::string, std::string> rec;
  auto flush = [&] {
    if (rec.count("jobnumber")) {
      std::string id = rec["jobnumber"];
      const std::string& task = rec["taskid"];
      if (!task.empty() && task != "undefined") id += "." + task;
      // "137                  (Killed)": the number is the first word.
      std::string_view es = rec["exit_status"];
      auto exit = ParseInt(es.substr(0, es.find(' ')));
      JobStatus s = MapAccounting(rec["failed"], exit ? static_cast<int>(*exit) : -1);
      s.job_id = id;
      s.nodes = rec["hostname"];
      s.start_time = text::ParseTimestamp(rec["start_time"], utc_offset);
      s.end_time = text::ParseTimestamp(rec["end_time"], utc_offset);
      if (auto it = index.find(id); it != index.end()) {
        jobs[it->second] = std::move(s);
      } else {
        index[id] = jobs.size();
        jobs.push_back(std::move(s));
      }
    }
    rec.clear();
  };
  for (std::string_view line : text::Lines(out)) {
    if (text::StartsWith(line, "=====")) {
      flush();
      continue;
    }
    size_t sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos) continue;
    rec[std::string(line.substr(0, sp))] = std::string(Trim(line.substr(sp)));
  }
  flush();
  return jobs;
}

void ApplyMarkers(const std::set<std::string>& files,
                  std::vector<JobStatus>* statuses) {
  for (JobStatus& s : *statuses) {
    bool killed = s.signal.has_value() || s.state == JobState::kUnknown ||
                  s.state == JobState::kTimeout;
    if (s.state == JobState::kFailed && s.exit_code == kDependencyExitStatus &&
        files.count(s.job_id + ".depfail")) {
      s.state = JobState::kCancelled;
      s.reason =
          "DependencyNeverSatisfied: a job it depends on (afterok, or the "
          "element of an aftercorr array) did not complete successfully";
      continue;
    }
    if (killed && (files.count(s.job_id + ".cancelled") ||
                   files.count(BaseId(s.job_id) + ".cancelled"))) {
      s.state = JobState::kCancelled;
      s.reason = "cancelled (qdel)";
    }
  }
}

std::vector<std::string> QdelArgv(const std::vector<std::string>& ids) {
  std::vector<std::string> a = {"qdel"};
  a.insert(a.end(), ids.begin(), ids.end());
  return a;
}

std::vector<std::string> QstatUserArgv() {
  // $user is qstat's own placeholder for the caller (not a shell variable).
  return {"qstat", "-xml", "-u", "$user"};
}

Result<std::vector<std::string>> ParseQstatJobNumbers(std::string_view doc) {
  auto root = ParseQstatDocument(doc, "qstat -xml");
  if (!root.ok()) return root.status();
  std::vector<const xml::Element*> jobs;
  root->FindAll("job_list", &jobs);
  std::vector<std::string> ids;
  for (const xml::Element* j : jobs) {
    std::string number(Trim(j->ChildText("JB_job_number")));
    if (IsJobNumber(number) &&
        std::find(ids.begin(), ids.end(), number) == ids.end())
      ids.push_back(std::move(number));
  }
  return ids;
}

std::vector<std::string> QstatContextArgv(const std::vector<std::string>& ids) {
  return {"qstat", "-xml", "-j", Join(ids, ',')};
}

Result<std::vector<std::string>> ParseJobsWithComment(
    std::string_view doc, std::string_view comment) {
  auto root = ParseQstatDocument(doc, "qstat -xml -j");
  if (!root.ok()) return root.status();
  // What 8.1.9 prints for a value holding '<' (its escaping bug).
  std::string garbled;
  for (char c : comment)
    garbled += c == '<' ? std::string("%lt;") : std::string(1, c);
  std::vector<std::string> ids;
  const xml::Element* info = root->Child("djob_info");
  if (info == nullptr) return ids;  // <unknown_jobs> only.
  for (const xml::Element& job : info->children) {
    if (job.name != "element") continue;
    std::string number(Trim(job.ChildText("JB_job_number")));
    const xml::Element* context = job.Child("JB_context");
    if (!IsJobNumber(number) || context == nullptr) continue;
    for (const xml::Element& var : context->children) {
      if (var.ChildText("VA_variable") != kCommentVariable) continue;
      std::string value = var.ChildText("VA_value");
      if ((value == comment || value == garbled) &&
          std::find(ids.begin(), ids.end(), number) == ids.end())
        ids.push_back(number);
    }
  }
  return ids;
}

std::vector<std::string> CommentFilesArgv(const std::string& state_dir,
                                          const std::string& comment) {
  // A constant script; the directory and the comment arrive as positional
  // parameters. find batches the files, however many jobs have run.
  return {"sh",
          "-c",
          "cd -- \"$1\" 2>/dev/null || exit 0\n"
          "find . -maxdepth 1 -type f -name '*.comment' "
          "-exec grep -l -x -F -e \"$2\" -- {} +\n"
          "exit 0",
          "sh",
          state_dir,
          comment};
}

std::vector<std::string> ParseCommentFiles(std::string_view out) {
  std::vector<std::string> ids;
  for (std::string_view line : text::Lines(out)) {
    constexpr std::string_view kSuffix = ".comment";
    line = Trim(line);
    line = line.substr(line.rfind('/') + 1);  // "./12.comment"
    if (!line.ends_with(kSuffix)) continue;
    std::string_view id = line.substr(0, line.size() - kSuffix.size());
    if (IsJobNumber(id) && std::find(ids.begin(), ids.end(), id) == ids.end())
      ids.emplace_back(id);
  }
  return ids;
}

std::vector<JobStatus> Merge(const std::vector<std::string>& ids,
                             const std::vector<JobStatus>& queue,
                             const std::vector<JobStatus>& accounting) {
  std::vector<JobStatus> out;
  for (const std::string& id : ids) {
    const JobStatus* exact = nullptr;
    std::map<std::pair<int64_t, std::string>, const JobStatus*> tasks;
    for (const auto* src : {&accounting, &queue}) {
      for (const JobStatus& s : *src) {
        if (s.job_id == id) exact = &s;
        else if (IsTaskOf(s.job_id, id))
          tasks[{TaskNumber(s.job_id), s.job_id}] = &s;
      }
    }
    if (exact != nullptr && tasks.empty()) {
      out.push_back(*exact);
    } else if (!tasks.empty()) {
      for (const auto& [key, s] : tasks) out.push_back(*s);
    } else {
      JobStatus s;
      s.job_id = id;
      s.reason =
          "not in the queue and no accounting record (yet): qacct lags by the "
          "accounting flush time; an unknown id stays unknown";
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace sge

}  // namespace hpc::cluster
