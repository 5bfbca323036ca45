#include "mcp_server/thread_pool.h"

#include <spdlog/spdlog.h>

#include <thread>

namespace hpc::mcp {

ThreadPool::ThreadPool(size_t min_threads, size_t max_threads,
                       std::chrono::milliseconds idle_timeout,
                       std::chrono::microseconds grow_after)
    : min_threads_(std::max<size_t>(min_threads, 1)),
      max_threads_(std::max(max_threads, std::max<size_t>(min_threads, 1))),
      idle_timeout_(idle_timeout),
      grow_after_(grow_after) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < min_threads_; ++i) SpawnLocked();
  supervisor_running_ = true;
  ++threads_;  // The supervisor counts as a thread for Shutdown's wait.
  std::thread([this] { SupervisorLoop(); }).detach();
}

ThreadPool::~ThreadPool() { Shutdown(); }

bool ThreadPool::Submit(std::function<void()> task) {
  std::unique_lock lock(mu_);
  if (stopping_) return false;
  queue_.push_back({std::chrono::steady_clock::now(), std::move(task)});
  // An idle worker counts only if it is not already spoken for by a task
  // queued before this one (it leaves idle_ only once it runs).
  bool wake_worker = idle_ >= queue_.size();
  bool wake_supervisor = !wake_worker && threads_ - 1 < max_threads_;
  lock.unlock();
  if (wake_worker)
    work_cv_.notify_one();
  else if (wake_supervisor)
    supervisor_cv_.notify_one();
  return true;
}

void ThreadPool::SpawnLocked() {
  ++threads_;
  // Detached: a retiring thread cannot be joined by anyone cheaply;
  // Shutdown waits on the thread count instead.
  std::thread([this] { WorkerLoop(); }).detach();
}

bool ThreadPool::StarvedLocked() const {
  return queue_.size() > idle_;
}

void ThreadPool::SupervisorLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    supervisor_cv_.wait(lock, [&] { return stopping_ || StarvedLocked(); });
    if (stopping_) break;
    // Give the running threads `grow_after` to reach the queue; only work
    // that is still waiting then needs another thread.
    supervisor_cv_.wait_for(lock, grow_after_, [&] { return stopping_; });
    if (stopping_) break;
    size_t workers = threads_ - 1;
    if (StarvedLocked() && workers < max_threads_ &&
        std::chrono::steady_clock::now() - queue_.front().queued >= grow_after_)
      SpawnLocked();
  }
  --threads_;
  exit_cv_.notify_all();
}

void ThreadPool::WorkerLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    while (queue_.empty() && !stopping_) {
      ++idle_;
      bool woke = work_cv_.wait_for(lock, idle_timeout_, [&] {
        return !queue_.empty() || stopping_;
      });
      --idle_;
      if (!woke && threads_ - 1 > min_threads_) {
        --threads_;
        exit_cv_.notify_all();
        return;
      }
    }
    if (queue_.empty()) break;  // stopping_ and drained.
    Task task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    try {
      task.fn();
    } catch (const std::exception& e) {
      spdlog::error("worker task threw: {}", e.what());
    } catch (...) {
      spdlog::error("worker task threw a non-exception");
    }
    lock.lock();
  }
  --threads_;
  exit_cv_.notify_all();
}

void ThreadPool::Shutdown() {
  std::unique_lock lock(mu_);
  stopping_ = true;
  work_cv_.notify_all();
  supervisor_cv_.notify_all();
  exit_cv_.wait(lock, [&] { return threads_ == 0; });
}

size_t ThreadPool::threads() const {
  std::lock_guard lock(mu_);
  return threads_ - (supervisor_running_ ? 1 : 0);
}

}  // namespace hpc::mcp
