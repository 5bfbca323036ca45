// A bounded pool of worker threads that grows on demand and shrinks when idle.
//
// Tool calls and HTTP connections run here. Threads are created only when
// work is waiting and every thread is busy, up to `max_threads`; a thread
// idle for `idle_timeout` exits while more than `min_threads` remain. Work
// beyond `max_threads` waits in FIFO order.
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
             std::chrono::milliseconds idle_timeout);
  ~ThreadPool();  // Shutdown().
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`. Returns false (and drops it) after Shutdown.
  bool Submit(std::function<void()> task);

  // Stops accepting work, runs what is queued, and waits for every thread.
  void Shutdown();

  size_t threads() const;

 private:
  void SpawnLocked();
  void WorkerLoop();

  const size_t min_threads_, max_threads_;
  const std::chrono::milliseconds idle_timeout_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, exit_cv_;
  std::deque<std::function<void()>> queue_;
  size_t threads_ = 0, idle_ = 0;
  bool stopping_ = false;
};

}  // namespace hpc::mcp
