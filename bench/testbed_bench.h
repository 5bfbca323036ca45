// What the benchmarks that submit to the Slurm testbed (poll_bench,
// sweep_bench) share: finding the testbed (loopback only) and an `ssh`
// command line for it, the stop flag that SIGINT/SIGTERM set, the scratch
// directories on both sides and cancelling jobs, a Remote that counts the
// commands going through it, wrappers on the testbed that log the scheduler
// commands hpc-mcp's own code issues, Slurm profiles for the testbed,
// the warm-up poll, timing summaries, and running a benchmark with its
// cleanup and the exit that skips static destructors.
//
// Header-only, like testbed_env.h: each benchmark is its own small
// executable.
#pragma once

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "bench/testbed_env.h"
#include "tools/cluster/scheduler.h"
#include "tools/remote/remote.h"
#include "tools/remote/shell.h"
#include "tools/remote/ssh_remote.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/poller.h"
#include "tools/runs/store.h"

namespace hpc::bench {

using Clock = std::chrono::steady_clock;

inline double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Set by SIGINT and SIGTERM once InstallStopHandlers ran: every loop of a
// benchmark checks it, and the cleanup still runs.
inline volatile std::sig_atomic_t g_stop = 0;

inline void InstallStopHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = [](int) { g_stop = 1; };
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

// Leaves without running static destructors: the process-wide Remotes of
// cluster::ConnectRemote are static objects whose libssh2 sessions would be
// torn down after OpenSSL's own exit handlers ran (a crash in libcrypto at
// exit).
[[noreturn]] inline void ExitNow(int rc) {
  std::fflush(nullptr);
  std::_Exit(rc);
}

// Plumbing on the testbed: no login shell, output up to 8 MiB.
inline remote::RunOptions Plain(int timeout_s = 30) {
  remote::RunOptions o;
  o.login_shell = false;
  o.timeout = std::chrono::seconds(timeout_s);
  o.max_output = 8 << 20;
  return o;
}

inline bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" ||
         host.rfind("127.", 0) == 0;
}

// "a,b,c".
inline std::string JoinIds(const std::vector<std::string>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i == 0 ? "" : ",") + ids[i];
  return s;
}

// The testbed (scripts/testbed/README.md): its SSH endpoint, the OpenSSH
// config and host alias for it, and the folder for scratch directories.
struct Testbed {
  remote::SshOptions ssh;
  std::string config, alias, work;

  // `ssh -F CONFIG ALIAS 'ARGV'`: argv run on the testbed by an OpenSSH
  // process and connection of its own, what an agent that shells out runs.
  std::vector<std::string> SshCommand(
      const std::vector<std::string>& argv) const {
    return {"ssh", "-F", config, alias, remote::ShellJoin(argv)};
  }
};

// The testbed's settings: TESTBED_* from the environment, else from env.sh
// in $TESTBED_DIR (by default hpc-testbed in $TMPDIR). Empty, after saying
// why on stderr (prefixed `who`), when there is no testbed or it is not on
// a loopback address.
inline std::optional<Testbed> FindTestbed(const char* who) {
  const char* tmp = std::getenv("TMPDIR");
  const char* tb_dir = std::getenv("TESTBED_DIR");
  const std::string tb = tb_dir != nullptr && *tb_dir
                             ? std::string(tb_dir)
                             : std::string(tmp ? tmp : "/tmp") + "/hpc-testbed";
  auto file = ReadEnvSh(tb + "/env.sh");
  auto get = [&](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : file[name];
  };
  Testbed t;
  remote::SshOptions& so = t.ssh;
  so.host = get("TESTBED_SSH_HOST");
  so.port = std::atoi(get("TESTBED_SSH_PORT").c_str());
  so.user = get("TESTBED_SSH_USER");
  so.identity_file = get("TESTBED_SSH_KEY");
  so.known_hosts = get("TESTBED_KNOWN_HOSTS");
  t.config = get("TESTBED_SSH_CONFIG");
  t.alias = get("TESTBED_SSH_ALIAS");
  t.work = get("TESTBED_WORK");
  if (t.work.empty()) t.work = tb + "/work";
  if (so.host.empty() || so.port == 0 || t.alias.empty() || t.config.empty() ||
      so.identity_file.empty() || so.known_hosts.empty()) {
    std::fprintf(stderr,
                 "%s: no testbed (TESTBED_SSH_* unset and no env.sh): run "
                 "scripts/testbed/up.sh first\n",
                 who);
    return std::nullopt;
  }
  if (!IsLoopback(so.host)) {
    std::fprintf(stderr, "%s: %s is not a loopback address\n", who,
                 so.host.c_str());
    return std::nullopt;
  }
  return t;
}

// The scratch directories of one run, on this machine and on the testbed:
// what a benchmark must remove whatever happens. A benchmark's own scratch
// (its jobs to cancel) derives from it.
struct ScratchDirs {
  remote::Remote* ssh = nullptr;  // The testbed.
  std::string remote_root, local_dir;

  // local_dir = a new $TMPDIR/NAME-XXXXXX; false after saying why.
  bool MakeLocal(const std::string& name, const char* who) {
    const char* tmp = std::getenv("TMPDIR");
    std::string dir = std::string(tmp != nullptr && *tmp ? tmp : "/tmp") + "/" +
                      name + "-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) {
      std::perror((std::string(who) + ": mkdtemp").c_str());
      return false;
    }
    local_dir = dir;
    return true;
  }

  // remote_root = a new WORK/NAME-XXXXXX on the testbed; false after saying
  // why.
  bool MakeRemote(const std::string& work, const std::string& name,
                  const char* who) {
    auto made =
        ssh->Run({"mktemp", "-d", work + "/" + name + "-XXXXXX"}, Plain());
    if (!made.ok() || !made->ok()) {
      std::fprintf(
          stderr, "%s: mktemp -d on the testbed failed: %s\n", who,
          made.ok() ? made->err.c_str() : made.status().ToString().c_str());
      return false;
    }
    remote_root = made->out.substr(0, made->out.find('\n'));
    return true;
  }

  // Removes both (rm -rf on the testbed, bounded by timeout_s).
  void RemoveDirs(int timeout_s) {
    if (ssh != nullptr && !remote_root.empty()) {
      (void)ssh->Run({"rm", "-rf", "--", remote_root}, Plain(timeout_s));
      remote_root.clear();
    }
    if (!local_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(local_dir, ec);
      local_dir.clear();
    }
  }
};

// Runs a benchmark against the testbed `tb`: bench(opt, scratch, ssh, tb)
// gets one libssh2 session to it and a Scratch (a ScratchDirs whose Clean()
// undoes all the benchmark did) over that session, and returns the exit
// status (an exception counts as 1). Then scratch.Clean() runs, whatever
// happened, and the process leaves with ExitNow. `who` prefixes the
// messages.
template <typename Options, typename Scratch>
[[noreturn]] void RunOnTestbed(const char* who, const Testbed& tb,
                               int (*bench)(const Options&, Scratch&,
                                            remote::SshRemote&, const Testbed&),
                               const Options& opt) {
  remote::SshRemote ssh(tb.ssh);
  Scratch scratch;
  scratch.ssh = &ssh;
  int rc = 1;
  try {
    rc = bench(opt, scratch, ssh, tb);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", who, e.what());
    rc = 1;
  }
  if (g_stop) std::fprintf(stderr, "%s: interrupted\n", who);
  scratch.Clean();
  ExitNow(rc);
}

struct CancelOptions {
  bool array = false;  // squeue --array: every task of an array listed.
  int scancel_s = 60, squeue_s = 30;  // Timeouts of each command.
};

// scancel for `ids` on the testbed, then a bounded wait (40 x 250 ms) until
// squeue lists none of them pending, running, configuring or completing.
// True when none is left. Says on stderr (prefixed `who`) when scancel
// fails.
inline bool CancelJobs(remote::Remote& ssh, const std::vector<std::string>& ids,
                       const char* who, const CancelOptions& o) {
  std::vector<std::string> argv = {"scancel"};
  argv.insert(argv.end(), ids.begin(), ids.end());
  auto r = ssh.Run(argv, Plain(o.scancel_s));
  if (!r.ok() || !r->ok())
    std::fprintf(stderr, "%s: scancel failed: %s\n", who,
                 r.ok() ? r->err.c_str() : r.status().ToString().c_str());
  std::vector<std::string> query = {"squeue", "--noheader"};
  if (o.array) query.push_back("--array");
  query.insert(query.end(), {"--states=PENDING,RUNNING,CONFIGURING,COMPLETING",
                             "--jobs=" + JoinIds(ids), "--format=%i"});
  for (int i = 0; i < 40; ++i) {
    auto q = ssh.Run(query, Plain(o.squeue_s));
    if (q.ok() && q->ok() &&
        q->out.find_first_not_of(" \n") == std::string::npos)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return false;
}

// Numbers from `scontrol show config` on the testbed: each key of `values`
// ("MaxArraySize", ...) gets the number of the line that starts with it;
// a key the output lacks keeps its value.
inline void ReadSlurmConfig(remote::Remote& ssh,
                            std::map<std::string, int>* values) {
  auto cfg = ssh.Run({"scontrol", "show", "config"}, Plain());
  if (!cfg.ok() || !cfg->ok()) return;
  std::istringstream in(cfg->out);
  std::string line;
  for (int guard = 0; guard < 100000 && std::getline(in, line); ++guard) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    for (auto& [key, value] : *values)
      if (line.rfind(key, 0) == 0) value = std::atoi(line.c_str() + eq + 1);
  }
}

// A Slurm profile (tools/cluster/profile.h) that reaches the testbed over
// SSH, with its work and log roots under `root` there; `setup` (if any) is
// its shell's one setup line, `limits` the inside of its limits mapping.
// The work root of a profile ProfileYaml writes for scratch root `root`:
// where runs and sweeps keep their scripts and submit locks.
inline std::string WorkRoot(const std::string& root) { return root + "/work"; }

inline std::string ProfileYaml(const std::string& name,
                               const remote::SshOptions& so,
                               const std::string& root,
                               const std::string& setup,
                               const std::string& limits) {
  std::string y =
      "name: " + name +
      "\nscheduler: slurm\naccess:\n  kind: ssh\n  host: " + so.host +
      "\n  port: " + std::to_string(so.port) + "\n  user: " + so.user +
      "\n  identity_file: " + so.identity_file +
      "\n  known_hosts: " + so.known_hosts + "\nshell:\n  login: [bash, -l]\n";
  if (!setup.empty()) y += "  setup:\n    - '" + setup + "'\n";
  y += "paths:\n  work_root: " + WorkRoot(root) + "\n  log_root: " + root +
       "/logs\nlimits: {" + limits + "}\n";
  return y;
}

// Forwards to another Remote and counts what goes through it: commands by
// argv[0], with the time spent in each, and with count_files also file
// reads and writes, as "(file read)" and "(file write)".
class CountingRemote : public remote::Remote {
 public:
  explicit CountingRemote(std::shared_ptr<remote::Remote> inner,
                          bool count_files = false)
      : inner_(std::move(inner)), count_files_(count_files) {}

  Result<remote::CommandResult> Run(const std::vector<std::string>& argv,
                                    const remote::RunOptions& o) override {
    const std::string name = argv.empty() ? std::string() : argv[0];
    const auto t0 = Clock::now();
    auto r = inner_->Run(argv, o);
    const double ms = MsSince(t0);
    std::lock_guard lock(mu_);
    ++counts_[name];
    ms_[name] += ms;
    return r;
  }
  Result<std::string> ReadFile(const std::string& path, uint64_t offset,
                               size_t max_bytes) override {
    CountFile("(file read)");
    return inner_->ReadFile(path, offset, max_bytes);
  }
  Result<remote::FileInfo> Stat(const std::string& path) override {
    return inner_->Stat(path);
  }
  Status WriteFileAtomic(const std::string& path, std::string_view content,
                         uint32_t mode) override {
    CountFile("(file write)");
    return inner_->WriteFileAtomic(path, content, mode);
  }
  Result<std::vector<remote::DirEntry>> ListDir(
      const std::string& path) override {
    return inner_->ListDir(path);
  }
  std::string Describe() const override { return inner_->Describe(); }

  // The counts since the last Take; `ms` (if given) gets the time spent
  // in each command added.
  std::map<std::string, int> Take(std::map<std::string, double>* ms = nullptr) {
    std::lock_guard lock(mu_);
    if (ms != nullptr)
      for (const auto& [k, v] : ms_) (*ms)[k] += v;
    ms_.clear();
    auto c = std::move(counts_);
    counts_.clear();
    return c;
  }

 private:
  void CountFile(const char* what) {
    if (!count_files_) return;
    std::lock_guard lock(mu_);
    ++counts_[what];
  }

  const std::shared_ptr<remote::Remote> inner_;
  const bool count_files_;
  std::mutex mu_;
  std::map<std::string, int> counts_;
  std::map<std::string, double> ms_;
};

// Puts a CountingRemote between `cl` and its Remote, for its scheduler too,
// and returns it.
inline Result<std::shared_ptr<CountingRemote>> CountThrough(
    runs::Cluster& cl, bool count_files = false) {
  auto counting = std::make_shared<CountingRemote>(cl.remote, count_files);
  auto sched = cluster::MakeScheduler(cl.profile, counting);
  if (!sched.ok()) return sched.status();
  cl.remote = counting;
  cl.scheduler = std::move(*sched);
  return counting;
}

inline int Get(const std::map<std::string, int>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

// Commands other than squeue and sacct.
inline int Others(const std::map<std::string, int>& m) {
  int n = 0;
  for (const auto& [k, v] : m)
    if (k != "squeue" && k != "sacct") n += v;
  return n;
}

// "1 sacct, 2 squeue", or "none".
inline std::string CountsText(const std::map<std::string, int>& m) {
  std::string s;
  for (const auto& [k, v] : m) {
    if (v == 0) continue;
    if (!s.empty()) s += ", ";
    s += std::to_string(v) + " " + k;
  }
  return s.empty() ? "none" : s;
}

// Counting wrappers: for each of `names` (scheduler commands), an
// executable ROOT/bin/NAME on the testbed that appends NAME to the file
// `calls` and execs the real command (where a login shell finds it). A
// profile whose setup line puts ROOT/bin first in PATH gets every such
// command counted, also those issued deep inside hpc-mcp's own code
// (ReadCallLog). False after saying why (prefixed `who`).
inline bool WriteCountingWrappers(remote::Remote& ssh, const std::string& root,
                                  const std::string& calls,
                                  const std::vector<std::string>& names,
                                  const char* who) {
  std::string lookup = "command -v", listed;
  for (const auto& n : names) {
    lookup += " " + n;
    listed += (listed.empty() ? "" : "/") + n;
  }
  auto which = ssh.Run({"bash", "-lc", lookup}, Plain());
  std::vector<std::string> real;
  if (which.ok() && which->ok()) {
    std::istringstream in(which->out);
    std::string line;
    for (int guard = 0; guard < 10 && std::getline(in, line); ++guard)
      if (!line.empty()) real.push_back(line);
  }
  if (real.size() != names.size()) {
    std::fprintf(stderr, "%s: %s not found\n", who, listed.c_str());
    return false;
  }
  for (size_t i = 0; i < names.size(); ++i) {
    std::string body = "#!/bin/sh\necho " + names[i] + " >> " +
                       remote::ShellQuote(calls) + "\nexec " +
                       remote::ShellQuote(real[i]) + " \"$@\"\n";
    Status w = ssh.WriteFileAtomic(root + "/bin/" + names[i], body, 0755);
    if (!w.ok()) {
      std::fprintf(stderr, "%s: %s\n", who, w.ToString().c_str());
      return false;
    }
  }
  return true;
}

// Lines of the wrappers' call log, by command name.
inline std::map<std::string, int> CountCalls(const std::string& text) {
  std::map<std::string, int> m;
  std::istringstream in(text);
  std::string line;
  for (int guard = 0; guard < 1000000 && std::getline(in, line); ++guard)
    if (!line.empty()) ++m[line];
  return m;
}

// The wrappers' call log read from the testbed (its first max_bytes), by
// command name; empty when it cannot be read.
inline std::map<std::string, int> ReadCallLog(remote::Remote& ssh,
                                              const std::string& calls,
                                              size_t max_bytes) {
  auto t = ssh.ReadFile(calls, 0, max_bytes);
  return t.ok() ? CountCalls(*t) : std::map<std::string, int>{};
}

inline std::map<std::string, int> Minus(std::map<std::string, int> a,
                                        const std::map<std::string, int>& b) {
  for (const auto& [k, v] : b) a[k] -= v;
  return a;
}

// The untimed PollRuns before a timed series: the one run it reports, or
// nothing after saying why on stderr (prefixed `who`).
inline std::optional<nlohmann::json> WarmUpPoll(runs::RunStore& store,
                                                const runs::PollRequest& req,
                                                const char* who) {
  auto warm = runs::PollRuns(store, req);
  if (!warm.ok() || !warm->errors.empty() || warm->runs.size() != 1) {
    std::fprintf(stderr, "%s: PollRuns: %s\n", who,
                 !warm.ok()             ? warm.status().ToString().c_str()
                 : warm->errors.empty() ? "no run"
                                        : warm->errors[0].c_str());
    return std::nullopt;
  }
  return warm->runs[0];
}

// Scheduler commands per poll over a series of polls.
struct PerPoll {
  int squeue_min = 1 << 30, squeue_max = 0, sacct_max = 0, other_max = 0;
  void Add(const std::map<std::string, int>& c) {
    squeue_min = std::min(squeue_min, Get(c, "squeue"));
    squeue_max = std::max(squeue_max, Get(c, "squeue"));
    sacct_max = std::max(sacct_max, Get(c, "sacct"));
    other_max = std::max(other_max, Others(c));
  }
  // The target: every poll exactly 1 squeue and at most 1 sacct.
  bool Met() const {
    return squeue_min == 1 && squeue_max == 1 && sacct_max <= 1;
  }
  // "1 squeue, <=1 sacct" (with_other: ", <=N other" when there were any),
  // "-" before the first poll.
  std::string Text(bool with_other = true) const {
    if (squeue_max == 0 && squeue_min == (1 << 30)) return "-";
    std::string s =
        squeue_min == squeue_max
            ? std::to_string(squeue_max)
            : std::to_string(squeue_min) + "-" + std::to_string(squeue_max);
    s += " squeue, <=" + std::to_string(sacct_max) + " sacct";
    if (with_other && other_max > 0)
      s += ", <=" + std::to_string(other_max) + " other";
    return s;
  }
};

struct Stats {
  int n = 0, failures = 0;
  double mean = 0, p50 = 0, p95 = 0, total = 0;
};

inline Stats Summarize(std::vector<double> ms, int failures) {
  Stats s;
  s.failures = failures;
  if (ms.empty()) return s;
  s.n = static_cast<int>(ms.size());
  for (double m : ms) s.total += m;
  std::sort(ms.begin(), ms.end());
  s.mean = s.total / ms.size();
  s.p50 = ms[ms.size() / 2];
  s.p95 = ms[std::min(ms.size() - 1, ms.size() * 95 / 100)];
  return s;
}

}  // namespace hpc::bench
