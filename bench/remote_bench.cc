// remote_bench: what one remote command costs through each Remote, in one
// run against the same sshd (the testbed's by default):
//
//   libssh2     SshRemote: one persistent session, a channel per command
//   ssh         OpenSshRemote without ControlMaster: a connection per command
//   ssh+master  OpenSshRemote with its ControlMaster
//
// Each mode runs N sequential commands (`true`, then `squeue` when the
// target has it) after one untimed warm-up (connection or master set-up),
// and the report gives per-command times and the ratios the design targets:
// libssh2 at least 5x faster than ssh per command, and no slower than
// ControlMaster.
//
//   remote_bench [--n 50] [--check]
//
// The target comes from TESTBED_SSH_* / TESTBED_KNOWN_HOSTS /
// TESTBED_SSH_CONFIG / TESTBED_SSH_ALIAS, else from the env.sh that
// scripts/testbed/up.sh writes. --check exits 1 when a target is missed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tools/remote/openssh_remote.h"
#include "tools/remote/ssh_remote.h"
#include "bench/testbed_env.h"

namespace {

using Clock = std::chrono::steady_clock;
using hpc::remote::OpenSshOptions;
using hpc::remote::OpenSshRemote;
using hpc::remote::Remote;
using hpc::remote::RunOptions;
using hpc::remote::SshOptions;
using hpc::remote::SshRemote;


struct Stats {
  double total_ms = 0, mean_ms = 0, p50_ms = 0, p95_ms = 0;
  int failures = 0;
};

// N sequential runs of argv; the first, untimed, sets up the connection.
Stats Measure(Remote& remote, const std::vector<std::string>& argv, int n) {
  RunOptions o;
  o.login_shell = false;  // What `ssh host cmd` runs: the user's shell -c.
  o.timeout = std::chrono::seconds(30);
  Stats s;
  auto warm = remote.Run(argv, o);
  if (!warm.ok()) {
    std::fprintf(stderr, "remote_bench: %s: %s\n", remote.Describe().c_str(),
                 warm.status().ToString().c_str());
    s.failures = n;
    return s;
  }
  std::vector<double> ms;
  auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    auto r = remote.Run(argv, o);
    ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (!r.ok() || r->exit_code != 0) ++s.failures;
  }
  s.total_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  std::sort(ms.begin(), ms.end());
  s.mean_ms = s.total_ms / n;
  s.p50_ms = ms[ms.size() / 2];
  s.p95_ms = ms[std::min(ms.size() - 1, ms.size() * 95 / 100)];
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 50;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--n" && i + 1 < argc) {
      n = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--check") {
      check = true;
    } else {
      std::fprintf(stderr, "usage: remote_bench [--n 50] [--check]\n");
      return 2;
    }
  }
  const char* tmp = std::getenv("TMPDIR");
  const char* dir = std::getenv("TESTBED_DIR");
  auto file = hpc::bench::ReadEnvSh(
      (dir != nullptr ? std::string(dir)
                      : std::string(tmp ? tmp : "/tmp") + "/hpc-testbed") +
      "/env.sh");
  auto get = [&](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : file[name];
  };
  SshOptions so;
  so.host = get("TESTBED_SSH_HOST");
  so.port = std::atoi(get("TESTBED_SSH_PORT").c_str());
  so.user = get("TESTBED_SSH_USER");
  so.identity_file = get("TESTBED_SSH_KEY");
  so.known_hosts = get("TESTBED_KNOWN_HOSTS");
  OpenSshOptions oo;
  oo.destination = get("TESTBED_SSH_ALIAS");
  oo.ssh_config = get("TESTBED_SSH_CONFIG");
  if (so.host.empty() || so.port == 0 || oo.destination.empty()) {
    std::fprintf(stderr,
                 "remote_bench: no testbed (TESTBED_SSH_* unset and no "
                 "env.sh): run scripts/testbed/up.sh first\n");
    return 2;
  }
  OpenSshOptions per_command = oo;
  per_command.control_master = false;

  SshRemote libssh2(so);
  OpenSshRemote ssh(per_command);
  OpenSshRemote master(oo);

  std::vector<std::vector<std::string>> commands = {{"true"}};
  RunOptions probe;
  probe.login_shell = false;
  auto has_squeue = libssh2.Run({"sh", "-c", "command -v squeue"}, probe);
  if (has_squeue.ok() && has_squeue->exit_code == 0) {
    commands.push_back({"squeue"});
  }

  std::printf(
      "remote_bench: %d sequential commands per mode, target %s "
      "(%s; ssh alias %s)\n\n",
      n, libssh2.Describe().c_str(), "login_shell off", oo.destination.c_str());
  std::printf("%-8s %-11s %10s %9s %9s %9s %6s\n", "command", "mode",
              "total ms", "mean ms", "p50 ms", "p95 ms", "fails");
  bool met = true;
  for (const auto& cmd : commands) {
    Stats a = Measure(libssh2, cmd, n);
    Stats b = Measure(ssh, cmd, n);
    Stats c = Measure(master, cmd, n);
    const char* names[] = {"libssh2", "ssh", "ssh+master"};
    const Stats* all[] = {&a, &b, &c};
    for (int i = 0; i < 3; ++i) {
      std::printf("%-8s %-11s %10.1f %9.2f %9.2f %9.2f %6d\n", cmd[0].c_str(),
                  names[i], all[i]->total_ms, all[i]->mean_ms, all[i]->p50_ms,
                  all[i]->p95_ms, all[i]->failures);
    }
    double vs_ssh = a.mean_ms > 0 ? b.mean_ms / a.mean_ms : 0;
    double vs_master = a.mean_ms > 0 ? c.mean_ms / a.mean_ms : 0;
    bool ok = a.failures == 0 && b.failures == 0 && c.failures == 0 &&
              vs_ssh >= 5.0 && vs_master >= 1.0;
    met = met && ok;
    std::printf(
        "%-8s ratios: ssh/libssh2 %.1fx (target >= 5x), "
        "ssh+master/libssh2 %.2fx (target >= 1x): %s\n\n",
        cmd[0].c_str(), vs_ssh, vs_master, ok ? "met" : "NOT met");
  }
  return check && !met ? 1 : 0;
}
