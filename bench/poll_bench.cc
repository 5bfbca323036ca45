// poll_bench: what polling a large array job costs through hpc-mcp, against
// the Slurm testbed over SSH (libssh2, loopback only), and how many
// scheduler queries concurrent pollers cause.
//
// One run is submitted through runs::SubmitRun: an array of 1,000 tasks
// (`sleep 600`, time 00:15:00; fewer when the testbed's MaxArraySize is
// smaller), at most --throttle tasks running at once so that the bench
// leaves the testbed's other CPU to other users. Then:
//
//   1. Poll over the array, --polls times each (after one untimed warm-up):
//      a. runs::CachedQuery -> Slurm Scheduler::Query for the array's job id
//         (what PollRuns asks), on a profile with min_query_interval 0 so
//         that every poll reaches the scheduler. The scheduler runs through
//         a counting Remote: scheduler commands per poll, by argv[0].
//      b. runs::PollRuns for the run (the `poll` tool's logic: journal,
//         query, log reads, health). PollRuns opens its own Cluster, so its
//         commands are counted on the testbed instead: the run's profile
//         puts wrapper scripts for squeue/sacct/scontrol first in PATH,
//         which append their name to a file before exec'ing the real one.
//      c. What an agent would otherwise run: `ssh testbed squeue -j ID_T`
//         once per task (--per-task of them measured, extrapolated to all),
//         and `ssh testbed squeue -j ID` once per poll.
//   2. --pollers concurrent pollers inside one query interval (a profile
//      with min_query_interval_seconds 30), starting together:
//      a. threads of this process, each with its own scheduler over one
//         counting Remote (as tool calls share a profile's Remote);
//      b. processes (this program re-executed, each with its own SSH
//         session and counting Remote, reporting through a pipe), sharing
//         only the file cache. Each must see one scheduler query in total.
//
// Every loop is bounded in count and time (--cap-s per measurement). The
// array is cancelled (scancel through the Remote) at the end, also after a
// failure or SIGINT/SIGTERM; the remote and local scratch directories are
// removed. Exit status: 0 when every count target is met, 1 otherwise, 2
// when there is no testbed.
//
//   poll_bench [--polls 10] [--per-task 20] [--tasks 1000] [--pollers 10]
//              [--throttle 1] [--cap-s 60]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <latch>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/testbed_bench.h"
#include "tools/cluster/connect.h"
#include "tools/cluster/profile.h"
#include "tools/cluster/scheduler.h"
#include "tools/remote/local_remote.h"
#include "tools/remote/remote.h"
#include "tools/remote/ssh_remote.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/poller.h"
#include "tools/runs/query_cache.h"
#include "tools/runs/store.h"
#include "tools/runs/submitter.h"

namespace hpc::bench {
namespace {

using nlohmann::json;

constexpr char kName[] = "poll_bench";

// --child REPO PROFILE JOB_ID: one poller process of part 2b. Connects,
// prints "ready", waits for a byte on stdin, runs one CachedQuery and
// prints "result <squeue> <sacct> <other> <from_cache> <statuses> <ms>".
int ChildMain(const std::string& repo, const std::string& profile_name,
              const std::string& job_id) {
  auto profile = cluster::LoadProfile(profile_name, repo);
  if (!profile.ok()) {
    std::fprintf(stderr, "poll_bench child: %s\n",
                 profile.status().ToString().c_str());
    return 1;
  }
  auto real = cluster::ConnectRemote(*profile);
  if (!real.ok()) return 1;
  auto counting = std::make_shared<CountingRemote>(*real);
  auto sched = cluster::MakeScheduler(*profile, counting);
  if (!sched.ok()) return 1;
  auto warm = (*real)->Run({"true"}, Plain());  // Connects; not counted.
  if (!warm.ok()) {
    std::fprintf(stderr, "poll_bench child: %s\n",
                 warm.status().ToString().c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  pollfd p{STDIN_FILENO, POLLIN, 0};
  char go = 0;
  if (::poll(&p, 1, 60000) != 1 || ::read(STDIN_FILENO, &go, 1) != 1)
    return 1;
  runs::ResetQueryCacheForTesting();  // A fresh process: nothing to forget.
  runs::QueryStats st;
  const auto t0 = Clock::now();
  auto r = runs::CachedQuery(*profile, **sched, {job_id}, &st);
  const double ms = MsSince(t0);
  if (!r.ok()) {
    std::fprintf(stderr, "poll_bench child: %s\n",
                 r.status().ToString().c_str());
    return 1;
  }
  auto c = counting->Take();
  std::printf("result %d %d %d %d %zu %.3f\n", Get(c, "squeue"),
              Get(c, "sacct"), Others(c), st.from_cache ? 1 : 0, r->size(),
              ms);
  std::fflush(stdout);
  return 0;
}

struct ProcResult {
  int squeue = 0, sacct = 0, other = 0, from_cache = 0, ok = 0;
  size_t statuses_min = 0;
  double wall_ms = 0, max_ms = 0;
};

// Part 2b: `n` children of this program, started together.
ProcResult RunProcesses(int n, const std::string& repo,
                        const std::string& profile, const std::string& job_id,
                        double cap_s) {
  ProcResult res;
  struct Child {
    pid_t pid = -1;
    int in = -1, out = -1;
    std::string buf;
    bool ready = false, done = false;
  };
  std::vector<Child> kids(n);
  std::vector<std::string> args = {"poll_bench", "--child", repo, profile,
                                   job_id};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& k : kids) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) break;
    if (::pipe2(out, O_CLOEXEC) != 0) {
      ::close(in[0]);
      ::close(in[1]);
      break;
    }
    pid_t pid = ::fork();
    if (pid == 0) {  // Only async-signal-safe calls until exec.
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      ::execv("/proc/self/exe", argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    if (pid < 0) {
      ::close(in[1]);
      ::close(out[0]);
      break;
    }
    k.pid = pid;
    k.in = in[1];
    k.out = out[0];
  }
  // Reads what the children print until `want` holds for all or the
  // deadline passes.
  auto pump = [&](auto want, double seconds) {
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    for (int guard = 0; guard < 100000 && !g_stop; ++guard) {
      std::vector<pollfd> fds;
      std::vector<Child*> who;
      bool all = true;
      for (auto& k : kids) {
        if (k.pid < 0) continue;
        if (!want(k)) all = false;
        if (k.out >= 0 && !want(k)) {
          fds.push_back({k.out, POLLIN, 0});
          who.push_back(&k);
        }
      }
      if (all || fds.empty()) return all;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            end - Clock::now())
                            .count();
      if (left <= 0) return false;
      if (::poll(fds.data(), fds.size(), static_cast<int>(left)) <= 0)
        continue;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        char b[512];
        ssize_t got = ::read(fds[i].fd, b, sizeof b);
        if (got <= 0) {
          ::close(who[i]->out);
          who[i]->out = -1;
          continue;
        }
        who[i]->buf.append(b, static_cast<size_t>(got));
        who[i]->ready = who[i]->buf.find("ready\n") != std::string::npos;
        who[i]->done = who[i]->buf.find("result ") != std::string::npos &&
                       who[i]->buf.back() == '\n';
      }
    }
    return false;
  };
  const bool ready = pump([](const Child& k) { return k.ready; }, cap_s);
  const auto t0 = Clock::now();
  if (ready) {
    for (auto& k : kids)
      if (k.pid >= 0 && ::write(k.in, "g", 1) != 1) k.done = false;
    pump([](const Child& k) { return k.done; }, cap_s);
  } else {
    std::fprintf(stderr, "poll_bench: not every poller process got ready\n");
  }
  res.wall_ms = MsSince(t0);
  res.statuses_min = static_cast<size_t>(-1);
  for (auto& k : kids) {
    if (k.pid < 0) continue;
    size_t at = k.buf.find("result ");
    if (ready && at != std::string::npos) {
      int q = 0, a = 0, o = 0, c = 0;
      size_t st = 0;
      double ms = 0;
      if (std::sscanf(k.buf.c_str() + at, "result %d %d %d %d %zu %lf", &q, &a,
                      &o, &c, &st, &ms) == 6) {
        res.squeue += q;
        res.sacct += a;
        res.other += o;
        res.from_cache += c;
        res.statuses_min = std::min(res.statuses_min, st);
        res.max_ms = std::max(res.max_ms, ms);
        ++res.ok;
      }
    }
    ::close(k.in);
    if (k.out >= 0) ::close(k.out);
  }
  // Reap, bounded: a child still there after 10 s is killed.
  const auto end = Clock::now() + std::chrono::seconds(10);
  for (auto& k : kids) {
    if (k.pid < 0) continue;
    int status = 0;
    while (::waitpid(k.pid, &status, WNOHANG) == 0) {
      if (Clock::now() >= end) {
        ::kill(k.pid, SIGKILL);
        ::waitpid(k.pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (res.ok == 0) res.statuses_min = 0;
  return res;
}

struct Options {
  int polls = 10, per_task = 20, tasks = 1000, pollers = 10, throttle = 1;
  double cap_s = 60;
};

// What main must undo, whatever happens.
struct Scratch : ScratchDirs {
  std::vector<std::string> job_ids;
  std::shared_ptr<runs::RunStore> store;

  void CollectJobIds() {
    if (!store) return;
    auto t = store->Load();
    if (!t.ok()) return;
    for (const auto& [id, run] : (*t)->runs)
      for (const auto& j : run.JobIds())
        if (std::find(job_ids.begin(), job_ids.end(), j) == job_ids.end())
          job_ids.push_back(j);
  }

  void Clean() {
    CollectJobIds();
    if (ssh != nullptr && !job_ids.empty()) {
      // Waits (bounded) until none of the array's tasks is pending or
      // running.
      const std::string ids = JoinIds(job_ids);
      if (CancelJobs(*ssh, job_ids, kName,
                     {.array = true, .scancel_s = 60, .squeue_s = 30}))
        std::printf("cleanup: job %s cancelled, none of its tasks left\n",
                    ids.c_str());
      else
        std::fprintf(stderr, "poll_bench: job %s still in the queue\n",
                     ids.c_str());
      job_ids.clear();
    }
    RemoveDirs(60);
  }
};

int Bench(const Options& opt, Scratch& scratch, remote::SshRemote& ssh,
          const Testbed& tb) {
  bool met = true;
  // Local scratch: the experiment repository and the query caches.
  if (!scratch.MakeLocal("poll-bench", kName)) return 1;
  const std::string dir = scratch.local_dir;
  const std::string repo = dir + "/repo";
  std::filesystem::create_directories(repo + "/.hpc-mcp/profiles");
  ::setenv("HPC_MCP_CACHE_DIR", (dir + "/cache-poll").c_str(), 1);

  // Remote scratch: job scripts, logs, the wrappers and their call log.
  if (!scratch.MakeRemote(tb.work, "poll-bench", kName)) return 1;
  const std::string root = scratch.remote_root;

  // The largest array the testbed takes.
  std::map<std::string, int> slurm_config = {{"MaxArraySize", 0}};
  ReadSlurmConfig(ssh, &slurm_config);
  const int max_array = slurm_config["MaxArraySize"];
  // Task ids 0..tasks-1 need tasks-1 < MaxArraySize.
  const int tasks = max_array > 0 ? std::min(opt.tasks, max_array) : opt.tasks;
  std::string array = "0-" + std::to_string(tasks - 1);
  if (opt.throttle > 0) array += "%" + std::to_string(opt.throttle);
  std::printf("testbed: %s; MaxArraySize %d -> array \"%s\" (%d tasks)\n",
              ssh.Describe().c_str(), max_array, array.c_str(), tasks);

  // Counting wrappers for the PollRuns profile.
  const std::string calls = root + "/calls";
  if (!WriteCountingWrappers(ssh, root, calls, {"squeue", "sacct", "scontrol"},
                             kName))
    return 1;
  auto write_profile = [&](const std::string& name, int interval,
                           const std::string& setup) {
    std::ofstream(repo + "/.hpc-mcp/profiles/" + name + ".yaml") << ProfileYaml(
        name, tb.ssh, root, setup,
        "min_query_interval_seconds: " + std::to_string(interval));
  };
  // 1a: every poll queries; submit and 1b: the same with the wrappers
  // first in PATH; 2: a 30 s query interval.
  write_profile("bench-poll", 0, "");
  write_profile("bench-wrapped", 0, "export PATH=" + root + "/bin:$PATH");
  write_profile("bench-shared", 30, "");

  // Submit the array through the submit tool's logic.
  auto store = runs::RunStore::ForRepo(repo);
  if (!store.ok()) {
    std::fprintf(stderr, "poll_bench: %s\n", store.status().ToString().c_str());
    return 1;
  }
  scratch.store = *store;
  auto cl = runs::OpenCluster("bench-wrapped", repo);
  if (!cl.ok()) {
    std::fprintf(stderr, "poll_bench: %s\n", cl.status().ToString().c_str());
    return 1;
  }
  auto counted = CountThrough(**cl);
  if (!counted.ok()) return 1;
  const std::shared_ptr<CountingRemote> submit_counting = *counted;
  json args = {{"profile", "bench-wrapped"},
               {"name", "poll-bench"},
               {"command", {"sleep", "600"}},
               {"array", array},
               {"resources", {{"time", "00:15:00"}}}};
  auto req = runs::ParseSubmitRequest(args);
  if (!req.ok()) {
    std::fprintf(stderr, "poll_bench: %s\n", req.status().ToString().c_str());
    return 1;
  }
  const auto ts = Clock::now();
  auto sub = runs::SubmitRun(**store, **cl, *req);
  const double submit_ms = MsSince(ts);
  scratch.CollectJobIds();
  if (!sub.ok()) {
    std::fprintf(stderr, "poll_bench: submit: %s\n",
                 sub.status().ToString().c_str());
    return 1;
  }
  const std::string run_id = (*sub).value("run_id", "");
  const auto job_ids =
      (*sub).value("job_ids", json::array()).get<std::vector<std::string>>();
  if (run_id.empty() || job_ids.size() != 1) {
    std::fprintf(stderr, "poll_bench: submit returned %s\n",
                 (*sub).dump().c_str());
    return 1;
  }
  const std::string job_id = job_ids[0];
  std::printf("submitted run %s (runs::SubmitRun): job %s in %.0f ms, %s\n",
              run_id.c_str(), job_id.c_str(), submit_ms,
              CountsText(submit_counting->Take()).c_str());
  if (g_stop) return 1;

  // 1a. CachedQuery -> Scheduler::Query through a counting Remote.
  auto p_poll = cluster::LoadProfile("bench-poll", repo);
  if (!p_poll.ok()) return 1;
  auto r_poll = cluster::ConnectRemote(*p_poll);
  if (!r_poll.ok()) return 1;
  auto c_poll = std::make_shared<CountingRemote>(*r_poll);
  auto s_poll = cluster::MakeScheduler(*p_poll, c_poll);
  if (!s_poll.ok()) return 1;
  auto first = runs::CachedQuery(*p_poll, **s_poll, {job_id});
  if (!first.ok()) {
    std::fprintf(stderr, "poll_bench: query: %s\n",
                 first.status().ToString().c_str());
    return 1;
  }
  std::map<std::string, int> by_state;
  for (const auto& s : *first) ++by_state[cluster::JobStateName(s.state)];
  std::printf("first query: %zu task statuses (%s); warm-up %s\n",
              first->size(), CountsText(by_state).c_str(),
              CountsText(c_poll->Take()).c_str());
  if (first->size() != static_cast<size_t>(tasks)) {
    std::fprintf(stderr, "poll_bench: expected %d task statuses\n", tasks);
    met = false;
  }
  PerPoll pp_query;
  std::map<std::string, double> query_cmd_ms;  // Summed over the polls.
  std::vector<double> ms_query;
  int fail_query = 0;
  {
    const auto start = Clock::now();
    for (int i = 0; i < opt.polls && !g_stop && MsSince(start) < opt.cap_s * 1000; ++i) {
      runs::QueryStats st;
      const auto t0 = Clock::now();
      auto r = runs::CachedQuery(*p_poll, **s_poll, {job_id}, &st);
      ms_query.push_back(MsSince(t0));
      pp_query.Add(c_poll->Take(&query_cmd_ms));
      if (!r.ok() || r->size() != static_cast<size_t>(tasks) || st.from_cache)
        ++fail_query;
    }
  }
  const Stats query = Summarize(ms_query, fail_query);

  // 1b. PollRuns, counted by the wrappers on the testbed.
  auto read_calls = [&] { return ReadCallLog(ssh, calls, 4 << 20); };
  runs::PollRequest preq;
  preq.run_ids = {run_id};
  PerPoll pp_poll;
  std::vector<double> ms_poll;
  int fail_poll = 0;
  {
    if (const auto warm = WarmUpPoll(**store, preq, kName))
      std::printf("PollRuns: run %s is %s\n", run_id.c_str(),
                  warm->value("state", "?").c_str());
    else
      ++fail_poll;
    auto before = read_calls();
    const auto start = Clock::now();
    for (int i = 0; i < opt.polls && !g_stop && MsSince(start) < opt.cap_s * 1000; ++i) {
      const auto t0 = Clock::now();
      auto r = runs::PollRuns(**store, preq);
      ms_poll.push_back(MsSince(t0));
      auto after = read_calls();
      pp_poll.Add(Minus(after, before));
      before = std::move(after);
      if (!r.ok() || !r->errors.empty()) ++fail_poll;
    }
  }
  const Stats poll = Summarize(ms_poll, fail_poll);

  // 1c, 1d. What an agent would run instead: an ssh process per command.
  remote::LocalRemote local;
  auto ssh_series = [&](int n, auto argv_for) {
    std::vector<double> ms;
    int failures = 0;
    (void)local.Run(tb.SshCommand(argv_for(0)), Plain());  // Warm-up.
    const auto start = Clock::now();
    for (int i = 0; i < n && !g_stop && MsSince(start) < opt.cap_s * 1000; ++i) {
      const auto t0 = Clock::now();
      auto r = local.Run(tb.SshCommand(argv_for(i)), Plain());
      ms.push_back(MsSince(t0));
      if (!r.ok() || !r->ok() || r->out.find(job_id) == std::string::npos)
        ++failures;
    }
    return Summarize(ms, failures);
  };
  const Stats per_task =
      ssh_series(std::min(opt.per_task, tasks), [&](int i) {
        return std::vector<std::string>{"squeue", "-j",
                                        job_id + "_" + std::to_string(i)};
      });
  const Stats per_array = ssh_series(opt.polls, [&](int) {
    return std::vector<std::string>{"squeue", "-j", job_id};
  });
  if (g_stop) return 1;

  // 2a. Concurrent pollers: threads of one process.
  const int n = opt.pollers;
  ::setenv("HPC_MCP_CACHE_DIR", (dir + "/cache-threads").c_str(), 1);
  runs::ResetQueryCacheForTesting();
  auto p_sh = cluster::LoadProfile("bench-shared", repo);
  if (!p_sh.ok()) return 1;
  auto r_sh = cluster::ConnectRemote(*p_sh);
  if (!r_sh.ok()) return 1;
  (void)(*r_sh)->Run({"true"}, Plain());  // Connected before the start.
  auto c_sh = std::make_shared<CountingRemote>(*r_sh);
  std::vector<std::unique_ptr<cluster::Scheduler>> scheds;
  for (int i = 0; i < n; ++i) {
    auto s = cluster::MakeScheduler(*p_sh, c_sh);
    if (!s.ok()) return 1;
    scheds.push_back(std::move(*s));
  }
  struct ThreadResult {
    bool ok = false, from_cache = false;
    size_t statuses = 0;
  };
  std::vector<ThreadResult> tr(n);
  double threads_wall = 0;
  {
    std::latch go(1);
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        go.wait();
        runs::QueryStats st;
        auto r = runs::CachedQuery(*p_sh, *scheds[i], {job_id}, &st);
        tr[i].ok = r.ok();
        tr[i].from_cache = st.from_cache;
        tr[i].statuses = r.ok() ? r->size() : 0;
      });
    }
    const auto t0 = Clock::now();
    go.count_down();
    for (auto& t : threads) t.join();
    threads_wall = MsSince(t0);
  }
  const auto thread_counts = c_sh->Take();
  int thread_cached = 0, thread_ok = 0;
  for (const auto& r : tr) {
    thread_cached += r.from_cache ? 1 : 0;
    thread_ok += r.ok && r.statuses == static_cast<size_t>(tasks) ? 1 : 0;
  }

  // 2b. Concurrent pollers: processes sharing the file cache.
  ::setenv("HPC_MCP_CACHE_DIR", (dir + "/cache-procs").c_str(), 1);
  const ProcResult pr =
      RunProcesses(n, repo, "bench-shared", job_id, opt.cap_s);

  // The report.
  auto ratio = [&](double x) { return query.mean > 0 ? x / query.mean : 0.0; };
  const double extrapolated = per_task.mean * tasks;
  std::printf("\npoll over one %d-task array (job %s), %s\n", tasks,
              job_id.c_str(), "per poll");
  std::printf("%-56s %5s %5s %-28s %9s %9s %9s %9s\n", "approach", "polls",
              "fails", "scheduler commands/poll", "mean ms", "p50 ms",
              "p95 ms", "vs query");
  std::printf("%-56s %5d %5d %-28s %9.1f %9.1f %9.1f %9.2f\n",
              "hpc-mcp CachedQuery -> Slurm Query (libssh2)", query.n,
              query.failures, pp_query.Text().c_str(), query.mean, query.p50,
              query.p95, 1.0);
  std::printf("%-56s %5d %5d %-28s %9.1f %9.1f %9.1f %9.2f\n",
              "hpc-mcp PollRuns, the poll tool (libssh2)", poll.n,
              poll.failures, pp_poll.Text().c_str(), poll.mean, poll.p50,
              poll.p95, ratio(poll.mean));
  std::printf("%-56s %5d %5d %-28s %9.1f %9.1f %9.1f %9.2f\n",
              "ssh testbed squeue -j <array id>", per_array.n,
              per_array.failures, "1 squeue (1 ssh)", per_array.mean,
              per_array.p50, per_array.p95, ratio(per_array.mean));
  std::printf("%-56s %5s %5d %-28s %9.0f %9s %9s %9.1f\n",
              ("ssh testbed squeue -j <id>_<task>, x" + std::to_string(tasks) +
               " (extrapol.)")
                  .c_str(),
              "-", per_task.failures,
              (std::to_string(tasks) + " squeue (" + std::to_string(tasks) +
               " ssh)")
                  .c_str(),
              extrapolated, "-", "-", ratio(extrapolated));
  std::printf("  (measured: %d x `ssh testbed squeue -j %s_<task>`: mean %.1f "
              "ms, p50 %.1f, p95 %.1f; x %d = %.0f ms)\n",
              per_task.n, job_id.c_str(), per_task.mean, per_task.p50,
              per_task.p95, tasks, extrapolated);
  if (query.n > 0) {
    std::string parts;
    for (const auto& [k, v] : query_cmd_ms) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s%s %.1f ms", parts.empty() ? "" : ", ",
                    k.c_str(), v / query.n);
      parts += buf;
    }
    std::printf("  (CachedQuery's time per poll in its commands, over one "
                "libssh2 channel each: %s)\n",
                parts.c_str());
  }
  const bool poll_met = pp_query.Met() && pp_poll.Met() &&
                        query.failures == 0 && poll.failures == 0 &&
                        query.n > 0 && poll.n > 0;
  std::printf("  target: 1 squeue and at most 1 sacct per poll: %s\n",
              poll_met ? "met" : "NOT met");
  met = met && poll_met;

  std::printf("\n%d concurrent pollers of job %s, min_query_interval 30 s\n",
              n, job_id.c_str());
  std::printf("%-34s %6s %6s %6s %11s %6s %9s %s\n", "pollers", "squeue",
              "sacct", "other", "from cache", "ok", "wall ms",
              "without the cache");
  const std::string without = std::to_string(n) + " squeue + " +
                              std::to_string(n) + " sacct";
  std::printf("%-34s %6d %6d %6d %8d/%-2d %6d %9.1f %s\n",
              "threads (one process)", Get(thread_counts, "squeue"),
              Get(thread_counts, "sacct"), Others(thread_counts),
              thread_cached, n, thread_ok, threads_wall, without.c_str());
  std::printf("%-34s %6d %6d %6d %8d/%-2d %6d %9.1f %s\n",
              "processes (shared file cache)", pr.squeue, pr.sacct, pr.other,
              pr.from_cache, n, pr.ok, pr.wall_ms, without.c_str());
  const bool threads_met = Get(thread_counts, "squeue") == 1 &&
                           Get(thread_counts, "sacct") <= 1 &&
                           thread_cached == n - 1 && thread_ok == n;
  const bool procs_met = pr.squeue == 1 && pr.sacct <= 1 &&
                         pr.from_cache == n - 1 && pr.ok == n &&
                         pr.statuses_min == static_cast<size_t>(tasks);
  std::printf("  target: one scheduler query for all pollers: threads %s, "
              "processes %s\n",
              threads_met ? "met" : "NOT met", procs_met ? "met" : "NOT met");
  met = met && threads_met && procs_met;
  return met ? 0 : 1;
}

int Main(int argc, char** argv) {
  // Leaves with ExitNow (no static destructors), as RunOnTestbed does.
  if (argc == 5 && std::string(argv[1]) == "--child")
    ExitNow(ChildMain(argv[2], argv[3], argv[4]));
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto num = [&](int lo, int hi) {
      return std::clamp(std::atoi(argv[++i]), lo, hi);
    };
    if (a == "--polls" && i + 1 < argc) {
      opt.polls = num(1, 1000);
    } else if (a == "--per-task" && i + 1 < argc) {
      opt.per_task = num(1, 1000);
    } else if (a == "--tasks" && i + 1 < argc) {
      opt.tasks = num(1, 1000);
    } else if (a == "--pollers" && i + 1 < argc) {
      opt.pollers = num(2, 64);
    } else if (a == "--throttle" && i + 1 < argc) {
      opt.throttle = num(0, 1000);
    } else if (a == "--cap-s" && i + 1 < argc) {
      opt.cap_s = std::clamp(std::atof(argv[++i]), 1.0, 600.0);
    } else {
      std::fprintf(stderr,
                   "usage: poll_bench [--polls 10] [--per-task 20] "
                   "[--tasks 1000] [--pollers 10] [--throttle 1] "
                   "[--cap-s 60]\n");
      return 2;
    }
  }
  InstallStopHandlers();
  const std::optional<Testbed> tb = FindTestbed(kName);
  if (!tb) return 2;
  std::printf(
      "poll_bench: up to %d polls per approach, %d ssh calls per task, %d "
      "concurrent pollers, cap %.0f s per measurement\n",
      opt.polls, opt.per_task, opt.pollers, opt.cap_s);
  RunOnTestbed(kName, *tb, Bench, opt);
}

}  // namespace
}  // namespace hpc::bench

int main(int argc, char** argv) { return hpc::bench::Main(argc, argv); }
