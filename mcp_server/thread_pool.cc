#include "mcp_server/thread_pool.h"

#include <spdlog/spdlog.h>

#include <thread>

namespace hpc::mcp {

ThreadPool::ThreadPool(size_t min_threads, size_t max_threads,
                       std::chrono::milliseconds idle_timeout)
    : min_threads_(min_threads),
      max_threads_(max_threads < 1 ? 1 : max_threads),
      idle_timeout_(idle_timeout) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < min_threads_ && i < max_threads_; ++i) SpawnLocked();
}

ThreadPool::~ThreadPool() { Shutdown(); }

bool ThreadPool::Submit(std::function<void()> task) {
  std::unique_lock lock(mu_);
  if (stopping_) return false;
  queue_.push_back(std::move(task));
  if (idle_ < queue_.size() && threads_ < max_threads_) SpawnLocked();
  lock.unlock();
  work_cv_.notify_one();
  return true;
}

void ThreadPool::SpawnLocked() {
  ++threads_;
  // Detached: a retiring thread cannot be joined by anyone cheaply;
  // Shutdown waits on the thread count instead.
  std::thread([this] { WorkerLoop(); }).detach();
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
      if (!woke && threads_ > min_threads_) goto exit;
    }
    if (queue_.empty()) break;  // stopping_ and drained.
    {
      auto task = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      try {
        task();
      } catch (const std::exception& e) {
        spdlog::error("worker task threw: {}", e.what());
      } catch (...) {
        spdlog::error("worker task threw a non-exception");
      }
      lock.lock();
    }
  }
exit:
  --threads_;
  exit_cv_.notify_all();
}

void ThreadPool::Shutdown() {
  std::unique_lock lock(mu_);
  stopping_ = true;
  work_cv_.notify_all();
  exit_cv_.wait(lock, [&] { return threads_ == 0; });
}

size_t ThreadPool::threads() const {
  std::lock_guard lock(mu_);
  return threads_;
}

}  // namespace hpc::mcp
