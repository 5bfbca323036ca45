// stdio transport: spawns the server (posix_spawn, no shell) with pipes on
// its stdin/stdout; messages are newline-delimited JSON. Calls are pipelined:
// up to `concurrency` requests in flight, refilled in one write() per batch.

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "target.h"

extern char** environ;

namespace mcp_bench {
namespace {

using nlohmann::json;

class StdioTarget : public Target {
 public:
  StdioTarget(TargetContext* ctx, std::vector<std::string> argv, int cpu)
      : ctx_(ctx), argv_(std::move(argv)), server_cpu_(cpu) {}
  ~StdioTarget() override { Close(); }

  bool Open(double* init_ms) override;
  pid_t server_pid() const override { return pid_; }
  bool RunCalls(const CallPlan& plan, PhaseResult* out) override;
  void Close() override;

 private:
  bool Spawn();
  bool WriteAll(std::string_view bytes);
  // Next complete line from the server (without '\n'); waits, bounded by the
  // deadline. The view is valid until the next read.
  bool NextLine(std::string_view* line);
  // Reads what is there into buf_ after waiting up to the poll timeout;
  // false on EOF or error.
  bool FillBuffer(bool want_write);
  bool Handshake(double* init_ms, int64_t spawn_ns);

  TargetContext* ctx_;
  std::vector<std::string> argv_;
  int server_cpu_;
  pid_t pid_ = -1;
  int to_server_ = -1;    // our end of the server's stdin
  int from_server_ = -1;  // our end of the server's stdout
  ByteBuffer buf_;        // bytes read, not yet consumed
};

bool StdioTarget::Spawn() {
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    return Fail(std::string("pipe2: ") + strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  std::vector<char*> argv;
  for (std::string& a : argv_) argv.push_back(a.data());
  argv.push_back(nullptr);

  // The child inherits the CPU affinity in force at spawn: switch to the
  // server's CPU for the spawn only (cheaper than exec'ing taskset, which
  // would also count in the start-up time).
  cpu_set_t saved;
  bool pinned = false;
  if (server_cpu_ >= 0 && sched_getaffinity(0, sizeof saved, &saved) == 0) {
    pinned = PinToCpu(server_cpu_);
    if (!pinned)
      return Fail("cannot pin the server to CPU " +
                  std::to_string(server_cpu_));
  }
  int rc =
      posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  if (pinned) sched_setaffinity(0, sizeof saved, &saved);
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  to_server_ = in_pipe[1];
  from_server_ = out_pipe[0];
  if (rc != 0) {
    pid_ = -1;
    return Fail("cannot spawn " + argv_[0] + ": " + strerror(rc));
  }
  // Our ends only; the server's ends stay blocking.
  fcntl(to_server_, F_SETFL, O_NONBLOCK);
  fcntl(from_server_, F_SETFL, O_NONBLOCK);
  signal(SIGPIPE, SIG_IGN);  // a dead server must surface as EPIPE
  return true;
}

bool StdioTarget::Open(double* init_ms) {
  const int64_t t0 = NowNs();
  if (!Spawn()) return false;
  return Handshake(init_ms, t0);
}

bool StdioTarget::Handshake(double* init_ms, int64_t spawn_ns) {
  const Wire& wire = *ctx_->wire;
  SessionInfo info;
  int64_t id = 1;
  std::string err;
  json result;
  // Sends one request and waits for its response, skipping notifications.
  auto request = [&](const std::string& body) {
    if (!WriteAll(body + "\n")) return false;
    std::string_view line;
    for (;;) {
      if (!NextLine(&line)) return false;
      auto v = ParseHandshakeResponse(line, id, &result, &err);
      if (v == CallVerifier::Verdict::kOk) return true;
      if (v == CallVerifier::Verdict::kBad) return Fail("handshake: " + err);
    }
  };
  if (wire.has_initialize()) {
    if (!request(wire.InitializeRequest(id))) return false;
    *init_ms = (NowNs() - spawn_ns) / 1e6;
    if (!wire.AcceptInitializeResult(result, &info, &err)) return Fail(err);
    if (!WriteAll(wire.InitializedNotification() + "\n")) return false;
  }
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    ++id;
    if (!request(wire.ListToolsRequest(id, cursor))) return false;
    // Without initialize, the first answer of any kind marks the start.
    if (!wire.has_initialize() && page == 0) *init_ms = (NowNs() - spawn_ns) / 1e6;
    if (ToolListed(result, ctx_->call.tool, &cursor, &err)) return true;
    if (cursor.empty()) return Fail(err);
  }
  return Fail("tools/list: more than 100 pages");
}

bool StdioTarget::WriteAll(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = write(to_server_, bytes.data(), bytes.size());
    if (n > 0) {
      bytes.remove_prefix(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return Fail(std::string("write to server: ") + strerror(errno));
    }
    if (ctx_->deadline->Passed()) return Fail("deadline passed while writing");
    pollfd p = {to_server_, POLLOUT, 0};
    poll(&p, 1, ctx_->deadline->PollTimeoutMs());
  }
  return true;
}

bool StdioTarget::FillBuffer(bool want_write) {
  if (ctx_->deadline->Passed()) return Fail("deadline passed");
  pollfd p[2] = {{from_server_, POLLIN, 0}, {to_server_, POLLOUT, 0}};
  int n = poll(p, want_write ? 2 : 1, ctx_->deadline->PollTimeoutMs());
  if (n <= 0 || (p[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
    return true;  // timeout slice or only writable: caller loops
  }
  constexpr size_t kChunk = 256 * 1024;
  ssize_t r = read(from_server_, buf_.Reserve(kChunk), kChunk);
  if (r > 0) {
    buf_.Commit(r);
    return true;
  }
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  return Fail(r == 0 ? "server closed stdout (exited?)"
                     : std::string("read: ") + strerror(errno));
}

bool StdioTarget::NextLine(std::string_view* line) {
  for (;;) {
    std::string_view data = buf_.View();
    size_t nl = data.find('\n');
    if (nl != std::string_view::npos) {
      // Consume() keeps the bytes in place until the next Reserve().
      *line = data.substr(0, nl);
      buf_.Consume(nl + 1);
      return true;
    }
    if (!FillBuffer(false)) return false;
  }
}

bool StdioTarget::RunCalls(const CallPlan& plan, PhaseResult* out) {
  const int64_t base = ctx_->next_call_id;
  ctx_->next_call_id += plan.count;
  // Per call: 0 = not sent, >0 = send time, -1 = answered.
  std::vector<int64_t> sent(plan.count, 0);
  out->latency_ns.reserve(out->latency_ns.size() + plan.count);

  // One request line with a 10-digit id placeholder patched per call.
  const CallFrame frame = ctx_->wire->ToolsCallFrame(ctx_->call);
  const std::string line = frame.prefix + "0000000000" + frame.suffix + "\n";
  const size_t id_pos = frame.prefix.size();

  std::string pending;  // requests not yet written
  size_t pending_pos = 0;
  int64_t issued = 0, done = 0, in_flight = 0;
  int64_t target = plan.count;  // lowered to `issued` when the cap hits
  std::string err;
  const int64_t start = NowNs();
  while (done < target) {
    if (plan.max_ns > 0 && issued < target && NowNs() - start > plan.max_ns) {
      target = issued;
      out->capped = true;
      continue;
    }
    // Refill the window in one batch, then write as much as the pipe takes.
    int64_t room =
        std::min<int64_t>(plan.concurrency - in_flight, target - issued);
    if (room > 0) {
      if (pending_pos == pending.size()) {
        pending.clear();
        pending_pos = 0;
      }
      const int64_t now = NowNs();
      for (int64_t i = 0; i < room; ++i, ++issued) {
        size_t at = pending.size();
        pending += line;
        std::to_chars(pending.data() + at + id_pos,
                      pending.data() + at + id_pos + 10, base + issued);
        sent[issued] = now;
      }
      in_flight += room;
      out->issued += room;
    }
    while (pending_pos < pending.size()) {
      ssize_t n = write(to_server_, pending.data() + pending_pos,
                        pending.size() - pending_pos);
      if (n > 0) {
        pending_pos += n;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        break;
      } else {
        return Fail(std::string("write to server: ") + strerror(errno));
      }
    }
    if (!FillBuffer(pending_pos < pending.size())) return false;
    const int64_t now = NowNs();  // one receive time per read()
    std::string_view data = buf_.View();
    size_t used = 0;
    for (size_t nl; (nl = data.find('\n', used)) != std::string_view::npos;) {
      std::string_view msg = data.substr(used, nl - used);
      used = nl + 1;
      int64_t id = 0;
      switch (ctx_->verifier->Check(msg, &id, &err)) {
        case CallVerifier::Verdict::kNotification:
          ++out->notifications;
          continue;
        case CallVerifier::Verdict::kBad:
          return Fail("call response: " + err);
        case CallVerifier::Verdict::kOk:
          break;
      }
      const int64_t idx = id - base;
      if (idx < 0 || idx >= issued || sent[idx] <= 0) {
        return Fail("response to an unknown or already answered id " +
                    std::to_string(id));
      }
      out->latency_ns.push_back(now - sent[idx]);
      sent[idx] = -1;
      --in_flight;
      ++done;
      ++out->calls;
      if (plan.rss_every > 0 && done % plan.rss_every == 0) {
        out->rss_kb.push_back(ProcessStatusKb(pid_, "VmRSS"));
      }
    }
    buf_.Consume(used);
  }
  out->elapsed_ns += NowNs() - start;
  return true;
}

void StdioTarget::Close() {
  if (to_server_ >= 0) close(to_server_);  // EOF: a server should exit
  to_server_ = -1;
  if (pid_ > 0) {
    // Up to 2 s for a clean exit, then TERM, then KILL.
    int status = 0;
    const int64_t give_up = NowNs() + 2000000000;
    int sig_step = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (NowNs() > give_up + sig_step * 500000000LL) {
        kill(pid_, sig_step == 0 ? SIGTERM : SIGKILL);
        if (++sig_step > 2) {
          waitpid(pid_, &status, 0);
          break;
        }
      }
      usleep(2000);
    }
    pid_ = -1;
  }
  if (from_server_ >= 0) close(from_server_);
  from_server_ = -1;
}

}  // namespace

std::unique_ptr<Target> MakeStdioTarget(TargetContext* ctx,
                                        std::vector<std::string> argv,
                                        int server_cpu) {
  return std::make_unique<StdioTarget>(ctx, std::move(argv), server_cpu);
}

}  // namespace mcp_bench
