#include "mcp_server/http_transport.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "mcp_server/era.h"
#include "mcp_server/thread_pool.h"

namespace hpc::mcp {
namespace {

constexpr const char* kSessionHeader = "Mcp-Session-Id";
constexpr const char* kVersionHeader = "MCP-Protocol-Version";
// With the charset spelled out, cpp-httplib does not gzip the body: MCP
// messages are small and travel over loopback, where compressing each one
// costs more CPU than it could ever save.
constexpr const char* kJsonType = "application/json; charset=utf-8";

// Messages waiting to go out on one HTTP response: the answer to one POST,
// or a session's GET stream. Producers (handlers on worker threads) push;
// the connection's thread pops and writes.
class EventQueue : public Outbound {
 public:
  void Notify(const json& m) override { Push(Dump(m), false); }
  void Respond(const json& m) override { Push(Dump(m), true); }
  void Abandon() override {
    std::lock_guard lock(mu_);
    finished_ = true;
    cv_.notify_all();
  }
  // The peer went away or the server stops: drop whatever comes later.
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

  // Blocks until the response (or an abandon) arrived, or any notification
  // is queued, or `max_wait` passed. Returns true when the answer can be
  // plain JSON: only the response is queued.
  bool WaitForDecision(std::string* response,
                       std::chrono::milliseconds max_wait = std::chrono::milliseconds::max()) {
    std::unique_lock lock(mu_);
    auto ready = [&] { return finished_ || closed_ || !events_.empty(); };
    if (max_wait == std::chrono::milliseconds::max())
      cv_.wait(lock, ready);
    else if (!cv_.wait_for(lock, max_wait, ready))
      return false;
    if (events_.size() == 1 && events_.front().final) {
      *response = std::move(events_.front().data);
      events_.clear();
      return true;
    }
    return false;
  }

  // Writes queued events as SSE; waits up to `keepalive` for some, writing a
  // comment line when none came. Returns false when the stream is over.
  bool Pump(httplib::DataSink& sink, std::chrono::seconds keepalive,
            std::atomic<uint64_t>& event_ids) {
    std::deque<Event> batch;
    bool over;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, keepalive,
                   [&] { return finished_ || closed_ || !events_.empty(); });
      batch.swap(events_);
      over = closed_;
    }
    std::string out;
    for (Event& e : batch) {
      out += "id: " + std::to_string(++event_ids) + "\nevent: message\ndata: ";
      out += e.data;
      out += "\n\n";
    }
    if (out.empty() && !over && !Finished()) out = ": keepalive\n\n";
    if (!out.empty() && !sink.write(out.data(), out.size())) {
      Close();
      return false;
    }
    return !over && !Finished();
  }

 private:
  struct Event {
    std::string data;
    bool final;
  };
  void Push(std::string data, bool final) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    events_.push_back({std::move(data), final});
    if (final) finished_ = true;
    cv_.notify_all();
  }
  bool Finished() {
    std::lock_guard lock(mu_);
    return finished_ && events_.empty();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
  bool finished_ = false, closed_ = false;
};

// For POSTs that carry only notifications or responses: nothing is
// answered on them, so anything written here has nowhere to go.
class DiscardQueue : public Outbound {
 public:
  void Notify(const json&) override {}
  void Respond(const json&) override {}
};

// Runs httplib's connections on our growing pool instead of its fixed one,
// so that open SSE streams do not starve new connections.
class PoolTaskQueue : public httplib::TaskQueue {
 public:
  explicit PoolTaskQueue(size_t max_threads)
      : pool_(2, max_threads, std::chrono::seconds(60)) {}
  void enqueue(std::function<void()> fn) override { pool_.Submit(std::move(fn)); }
  void shutdown() override { pool_.Shutdown(); }

 private:
  ThreadPool pool_;
};

std::string NewSessionId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) std::abort();  // No entropy: unsafe to go on.
  static const char* kHex = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 15]);
  }
  return id;
}

bool AcceptsAll(const std::string& accept, const char* type) {
  return accept.find(type) != std::string::npos ||
         accept.find("*/*") != std::string::npos;
}

// "http://localhost:8080" -> "localhost"; "[::1]:80" -> "::1".
std::string HostOf(std::string s) {
  if (auto p = s.find("://"); p != std::string::npos) s = s.substr(p + 3);
  if (auto p = s.find('/'); p != std::string::npos) s = s.substr(0, p);
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    return close == std::string::npos ? s : s.substr(1, close - 1);
  }
  if (auto p = s.rfind(':'); p != std::string::npos) s = s.substr(0, p);
  return s;
}

void JsonError(httplib::Response& res, int status, int code,
               const std::string& message, const json& id = nullptr) {
  res.status = status;
  res.set_content(Dump(MakeError(id, {code, message, nullptr})), kJsonType);
}

// The request's id when it has a usable one, for errors answered before
// the server saw the request.
json IdOf(const json& message) {
  if (message.is_object() && message.contains("id") &&
      (message["id"].is_string() || message["id"].is_number_integer()))
    return message["id"];
  return nullptr;
}

class HttpTransport {
 public:
  HttpTransport(Server& server, const HttpOptions& options)
      : server_(server), options_(options) {}

  int Run();

 private:
  struct Entry {
    std::shared_ptr<Session> session;
    std::shared_ptr<EventQueue> stream;  // The open GET stream, if any.
  };

  bool CheckAccess(const httplib::Request& req, httplib::Response& res) const;
  void Post(const httplib::Request& req, httplib::Response& res);
  // A POST no initialize opened a session for: served statelessly, on a
  // session of its own that ends with the response (closing the response
  // stream cancels the request, as 2026-07-28 specifies).
  void PostModern(const httplib::Request& req, httplib::Response& res,
                  const json& parsed);
  // Queues `parsed` for `session` and answers it: plain JSON when only the
  // response came, else SSE. Returns the JSON response, or null after
  // streaming. `on_stream_end` runs when an SSE response ends.
  // `stream_after`: a request still unanswered then is answered as SSE, so
  // that the stream's keep-alive writes notice a client that went away.
  std::optional<json> Answer(const std::shared_ptr<Session>& session, const json& parsed,
                             httplib::Response& res, std::function<void()> on_stream_end,
                             std::chrono::milliseconds stream_after =
                                 std::chrono::milliseconds::max());
  void Get(const httplib::Request& req, httplib::Response& res);
  void Delete(const httplib::Request& req, httplib::Response& res);
  // Finds the session a request names; answers 400/404 when it cannot.
  std::shared_ptr<Entry> Lookup(const httplib::Request& req,
                                httplib::Response& res);
  void Stream(httplib::Response& res, std::shared_ptr<EventQueue> queue,
              std::function<void()> on_end);
  void Expire();
  void StopAll();

  Server& server_;
  const HttpOptions& options_;
  httplib::Server http_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::unordered_map<std::string, std::shared_ptr<Entry>> sessions_;
  size_t reserved_ = 0;  // Initializes in progress, counted as sessions.
  std::vector<std::weak_ptr<EventQueue>> open_posts_;
  std::atomic<uint64_t> event_ids_{0};
};

bool HttpTransport::CheckAccess(const httplib::Request& req,
                                httplib::Response& res) const {
  // DNS rebinding: a page on evil.example resolving to 127.0.0.1 reaches a
  // loopback server with a foreign Host and Origin.
  if (IsLoopbackHost(options_.host) && req.has_header("Host") &&
      !IsLoopbackHost(HostOf(req.get_header_value("Host")))) {
    JsonError(res, 403, rpc::kInvalidRequest,
              "Forbidden: Host header names no loopback address");
    return false;
  }
  if (req.has_header("Origin")) {
    std::string origin = req.get_header_value("Origin");
    bool ok = IsLoopbackHost(HostOf(origin));
    for (const auto& o : options_.allowed_origins) ok = ok || o == origin;
    if (!ok) {
      JsonError(res, 403, rpc::kInvalidRequest,
                "Forbidden: Origin " + origin +
                    " is not allowed (start the server with --allow-origin to "
                    "permit it)");
      return false;
    }
  }
  if (!options_.auth_token.empty()) {
    std::string want = "Bearer " + options_.auth_token;
    std::string got = req.get_header_value("Authorization");
    if (got.size() != want.size() ||
        CRYPTO_memcmp(got.data(), want.data(), want.size()) != 0) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"hpc-mcp\"");
      JsonError(res, 401, rpc::kInvalidRequest,
                "Unauthorized: send 'Authorization: Bearer <token>' with the "
                "token from the server's --auth-token-file");
      return false;
    }
  }
  return true;
}

std::shared_ptr<HttpTransport::Entry> HttpTransport::Lookup(
    const httplib::Request& req, httplib::Response& res) {
  if (!req.has_header(kSessionHeader)) {
    JsonError(res, 400, rpc::kInvalidRequest,
              "Bad Request: missing Mcp-Session-Id header; send initialize "
              "first and echo the session id it returns");
    return nullptr;
  }
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(req.get_header_value(kSessionHeader));
    if (it != sessions_.end()) entry = it->second;
  }
  if (!entry) {
    JsonError(res, 404, rpc::kInvalidRequest,
              "Session not found: it expired or was deleted; start a new one "
              "with initialize");
    return nullptr;
  }
  if (req.has_header(kVersionHeader)) {
    const auto& v = SupportedProtocolVersions();
    std::string got = req.get_header_value(kVersionHeader);
    if (std::find(v.begin(), v.end(), got) == v.end()) {
      JsonError(res, 400, rpc::kInvalidRequest,
                "Bad Request: unsupported MCP-Protocol-Version " + got +
                    "; supported: 2025-11-25, 2025-06-18, 2025-03-26");
      return nullptr;
    }
  }
  entry->session->Touch();
  return entry;
}

void HttpTransport::Stream(httplib::Response& res,
                           std::shared_ptr<EventQueue> queue,
                           std::function<void()> on_end) {
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, queue](size_t, httplib::DataSink& sink) {
        if (!queue->Pump(sink, options_.keepalive_interval, event_ids_)) sink.done();
        return true;
      },
      [queue, on_end = std::move(on_end)](bool) {
        queue->Close();
        if (on_end) on_end();
      });
}

void HttpTransport::Post(const httplib::Request& req, httplib::Response& res) {
  if (!AcceptsAll(req.get_header_value("Accept"), "application/json") ||
      !AcceptsAll(req.get_header_value("Accept"), "text/event-stream")) {
    JsonError(res, 406, rpc::kInvalidRequest,
              "Not Acceptable: the client must accept both application/json "
              "and text/event-stream");
    return;
  }
  if (req.get_header_value("Content-Type").find("application/json") ==
      std::string::npos) {
    JsonError(res, 415, rpc::kInvalidRequest,
              "Unsupported Media Type: POST bodies are application/json");
    return;
  }
  json parsed = ParseJson(req.body);
  if (parsed.is_discarded()) {
    JsonError(res, 400, rpc::kParseError,
              "Parse error: the body is not valid JSON");
    return;
  }
  const bool has_session = req.has_header(kSessionHeader);
  static const json kNoParams = json::object();
  const json& params = parsed.is_object() && parsed.contains("params") ? parsed["params"]
                                                                        : kNoParams;
  const std::string method = StringOr(parsed, "method");
  // Without a session, a request is 2026-07-28 when it says so (header or
  // _meta). Anything else is a legacy client that lost or never opened its
  // session, and Lookup tells it so: a 400 with no modern error code, which
  // is also what lets a dual-era client fall back.
  const bool says_modern =
      ServedAsModern(method, params) &&
      (params.contains("_meta") ||
       (req.has_header(kVersionHeader) &&
        std::find(ModernProtocolVersions().begin(), ModernProtocolVersions().end(),
                  req.get_header_value(kVersionHeader)) != ModernProtocolVersions().end()));
  if (!has_session && says_modern) return PostModern(req, res, parsed);
  const bool initialize = method == "initialize" && !has_session;
  std::shared_ptr<Entry> entry;
  // A slot is reserved before initialize runs, so that concurrent
  // initializes cannot all pass the --max-sessions check.
  bool reserved = false;
  auto release = [&] {
    if (!reserved) return;
    std::lock_guard lock(mu_);
    --reserved_;
    reserved = false;
  };
  if (initialize) {
    {
      std::lock_guard lock(mu_);
      if (sessions_.size() + reserved_ >= options_.max_sessions) {
        JsonError(res, 503, rpc::kInvalidRequest,
                  "Service Unavailable: too many sessions; close unused ones "
                  "with DELETE or retry later");
        return;
      }
      ++reserved_;
      reserved = true;
    }
    entry = std::make_shared<Entry>();
    entry->session = server_.NewSession(NewSessionId());
  } else {
    entry = Lookup(req, res);
    if (!entry) return;
  }
  std::optional<json> r = Answer(entry->session, parsed, res, nullptr);
  if (initialize) {
    if (r && r->contains("result")) {
      std::lock_guard lock(mu_);
      sessions_[entry->session->id()] = entry;
      --reserved_;
      reserved = false;
      res.set_header(kSessionHeader, entry->session->id());
    } else {
      release();
      server_.CloseSession(entry->session);
    }
  }
}

void HttpTransport::PostModern(const httplib::Request& req, httplib::Response& res,
                               const json& parsed) {
  auto header = [&](std::string_view name) -> std::optional<std::string> {
    std::string n(name);
    if (!req.has_header(n)) return std::nullopt;  // httplib: case-insensitive.
    return req.get_header_value(n);
  };
  if (auto mismatch = CheckModernHeaders(parsed, header)) {
    res.status = 400;
    res.set_content(Dump(MakeError(IdOf(parsed), *mismatch)), kJsonType);
    return;
  }
  // Closing the stream cancels a 2026-07-28 request, but a blocked
  // cpp-httplib handler cannot see a closed socket: a request that takes
  // longer than a moment is answered as SSE, whose keep-alive comments
  // then find out.
  constexpr std::chrono::seconds kStreamAfter(2);
  auto session = server_.NewSession("");
  std::optional<json> r = Answer(session, parsed, res, [this, session] {
    server_.CloseSession(session);
  }, kStreamAfter);
  if (!r) return;  // Streaming: the stream's end closes the session.
  server_.CloseSession(session);
  if (r->is_object() && r->contains("error") && (*r)["error"].is_object()) {
    const json& e = (*r)["error"];
    res.status = ModernHttpStatus({e.value("code", 0), "", nullptr});
  }
}

std::optional<json> HttpTransport::Answer(const std::shared_ptr<Session>& session,
                                          const json& parsed, httplib::Response& res,
                                          std::function<void()> on_stream_end,
                                          std::chrono::milliseconds stream_after) {
  if (!Server::ExpectsResponse(parsed)) {
    server_.Handle(session, parsed, std::make_shared<DiscardQueue>());
    res.status = 202;
    return json();
  }
  auto queue = std::make_shared<EventQueue>();
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      JsonError(res, 503, rpc::kInvalidRequest, "Service Unavailable: stopping");
      return json();
    }
    std::erase_if(open_posts_, [](const auto& w) { return w.expired(); });
    open_posts_.push_back(queue);
  }
  server_.Handle(session, parsed, queue);
  std::string response;
  if (queue->WaitForDecision(&response, stream_after)) {
    json r = ParseJson(response);
    // A message the server could not even attribute to a request (id null)
    // is the client's fault at the HTTP level too.
    bool unattributed = r.is_object() && r.contains("error") && r["id"].is_null();
    res.status = unattributed ? 400 : 200;
    res.set_content(std::move(response), kJsonType);
    return r;
  }
  Stream(res, queue, std::move(on_stream_end));
  return std::nullopt;
}

void HttpTransport::Get(const httplib::Request& req, httplib::Response& res) {
  if (!req.has_header(kSessionHeader)) {
    res.set_header("Allow", "POST");
    JsonError(res, 405, rpc::kInvalidRequest,
              "Method Not Allowed: GET opens the stream of a session that initialize "
              "opened; without one, POST requests (2026-07-28 clients subscribe with "
              "subscriptions/listen)");
    return;
  }
  if (!AcceptsAll(req.get_header_value("Accept"), "text/event-stream")) {
    JsonError(res, 406, rpc::kInvalidRequest,
              "Not Acceptable: GET opens an SSE stream; accept text/event-stream");
    return;
  }
  auto entry = Lookup(req, res);
  if (!entry) return;
  auto queue = std::make_shared<EventQueue>();
  {
    // A new GET takes over: the usual reason for one while a stream is open
    // is a client reconnecting after its connection dropped, which the
    // server would only notice at the next keep-alive write.
    std::lock_guard lock(mu_);
    if (entry->stream) entry->stream->Close();
    entry->stream = queue;
  }
  entry->session->SetStandalone(queue);
  std::weak_ptr<Entry> weak = entry;
  Stream(res, queue, [this, weak, queue] {
    auto e = weak.lock();
    if (!e) return;
    std::lock_guard lock(mu_);
    if (e->stream == queue) {
      e->stream = nullptr;
      e->session->SetStandalone(nullptr);
    }
  });
}

void HttpTransport::Delete(const httplib::Request& req, httplib::Response& res) {
  if (!req.has_header(kSessionHeader)) {
    res.set_header("Allow", "POST");
    JsonError(res, 405, rpc::kInvalidRequest,
              "Method Not Allowed: DELETE ends a session that initialize opened; "
              "send the Mcp-Session-Id header");
    return;
  }
  auto entry = Lookup(req, res);
  if (!entry) return;
  {
    std::lock_guard lock(mu_);
    sessions_.erase(entry->session->id());
    if (entry->stream) entry->stream->Close();
  }
  server_.CloseSession(entry->session);
  res.status = 200;
}

void HttpTransport::Expire() {
  std::vector<std::shared_ptr<Entry>> expired;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      const auto& e = it->second;
      bool idle = now - e->session->last_seen() > options_.session_idle_timeout;
      if (idle && !e->stream && e->session->in_flight() == 0) {
        expired.push_back(e);
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& e : expired) {
    spdlog::info("session {}… expired after {} s idle", e->session->id().substr(0, 8),
                 options_.session_idle_timeout.count());
    server_.CloseSession(e->session);
  }
}

void HttpTransport::StopAll() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  for (auto& [id, e] : sessions_)
    if (e->stream) e->stream->Close();
  for (auto& w : open_posts_)
    if (auto q = w.lock()) q->Close();
  stop_cv_.notify_all();
}

int HttpTransport::Run() {
  http_.new_task_queue = [this] { return new PoolTaskQueue(options_.max_threads); };
  http_.set_payload_max_length(options_.max_body_bytes);
  http_.set_keep_alive_max_count(1 << 30);
  // Headers and body leave in separate writes: without TCP_NODELAY, Nagle
  // and the client's delayed ACK add 40 ms to every response.
  http_.set_tcp_nodelay(true);
  http_.set_pre_routing_handler([this](const httplib::Request& req,
                                       httplib::Response& res) {
    if (req.path != "/mcp") return httplib::Server::HandlerResponse::Unhandled;
    return CheckAccess(req, res) ? httplib::Server::HandlerResponse::Unhandled
                                 : httplib::Server::HandlerResponse::Handled;
  });
  http_.Post("/mcp", [this](const auto& q, auto& r) { Post(q, r); });
  http_.Get("/mcp", [this](const auto& q, auto& r) { Get(q, r); });
  http_.Delete("/mcp", [this](const auto& q, auto& r) { Delete(q, r); });
  auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "GET, POST, DELETE");
    JsonError(res, 405, rpc::kInvalidRequest, "Method Not Allowed");
  };
  http_.Put("/mcp", not_allowed);
  http_.Patch("/mcp", not_allowed);

  // cpp-httplib 0.11 listens with a backlog of 5, which turns a burst of
  // new connections into SYN retries (a 1 s stall each). Keep the socket to
  // raise the backlog after bind; also set what its default options set.
  int listen_fd = -1;
  http_.set_socket_options([&listen_fd](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd = sock;
  });
  int port = options_.port;
  if (port == 0) {
    port = http_.bind_to_any_port(options_.host);
  } else if (!http_.bind_to_port(options_.host, port)) {
    port = -1;
  }
  if (port < 0) {
    spdlog::critical("cannot listen on {}:{}: address in use or not available",
                     options_.host, options_.port);
    return 1;
  }
  if (listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
  if (!options_.port_file.empty()) {
    std::string tmp = options_.port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), options_.port_file.c_str());
  }
  spdlog::info("listening on http://{}:{}/mcp", options_.host.find(':') != std::string::npos
                                                    ? "[" + options_.host + "]"
                                                    : options_.host,
               port);

  std::thread janitor([this] {
    auto period = std::clamp<std::chrono::seconds>(options_.session_idle_timeout / 10,
                                                   std::chrono::seconds(1),
                                                   std::chrono::seconds(60));
    std::unique_lock lock(mu_);
    while (!stopping_) {
      stop_cv_.wait_for(lock, period);
      if (stopping_) break;
      lock.unlock();
      Expire();
      lock.lock();
    }
  });
  std::thread stopper;
  if (options_.stop_fd >= 0) {
    stopper = std::thread([this] {
      pollfd p{options_.stop_fd, POLLIN, 0};
      for (;;) {
        {
          std::lock_guard lock(mu_);
          if (stopping_) return;
        }
        if (::poll(&p, 1, 200) > 0) break;
      }
      StopAll();
      http_.stop();
    });
  }
  bool ok = http_.listen_after_bind();
  StopAll();
  janitor.join();
  if (stopper.joinable()) stopper.join();
  std::vector<std::shared_ptr<Entry>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, e] : sessions_) all.push_back(e);
    sessions_.clear();
  }
  for (auto& e : all) server_.CloseSession(e->session);
  server_.Shutdown();
  spdlog::info("http transport stopped");
  return ok ? 0 : 1;
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  // Numeric checks only: "127.0.0.1.evil.example" is a name, not 127/8.
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  return false;
}

int ServeHttp(Server& server, const HttpOptions& options) {
  return HttpTransport(server, options).Run();
}

}  // namespace hpc::mcp
