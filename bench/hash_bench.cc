// Checkpoint hashing speed: checkpoint::HashLocalFiles (OpenSSL SHA-256,
// files in parallel, fixed buffers) against `sha256sum` on the same files,
// in the same run: one large file, and a checkpoint of equal shards.
//
//   build/bench/hash_bench [--gib 4] [--shards 8] [--runs 2] [--threads 0]
//   [--check]
//
// The files are created at run time in a fresh directory under $TMPDIR
// (pseudo-random bytes; 2 x --gib in all, refused when the disk has less than
// twice that free) and removed at the end, also on Ctrl-C. Both sides read
// them from the page cache when memory allows (they were just written); each
// mode runs --runs times, interleaved, and the best time counts.
#include <fcntl.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tools/checkpoint/sha256.h"
#include "tools/remote/local_process.h"

namespace {

using Clock = std::chrono::steady_clock;

// What the signal handler removes: fixed-size storage, async-signal-safe.
char g_dir[4096];
char g_files[16][4200];
int g_nfiles = 0;

void RemoveAll() {
  for (int i = 0; i < g_nfiles; ++i) ::unlink(g_files[i]);
  if (g_dir[0]) ::rmdir(g_dir);
}

void OnSignal(int sig) {
  RemoveAll();
  ::_exit(128 + sig);
}

// Writes `bytes` of xorshift output to `path`.
bool Create(const std::string& path, uint64_t bytes) {
  std::snprintf(g_files[g_nfiles++], sizeof g_files[0], "%s", path.c_str());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  std::vector<uint64_t> buf((4u << 20) / 8);
  static uint64_t x = 88172645463325252ull;
  for (uint64_t done = 0; done < bytes;) {
    for (auto& w : buf) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      w = x;
    }
    size_t n =
        static_cast<size_t>(std::min<uint64_t>(bytes - done, buf.size() * 8));
    if (::write(fd, buf.data(), n) != static_cast<ssize_t>(n)) {
      ::close(fd);
      return false;
    }
    done += n;
  }
  ::close(fd);
  return true;
}

struct Timed {
  double seconds = 1e18;
  std::vector<std::string> sums;
};

// sha256sum FILES..., as a user would run it (posix_spawn, no shell).
bool RunSha256sum(const std::vector<std::string>& files, Timed& best) {
  hpc::remote::ProcessSpec spec;
  spec.argv = {"sha256sum", "--"};
  spec.argv.insert(spec.argv.end(), files.begin(), files.end());
  spec.timeout = std::chrono::minutes(10);
  auto t0 = Clock::now();
  auto r = hpc::remote::RunProcess(spec);
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!r.ok() || !r->ok()) return false;
  std::vector<std::string> sums;
  for (size_t pos = 0; pos + 64 <= r->out.size();) {
    sums.push_back(r->out.substr(pos, 64));
    size_t nl = r->out.find('\n', pos);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  if (s < best.seconds) best = {s, sums};
  return true;
}

bool RunOurs(const std::vector<std::string>& files, uint64_t each, int threads,
             Timed& best) {
  std::vector<hpc::checkpoint::HashTask> tasks;
  for (const auto& f : files) tasks.push_back({f, each});
  hpc::checkpoint::HashOptions o;
  o.threads = threads;
  auto t0 = Clock::now();
  auto r = hpc::checkpoint::HashLocalFiles(tasks, o);
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!r.ok()) return false;
  std::vector<std::string> sums;
  for (const auto& h : *r) {
    if (!h.error.empty()) return false;
    sums.push_back(h.sha256);
  }
  if (s < best.seconds) best = {s, sums};
  return true;
}

long VmHwmKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  double gib = 4;
  int shards = 8, runs = 2, threads = 0;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? argv[++i] : "0"; };
    if (a == "--gib")
      gib = std::atof(next());
    else if (a == "--shards")
      shards = std::atoi(next());
    else if (a == "--runs")
      runs = std::atoi(next());
    else if (a == "--threads")
      threads = std::atoi(next());
    else if (a == "--check")
      check = true;
    else {
      std::fprintf(stderr,
                   "usage: hash_bench [--gib 4] [--shards 8] [--runs 2] "
                   "[--threads 0] [--check]\n");
      return 2;
    }
  }
  if (gib <= 0 || gib > 64 || shards < 1 || shards > 15 || runs < 1 ||
      runs > 10)
    return 2;
  const uint64_t total = static_cast<uint64_t>(gib * (1ull << 30));
  const uint64_t shard_size = total / shards;

  // $TMPDIR, else the system's temporary directory.
  std::error_code ec;
  const std::string tmp = std::filesystem::temp_directory_path(ec).string();
  if (ec) return 1;
  std::string tmpl = tmp + "/hpc-mcp-hash-bench-XXXXXX";
  struct statvfs vfs;
  if (::statvfs(tmp.c_str(), &vfs) == 0 &&
      static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize < 4 * total) {
    std::fprintf(stderr,
                 "hash_bench: needs %.1f GiB free in $TMPDIR (2x the %.1f GiB "
                 "it writes)\n",
                 4 * total / double(1ull << 30),
                 2 * total / double(1ull << 30));
    return 1;
  }
  if (!::mkdtemp(tmpl.data())) return 1;
  std::snprintf(g_dir, sizeof g_dir, "%s", tmpl.c_str());
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  signal(SIGHUP, OnSignal);

  const std::string big = tmpl + "/one.bin";
  std::vector<std::string> parts;
  auto t0 = Clock::now();
  bool ok = Create(big, total);
  for (int i = 0; ok && i < shards; ++i) {
    parts.push_back(tmpl + "/model-" + std::to_string(i + 1) + "-of-" +
                    std::to_string(shards) + ".safetensors");
    ok = Create(parts.back(), shard_size);
  }
  if (!ok) {
    std::fprintf(stderr, "hash_bench: could not write the files under %s\n",
                 tmpl.c_str());
    RemoveAll();
    return 1;
  }
  const unsigned cores = std::thread::hardware_concurrency();
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::printf(
      "files: 1 x %.2f GiB and %d x %.2f GiB under $TMPDIR, written in %.1f s; "
      "%u cores, load %.2f\n",
      total / double(1ull << 30), shards, shard_size / double(1ull << 30),
      std::chrono::duration<double>(Clock::now() - t0).count(), cores, load[0]);

  Timed sum_one, ours_one, sum_shards, ours_shards, ours_shards_1;
  for (int r = 0; ok && r < runs; ++r) {
    ok = RunSha256sum({big}, sum_one) &&
         RunOurs({big}, total, threads, ours_one) &&
         RunSha256sum(parts, sum_shards) &&
         RunOurs(parts, shard_size, threads, ours_shards) &&
         RunOurs(parts, shard_size, 1, ours_shards_1);
  }
  RemoveAll();
  if (!ok) {
    std::fprintf(stderr, "hash_bench: a run failed\n");
    return 1;
  }
  if (sum_one.sums != ours_one.sums || sum_shards.sums != ours_shards.sums ||
      sum_shards.sums != ours_shards_1.sums) {
    std::fprintf(stderr, "hash_bench: digests differ from sha256sum's\n");
    return 1;
  }
  auto rate = [](uint64_t bytes, double s) { return bytes / s / (1 << 20); };
  std::printf(
      "\n| case | sha256sum s (MiB/s) | HashLocalFiles s (MiB/s) | ratio "
      "|\n|---|---|---|---|\n");
  std::printf("| 1 file, %.3g GiB | %.2f (%.0f) | %.2f (%.0f) | %.2fx |\n", gib,
              sum_one.seconds, rate(total, sum_one.seconds), ours_one.seconds,
              rate(total, ours_one.seconds),
              sum_one.seconds / ours_one.seconds);
  std::printf(
      "| %d shards, %.3g GiB, all cores | %.2f (%.0f) | %.2f (%.0f) | %.2fx "
      "|\n",
      shards, gib, sum_shards.seconds,
      rate(shard_size * shards, sum_shards.seconds), ours_shards.seconds,
      rate(shard_size * shards, ours_shards.seconds),
      sum_shards.seconds / ours_shards.seconds);
  std::printf(
      "| %d shards, %.3g GiB, 1 thread | %.2f (%.0f) | %.2f (%.0f) | %.2fx |\n",
      shards, gib, sum_shards.seconds,
      rate(shard_size * shards, sum_shards.seconds), ours_shards_1.seconds,
      rate(shard_size * shards, ours_shards_1.seconds),
      sum_shards.seconds / ours_shards_1.seconds);
  std::printf(
      "\nall cores vs 1 thread on the shards: %.2fx; peak RSS of this process "
      "%ld KiB\n",
      ours_shards_1.seconds / ours_shards.seconds, VmHwmKb());
  const double r1 = sum_one.seconds / ours_one.seconds,
               r8 = sum_shards.seconds / ours_shards.seconds;
  std::printf("%s one file >= 0.95x sha256sum: %.2fx\n",
              r1 >= 0.95 ? "PASS" : "MISS", r1);
  std::printf("%s %d shards >= 1.8x sha256sum: %.2fx\n",
              r8 >= 1.8 ? "PASS" : "MISS", shards, r8);
  return check && (r1 < 0.95 || r8 < 1.8) ? 1 : 0;
}
