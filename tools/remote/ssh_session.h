// SshSession: one TCP connection and one libssh2 session to one host, on
// which many threads run commands (one channel each) and SFTP operations at
// the same time. SshRemote (ssh_remote.h) shares one SshSession per host per
// process and replaces it when it breaks; this class never reconnects.
//
// Threading design
// ----------------
// libssh2 is not thread-safe per session, and a call on one channel may read
// packets that belong to another. So:
//
//  * io_mu_ guards every libssh2 call on the session. The session is in
//    non-blocking mode: a call either completes or returns EAGAIN at once,
//    and no thread ever sleeps inside libssh2 while holding io_mu_.
//  * A caller whose call returned EAGAIN waits for input *without* io_mu_
//    (WaitForInput). Exactly one waiter at a time, the "poller", sleeps in
//    poll() on the socket (and on an eventfd); the others sleep on io_cv_.
//    Whenever a call returns something other than EAGAIN, or our recv hook
//    saw new bytes arrive, the progress counter moves: io_cv_ is notified
//    and the poller is woken through the eventfd, and every waiter retries
//    its call. This matters because libssh2 reads every packet that is on
//    the socket into per-channel queues, so the data one thread waits for
//    may have been read by another. A slow command therefore never holds up
//    another's progress: its thread holds io_mu_ only for one pass of
//    non-blocking calls and yields it between passes, even while output
//    keeps streaming in.
//  * Outbound exception: when a send was cut short (kernel buffer full),
//    libssh2 keeps the rest of that packet and fails any *different* send
//    with LIBSSH2_ERROR_BAD_USE until it is finished. Our send hook notices
//    the short write (outbound_pending_), and the thread whose call caused
//    it keeps io_mu_ and repeats that same call until the packet is out
//    (bounded by io_timeout; a peer that accepts nothing for that long is
//    declared dead). Loopback and LAN peers drain far faster than that.
//  * open_mu_ serialises channel open, exec and SFTP start, from the
//    request until its reply: libssh2 keeps a pending channel open in the
//    session, not the channel, and its reply matching for channel requests
//    (_libssh2_packet_requirev in 1.10) fails a waiter with -1 when it reads
//    the reply meant for another channel's request. With one request in
//    flight, every reply read is the one awaited. This costs one round trip
//    per command start, not the command's run time.
//  * sftp_mu_ serialises SFTP operations: the one SFTP channel keeps the
//    state of a pending request in its own struct.
//  * Lock order: sftp_mu_, then open_mu_, then io_mu_.
//  * At most options.max_channels channels are open at once (a counting
//    semaphore), so the server's MaxSessions is not hit; further callers wait
//    for a free channel until their deadline.
//  * A timed-out command's channel is closed but cannot be freed until the
//    server closes it too (sshd waits for the command to exit); it is kept
//    in abandoned_ and freed by a later Exec.
//  * A keepalive thread sends libssh2 keepalives when no I/O happened for
//    options.keepalive, so idle connections survive NAT and firewalls, and a
//    dead peer is noticed (the send fails) before the next command.
//
// Once broken (socket error, peer closed, stalled send), a session stays
// broken: every call fails with ssh_unreachable, and the owner replaces it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mcp_server/status.h"
#include "tools/remote/remote.h"
#include "tools/remote/ssh_options.h"

// libssh2's handles, declared here so that only the ssh_*.cc files include
// libssh2.h.
struct _LIBSSH2_SESSION;
struct _LIBSSH2_CHANNEL;
struct _LIBSSH2_SFTP;
struct _LIBSSH2_SFTP_HANDLE;

namespace hpc::remote {

class SshSession {
 public:
  using Clock = std::chrono::steady_clock;

  // Connects, checks the host key against known_hosts, authenticates.
  // Errors: ssh_unreachable (retry_safe: nothing ran), host_key_unknown,
  // host_key_changed, auth_failed.
  static Result<std::shared_ptr<SshSession>> Connect(const SshOptions& options);

  ~SshSession();
  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;

  // Runs `command`, a string for the remote user's shell, on a new channel:
  // writes `stdin_data` then EOF, collects stdout and stderr (each capped at
  // `max_output`, the rest read and dropped) and the exit status or signal.
  // Errors:
  //   ssh_unreachable, retry_safe=true: no channel could be opened; the
  //     command did not run.
  //   ssh_unreachable, retry_safe=false: the connection dropped after the
  //     command was sent; it may have run.
  //   timeout: `deadline` passed; the channel was closed. A remote process
  //     that neither reads nor writes may outlive its channel (sshd sends no
  //     signal to commands without a terminal).
  //   command_failed: the server refused to execute it.
  Result<CommandResult> Exec(const std::string& command,
                             const std::string& stdin_data, size_t max_output,
                             Clock::time_point deadline);

  // SFTP, one operation at a time on one shared SFTP channel. Errors:
  // not_found, permission_denied, io_error, timeout, and ssh_unreachable
  // (retry_safe: these operations may be repeated).
  Result<std::string> SftpRead(const std::string& path, uint64_t offset,
                               size_t max_bytes, Clock::time_point deadline);
  // Follows symbolic links.
  Result<FileInfo> SftpStat(const std::string& path,
                            Clock::time_point deadline);
  Status SftpMkdir(const std::string& path, uint32_t mode,
                   Clock::time_point deadline);
  // Creates `path` (it must not exist: O_EXCL), writes `content`, sets
  // `mode` exactly (not through the server's umask), fsyncs when the server
  // supports fsync@openssh.com, closes.
  Status SftpWriteNew(const std::string& path, std::string_view content,
                      uint32_t mode, Clock::time_point deadline);
  // Asks for OVERWRITE|ATOMIC|NATIVE; servers speaking SFTP v3 (OpenSSH)
  // ignore the flags and refuse to replace an existing file.
  Status SftpRename(const std::string& from, const std::string& to,
                    Clock::time_point deadline);
  Status SftpUnlink(const std::string& path, Clock::time_point deadline);
  // Entries other than "." and ".."; links are reported as themselves.
  Result<std::vector<DirEntry>> SftpList(const std::string& path,
                                         Clock::time_point deadline);

  // True once the connection is unusable; it never becomes usable again.
  bool broken() const { return broken_.load(); }
  // "user@host:port", for messages.
  const std::string& target() const { return target_; }

 private:
  using Lock = std::unique_lock<std::mutex>;

  explicit SshSession(const SshOptions& options);
  Status Open();
  Status OpenSocket(Clock::time_point deadline);
  Status CheckHostKey();
  Status Authenticate();

  // One libssh2 call `f` (returning 0 or a count on success, a negative
  // libssh2 code on failure), made under `lk`. Applies the outbound rule
  // (see the file comment), marks the session broken on fatal codes, and
  // moves the progress counter. REQUIRES: lk holds io_mu_.
  int Call(Lock& lk, const std::function<int()>& f);
  // Repeats Call(f) while it returns EAGAIN, waiting for input in between,
  // until `deadline` (then LIBSSH2_ERROR_TIMEOUT).
  int Drive(Lock& lk, const std::function<int()>& f,
            Clock::time_point deadline);
  // Sleeps (releasing io_mu_) until progress moved past `seen`, the socket
  // is readable, the session broke, or at most 200 ms.
  void WaitForInput(Lock& lk, uint64_t seen, Clock::time_point deadline);
  // REQUIRES: io_mu_ held.
  void MarkBroken(const std::string& why);
  void WakePoller();

  // Closes and frees `channel` without waiting; one the server has not
  // closed yet (its command still runs) goes to abandoned_.
  void FreeChannel(Lock& lk, _LIBSSH2_CHANNEL* channel);
  // Frees the abandoned channels whose commands have ended meanwhile.
  void ReapAbandoned(Lock& lk);
  // Runs `body` with an open SFTP channel, holding sftp_mu_ and io_mu_
  // (passed as `lk`). Restarts the SFTP channel after a timeout, whose
  // half-done request would confuse the next one.
  Status WithSftp(Clock::time_point deadline,
                  const std::function<Status(Lock&)>& body);
  void CloseSftpHandle(Lock& lk, _LIBSSH2_SFTP_HANDLE* handle);
  // The Status for a failed SFTP call doing `what`. REQUIRES: io_mu_ held.
  Status SftpError(int rc, const std::string& what) const;

  void KeepaliveLoop(std::stop_token stop);

  // libssh2 I/O hooks: plain send/recv that also record what happened.
  static ssize_t SendHook(int socket, const void* buffer, size_t length,
                          int flags, void** abstract);
  static ssize_t RecvHook(int socket, void* buffer, size_t length, int flags,
                          void** abstract);

  const SshOptions options_;
  const std::string target_;
  int sock_ = -1;
  int wake_fd_ = -1;  // eventfd that interrupts the poller's poll().
  _LIBSSH2_SESSION* session_ = nullptr;

  std::mutex sftp_mu_;
  _LIBSSH2_SFTP* sftp_ = nullptr;  // Guarded by sftp_mu_.
  bool sftp_holds_slot_ = false;   // Guarded by sftp_mu_.
  std::mutex open_mu_;

  std::mutex io_mu_;
  std::condition_variable io_cv_;
  // All guarded by io_mu_ (the hooks run inside libssh2 calls, which are
  // made under io_mu_).
  uint64_t progress_ = 0;
  uint64_t bytes_in_ = 0;
  bool poller_active_ = false;
  bool outbound_pending_ = false;
  bool peer_gone_ = false;
  std::string broken_why_;
  Clock::time_point last_io_;
  std::vector<_LIBSSH2_CHANNEL*> abandoned_;
  std::atomic<bool> broken_{false};

  std::counting_semaphore<1024> slots_;

  std::mutex keepalive_mu_;
  std::condition_variable_any keepalive_cv_;
  std::jthread keepalive_;  // Last: stopped and joined first.
};

}  // namespace hpc::remote
