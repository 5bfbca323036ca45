// An Outbound that records what the server sends, for in-process tests of
// the protocol core.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "mcp_server/server.h"

namespace hpc::testing {

using mcp::json;

class Capture : public mcp::Outbound {
 public:
  void Notify(const json& m) override { Add(m, false); }
  void Respond(const json& m) override { Add(m, true); }
  void Abandon() override {
    std::lock_guard lock(mu_);
    ++abandoned_;
    cv_.notify_all();
  }

  // Waits until `n` responses (or abandons) arrived; false on timeout.
  bool WaitResponses(size_t n, std::chrono::milliseconds timeout =
                                   std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout,
                        [&] { return responses_.size() + abandoned_ >= n; });
  }
  // Waits until `n` notifications arrived; false on timeout.
  bool WaitNotifications(size_t n, std::chrono::milliseconds timeout =
                                       std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return notes_.size() >= n; });
  }
  std::vector<json> responses() {
    std::lock_guard lock(mu_);
    return responses_;
  }
  std::vector<json> notifications() {
    std::lock_guard lock(mu_);
    return notes_;
  }
  size_t abandoned() {
    std::lock_guard lock(mu_);
    return abandoned_;
  }

 private:
  void Add(const json& m, bool response) {
    std::lock_guard lock(mu_);
    (response ? responses_ : notes_).push_back(m);
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<json> responses_, notes_;
  size_t abandoned_ = 0;
};

}  // namespace hpc::testing
