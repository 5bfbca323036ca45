// tail_bench: what showing the last 200 lines of a huge training log costs
// through hpc-mcp's log reader (tools/runs/log_reader.h), against what a
// user would otherwise run, on a sparse 10 GB file (no disk used) with 1,000
// log lines at its end:
//
//   local    TailLines over LocalRemote     vs  `tail -n 200 FILE`
//   testbed  TailLines over SshRemote/SFTP  vs  `ssh testbed tail -n 200 FILE`
//            (the server's one persistent       (one ssh process and
//            session; its set-up is shown        connection per call)
//            once, apart)
//
// Each mode runs up to --runs calls (default 20) after one untimed warm-up,
// and stops early at --cap-s seconds (default 30). Every call's output is
// checked against the expected 200 lines. The testbed part runs when
// TESTBED_SSH_* (or the env.sh of scripts/testbed/up.sh) name a loopback
// host; the file is created there with truncate and removed at the end.
//
//   tail_bench [--runs 20] [--cap-s 30]
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tools/remote/local_remote.h"
#include "tools/remote/shell.h"
#include "tools/remote/ssh_remote.h"
#include "tools/runs/log_reader.h"
#include "bench/testbed_env.h"

namespace {

using Clock = std::chrono::steady_clock;
using hpc::Result;
using hpc::remote::LocalRemote;
using hpc::remote::Remote;
using hpc::remote::RunOptions;
using hpc::remote::SshOptions;
using hpc::remote::SshRemote;

constexpr uint64_t kFileSize = 10ull * 1000 * 1000 * 1000;
constexpr int kLogLines = 1000;
constexpr int kTail = 200;


std::string LogLines() {
  std::string s;
  for (int i = 1; i <= kLogLines; ++i) {
    s += "2026-11-23 08:00:00 step " + std::to_string(i) +
         " loss=0.123 lr=3e-4 tokens/s=51234\n";
  }
  return s;
}

// The last kTail lines of LogLines(), as `tail` prints them.
std::string ExpectedTail() {
  std::string all = LogLines();
  size_t pos = all.size() - 1;  // The final newline.
  for (int n = 0; n < kTail; ++n) pos = all.rfind('\n', pos - 1);
  return all.substr(pos + 1);
}

// One call: the bytes it read (nullopt: not known), or an error.
using Call = std::function<Result<std::optional<uint64_t>>()>;

struct Row {
  std::string mode;
  int runs = 0, failures = 0;
  double mean_ms = 0, p50_ms = 0, p95_ms = 0;
  std::optional<uint64_t> bytes;  // Per call.
};

Row Measure(const std::string& mode, int runs, double cap_s, const Call& f) {
  Row row;
  row.mode = mode;
  auto warm = f();
  if (!warm.ok()) {
    std::fprintf(stderr, "tail_bench: %s: %s\n", mode.c_str(),
                 warm.status().ToString().c_str());
    row.failures = 1;
    return row;
  }
  row.bytes = *warm;
  std::vector<double> ms;
  const auto start = Clock::now();
  for (int i = 0; i < runs; ++i) {
    if (std::chrono::duration<double>(Clock::now() - start).count() > cap_s) {
      break;
    }
    const auto t0 = Clock::now();
    auto r = f();
    ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (!r.ok()) {
      ++row.failures;
      std::fprintf(stderr, "tail_bench: %s: %s\n", mode.c_str(),
                   r.status().ToString().c_str());
    }
  }
  if (ms.empty()) return row;
  row.runs = static_cast<int>(ms.size());
  double total = 0;
  for (double m : ms) total += m;
  std::sort(ms.begin(), ms.end());
  row.mean_ms = total / ms.size();
  row.p50_ms = ms[ms.size() / 2];
  row.p95_ms = ms[std::min(ms.size() - 1, ms.size() * 95 / 100)];
  return row;
}

// TailLines(200) through `remote`, checked against the expected lines.
Call TailCall(Remote& remote, const std::string& path) {
  return [&remote, path]() -> Result<std::optional<uint64_t>> {
    hpc::runs::LogQuery q;
    q.max_lines = kTail;
    auto c = hpc::runs::TailLines(remote, path, q);
    if (!c.ok()) return c.status();
    std::string text;
    for (const auto& l : c->lines) text += l + "\n";
    if (text != ExpectedTail()) {
      return hpc::Internal("TailLines returned other lines than expected");
    }
    return std::optional<uint64_t>(c->bytes_read);
  };
}

// A program run locally (posix_spawn, no shell), its output checked.
Call CommandCall(LocalRemote& local, std::vector<std::string> argv) {
  return [&local, argv]() -> Result<std::optional<uint64_t>> {
    RunOptions o;
    o.timeout = std::chrono::seconds(30);
    auto r = local.Run(argv, o);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) {
      return hpc::Internal(argv[0] + " exited " + std::to_string(r->exit_code) +
                           ": " + r->err);
    }
    if (r->out != ExpectedTail()) {
      return hpc::Internal(argv[0] + " printed other lines than expected");
    }
    return std::optional<uint64_t>();
  };
}

void PrintRows(const std::vector<Row>& rows) {
  std::printf("%-40s %5s %6s %10s %9s %9s %14s\n", "mode", "runs", "fails",
              "mean ms", "p50 ms", "p95 ms", "bytes read");
  for (const Row& r : rows) {
    std::string bytes = r.bytes ? std::to_string(*r.bytes) : "-";
    std::printf("%-40s %5d %6d %10.2f %9.2f %9.2f %14s\n", r.mode.c_str(),
                r.runs, r.failures, r.mean_ms, r.p50_ms, r.p95_ms,
                bytes.c_str());
  }
}

void PrintRatio(const char* what, const Row& slow, const Row& fast) {
  if (slow.runs == 0 || fast.runs == 0 || fast.mean_ms <= 0) return;
  std::printf("  %s: %.1fx (mean), %.1fx (p50)\n", what,
              slow.mean_ms / fast.mean_ms, slow.p50_ms / fast.p50_ms);
}

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" ||
         host.rfind("127.", 0) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20;
  double cap_s = 30;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::clamp(std::atoi(argv[++i]), 1, 10000);
    } else if (a == "--cap-s" && i + 1 < argc) {
      cap_s = std::clamp(std::atof(argv[++i]), 1.0, 3600.0);
    } else {
      std::fprintf(stderr, "usage: tail_bench [--runs 20] [--cap-s 30]\n");
      return 2;
    }
  }
  const std::string lines = LogLines();
  std::printf(
      "tail_bench: last %d of %d lines at the end of a sparse %.0f GB file; "
      "up to %d calls per mode (cap %.0f s), after one warm-up\n\n",
      kTail, kLogLines, kFileSize / 1e9, runs, cap_s);
  bool failed = false;

  // Local: the file in a fresh directory under $TMPDIR (or /tmp).
  {
    const char* tmp = std::getenv("TMPDIR");
    std::string dir = std::string(tmp != nullptr && *tmp ? tmp : "/tmp") +
                      "/tail-bench-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) {
      std::perror("tail_bench: mkdtemp");
      return 1;
    }
    const std::string path = dir + "/train.log";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    bool made = fd >= 0 && ::ftruncate(fd, kFileSize) == 0 &&
                ::pwrite(fd, lines.data(), lines.size(), kFileSize) ==
                    static_cast<ssize_t>(lines.size());
    if (fd >= 0) ::close(fd);
    if (made) {
      LocalRemote local;
      std::vector<Row> rows = {
          Measure("hpc-mcp TailLines (LocalRemote)", runs, cap_s,
                  TailCall(local, path)),
          Measure(
              "tail -n 200 (a process per call)", runs, cap_s,
              CommandCall(local, {"tail", "-n", std::to_string(kTail), path})),
      };
      std::printf("local\n");
      PrintRows(rows);
      PrintRatio("tail -n 200 / TailLines", rows[1], rows[0]);
      std::printf("\n");
      for (const Row& r : rows) failed = failed || r.failures > 0;
    } else {
      std::perror("tail_bench: creating the sparse file");
      failed = true;
    }
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }

  // Testbed: the same over loopback SSH.
  const char* tmp = std::getenv("TMPDIR");
  const char* tb_dir = std::getenv("TESTBED_DIR");
  auto file = hpc::bench::ReadEnvSh(
      (tb_dir != nullptr ? std::string(tb_dir)
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
  const std::string config = get("TESTBED_SSH_CONFIG");
  const std::string alias = get("TESTBED_SSH_ALIAS");
  if (so.host.empty() || so.port == 0 || alias.empty() || config.empty()) {
    std::printf(
        "testbed: skipped (no TESTBED_SSH_* and no env.sh: run "
        "scripts/testbed/up.sh first)\n");
    return failed ? 1 : 0;
  }
  if (!IsLoopback(so.host)) {
    std::printf("testbed: skipped (%s is not a loopback address)\n",
                so.host.c_str());
    return failed ? 1 : 0;
  }
  SshRemote ssh(so);
  RunOptions plain;
  plain.login_shell = false;
  const auto connect_start = Clock::now();
  auto dir = ssh.Run({"mktemp", "-d"}, plain);
  const double connect_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - connect_start)
          .count();
  if (!dir.ok() || dir->exit_code != 0) {
    std::fprintf(stderr, "tail_bench: testbed: mktemp -d failed: %s\n",
                 dir.ok() ? dir->err.c_str() : dir.status().ToString().c_str());
    return 1;
  }
  const std::string remote_dir = dir->out.substr(0, dir->out.find('\n'));
  const std::string path = remote_dir + "/train.log";
  RunOptions fill = plain;
  fill.stdin_data = lines;
  auto made = ssh.Run({"sh", "-c", "truncate -s \"$1\" \"$2\" && cat >> \"$2\"",
                       "sh", std::to_string(kFileSize), path},
                      fill);
  if (made.ok() && made->exit_code == 0) {
    LocalRemote local;
    std::vector<Row> rows = {
        Measure("hpc-mcp TailLines (SFTP, one session)", runs, cap_s,
                TailCall(ssh, path)),
        Measure("ssh testbed tail -n 200 (per call)", runs, cap_s,
                CommandCall(
                    local, {"ssh", "-F", config, alias,
                            hpc::remote::ShellJoin(
                                {"tail", "-n", std::to_string(kTail), path})})),
    };
    std::printf("testbed (%s, %s)\n", ssh.Describe().c_str(), alias.c_str());
    PrintRows(rows);
    std::printf(
        "  (the session itself, once per server process: connect, "
        "authenticate and run mktemp took %.1f ms)\n",
        connect_ms);
    PrintRatio("ssh tail / TailLines", rows[1], rows[0]);
    for (const Row& r : rows) failed = failed || r.failures > 0;
  } else {
    std::fprintf(
        stderr, "tail_bench: testbed: creating the file failed: %s\n",
        made.ok() ? made->err.c_str() : made.status().ToString().c_str());
    failed = true;
  }
  auto rm = ssh.Run({"rm", "-rf", "--", remote_dir}, plain);
  if (!rm.ok() || rm->exit_code != 0) {
    std::fprintf(stderr, "tail_bench: testbed: could not remove %s\n",
                 remote_dir.c_str());
  }
  return failed ? 1 : 0;
}
