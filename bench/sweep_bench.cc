// sweep_bench: what running a large sweep costs through hpc-mcp (plan,
// submit, poll), against the same sweep run as one job per task, on the
// Slurm testbed over SSH (libssh2, loopback only).
//
// The sweep: one phase, grid `i` over 0..N-1 (--tasks), id "t${i}", command
// `sleep 600`, time 00:15:00, on a profile with max_array_size
// min(1000, MaxArraySize - 1), max_concurrent_jobs 2 and
// min_query_interval_seconds 0 (every poll reaches the scheduler).
//
//   1. Ours:
//      a. plan: LoadSweep + ExpandSweep + MakePlan on this machine, the
//         median of --plan-runs;
//      b. submit: sweep::SubmitSweep through runs::OpenCluster, timed once;
//      c. poll: runs::PollRuns for the sweep, --polls times after one
//         untimed warm-up.
//      Scheduler commands are counted on the testbed: the profile's setup
//      line puts wrappers for sbatch/squeue/sacct/scontrol first in PATH,
//      which append their name to a file before exec'ing the real one, so
//      commands issued deep inside hpc-mcp's own code are counted too.
//   2. What a user would otherwise run: one job per task. N separate jobs
//      would take the better part of an hour to submit over ssh and hold N
//      job records on a shared testbed, so --per-job K jobs are submitted
//      held (they never run) and the time is extrapolated linearly to N:
//      a. `sbatch --hold ...` per job through one libssh2 session (the
//         generous baseline: no process or connection per job);
//      b. the same through `ssh -F $TESTBED_SSH_CONFIG testbed sbatch ...`,
//         a new OpenSSH process and connection per job (what an agent that
//         shells out does);
//      c. polling them: one squeue through the libssh2 session, read two
//         ways: `squeue --array` over the sweep's own tasks while it is
//         queued (N rows, measured at full size: the lower reading, since
//         N separate jobs are N records for the controller) and
//         `squeue --jobs=<K ids>` times N/K (the upper reading: its fixed
//         cost counted N/K times); and `ssh testbed squeue -j ID` per job,
//         --ssh-polls of them measured, their mean times N.
//
// Slurm counts every array task against MaxJobCount from submission until
// MinJobAge (300 s) after it ended, whether it ran or not (Slurm's default
// MaxJobCount, 10,000, never takes a 10,000-task sweep; the testbed sets
// 100,000): the sweep is cut to whole arrays that fit next to what the
// controller holds, the per-job jobs and --reserve-jobs for other users
// (printed when it is). Tasks must not run either (each would be a record
// and a log of its own): they sleep 600 s and only a few CPUs exist. The
// sweep is cancelled right after its polls, the held jobs right after
// theirs. Everything submitted is also cancelled after a failure or
// SIGINT/SIGTERM, and the scratch directories (local under $TMPDIR, remote
// under $TESTBED_WORK) are removed.
//
// Every loop is bounded in count and time (--cap-s per measurement). Exit
// status: 0 when the targets are met (sbatch calls == arrays planned; every
// poll exactly 1 squeue and at most 1 sacct), 1 otherwise, 2 when there is
// no testbed.
//
//   sweep_bench [--tasks 10000] [--per-job 200] [--polls 5] [--plan-runs 5]
//               [--ssh-polls 20] [--reserve-jobs 5000] [--cap-s 180]
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench/testbed_bench.h"
#include "tools/remote/local_remote.h"
#include "tools/remote/remote.h"
#include "tools/remote/ssh_remote.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/poller.h"
#include "tools/runs/run.h"
#include "tools/runs/store.h"
#include "tools/sweep/expand.h"
#include "tools/sweep/launcher.h"
#include "tools/sweep/plan.h"
#include "tools/sweep/state.h"
#include "tools/sweep/sweep.h"

namespace hpc::bench {
namespace {

using nlohmann::json;

constexpr char kName[] = "sweep_bench";

// "12,345" for the tables.
std::string Thousands(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  std::string digits = buf, out;
  const size_t lead = digits[0] == '-' ? 1 : 0;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > lead && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The job id in sbatch --parsable's answer ("123" or "123;cluster").
std::string ParsableId(const std::string& out) {
  const size_t end = out.find_first_of(";\n");
  std::string id = out.substr(0, end);
  const bool digits =
      !id.empty() && std::all_of(id.begin(), id.end(), [](unsigned char c) {
        return c >= '0' && c <= '9';
      });
  return digits ? id : std::string();
}

// An estimate of the job slots the controller counts against MaxJobCount:
// each task of a queued array and of one that ended within MinJobAge, and
// one per record for older ones (whose records a restarted controller
// counts once; this testbed's controller keeps cancelled arrays well past
// MinJobAge). A low guess costs a lost submission that the cleanup finds;
// --reserve-jobs covers the rest.
int JobSlotsInUse(remote::Remote& ssh, int min_job_age) {
  remote::RunOptions o = Plain(120);
  o.env["SLURM_TIME_FORMAT"] = "%s";  // End times as epoch seconds.
  auto q = ssh.Run(
      {"squeue", "--noheader", "--array", "--states=all", "--format=%F|%T|%e"},
      o);
  if (!q.ok() || !q->ok()) return 0;
  const int64_t recent =
      std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count() -
      min_job_age;
  int slots = 0;
  std::vector<std::string> old_records;
  std::istringstream in(q->out);
  std::string line;
  for (int guard = 0; guard < 10000000 && std::getline(in, line); ++guard) {
    const size_t a = line.find('|'), b = line.find('|', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string state = line.substr(a + 1, b - a - 1);
    const bool ended = state != "PENDING" && state != "RUNNING" &&
                       state != "CONFIGURING" && state != "COMPLETING" &&
                       state != "SUSPENDED" && state != "REQUEUED" &&
                       state != "RESIZING";
    const int64_t end = std::atoll(line.c_str() + b + 1);
    if (!ended || end >= recent) {
      ++slots;
    } else {
      std::string record = line.substr(0, a);
      if (std::find(old_records.begin(), old_records.end(), record) ==
          old_records.end())
        old_records.push_back(std::move(record));
    }
  }
  return slots + static_cast<int>(old_records.size());
}

struct Options {
  int tasks = 10000, per_job = 200, polls = 5, plan_runs = 5, ssh_polls = 20;
  // Job slots (MaxJobCount) left free for the testbed's other users: its
  // own sweep test submits 5,000 tasks.
  int reserve_jobs = 5000;
  double cap_s = 180;
};

// What main must undo, whatever happens.
struct Scratch : ScratchDirs {
  // Held jobs of the per-job baseline carry this name, so that a job whose
  // sbatch answer was lost (Ctrl-C mid-call) is cancelled too.
  std::string per_job_name;
  std::vector<std::string> job_ids, cancelled, sweep_ids;
  std::shared_ptr<runs::RunStore> store;

  void Add(const std::string& id) {
    auto has = [&](const std::vector<std::string>& v) {
      return std::find(v.begin(), v.end(), id) != v.end();
    };
    if (!id.empty() && !has(job_ids) && !has(cancelled)) job_ids.push_back(id);
  }

  // Every job the sweep's journal knows, whatever its tasks' state.
  void CollectJobIds() {
    if (!store) return;
    auto t = store->Load();
    if (!t.ok()) return;
    for (const auto& [id, run] : (*t)->runs) {
      for (const auto& j : run.JobIds()) Add(j);
      if (run.sweep)
        for (const auto& b : run.sweep->batches) Add(b.job_id);
      sweep_ids.push_back(id);
    }
  }

  // A batch whose sbatch outlived the Remote's timeout (the controller
  // answering EAGAIN, e.g. at MaxJobCount: sbatch retries for ~2 min) is in
  // the journal without a job id, and its sbatch may still succeed. Waits
  // (bounded) until no sbatch holds a batch's submit lock, then finds the
  // sweep's jobs by name (hpc-<sweep id>-<batch>).
  void CollectLostJobs() {
    if (ssh == nullptr || remote_root.empty()) return;
    for (const auto& id : sweep_ids) {
      (void)ssh->Run({"bash", "-c",
                      "for f in \"$1\"/*.submit.lock; do [ -e \"$f\" ] && "
                      "flock -w 150 \"$f\" true; done; exit 0",
                      "_", WorkRoot(remote_root) + "/runs/" + id},
                     Plain(200));
      auto q = ssh->Run({"squeue", "--me", "--noheader", "--format=%F|%j"},
                        Plain(60));
      if (!q.ok() || !q->ok()) continue;
      std::istringstream in(q->out);
      std::string line;
      for (int guard = 0; guard < 1000000 && std::getline(in, line); ++guard) {
        const size_t bar = line.find('|');
        if (bar != std::string::npos &&
            line.compare(bar + 1, id.size() + 5, "hpc-" + id + "-") == 0)
          Add(line.substr(0, bar));
      }
    }
    sweep_ids.clear();
  }

  // scancel for everything submitted so far, then a bounded wait until
  // none of it is pending or running.
  void CancelAll() {
    CollectJobIds();
    CollectLostJobs();
    if (ssh == nullptr) return;
    if (!per_job_name.empty())
      (void)ssh->Run({"scancel", "--name=" + per_job_name}, Plain(60));
    if (job_ids.empty()) return;
    const std::string ids = JoinIds(job_ids);
    if (CancelJobs(*ssh, job_ids, kName, {.scancel_s = 120, .squeue_s = 60}))
      std::printf("cleanup: %zu jobs cancelled, none left in the queue\n",
                  job_ids.size());
    else
      std::fprintf(stderr, "sweep_bench: jobs still in the queue: %s\n",
                   ids.substr(0, 400).c_str());
    // The journal still lists the sweep's jobs: not cancelled twice.
    cancelled.insert(cancelled.end(), job_ids.begin(), job_ids.end());
    job_ids.clear();
  }

  void Clean() {
    CancelAll();
    RemoveDirs(120);
  }
};

// The sweep under test.
json SweepDoc(int tasks) {
  json values = json::array();
  for (int i = 0; i < tasks; ++i) values.push_back(i);
  return {{"name", "sweep-bench"},
          {"parameters", {{"grid", {{"i", std::move(values)}}}}},
          {"id", "t${i}"},
          {"resources", {{"time", "00:15:00"}}},
          {"command", {"sleep", "600"}}};
}

int Bench(const Options& opt, Scratch& scratch, remote::SshRemote& ssh,
          const Testbed& tb) {
  // Local scratch: the experiment repository, query cache, repo registry.
  if (!scratch.MakeLocal("sweep-bench", kName)) return 1;
  const std::string dir = scratch.local_dir;
  const std::string repo = dir + "/repo";
  std::filesystem::create_directories(repo + "/.hpc-mcp/profiles");
  ::setenv("HPC_MCP_CACHE_DIR", (dir + "/cache").c_str(), 1);
  // RunStore::ForRepo records each repository in the user's registry; a
  // scratch repository has no business there.
  ::setenv("XDG_STATE_HOME", (dir + "/state").c_str(), 1);

  // Remote scratch: scripts, logs, the wrappers and their call log.
  if (!scratch.MakeRemote(tb.work, "sweep-bench", kName)) return 1;
  const std::string root = scratch.remote_root;
  scratch.per_job_name =
      "sweep-bench-perjob-" + root.substr(root.find_last_of('-') + 1);

  // The largest array the testbed takes, and how many jobs it holds.
  std::map<std::string, int> slurm_config = {
      {"MaxArraySize", 0}, {"MaxJobCount", 0}, {"MinJobAge", 300}};
  ReadSlurmConfig(ssh, &slurm_config);
  const int max_array_size = slurm_config["MaxArraySize"];
  const int max_job_count = slurm_config["MaxJobCount"];
  const int min_job_age = slurm_config["MinJobAge"];
  // Indices 0..size-1 must stay below MaxArraySize.
  const int max_array =
      max_array_size > 1 ? std::min(1000, max_array_size - 1) : 1000;
  // Slurm counts every task of an array against MaxJobCount from its
  // submission on, pending or not (slurmctld adds an array's task count to
  // its job count), and a cancelled array's tasks until MinJobAge has
  // passed; a submission past it gets EAGAIN and sbatch retries for ~2
  // minutes. So the sweep gets what is free after the per-job jobs and
  // --reserve-jobs, in whole arrays: the testbed is shared.
  const int in_use = JobSlotsInUse(ssh, min_job_age);
  int n_tasks = opt.tasks;
  if (max_job_count > 0) {
    const int room =
        max_job_count - 1 - in_use - 2 * opt.per_job - opt.reserve_jobs;
    if (room < 1) {
      std::fprintf(stderr,
                   "sweep_bench: no room on the testbed: MaxJobCount %d, %d "
                   "job slots in use (array tasks counted; cancelled jobs "
                   "stay for MinJobAge), %d for the per-job jobs, %d "
                   "reserved (--reserve-jobs)\n",
                   max_job_count, in_use, 2 * opt.per_job, opt.reserve_jobs);
      return 1;
    }
    if (n_tasks > room) {
      n_tasks = room >= max_array ? room / max_array * max_array : room;
      std::printf(
          "NOTE: --tasks %d reduced to %d: MaxJobCount %d counts every array "
          "task; ~%d slots in use, %d for the per-job jobs, %d reserved for "
          "other users (--reserve-jobs)\n",
          opt.tasks, n_tasks, max_job_count, in_use, 2 * opt.per_job,
          opt.reserve_jobs);
    }
  }
  std::printf(
      "testbed: %s; MaxArraySize %d -> max_array_size %d; MaxJobCount %d, "
      "~%d in use\n",
      ssh.Describe().c_str(), max_array_size, max_array, max_job_count, in_use);

  // Counting wrappers, first in PATH through the profile's setup line.
  const std::string calls = root + "/calls";
  if (!WriteCountingWrappers(ssh, root, calls,
                             {"sbatch", "squeue", "sacct", "scontrol"}, kName))
    return 1;
  std::ofstream(repo + "/.hpc-mcp/profiles/bench-sweep.yaml") << ProfileYaml(
      "bench-sweep", tb.ssh, root, "export PATH=" + root + "/bin:$PATH",
      "max_array_size: " + std::to_string(max_array) +
          ", max_concurrent_jobs: 2, min_query_interval_seconds: 0");
  auto read_calls = [&] { return ReadCallLog(ssh, calls, 8 << 20); };

  // 1a. The plan, on this machine.
  const json doc = SweepDoc(n_tasks);
  const sweep::PlanLimits limits{max_array, 2};
  std::vector<double> plan_ms;
  size_t arrays = 0;
  int waves = 0;
  for (int i = 0; i < opt.plan_runs && !g_stop; ++i) {
    const auto t0 = Clock::now();
    auto s = sweep::LoadSweep(doc, "sweep");
    if (!s.ok()) {
      std::fprintf(stderr, "sweep_bench: %s\n", s.status().ToString().c_str());
      return 1;
    }
    auto e = sweep::ExpandSweep(*s);
    if (!e.ok()) {
      std::fprintf(stderr, "sweep_bench: %s\n", e.status().ToString().c_str());
      return 1;
    }
    const sweep::Plan plan = sweep::MakePlan(*s, *e, limits);
    plan_ms.push_back(MsSince(t0));
    arrays = plan.arrays.size();
    waves = plan.waves;
  }
  const double plan_median = Median(plan_ms);
  std::printf(
      "plan: %s tasks -> %zu arrays in %d waves, median %.1f ms of "
      "%zu\n",
      Thousands(n_tasks).c_str(), arrays, waves, plan_median, plan_ms.size());
  if (g_stop) return 1;

  // 1b. Submit through the submit_sweep tool's logic.
  auto store = runs::RunStore::ForRepo(repo);
  if (!store.ok()) {
    std::fprintf(stderr, "sweep_bench: %s\n",
                 store.status().ToString().c_str());
    return 1;
  }
  scratch.store = *store;
  auto cl = runs::OpenCluster("bench-sweep", repo);
  if (!cl.ok()) {
    std::fprintf(stderr, "sweep_bench: %s\n", cl.status().ToString().c_str());
    return 1;
  }
  // Connected before the clock starts, as a server's session would be.
  (void)(*cl)->remote->Run({"true"}, Plain());
  // Counts file writes too: what a submission costs besides its sbatch
  // calls (sbatch runs as `flock ... sbatch`, so the wrappers count it).
  auto counted = CountThrough(**cl, /*count_files=*/true);
  if (!counted.ok()) return 1;
  const std::shared_ptr<CountingRemote> counting = *counted;
  const json args = {{"profile", "bench-sweep"}, {"sweep", doc}};
  const auto tp = Clock::now();
  auto req = sweep::ParseSubmitSweepRequest(repo, args);
  const double parse_ms = MsSince(tp);
  if (!req.ok()) {
    std::fprintf(stderr, "sweep_bench: %s\n", req.status().ToString().c_str());
    return 1;
  }
  const auto calls_before_submit = read_calls();
  const auto ts = Clock::now();
  auto sub = sweep::SubmitSweep(**store, **cl, *req);
  const double submit_ms = MsSince(ts);
  scratch.CollectJobIds();
  const auto submit_calls = Minus(read_calls(), calls_before_submit);
  const auto submit_remote = counting->Take();
  if (!sub.ok()) {
    std::fprintf(stderr, "sweep_bench: submit: %s\n",
                 sub.status().ToString().c_str());
    return 1;
  }
  const std::string sweep_id = sub->value("sweep_id", "");
  const std::string state = sub->value("state", "");
  const size_t batches = sub->value("batches", json::array()).size();
  std::printf(
      "submitted sweep %s (sweep::SubmitSweep): %s, %zu batches in "
      "%.0f ms (parsing the arguments before it: %.1f ms)\n"
      "  scheduler commands: %s; through the Remote: %s\n",
      sweep_id.c_str(), state.c_str(), batches, submit_ms, parse_ms,
      CountsText(submit_calls).c_str(), CountsText(submit_remote).c_str());
  bool met = true;
  if (sweep_id.empty() || state == "awaiting_confirmation" ||
      batches != arrays) {
    std::fprintf(stderr, "sweep_bench: submit returned %s\n",
                 sub->dump().substr(0, 2000).c_str());
    met = false;
  }
  const int sbatch_ours = Get(submit_calls, "sbatch");
  if (g_stop) return 1;

  // 1c. Polls, counted by the wrappers.
  runs::PollRequest preq;
  preq.run_ids = {sweep_id};
  std::vector<double> poll_ms;
  int poll_fail = 0;
  PerPoll per_poll;
  std::map<std::string, int> poll_calls_total;
  {
    if (const auto warm = WarmUpPoll(**store, preq, kName))
      std::printf("PollRuns warm-up: sweep %s is %s, tasks %s\n",
                  sweep_id.c_str(), warm->value("state", "?").c_str(),
                  warm->value("sweep", json::object())
                      .value("counts", json::object())
                      .dump()
                      .c_str());
    else
      ++poll_fail;
    auto before = read_calls();
    const auto start = Clock::now();
    for (int i = 0;
         i < opt.polls && !g_stop && MsSince(start) < opt.cap_s * 1000; ++i) {
      const auto t0 = Clock::now();
      auto r = runs::PollRuns(**store, preq);
      poll_ms.push_back(MsSince(t0));
      auto after = read_calls();
      const auto c = Minus(after, before);
      before = std::move(after);
      per_poll.Add(c);
      for (const auto& [k, v] : c) poll_calls_total[k] += v;
      if (!r.ok() || !r->errors.empty() || r->runs.size() != 1) ++poll_fail;
    }
  }
  const Stats poll = Summarize(poll_ms, poll_fail);
  (void)counting->Take();  // PollRuns opens its own Cluster: nothing here.

  // The poll's two scheduler commands alone, as the Slurm backend words
  // them, over the same kind of session (no login shell): where PollRuns's
  // time goes. The squeue lists every task of the sweep, one row each: N
  // rows, what one squeue over N separate jobs prints too, so it is also
  // the per-job baseline's poll measured at full size rather than
  // extrapolated (a lower bound for it: N separate jobs are N records in
  // the controller, the sweep's pending tasks a few array records).
  std::vector<std::string> array_ids;
  if (auto t = (*store)->Load(); t.ok())
    if (auto it = (*t)->runs.find(sweep_id);
        it != (*t)->runs.end() && it->second.sweep)
      for (const auto& b : it->second.sweep->batches)
        if (!b.job_id.empty()) array_ids.push_back(b.job_id);
  const std::string array_list = JoinIds(array_ids);
  auto median_of_3 = [&](const std::vector<std::string>& argv, size_t* lines) {
    std::vector<double> ms;
    for (int i = 0; i < 3 && !g_stop; ++i) {
      const auto t0 = Clock::now();
      auto r = ssh.Run(argv, Plain(120));
      ms.push_back(MsSince(t0));
      if (r.ok() && r->ok() && lines != nullptr)
        *lines =
            static_cast<size_t>(std::count(r->out.begin(), r->out.end(), '\n'));
    }
    return Median(ms);
  };
  size_t squeue_rows = 0, sacct_rows = 0;
  const double squeue_sweep_ms =
      median_of_3({"squeue", "--noheader", "--array", "--states=all",
                   "--jobs=" + array_list},
                  &squeue_rows);
  const double sacct_sweep_ms = median_of_3(
      {"sacct", "--noheader", "--parsable2", "--jobs=" + array_list,
       "--format=JobID,State,ExitCode,Start,End,NodeList,Reason,Comment"},
      &sacct_rows);

  // The sweep goes as soon as it is measured (MaxJobCount, MinJobAge).
  scratch.CancelAll();
  if (g_stop) return 1;

  // 2a. sbatch per job through the libssh2 session, then one squeue over
  // the K ids.
  const int k = opt.per_job;
  const std::vector<std::string> sbatch_argv = {
      "sbatch",
      "--hold",
      "--parsable",
      "--job-name=" + scratch.per_job_name,
      "--output=/dev/null",
      "--wrap",
      "sleep 600",
      "--time",
      "00:15:00"};
  std::vector<std::string> held;
  std::vector<double> lib_ms;
  int lib_fail = 0;
  {
    const auto start = Clock::now();
    for (int i = 0; i < k && !g_stop && MsSince(start) < opt.cap_s * 1000;
         ++i) {
      const auto t0 = Clock::now();
      auto r = ssh.Run(sbatch_argv, Plain(60));
      lib_ms.push_back(MsSince(t0));
      const std::string id = r.ok() && r->ok() ? ParsableId(r->out) : "";
      if (id.empty()) {
        ++lib_fail;
        continue;
      }
      held.push_back(id);
      scratch.Add(id);
    }
  }
  const Stats lib = Summarize(lib_ms, lib_fail);
  const int squeue_k = static_cast<int>(held.size());
  const double squeue_k_ms =
      held.empty() ? 0
                   : median_of_3({"squeue", "--noheader", "--states=all",
                                  "--jobs=" + JoinIds(held)},
                                 nullptr);

  // 2b. sbatch per job, an ssh process and connection each.
  remote::LocalRemote local;
  std::vector<double> ssh_ms;
  int ssh_fail = 0;
  {
    const auto start = Clock::now();
    for (int i = 0; i < k && !g_stop && MsSince(start) < opt.cap_s * 1000;
         ++i) {
      const auto t0 = Clock::now();
      auto r = local.Run(tb.SshCommand(sbatch_argv), Plain(60));
      ssh_ms.push_back(MsSince(t0));
      const std::string id = r.ok() && r->ok() ? ParsableId(r->out) : "";
      if (id.empty()) {
        ++ssh_fail;
        continue;
      }
      held.push_back(id);
      scratch.Add(id);
    }
  }
  const Stats ssh_sub = Summarize(ssh_ms, ssh_fail);

  // 2c. squeue per job, an ssh process each.
  std::vector<double> ssh_q_ms;
  int ssh_q_fail = 0;
  {
    const int n = std::min<int>(opt.ssh_polls, static_cast<int>(held.size()));
    const auto start = Clock::now();
    for (int i = 0; i < n && !g_stop && MsSince(start) < opt.cap_s * 1000;
         ++i) {
      const auto t0 = Clock::now();
      auto r = local.Run(tb.SshCommand({"squeue", "-j", held[i]}), Plain(60));
      ssh_q_ms.push_back(MsSince(t0));
      if (!r.ok() || !r->ok() || r->out.find(held[i]) == std::string::npos)
        ++ssh_q_fail;
    }
  }
  const Stats ssh_q = Summarize(ssh_q_ms, ssh_q_fail);
  const size_t held_count = held.size();
  scratch.CancelAll();
  if (g_stop) return 1;  // A partial sample is no measurement.

  // Linear in the jobs: the upper reading (the fixed cost of a command is
  // counted N/K times).
  const double squeue_linear_ms =
      squeue_k > 0 ? squeue_k_ms * n_tasks / squeue_k : 0;

  // The report.
  const double n = n_tasks;
  const double lib_n_s = lib.mean * n / 1000, ssh_n_s = ssh_sub.mean * n / 1000;
  const double ssh_q_n_ms = ssh_q.mean * n;
  auto ratio = [](double x, double ours) { return ours > 0 ? x / ours : 0.0; };
  std::printf(
      "\nsweep of %s tasks: %zu arrays of <= %d in %d waves "
      "(max_concurrent_jobs 2); per-job rows: K held jobs measured "
      "(libssh2 %d, ssh %d), x N/K\n",
      Thousands(n).c_str(), arrays, max_array, waves, lib.n, ssh_sub.n);
  std::printf("%-50s %-34s %14s %10s\n", "step / approach",
              "scheduler commands", "time", "vs ours");
  std::printf("%-50s %-34s %11.1f ms %10s\n",
              "plan: LoadSweep+ExpandSweep+MakePlan (local)", "none",
              plan_median, "-");
  std::printf("%-50s %-34s %12.2f s %10s\n", "submit: hpc-mcp SubmitSweep",
              (std::to_string(sbatch_ours) + " sbatch").c_str(),
              submit_ms / 1000, "1");
  std::printf("%-50s %-34s %12s s %9.0fx\n",
              "submit: sbatch per job, one libssh2 session",
              (Thousands(n) + " sbatch").c_str(), Thousands(lib_n_s).c_str(),
              ratio(lib_n_s * 1000, submit_ms));
  std::printf("%-50s %-34s %12s s %9.0fx\n",
              "submit: ssh testbed sbatch per job",
              (Thousands(n) + " sbatch, " + Thousands(n) + " ssh").c_str(),
              Thousands(ssh_n_s).c_str(), ratio(ssh_n_s * 1000, submit_ms));
  std::printf("%-50s %-34s %11.1f ms %10s\n", "poll: hpc-mcp PollRuns (mean)",
              per_poll.Text(/*with_other=*/false).c_str(), poll.mean, "1");
  std::printf("%-50s %-34s %11.1f ms %9.2fx\n",
              "poll: one squeue over N rows, libssh2 (measured)", "1 squeue",
              squeue_sweep_ms, ratio(squeue_sweep_ms, poll.mean));
  std::printf("%-50s %-34s %11.1f ms %9.2fx\n",
              "poll: one squeue --jobs=<K ids>, libssh2, x N/K", "1 squeue",
              squeue_linear_ms, ratio(squeue_linear_ms, poll.mean));
  std::printf("%-50s %-34s %11s ms %9.0fx\n",
              "poll: ssh testbed squeue -j ID per job",
              (Thousands(n) + " squeue, " + Thousands(n) + " ssh").c_str(),
              Thousands(ssh_q_n_ms).c_str(), ratio(ssh_q_n_ms, poll.mean));

  std::printf("\nmeasured:\n");
  std::printf("  plan runs (ms):");
  for (double m : plan_ms) std::printf(" %.1f", m);
  std::printf(
      "\n  PollRuns: %d polls, %d failed: mean %.1f ms, p50 %.1f, "
      "p95 %.1f; commands over all polls: %s\n",
      poll.n, poll.failures, poll.mean, poll.p50, poll.p95,
      CountsText(poll_calls_total).c_str());
  std::printf(
      "  sbatch --hold per job, libssh2: %d measured (%d failed): "
      "mean %.1f ms, p50 %.1f, p95 %.1f, %.2f s in all; x %.0f = "
      "%.0f s\n",
      lib.n, lib.failures, lib.mean, lib.p50, lib.p95, lib.total / 1000,
      n / std::max(1, lib.n), lib_n_s);
  std::printf(
      "  ssh testbed sbatch --hold per job: %d measured (%d failed): "
      "mean %.1f ms, p50 %.1f, p95 %.1f, %.2f s in all; x %.0f = "
      "%.0f s\n",
      ssh_sub.n, ssh_sub.failures, ssh_sub.mean, ssh_sub.p50, ssh_sub.p95,
      ssh_sub.total / 1000, n / std::max(1, ssh_sub.n), ssh_n_s);
  std::printf(
      "  the poll's commands alone (libssh2, no login shell, median of 3): "
      "squeue --array over the sweep's %zu arrays %.1f ms (%zu rows), "
      "sacct %.1f ms (%zu rows)\n",
      array_ids.size(), squeue_sweep_ms, squeue_rows, sacct_sweep_ms,
      sacct_rows);
  std::printf(
      "  squeue --states=all --jobs=<%d held ids>, libssh2, median of 3: "
      "%.1f ms; x %.0f = %.1f ms\n",
      squeue_k, squeue_k_ms, n / std::max(1, squeue_k), squeue_linear_ms);
  std::printf(
      "  ssh testbed squeue -j ID: %d measured (%d failed): mean "
      "%.1f ms, p50 %.1f, p95 %.1f; x %s = %.0f ms\n",
      ssh_q.n, ssh_q.failures, ssh_q.mean, ssh_q.p50, ssh_q.p95,
      Thousands(n).c_str(), ssh_q_n_ms);
  std::printf("  held jobs submitted: %zu (cancelled)\n", held_count);

  const bool sbatch_met = sbatch_ours == static_cast<int>(arrays);
  const bool poll_met = poll.n > 0 && poll.failures == 0 && per_poll.Met();
  std::printf("  target: sbatch calls == arrays planned (%d vs %zu): %s\n",
              sbatch_ours, arrays, sbatch_met ? "met" : "NOT met");
  std::printf("  target: every poll 1 squeue and at most 1 sacct: %s\n",
              poll_met ? "met" : "NOT met");
  const bool baseline_ok = lib.n > 0 && ssh_sub.n > 0 && ssh_q.n > 0 &&
                           lib.failures == 0 && ssh_sub.failures == 0 &&
                           ssh_q.failures == 0;
  if (!baseline_ok)
    std::printf("  the per-job baseline had failures or no sample\n");
  return met && sbatch_met && poll_met && baseline_ok ? 0 : 1;
}

int Main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto num = [&](int lo, int hi) {
      return std::clamp(std::atoi(argv[++i]), lo, hi);
    };
    // Tasks up to sweep::kConfirmAboveTasks: above it submit_sweep asks
    // for a confirm_token first, and the testbed's MaxJobCount is 10,000.
    if (a == "--tasks" && i + 1 < argc) {
      opt.tasks = num(1, static_cast<int>(sweep::kConfirmAboveTasks));
    } else if (a == "--per-job" && i + 1 < argc) {
      opt.per_job = num(1, 1000);
    } else if (a == "--polls" && i + 1 < argc) {
      opt.polls = num(1, 100);
    } else if (a == "--plan-runs" && i + 1 < argc) {
      opt.plan_runs = num(1, 100);
    } else if (a == "--ssh-polls" && i + 1 < argc) {
      opt.ssh_polls = num(1, 1000);
    } else if (a == "--reserve-jobs" && i + 1 < argc) {
      opt.reserve_jobs = num(0, 1000000);
    } else if (a == "--cap-s" && i + 1 < argc) {
      opt.cap_s = std::clamp(std::atof(argv[++i]), 1.0, 600.0);
    } else {
      std::fprintf(stderr,
                   "usage: sweep_bench [--tasks 10000] [--per-job 200] "
                   "[--polls 5] [--plan-runs 5] [--ssh-polls 20] "
                   "[--reserve-jobs 5000] [--cap-s 180]\n");
      return 2;
    }
  }
  InstallStopHandlers();
  const std::optional<Testbed> tb = FindTestbed(kName);
  if (!tb) return 2;
  std::printf(
      "sweep_bench: %d tasks, %d held jobs per per-job mode, %d "
      "polls, %d plan runs, cap %.0f s per measurement\n",
      opt.tasks, opt.per_job, opt.polls, opt.plan_runs, opt.cap_s);
  RunOnTestbed(kName, *tb, Bench, opt);
}

}  // namespace
}  // namespace hpc::bench

int main(int argc, char** argv) { return hpc::bench::Main(argc, argv); }
