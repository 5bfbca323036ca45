// SshSession::Exec: one command on one channel of the shared session.
#include <libssh2.h>

#include <algorithm>
#include <thread>

#include "tools/remote/command_line.h"
#include "tools/remote/remote_errors.h"
#include "tools/remote/ssh_session.h"
#include "tools/remote/ssh_status.h"

namespace hpc::remote {
namespace {

using std::chrono::milliseconds;

// Returns a channel slot on every path out of Exec.
class SlotRelease {
 public:
  explicit SlotRelease(std::counting_semaphore<1024>& slots) : slots_(slots) {}
  ~SlotRelease() { slots_.release(); }
  SlotRelease(const SlotRelease&) = delete;
  SlotRelease& operator=(const SlotRelease&) = delete;

 private:
  std::counting_semaphore<1024>& slots_;
};

// One output stream, capped: the excess is read and dropped so the remote
// side never stalls on a full window.
struct Capped {
  std::string* text;
  bool* truncated;
  size_t max;
  void Add(const char* data, size_t n) {
    size_t room = text->size() < max ? max - text->size() : 0;
    text->append(data, std::min(room, n));
    if (n > room) *truncated = true;
  }
};

}  // namespace

void SshSession::FreeChannel(Lock& lk, LIBSSH2_CHANNEL* channel) {
  if (broken_) {
    // The socket is shut down: libssh2 fails the CLOSE send at once and
    // frees the channel anyway.
    libssh2_channel_free(channel);
    return;
  }
  int rc = Call(lk, [&] { return libssh2_channel_free(channel); });
  // libssh2 frees a channel only once the server closed it too, and sshd
  // closes a session channel only when its command has exited. A command
  // that outlived its deadline is left to ReapAbandoned.
  if (rc == LIBSSH2_ERROR_EAGAIN && !broken_) abandoned_.push_back(channel);
}

void SshSession::ReapAbandoned(Lock& lk) {
  for (size_t i = 0; i < abandoned_.size();) {
    LIBSSH2_CHANNEL* channel = abandoned_[i];
    int rc = broken_ ? libssh2_channel_free(channel)
                     : Call(lk, [&] { return libssh2_channel_free(channel); });
    if (rc == LIBSSH2_ERROR_EAGAIN && !broken_) {
      ++i;
    } else {
      abandoned_.erase(abandoned_.begin() + static_cast<long>(i));
    }
  }
}

Result<CommandResult> SshSession::Exec(const std::string& command,
                                       const std::string& stdin_data,
                                       size_t max_output,
                                       Clock::time_point deadline) {
  const auto start = Clock::now();
  ssh_status::Op op{"open a channel", target_, false, ""};
  if (!slots_.try_acquire_until(deadline)) {
    return RemoteError(
        Reason::kTimeout,
        "all " + std::to_string(options_.max_channels) + " channels to " +
            target_ +
            " stayed busy until the deadline; the command did not "
            "run",
        true,
        "retry when fewer commands run, or raise max_channels (below "
        "the server's MaxSessions)");
  }
  SlotRelease release(slots_);

  // open_mu_ is held until the exec request is answered: see the header.
  std::unique_lock open_lock(open_mu_);
  Lock lk(io_mu_);
  ReapAbandoned(lk);
  LIBSSH2_CHANNEL* channel = nullptr;
  const auto open_deadline =
      std::min(deadline, Clock::now() + options_.io_timeout);
  for (int attempt = 0;; ++attempt) {
    int rc = Drive(
        lk,
        [&] {
          channel = libssh2_channel_open_session(session_);
          return channel != nullptr ? 0 : libssh2_session_last_errno(session_);
        },
        open_deadline);
    if (rc == 0) break;
    // "administratively prohibited": the server's MaxSessions is below our
    // max_channels (or others share the account's sessions). Wait for a
    // channel to close, within the deadline.
    auto backoff = milliseconds(25 << std::min(attempt, 3));
    if (rc == LIBSSH2_ERROR_CHANNEL_FAILURE && attempt < 40 &&
        Clock::now() + backoff < open_deadline) {
      lk.unlock();
      std::this_thread::sleep_for(backoff);
      lk.lock();
      continue;
    }
    if (broken_) op.broken_why = broken_why_;
    return ssh_status::FromCall(session_, rc, op);
  }

  // From the first byte of the exec request on, the command may run: no
  // failure after this point may be retried by anyone.
  op.what = "start the command";
  op.may_have_run = true;
  int rc = Drive(
      lk, [&] { return libssh2_channel_exec(channel, command.c_str()); },
      deadline);
  open_lock.unlock();
  if (rc != 0) {
    if (broken_) op.broken_why = broken_why_;
    Status st = ssh_status::FromCall(session_, rc, op);
    FreeChannel(lk, channel);
    return st;
  }

  CommandResult result;
  Capped out{&result.out, &result.out_truncated, max_output};
  Capped err{&result.err, &result.err_truncated, max_output};
  char buf[32768];
  auto drain = [&](int stream, Capped& sink) {
    for (int i = 0; i < 64; ++i) {  // At most 2 MiB per pass.
      int n = Call(lk, [&] {
        return static_cast<int>(
            libssh2_channel_read_ex(channel, stream, buf, sizeof buf));
      });
      if (n <= 0) return n;
      sink.Add(buf, static_cast<size_t>(n));
    }
    return static_cast<int>(LIBSSH2_ERROR_EAGAIN);  // Progress moved: no wait.
  };

  size_t written = 0;
  bool eof_sent = false;
  bool finished = false;
  op.what = "run the command";
  // Bounded by the deadline: a pass that makes no progress sleeps in
  // WaitForInput (at most 200 ms).
  while (!finished && !broken_ && Clock::now() < deadline) {
    const uint64_t seen = progress_;
    if (!eof_sent && written < stdin_data.size()) {
      size_t chunk = std::min<size_t>(stdin_data.size() - written, 32768);
      int w = Call(lk, [&] {
        return static_cast<int>(
            libssh2_channel_write(channel, stdin_data.data() + written, chunk));
      });
      if (w > 0) {
        written += static_cast<size_t>(w);
      } else if (w != LIBSSH2_ERROR_EAGAIN) {
        written = stdin_data.size();  // The command closed its stdin.
      }
    }
    if (!eof_sent && written >= stdin_data.size()) {
      int e = Call(lk, [&] { return libssh2_channel_send_eof(channel); });
      if (e != LIBSSH2_ERROR_EAGAIN) eof_sent = true;
    }
    int r_out = drain(0, out);
    int r_err = drain(SSH_EXTENDED_DATA_STDERR, err);
    if (broken_) break;
    for (int r : {r_out, r_err}) {
      if (r < 0 && r != LIBSSH2_ERROR_EAGAIN) {
        Status st = ssh_status::FromCall(session_, r, op);
        FreeChannel(lk, channel);
        return st;
      }
    }
    if (r_out == 0 && r_err == 0 && libssh2_channel_eof(channel) == 1) {
      finished = true;
      break;
    }
    WaitForInput(lk, seen, deadline);
  }
  if (finished) {
    // EOF came; the exit status arrives before the server closes.
    rc = Drive(
        lk, [&] { return libssh2_channel_wait_closed(channel); }, deadline);
    if (rc == LIBSSH2_ERROR_TIMEOUT) finished = false;
  }
  if (broken_) {
    op.broken_why = broken_why_;
    Status st =
        ssh_status::FromCall(session_, LIBSSH2_ERROR_SOCKET_DISCONNECT, op);
    FreeChannel(lk, channel);
    return st;
  }
  if (!finished) {
    FreeChannel(lk, channel);  // Sends EOF and CLOSE; the server closes its
                               // side of the command's pipes.
    auto ms = std::chrono::duration_cast<milliseconds>(deadline - start);
    return RemoteError(
        Reason::kTimeout,
        "the command on " + target_ + " ran longer than " +
            std::to_string(ms.count()) +
            " ms; its channel was closed (a remote process that neither "
            "reads nor writes may still be running)",
        false, "raise the timeout, or submit long work as a batch job");
  }

  char* signal_name = nullptr;
  size_t signal_len = 0;
  libssh2_channel_get_exit_signal(channel, &signal_name, &signal_len, nullptr,
                                  nullptr, nullptr, nullptr);
  if (signal_name != nullptr) {
    result.exit_code = -1;
    result.signal = SignalNumber(std::string_view(signal_name, signal_len));
    libssh2_free(session_, signal_name);
  } else {
    result.exit_code = libssh2_channel_get_exit_status(channel);
  }
  FreeChannel(lk, channel);
  result.elapsed =
      std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  return result;
}

}  // namespace hpc::remote
