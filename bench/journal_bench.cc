// Journal replay speed: appends N events (fsync each, as tools do) to a
// fresh journal, then replays it, and compares the replay with reading the
// same file by `wc -l`-style line counting, the floor for any replay.
//
//   build/bench/journal_bench [N=100000]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tools/journal/journal.h"

using Clock = std::chrono::steady_clock;

static double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 100000;
  if (n <= 0 || n > 10000000) return 2;
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("hpc-mcp-journal-bench-" + std::to_string(getpid()));
  auto j = hpc::journal::Journal::Open(dir.string());
  if (!j.ok()) return 1;
  // Write the events directly (one fsync per event would measure the disk,
  // not the replay): the same lines Append writes.
  {
    std::ofstream out(j->path(), std::ios::app);
    for (int i = 0; i < n; ++i)
      out << R"({"context":{"job_ids":[")" << i << R"("],"state":"running","step":)" << i
          << R"(},"name":"state_changed","run":"20261123-train-)" << (i % 50)
          << R"(","ts":"2026-11-23T08:00:00.000Z"})" << '\n';
  }
  auto t0 = Clock::now();
  std::ifstream in(j->path(), std::ios::binary);
  size_t lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  auto t1 = Clock::now();
  auto r = j->Read();
  auto t2 = Clock::now();
  if (!r.ok() || static_cast<int>(r->events.size()) != n) {
    std::fprintf(stderr, "replay failed\n");
    return 1;
  }
  auto t3 = Clock::now();
  for (int i = 0; i < 200; ++i)
    if (!j->Append({"", "20261123-train-1", "metrics", {{"step", i}}}).ok()) return 1;
  auto t4 = Clock::now();
  std::printf("events %d: replay %.1f ms (%.2f us/event); reading lines only %.1f ms (%.1fx); "
              "append with fsync %.2f ms/event\n",
              n, Ms(t2 - t1), Ms(t2 - t1) * 1000 / n, Ms(t1 - t0), Ms(t2 - t1) / Ms(t1 - t0),
              Ms(t4 - t3) / 200);
  fs::remove_all(dir);
  return 0;
}
