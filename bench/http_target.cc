// Streamable HTTP transport: every session is one keep-alive connection that
// sends sequential POSTs; many sessions are driven by one thread with epoll
// (the driver gets one CPU in split placement, threads would only contend).
// Responses may be application/json or text/event-stream; both are verified.

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "http_conn.h"
#include "target.h"

namespace mcp_bench {
namespace {

using nlohmann::json;

class HttpTarget : public Target {
 public:
  HttpTarget(TargetContext* ctx, sockaddr_in addr, std::string host,
             std::string path, pid_t pid)
      : ctx_(ctx),
        addr_(addr),
        host_(std::move(host)),
        path_(std::move(path)),
        pid_(pid) {}
  ~HttpTarget() override { Close(); }

  bool Open(double* init_ms) override;
  pid_t server_pid() const override { return pid_; }
  bool RunCalls(const CallPlan& plan, PhaseResult* out) override;
  void Close() override;

 private:
  struct Session {
    HttpConn conn;
    SessionInfo info;
    bool reopen = false;  // the last response said "Connection: close"
  };

  // Request head up to and including the blank line. info == nullptr: no
  // session headers (initialize).
  std::string Head(const char* verb, const SessionInfo* info,
                   std::string_view rpc_method, size_t body_len) const;
  // Reopens the session's connection if the server closed it or said it
  // would; *reopened tells whether it did.
  bool EnsureOpen(Session* s, bool* reopened);
  bool Exchange(Session* s, const std::string& request, HttpResponse* resp);
  // Finds the JSON-RPC response to `id` in a JSON or SSE body.
  bool HandshakeResult(const HttpResponse& resp, int64_t id, json* result);
  bool OpenSession(double* init_ms);
  bool VerifyCall(const HttpResponse& resp, int64_t expected_id,
                  PhaseResult* out);

  TargetContext* ctx_;
  sockaddr_in addr_;
  std::string host_, path_;
  pid_t pid_;
  int64_t handshake_id_ = 1;
  std::vector<std::unique_ptr<Session>> sessions_;
};

std::string HttpTarget::Head(const char* verb, const SessionInfo* info,
                             std::string_view rpc_method,
                             size_t body_len) const {
  std::string h =
      std::string(verb) + " " + path_ + " HTTP/1.1\r\nHost: " + host_ + "\r\n";
  if (body_len > 0) h += "Content-Type: application/json\r\n";
  h += "Accept: application/json, text/event-stream\r\n";
  if (info != nullptr) {
    h += ctx_->wire->HttpHeaders(*info, rpc_method, ctx_->call.tool);
  }
  h += "Content-Length: " + std::to_string(body_len) + "\r\n\r\n";
  return h;
}

bool HttpTarget::EnsureOpen(Session* s, bool* reopened) {
  *reopened = s->reopen || s->conn.PeerClosed();
  if (!*reopened) return true;
  s->reopen = false;
  std::string err;
  return s->conn.Reconnect(addr_, *ctx_->deadline, &err) ? true : Fail(err);
}

bool HttpTarget::Exchange(Session* s, const std::string& request,
                          HttpResponse* resp) {
  std::string err;
  bool reopened;
  if (!EnsureOpen(s, &reopened)) return false;
  if (!s->conn.WriteAll(request, *ctx_->deadline, &err) ||
      !s->conn.ReadResponse(resp, *ctx_->deadline, &err)) {
    return Fail(err);
  }
  s->reopen = resp->close;
  return true;
}

bool HttpTarget::HandshakeResult(const HttpResponse& resp, int64_t id,
                                 json* result) {
  if (resp.status != 200) {
    return Fail("handshake: HTTP " + std::to_string(resp.status) + ": " +
                resp.body.substr(0, 300));
  }
  std::string err;
  if (resp.content_type == "application/json") {
    if (ParseHandshakeResponse(resp.body, id, result, &err) ==
        CallVerifier::Verdict::kOk) {
      return true;
    }
    return Fail("handshake: " + (err.empty() ? "not a response" : err));
  }
  if (resp.content_type != "text/event-stream") {
    return Fail("handshake: unexpected Content-Type " + resp.content_type);
  }
  bool found = false;
  ForEachSseEvent(resp.body, [&](std::string_view data) {
    auto v = ParseHandshakeResponse(data, id, result, &err);
    found = v == CallVerifier::Verdict::kOk;
    return v == CallVerifier::Verdict::kNotification;
  });
  return found ? true : Fail("handshake (SSE): " + err);
}

bool HttpTarget::OpenSession(double* init_ms) {
  auto s = std::make_unique<Session>();
  std::string err;
  const int64_t t0 = NowNs();
  if (!s->conn.Connect(addr_, *ctx_->deadline, &err)) return Fail(err);
  const Wire& wire = *ctx_->wire;
  if (wire.has_initialize()) {
    HttpResponse resp;
    json result;
    const int64_t id = handshake_id_++;
    std::string body = wire.InitializeRequest(id);
    if (!Exchange(s.get(),
                  Head("POST", nullptr, "initialize", body.size()) + body,
                  &resp) ||
        !HandshakeResult(resp, id, &result)) {
      return false;
    }
    if (init_ms != nullptr) *init_ms = (NowNs() - t0) / 1e6;
    if (!wire.AcceptInitializeResult(result, &s->info, &err)) return Fail(err);
    s->info.session_id = resp.session_id;
    body = wire.InitializedNotification();
    if (!Exchange(
            s.get(),
            Head("POST", &s->info, "notifications/initialized", body.size()) +
                body,
            &resp)) {
      return false;
    }
    // The spec: a notification accepted over POST gets 202 with no body.
    if (resp.status != 202 || !resp.body.empty()) {
      return Fail("notifications/initialized: expected 202 without body, got " +
                  std::to_string(resp.status) + " " + resp.body.substr(0, 300));
    }
  }
  sessions_.push_back(std::move(s));
  return true;
}

bool HttpTarget::Open(double* init_ms) {
  const int64_t t0 = NowNs();
  if (!OpenSession(init_ms)) return false;
  Session* s = sessions_.front().get();
  std::string cursor, err;
  for (int page = 0; page < 100; ++page) {
    const int64_t id = handshake_id_++;
    std::string body = ctx_->wire->ListToolsRequest(id, cursor);
    HttpResponse resp;
    json result;
    if (!Exchange(s, Head("POST", &s->info, "tools/list", body.size()) + body,
                  &resp) ||
        !HandshakeResult(resp, id, &result)) {
      return false;
    }
    // Without initialize, connect + the first answer of any kind.
    if (!ctx_->wire->has_initialize() && page == 0 && init_ms != nullptr)
      *init_ms = (NowNs() - t0) / 1e6;
    if (ToolListed(result, ctx_->call.tool, &cursor, &err)) return true;
    if (cursor.empty()) return Fail(err);
  }
  return Fail("tools/list: more than 100 pages");
}

bool HttpTarget::VerifyCall(const HttpResponse& resp, int64_t expected_id,
                            PhaseResult* out) {
  std::string err;
  int64_t id = -1;
  if (resp.status != 200) {
    return Fail("tools/call: HTTP " + std::to_string(resp.status) + ": " +
                resp.body.substr(0, 300));
  }
  if (resp.content_type == "application/json") {
    if (ctx_->verifier->Check(resp.body, &id, &err) !=
        CallVerifier::Verdict::kOk) {
      return Fail("tools/call: " + (err.empty() ? "not a response" : err));
    }
  } else if (resp.content_type == "text/event-stream") {
    int responses = 0;
    bool bad = false;
    ForEachSseEvent(resp.body, [&](std::string_view data) {
      int64_t event_id = -1;
      switch (ctx_->verifier->Check(data, &event_id, &err)) {
        case CallVerifier::Verdict::kNotification:
          ++out->notifications;
          return true;
        case CallVerifier::Verdict::kBad:
          bad = true;
          return false;
        case CallVerifier::Verdict::kOk:
          id = event_id;
          ++responses;
          return true;
      }
      return false;
    });
    if (bad) return Fail("tools/call (SSE): " + err);
    if (responses != 1) {
      return Fail("tools/call (SSE): " + std::to_string(responses) +
                  " responses in one stream: " + resp.body.substr(0, 300));
    }
  } else {
    return Fail("tools/call: unexpected Content-Type '" + resp.content_type +
                "'");
  }
  if (id != expected_id) {
    return Fail("tools/call: response id " + std::to_string(id) +
                ", expected " + std::to_string(expected_id));
  }
  return true;
}

bool HttpTarget::RunCalls(const CallPlan& plan, PhaseResult* out) {
  while (sessions_.size() < static_cast<size_t>(plan.concurrency)) {
    if (!OpenSession(nullptr)) return false;
  }
  struct Slot {
    Session* session;
    std::string request;  // with a 10-digit id placeholder at id_pos
    size_t id_pos;
    int64_t id = 0;
    int64_t sent_ns = 0;
    HttpResponse resp;
  };
  const CallFrame frame = ctx_->wire->ToolsCallFrame(ctx_->call);
  const std::string body = frame.prefix + "0000000000" + frame.suffix;
  std::vector<Slot> slots(plan.concurrency);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return Fail("epoll_create1 failed");
  // (Re)registers slot i's connection, reopening it first if needed.
  auto watch = [&](int i) {
    bool reopened;
    if (!EnsureOpen(slots[i].session, &reopened)) return false;
    out->reconnects += reopened;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    const int fd = slots[i].session->conn.fd();
    // A reopened connection may reuse the old fd number (closing it
    // removed it from the epoll set).
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0 &&
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0) {
      return Fail("epoll_ctl failed");
    }
    return true;
  };
  for (int i = 0; i < plan.concurrency; ++i) {
    Slot& sl = slots[i];
    sl.session = sessions_[i].get();
    sl.request = Head("POST", &sl.session->info, "tools/call", body.size());
    sl.id_pos = sl.request.size() + frame.prefix.size();
    sl.request += body;
    if (!watch(i)) {
      close(ep);
      return false;
    }
  }

  const int64_t base = ctx_->next_call_id;
  ctx_->next_call_id += plan.count;
  out->latency_ns.reserve(out->latency_ns.size() + plan.count);
  int64_t issued = 0, done = 0;
  int64_t target = plan.count;  // lowered to `issued` when the cap hits
  std::string err;
  auto send = [&](Slot& sl) {
    sl.id = base + issued++;
    ++out->issued;
    std::to_chars(sl.request.data() + sl.id_pos,
                  sl.request.data() + sl.id_pos + 10, sl.id);
    sl.sent_ns = NowNs();
    return sl.session->conn.WriteAll(sl.request, *ctx_->deadline, &err);
  };
  const int64_t start = NowNs();
  bool ok = true;
  for (Slot& sl : slots) {
    if (issued < target && !send(sl)) ok = Fail(err);
  }
  epoll_event events[64];
  while (ok && done < target) {
    if (ctx_->deadline->Passed()) {
      ok = Fail("deadline passed after " + std::to_string(done) + " calls");
      break;
    }
    int n = epoll_wait(ep, events, 64, ctx_->deadline->PollTimeoutMs());
    for (int e = 0; ok && e < n; ++e) {
      const int i = static_cast<int>(events[e].data.u32);
      Slot& sl = slots[i];
      HttpConn::Status st = sl.session->conn.ReadSome(&sl.resp, &err);
      if (st == HttpConn::Status::kMore) continue;
      if (st == HttpConn::Status::kError) {
        ok = Fail("tools/call: " + err);
        break;
      }
      out->latency_ns.push_back(NowNs() - sl.sent_ns);
      if (!VerifyCall(sl.resp, sl.id, out)) {
        ok = false;
        break;
      }
      ++done;
      ++out->calls;
      if (plan.rss_every > 0 && done % plan.rss_every == 0) {
        out->rss_kb.push_back(ProcessStatusKb(pid_, "VmRSS"));
      }
      if (plan.max_ns > 0 && issued < target && NowNs() - start > plan.max_ns) {
        target = issued;
        out->capped = true;
      }
      sl.session->reopen = sl.resp.close;  // the server will close it
      if (issued >= target) continue;
      if (sl.session->reopen && !watch(i)) {
        ok = false;
        break;
      }
      if (!send(sl)) ok = Fail(err);
    }
  }
  out->elapsed_ns += NowNs() - start;
  close(ep);
  return ok;
}

void HttpTarget::Close() {
  // End the sessions politely (a stateful server frees them), with a short
  // bound of its own: this must not hang a run that already failed.
  Deadline bye(1.0);
  for (auto& s : sessions_) {
    if (s->info.session_id.empty()) continue;
    std::string err;
    HttpResponse resp;
    if ((s->reopen || s->conn.PeerClosed()) &&
        !s->conn.Reconnect(addr_, bye, &err)) {
      continue;
    }
    if (s->conn.WriteAll(Head("DELETE", &s->info, "", 0), bye, &err)) {
      s->conn.ReadResponse(&resp, bye, &err);
    }
  }
  sessions_.clear();
}

}  // namespace

std::unique_ptr<Target> MakeHttpTarget(TargetContext* ctx,
                                       const std::string& url, pid_t server_pid,
                                       std::string* error) {
  // http://HOST:PORT/PATH, loopback only.
  constexpr std::string_view kScheme = "http://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) {
    *error = "URL must start with http://";
    return nullptr;
  }
  std::string rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = authority.rfind(':');
  std::string host = authority.substr(0, colon);
  int port = 80;
  if (colon != std::string::npos) {
    auto [p, ec] = std::from_chars(authority.data() + colon + 1,
                                   authority.data() + authority.size(), port);
    if (ec != std::errc() || p != authority.data() + authority.size() ||
        port <= 0 || port > 65535) {
      *error = "bad port in " + url;
      return nullptr;
    }
  }
  if (host != "127.0.0.1" && host != "localhost") {
    *error = "only loopback (127.0.0.1) URLs are allowed";
    return nullptr;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return std::make_unique<HttpTarget>(ctx, addr, authority, path, server_pid);
}

}  // namespace mcp_bench
