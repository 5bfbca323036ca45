#include "bench_util.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mcp_bench {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

Deadline::Deadline(double seconds_from_now)
    : end_ns_(NowNs() + static_cast<int64_t>(seconds_from_now * 1e9)) {}

int Deadline::PollTimeoutMs(int cap_ms) const {
  int64_t left_ms = (end_ns_ - NowNs()) / 1000000 + 1;
  return static_cast<int>(std::clamp<int64_t>(left_ms, 0, cap_ms));
}

LatencySummary Summarize(std::vector<int64_t>* samples_ns) {
  LatencySummary s;
  std::vector<int64_t>& v = *samples_ns;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  // Nearest-rank percentile: the smallest sample >= p% of all samples.
  auto pct = [&v](double p) {
    size_t rank = static_cast<size_t>(p / 100.0 * v.size() + 0.999999);
    return v[std::clamp<size_t>(rank, 1, v.size()) - 1] / 1000.0;
  };
  double sum = 0;
  for (int64_t x : v) sum += static_cast<double>(x);
  s.count = static_cast<int64_t>(v.size());
  s.p50_us = pct(50);
  s.p90_us = pct(90);
  s.p99_us = pct(99);
  s.max_us = v.back() / 1000.0;
  s.mean_us = sum / v.size() / 1000.0;
  return s;
}

char* ByteBuffer::Reserve(size_t n) {
  if (capacity_ - end_ >= n) return data_.get() + end_;
  const size_t used = end_ - begin_;
  if (capacity_ - used >= n && begin_ > 0) {
    memmove(data_.get(), data_.get() + begin_, used);
  } else {
    size_t cap = std::max<size_t>(capacity_ * 2, 64 * 1024);
    while (cap - used < n) cap *= 2;
    std::unique_ptr<char[]> bigger(new char[cap]);
    if (used > 0) memcpy(bigger.get(), data_.get() + begin_, used);
    data_ = std::move(bigger);
    capacity_ = cap;
  }
  begin_ = 0;
  end_ = used;
  return data_.get() + end_;
}

void ByteBuffer::Consume(size_t n) {
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;  // the common case: all consumed
}

namespace {

// Reads a small /proc file into buf; returns bytes read or -1.
ssize_t ReadSmallFile(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n >= 0) buf[n] = '\0';
  return n;
}

}  // namespace

int64_t ProcessCpuUs(pid_t pid) {
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  if (ReadSmallFile(path, buf, sizeof buf) <= 0) return -1;
  // Field 2 (comm) may contain spaces: fields are counted after its ')'.
  const char* p = strrchr(buf, ')');
  if (p == nullptr) return -1;
  unsigned long long utime = 0, stime = 0;
  // After ") ": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt
  // majflt cmajflt utime(14) stime(15).
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
             &utime, &stime) != 2) {
    return -1;
  }
  static const long kTicks = sysconf(_SC_CLK_TCK);
  return static_cast<int64_t>((utime + stime) * 1000000ull / kTicks);
}

int64_t ProcessStatusKb(pid_t pid, const char* field) {
  char path[64], buf[8192];
  snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
  if (ReadSmallFile(path, buf, sizeof buf) <= 0) return -1;
  size_t len = strlen(field);
  for (const char* line = buf; line != nullptr && *line != '\0';) {
    if (strncmp(line, field, len) == 0 && line[len] == ':') {
      return strtoll(line + len + 1, nullptr, 10);
    }
    line = strchr(line, '\n');
    if (line != nullptr) ++line;
  }
  return -1;
}

int64_t SelfCpuUs() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (int64_t{ru.ru_utime.tv_sec} + ru.ru_stime.tv_sec) * 1000000 +
         ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

bool PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

}  // namespace mcp_bench
