// A bounded pool of worker threads that grows on demand and shrinks when idle.
//
// Tool calls and HTTP connections run here. The pool keeps `min_threads`
// and adds a thread only when work has waited `grow_after` with every
// thread busy, up to `max_threads`: a burst of quick tasks is drained by the
// threads already running (more threads would only contend for the cores),
// while tasks stuck behind handlers that block (a tool waiting on a
// scheduler, an open SSE stream) get a thread of their own within
// milliseconds. A thread idle for `idle_timeout` exits while more than
// `min_threads` remain. Work waits in FIFO order.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace hpc::mcp {

class ThreadPool {
 public:
  ThreadPool(size_t min_threads, size_t max_threads,
             std::chrono::milliseconds idle_timeout,
             std::chrono::microseconds grow_after = std::chrono::milliseconds(1));
  ~ThreadPool();  // Shutdown().
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`. Returns false (and drops it) after Shutdown.
  bool Submit(std::function<void()> task);

  // Stops accepting work, runs what is queued, and waits for every thread.
  void Shutdown();

  size_t threads() const;

 private:
  struct Task {
    std::chrono::steady_clock::time_point queued;
    std::function<void()> fn;
  };
  void SpawnLocked();
  void WorkerLoop();
  void SupervisorLoop();
  bool StarvedLocked() const;

  const size_t min_threads_, max_threads_;
  const std::chrono::milliseconds idle_timeout_;
  const std::chrono::microseconds grow_after_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, exit_cv_, supervisor_cv_;
  std::deque<Task> queue_;
  size_t threads_ = 0, idle_ = 0;
  bool stopping_ = false;
  bool supervisor_running_ = false;
};

}  // namespace hpc::mcp
