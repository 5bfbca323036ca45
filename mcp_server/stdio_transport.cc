#include "mcp_server/stdio_transport.h"

#include <errno.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace hpc::mcp {
namespace {

// Serializes messages onto one fd from any thread. A dedicated thread does
// the writes, so producers never block on a slow reader and messages that
// arrive together leave in one write().
class FdWriter : public Outbound {
 public:
  explicit FdWriter(int fd) : fd_(fd), thread_([this] { Loop(); }) {}
  ~FdWriter() override { Close(); }

  void Notify(const json& m) override { Write(Dump(m)); }
  void Respond(const json& m) override { Write(Dump(m)); }

  // Flushes what is queued and stops the writer thread.
  void Close() {
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      closing_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  // While corked, output accumulates without waking the writer thread; the
  // reader corks while it works through one read()'s worth of requests, so
  // that their answers leave in one write() after one wake-up instead of
  // one each.
  void Cork() {
    std::lock_guard lock(mu_);
    corked_ = true;
  }
  void Uncork() {
    std::lock_guard lock(mu_);
    corked_ = false;
    if (!buffer_.empty()) cv_.notify_one();
  }

 private:
  void Write(std::string line) {
    line.push_back('\n');
    std::lock_guard lock(mu_);
    if (broken_) return;
    bool wake = buffer_.empty() && !corked_;
    buffer_ += line;
    if (wake) cv_.notify_one();
  }

  void Loop() {
    std::string out;
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return !buffer_.empty() || closing_; });
      if (buffer_.empty()) return;  // closing_ and drained.
      out.swap(buffer_);
      lock.unlock();
      size_t done = 0;
      bool ok = true;
      while (done < out.size()) {
        ssize_t n = ::write(fd_, out.data() + done, out.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          ok = false;
          break;
        }
        done += static_cast<size_t>(n);
      }
      out.clear();
      lock.lock();
      if (!ok) {
        spdlog::warn("stdout is closed; dropping further output");
        broken_ = true;
        buffer_.clear();
      }
    }
  }

  const int fd_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string buffer_;
  bool closing_ = false, broken_ = false, corked_ = false;
  std::thread thread_;
};

}  // namespace

int ServeStdio(Server& server, const StdioOptions& options) {
  auto writer = std::make_shared<FdWriter>(options.out_fd);
  auto session = server.NewSession("");
  session->SetStandalone(writer);

  std::string pending;  // Bytes after the last newline.
  bool discarding = false;  // Skipping the rest of an oversized line.
  char buf[1 << 16];
  bool stopped = false;
  for (;;) {
    pollfd fds[2] = {{options.in_fd, POLLIN, 0}, {options.stop_fd, POLLIN, 0}};
    int nfds = options.stop_fd >= 0 ? 2 : 1;
    int rc = ::poll(fds, nfds, -1);
    if (rc < 0 && errno == EINTR) continue;
    if (nfds == 2 && fds[1].revents) {
      stopped = true;
      break;
    }
    ssize_t n = ::read(options.in_fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;  // EOF or a broken stdin.
    std::string_view chunk(buf, static_cast<size_t>(n));
    writer->Cork();
    size_t start = 0;
    for (;;) {
      size_t nl = chunk.find('\n', start);
      if (nl == std::string_view::npos) {
        if (!discarding) pending.append(chunk.substr(start));
        break;
      }
      std::string_view line = chunk.substr(start, nl - start);
      start = nl + 1;
      if (discarding) {
        discarding = false;
        continue;
      }
      std::string joined;
      if (!pending.empty()) {
        joined = std::move(pending);
        pending.clear();
        joined.append(line);
        line = joined;
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
      server.HandleText(session, line, writer);
    }
    writer->Uncork();
    if (pending.size() > options.max_message_bytes) {
      pending.clear();
      discarding = true;
      writer->Respond(MakeError(
          nullptr, {rpc::kInvalidRequest,
                    "Invalid request: message larger than " +
                        std::to_string(options.max_message_bytes) +
                        " bytes; it was discarded",
                    nullptr}));
    }
  }

  if (!stopped) {
    // EOF: a client may close its end and still read the answers, so give
    // requests in flight a bounded time to finish.
    auto deadline = std::chrono::steady_clock::now() + options.eof_grace;
    while (session->in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  server.CloseSession(session);
  server.Shutdown();
  writer->Close();
  spdlog::info("stdio transport stopped ({})", stopped ? "signal" : "end of input");
  return 0;
}

}  // namespace hpc::mcp
