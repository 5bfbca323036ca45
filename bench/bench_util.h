// Small helpers shared by the benchmark driver: a monotonic clock, a hard
// deadline, latency percentiles and the /proc readings taken from the server
// under test (CPU time, current and peak RSS).

#ifndef HPC_MCP_BENCH_BENCH_UTIL_H_
#define HPC_MCP_BENCH_BENCH_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mcp_bench {

// Monotonic nanoseconds (vDSO clock_gettime; cheap enough per call).
int64_t NowNs();

// A point in time after which every loop of the driver gives up. All waits
// (poll, epoll) are bounded by it, so the driver always stops by itself.
class Deadline {
 public:
  explicit Deadline(double seconds_from_now);
  bool Passed() const { return NowNs() >= end_ns_; }
  // Milliseconds left, clamped to [0, cap_ms]; for poll()/epoll_wait().
  int PollTimeoutMs(int cap_ms = 100) const;

 private:
  int64_t end_ns_;
};

// Latency samples of one phase, in nanoseconds.
struct LatencySummary {
  int64_t count = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, max_us = 0, mean_us = 0;
};
LatencySummary Summarize(std::vector<int64_t>* samples_ns);  // sorts in place

// utime+stime of a process (all threads), in microseconds; -1 if unreadable.
int64_t ProcessCpuUs(pid_t pid);
// A "Vm...:" field of /proc/PID/status in KiB (e.g. "VmRSS", "VmHWM"); -1 if
// unreadable.
int64_t ProcessStatusKb(pid_t pid, const char* field);
// CPU time of this process (the driver), in microseconds.
int64_t SelfCpuUs();

// A growable byte buffer for socket/pipe input: read() straight into its
// tail, consume from its head. Unlike std::string it never zero-fills the
// space a read() is about to overwrite.
class ByteBuffer {
 public:
  // Makes room for at least `n` more bytes at the tail; returns its start.
  char* Reserve(size_t n);
  void Commit(size_t n) { end_ += n; }
  void Consume(size_t n);
  std::string_view View() const {
    return {data_.get() + begin_, end_ - begin_};
  }
  size_t size() const { return end_ - begin_; }

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0, begin_ = 0, end_ = 0;
};

// Pins the calling thread to one CPU; returns false if that fails.
bool PinToCpu(int cpu);

}  // namespace mcp_bench

#endif  // HPC_MCP_BENCH_BENCH_UTIL_H_
