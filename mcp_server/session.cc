#include "mcp_server/session.h"

#include "mcp_server/json_rpc.h"

namespace hpc::mcp {

bool Session::initialized() const {
  std::lock_guard lock(mu_);
  return initialized_;
}

void Session::SetInitialized(std::string protocol_version, json client_info,
                             json client_capabilities) {
  auto peer = std::make_shared<Peer>();
  peer->protocol_version = protocol_version;
  peer->client_info = client_info.is_object() ? client_info : json::object();
  peer->client_capabilities =
      client_capabilities.is_object() ? std::move(client_capabilities) : json::object();
  std::lock_guard lock(mu_);
  initialized_ = true;
  protocol_version_ = std::move(protocol_version);
  client_info_ = peer->client_info;
  peer_ = std::move(peer);
}

std::string Session::protocol_version() const {
  std::lock_guard lock(mu_);
  return protocol_version_;
}

json Session::client_info() const {
  std::lock_guard lock(mu_);
  return client_info_;
}

std::shared_ptr<const Peer> Session::peer() const {
  std::lock_guard lock(mu_);
  return peer_;
}

LogLevel Session::log_level() const {
  std::lock_guard lock(mu_);
  return log_level_;
}

void Session::SetLogLevel(LogLevel level) {
  std::lock_guard lock(mu_);
  log_level_ = level;
}

void Session::Subscribe(const std::string& uri) {
  std::lock_guard lock(mu_);
  subscriptions_.insert(uri);
}

void Session::Unsubscribe(const std::string& uri) {
  std::lock_guard lock(mu_);
  subscriptions_.erase(uri);
}

bool Session::IsSubscribed(const std::string& uri) const {
  std::lock_guard lock(mu_);
  return subscriptions_.count(uri) > 0;
}

std::shared_ptr<InFlight> Session::Begin(const std::string& key) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = in_flight_.emplace(key, nullptr);
  if (!inserted) return nullptr;
  it->second = std::make_shared<InFlight>();
  return it->second;
}

void Session::End(const std::string& key) {
  std::lock_guard lock(mu_);
  in_flight_.erase(key);
}

bool Session::Cancel(const std::string& key) {
  std::shared_ptr<InFlight> call;
  {
    std::lock_guard lock(mu_);
    auto it = in_flight_.find(key);
    if (it == in_flight_.end()) return false;
    call = it->second;
  }
  {
    std::lock_guard lock(call->mu);
    call->cancelled = true;
  }
  call->stop.request_stop();
  answered_.notify_all();  // Wake handlers waiting in Ask.
  return true;
}

void Session::CancelAll() {
  std::map<std::string, std::shared_ptr<InFlight>> calls;
  {
    std::lock_guard lock(mu_);
    calls = in_flight_;
  }
  for (auto& [key, call] : calls) call->stop.request_stop();
  answered_.notify_all();
}

size_t Session::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_.size();
}

Result<json> Session::Ask(Outbound& out, std::string method, json params,
                          std::stop_token stop,
                          std::chrono::milliseconds timeout) {
  auto pending = std::make_shared<Pending>();
  json id;
  {
    std::lock_guard lock(mu_);
    // String ids keep our requests apart from anything the client numbers.
    id = "srv-" + std::to_string(next_ask_id_++);
    pending_[IdKey(id)] = pending;
  }
  // Wakes the wait below on cancellation. Declared before `lock` so that it
  // is destroyed after the lock is released: its callback takes mu_.
  std::stop_callback wake(stop, [this] {
    std::lock_guard l(mu_);
    answered_.notify_all();
  });
  out.Notify(MakeRequest(id, method, std::move(params)));
  std::unique_lock lock(mu_);
  answered_.wait_for(lock, timeout, [&] {
    return pending->done || stop.stop_requested();
  });
  pending_.erase(IdKey(id));
  if (pending->done) {
    const json& r = pending->response;
    if (r.contains("error"))
      return Unavailable("the client answered " + method +
                         " with an error: " + Dump(r["error"]));
    return r.value("result", json::object());
  }
  if (stop.stop_requested()) return Cancelled(method + " was cancelled");
  return DeadlineExceeded("the client did not answer " + method + " within " +
                          std::to_string(timeout.count()) + " ms");
}

bool Session::Answer(const json& response) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(IdKey(response["id"]));
  if (it == pending_.end()) return false;
  it->second->done = true;
  it->second->response = response;
  answered_.notify_all();
  return true;
}

void Session::SetStandalone(std::shared_ptr<Outbound> out) {
  std::lock_guard lock(mu_);
  standalone_ = std::move(out);
}

std::shared_ptr<Outbound> Session::standalone() const {
  std::lock_guard lock(mu_);
  return standalone_;
}

void Session::Touch() {
  std::lock_guard lock(mu_);
  last_seen_ = std::chrono::steady_clock::now();
}

std::chrono::steady_clock::time_point Session::last_seen() const {
  std::lock_guard lock(mu_);
  return last_seen_;
}

}  // namespace hpc::mcp
