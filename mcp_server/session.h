// A client's session: what initialize negotiated and what is in flight.
//
// stdio has one session per process; Streamable HTTP one per
// Mcp-Session-Id. The server keeps everything about a client here and
// nothing in the transports, so both transports behave alike.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stop_token>
#include <string>

#include "mcp_server/era.h"
#include "mcp_server/status.h"
#include "mcp_server/tool.h"

namespace hpc::mcp {

using json = nlohmann::json;

// Where messages for the client go. Each request gets one: on stdio it is
// stdout; on HTTP the response stream of that POST. A session also has a
// standalone Outbound for messages tied to no request (the GET stream).
class Outbound {
 public:
  virtual ~Outbound() = default;
  // A notification or server-to-client request related to the request.
  virtual void Notify(const json& message) = 0;
  // The response to a request. Called once per request, unless the request
  // was cancelled: then Abandon() is called instead.
  virtual void Respond(const json& message) = 0;
  virtual void Abandon() {}
};

// A request being served; cancellation reaches its handler through `stop`.
struct InFlight {
  std::stop_source stop;
  // Guards `cancelled` and what a handler sends for the request: once
  // Cancel has returned, nothing more is sent for it.
  std::mutex mu;
  bool cancelled = false;
  bool IsCancelled() {
    std::lock_guard lock(mu);
    return cancelled;
  }
};

class Session {
 public:
  explicit Session(std::string id) : id_(std::move(id)) {}

  // The HTTP session id; empty on stdio.
  const std::string& id() const { return id_; }

  // Lifecycle as negotiated by initialize.
  bool initialized() const;
  void SetInitialized(std::string protocol_version, json client_info,
                      json client_capabilities);
  std::string protocol_version() const;
  json client_info() const;
  // The peer every request of this session is served for (era.h), built
  // once by SetInitialized; a default legacy peer before that.
  std::shared_ptr<const Peer> peer() const;

  LogLevel log_level() const;
  void SetLogLevel(LogLevel level);

  void Subscribe(const std::string& uri);
  void Unsubscribe(const std::string& uri);
  bool IsSubscribed(const std::string& uri) const;

  // Requests in flight, keyed by IdKey(id). Begin fails if the id is in use.
  std::shared_ptr<InFlight> Begin(const std::string& key);
  void End(const std::string& key);
  // Stops the request; returns false for an unknown (or finished) id.
  bool Cancel(const std::string& key);
  void CancelAll();
  size_t in_flight() const;

  // Server-to-client requests: Ask sends and waits for Answer.
  Result<json> Ask(Outbound& out, std::string method, json params,
                   std::stop_token stop, std::chrono::milliseconds timeout);
  // Delivers a client's response; false when nothing waits for it.
  bool Answer(const json& response);

  // Messages tied to no request (resource updates); may be null.
  void SetStandalone(std::shared_ptr<Outbound> out);
  std::shared_ptr<Outbound> standalone() const;

  // Last time the client sent anything, for idle expiry.
  void Touch();
  std::chrono::steady_clock::time_point last_seen() const;

 private:
  struct Pending {
    bool done = false;
    json response;
  };

  const std::string id_;
  mutable std::mutex mu_;
  std::condition_variable answered_;
  bool initialized_ = false;
  std::string protocol_version_;
  json client_info_ = json::object();
  std::shared_ptr<const Peer> peer_ = std::make_shared<const Peer>();
  LogLevel log_level_ = LogLevel::kInfo;
  std::set<std::string> subscriptions_;
  std::map<std::string, std::shared_ptr<InFlight>> in_flight_;
  std::map<std::string, std::shared_ptr<Pending>> pending_;
  int64_t next_ask_id_ = 1;
  std::shared_ptr<Outbound> standalone_;
  std::chrono::steady_clock::time_point last_seen_ =
      std::chrono::steady_clock::now();
};

}  // namespace hpc::mcp
