// SshSession: connecting, the host key, authentication, the I/O discipline
// (Call, Drive, WaitForInput) and keepalives. Commands are in ssh_exec.cc,
// SFTP in ssh_sftp.cc; libssh2 codes become Status in ssh_status.cc.
#include "tools/remote/ssh_session.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "tools/remote/remote_errors.h"
#include "tools/remote/ssh_status.h"

namespace hpc::remote {
namespace {

using std::chrono::milliseconds;

int MsUntil(SshSession::Clock::time_point t, milliseconds cap) {
  auto left =
      std::chrono::duration_cast<milliseconds>(t - SshSession::Clock::now());
  return static_cast<int>(std::clamp(left, milliseconds(0), cap).count());
}

void InitLibssh2Once() {
  // libssh2_init is not thread-safe; libssh2_exit is never called because
  // sessions may outlive static destruction order.
  static std::once_flag once;
  std::call_once(once, [] { libssh2_init(0); });
}

std::string ExpandHome(const std::string& path) {
  if (path.size() >= 2 && path[0] == '~' && path[1] == '/') {
    const char* home = std::getenv("HOME");
    if (home != nullptr) return std::string(home) + path.substr(1);
  }
  return path;
}

std::string KnownHostsPath(const SshOptions& options) {
  return ExpandHome(options.known_hosts.empty() ? "~/.ssh/known_hosts"
                                                : options.known_hosts);
}

// Host key algorithms in our order of preference, with what known_hosts
// calls them.
struct KeyKind {
  const char* method;  // For libssh2_session_method_pref.
  int knownhost_type;  // LIBSSH2_KNOWNHOST_KEY_*
  int hostkey_type;    // LIBSSH2_HOSTKEY_TYPE_*
};
constexpr KeyKind kKeyKinds[] = {
    {"ssh-ed25519", LIBSSH2_KNOWNHOST_KEY_ED25519,
     LIBSSH2_HOSTKEY_TYPE_ED25519},
    {"ecdsa-sha2-nistp256", LIBSSH2_KNOWNHOST_KEY_ECDSA_256,
     LIBSSH2_HOSTKEY_TYPE_ECDSA_256},
    {"ecdsa-sha2-nistp384", LIBSSH2_KNOWNHOST_KEY_ECDSA_384,
     LIBSSH2_HOSTKEY_TYPE_ECDSA_384},
    {"ecdsa-sha2-nistp521", LIBSSH2_KNOWNHOST_KEY_ECDSA_521,
     LIBSSH2_HOSTKEY_TYPE_ECDSA_521},
    {"ssh-rsa", LIBSSH2_KNOWNHOST_KEY_SSHRSA, LIBSSH2_HOSTKEY_TYPE_RSA},
};

const KeyKind* KindOfHostKey(int hostkey_type) {
  for (const auto& k : kKeyKinds) {
    if (k.hostkey_type == hostkey_type) return &k;
  }
  return nullptr;
}

// known_hosts, read line by line: libssh2_knownhost_readfile gives up at the
// first line it cannot parse (@cert-authority, sk- keys), losing the rest.
class KnownHosts {
 public:
  explicit KnownHosts(LIBSSH2_SESSION* session)
      : hosts_(libssh2_knownhost_init(session)) {}
  ~KnownHosts() {
    if (hosts_ != nullptr) libssh2_knownhost_free(hosts_);
  }
  KnownHosts(const KnownHosts&) = delete;
  KnownHosts& operator=(const KnownHosts&) = delete;

  bool ok() const { return hosts_ != nullptr; }

  void Load(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    for (int guard = 0; guard < 1000000 && std::getline(in, line); ++guard) {
      if (line.empty() || line[0] == '#' || line[0] == '@') continue;
      line += '\n';
      libssh2_knownhost_readline(hosts_, line.data(), line.size(),
                                 LIBSSH2_KNOWNHOST_FILE_OPENSSH);
    }
  }

  int Check(const std::string& host, int port, const char* key, size_t len,
            int key_type) {
    libssh2_knownhost* found = nullptr;
    return libssh2_knownhost_checkp(
        hosts_, host.c_str(), port, key, len,
        LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | key_type,
        &found);
  }

  // Whether some key of `key_type` is recorded for the host: a check with a
  // key that cannot be anyone's then reports a mismatch. Works for hashed
  // host names too, which a scan of the names could not match.
  bool Knows(const std::string& host, int port, int key_type) {
    static const char kNobody[] = "hpc-mcp: not a key";
    return Check(host, port, kNobody, sizeof kNobody - 1, key_type) ==
           LIBSSH2_KNOWNHOST_CHECK_MISMATCH;
  }

 private:
  LIBSSH2_KNOWNHOSTS* hosts_;
};

std::string Base64NoPad(const unsigned char* data, size_t len) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = static_cast<uint32_t>(data[i]) << 16;
    if (i + 1 < len) v |= static_cast<uint32_t>(data[i + 1]) << 8;
    if (i + 2 < len) v |= data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (i + 1 < len) out += kAlphabet[(v >> 6) & 63];
    if (i + 2 < len) out += kAlphabet[v & 63];
  }
  return out;
}

}  // namespace

// --- construction and teardown ---

SshSession::SshSession(const SshOptions& options)
    : options_(options),
      target_(options.user + "@" + options.host + ":" +
              std::to_string(options.port)),
      slots_(std::clamp(options.max_channels, 1, 1024)) {}

Result<std::shared_ptr<SshSession>> SshSession::Connect(
    const SshOptions& options) {
  InitLibssh2Once();
  std::shared_ptr<SshSession> session(new SshSession(options));
  Status st = session->Open();
  if (!st.ok()) return st;
  return session;
}

SshSession::~SshSession() {
  if (keepalive_.joinable()) {
    keepalive_.request_stop();
    keepalive_cv_.notify_all();
    keepalive_.join();
  }
  if (session_ != nullptr) {
    Lock lk(io_mu_);
    libssh2_session_set_blocking(session_, 0);
    auto grace = Clock::now() + std::chrono::seconds(1);
    if (sftp_ != nullptr && !broken_) {
      Drive(
          lk, [&] { return libssh2_sftp_shutdown(sftp_); }, grace);
    }
    if (!broken_) {
      Drive(
          lk,
          [&] { return libssh2_session_disconnect(session_, "hpc-mcp: done"); },
          grace);
    }
    // A broken or departing session must not block in free: with the socket
    // shut down every send fails at once instead of waiting.
    if (sock_ >= 0) ::shutdown(sock_, SHUT_RDWR);
    for (int i = 0;
         i < 10 && libssh2_session_free(session_) == LIBSSH2_ERROR_EAGAIN;
         ++i) {
    }
    session_ = nullptr;
  }
  if (sock_ >= 0) ::close(sock_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status SshSession::Open() {
  const auto deadline = Clock::now() + options_.connect_timeout;
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return ErrnoError(errno, "eventfd");
  HPC_RETURN_IF_ERROR(OpenSocket(deadline));

  session_ = libssh2_session_init_ex(nullptr, nullptr, nullptr, this);
  if (session_ == nullptr) {
    return RemoteError(Reason::kIoError, "libssh2 could not create a session",
                       true);
  }
  libssh2_session_callback_set(session_, LIBSSH2_CALLBACK_SEND,
                               reinterpret_cast<void*>(&SendHook));
  libssh2_session_callback_set(session_, LIBSSH2_CALLBACK_RECV,
                               reinterpret_cast<void*>(&RecvHook));

  // Ask first for key types that known_hosts holds for this host, as
  // OpenSSH does: a host with several keys would otherwise present one we
  // have no record of and look unknown.
  {
    KnownHosts known(session_);
    if (known.ok()) {
      known.Load(KnownHostsPath(options_));
      std::string first, rest;
      for (const auto& k : kKeyKinds) {
        std::string& list =
            known.Knows(options_.host, options_.port, k.knownhost_type) ? first
                                                                        : rest;
        list += (list.empty() ? "" : ",") + std::string(k.method);
      }
      std::string prefs =
          first + (first.empty() || rest.empty() ? "" : ",") + rest;
      libssh2_session_method_pref(session_, LIBSSH2_METHOD_HOSTKEY,
                                  prefs.c_str());
    }
  }

  // Blocking mode, bounded by the connect timeout, while nobody else can
  // use the session; non-blocking from then on (see the header).
  libssh2_session_set_blocking(session_, 1);
  libssh2_session_set_timeout(
      session_, std::max<long>(1, MsUntil(deadline, milliseconds(3600000))));
  int rc = libssh2_session_handshake(session_, sock_);
  if (rc != 0) return ssh_status::FromHandshake(session_, rc, target_);
  HPC_RETURN_IF_ERROR(CheckHostKey());
  libssh2_session_set_timeout(
      session_, std::max<long>(1, MsUntil(deadline, milliseconds(3600000))));
  HPC_RETURN_IF_ERROR(Authenticate());

  if (options_.keepalive.count() > 0) {
    libssh2_keepalive_config(session_, 1,
                             static_cast<unsigned>(options_.keepalive.count()));
  }
  libssh2_session_set_timeout(session_, 0);
  libssh2_session_set_blocking(session_, 0);
  last_io_ = Clock::now();
  if (options_.keepalive.count() > 0) {
    keepalive_ =
        std::jthread([this](std::stop_token stop) { KeepaliveLoop(stop); });
  }
  return Status::Ok();
}

Status SshSession::OpenSocket(Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(options_.port);
  int gai = ::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found);
  if (gai != 0) {
    return RemoteError(
        Reason::kSshUnreachable,
        "cannot resolve host '" + options_.host + "': " + ::gai_strerror(gai),
        true, "check the profile's access.host");
  }
  std::string last_error = "no address";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                 ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int err = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int ready = ::poll(&p, 1, MsUntil(deadline, milliseconds(3600000)));
        socklen_t len = sizeof err;
        err = ready <= 0 ? ETIMEDOUT : 0;
        if (ready > 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
    if (err != 0) {
      last_error = err == ETIMEDOUT ? "connect timed out" : std::strerror(err);
      ::close(fd);
      continue;
    }
    // Commands are small request/response exchanges: Nagle would add
    // delayed-ACK latency to every one.
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sock_ = fd;
    break;
  }
  ::freeaddrinfo(found);
  if (sock_ < 0) {
    return RemoteError(
        Reason::kSshUnreachable,
        "cannot connect to " + options_.host + ":" + port + ": " + last_error,
        true,
        "check that the host is up and sshd listens on port " + port +
            ", then retry");
  }
  return Status::Ok();
}

Status SshSession::CheckHostKey() {
  size_t len = 0;
  int type = 0;
  const char* key = libssh2_session_hostkey(session_, &len, &type);
  const KeyKind* kind = KindOfHostKey(type);
  std::string known_hosts = KnownHostsPath(options_);
  std::string fingerprint = "SHA256:?";
  const char* hash =
      libssh2_hostkey_hash(session_, LIBSSH2_HOSTKEY_HASH_SHA256);
  if (hash != nullptr) {
    fingerprint = "SHA256:" +
                  Base64NoPad(reinterpret_cast<const unsigned char*>(hash), 32);
  }
  ssh_status::HostKeyFacts facts{
      target_,     options_.host, options_.port,
      known_hosts, fingerprint,   kind != nullptr ? kind->method : "unknown"};
  KnownHosts known(session_);
  if (key == nullptr || kind == nullptr || !known.ok()) {
    return ssh_status::FromHostKeyCheck(LIBSSH2_KNOWNHOST_CHECK_FAILURE, facts);
  }
  known.Load(known_hosts);
  int check =
      known.Check(options_.host, options_.port, key, len, kind->knownhost_type);
  return ssh_status::FromHostKeyCheck(check, facts);
}

Status SshSession::Authenticate() {
  const std::string& user = options_.user;
  if (!options_.identity_file.empty()) {
    std::string key = ExpandHome(options_.identity_file);
    int rc = libssh2_userauth_publickey_fromfile_ex(
        session_, user.c_str(), static_cast<unsigned>(user.size()), nullptr,
        key.c_str(), "");
    if (rc == 0) return Status::Ok();
    return ssh_status::FromAuth(session_, rc, options_, target_, "key " + key);
  }
  LIBSSH2_AGENT* agent = libssh2_agent_init(session_);
  if (agent == nullptr) {
    return ssh_status::FromAuth(session_, LIBSSH2_ERROR_AGENT_PROTOCOL,
                                options_, target_, "ssh-agent");
  }
  int rc = libssh2_agent_connect(agent);
  if (rc == 0) rc = libssh2_agent_list_identities(agent);
  int tried = 0;
  std::string how = "ssh-agent";
  if (rc != 0) {
    // No agent (SSH_AUTH_SOCK unset or stale) is a credentials problem,
    // whatever code libssh2 used for it.
    rc = LIBSSH2_ERROR_AGENT_PROTOCOL;
    how = "ssh-agent (none reachable through SSH_AUTH_SOCK)";
  } else {
    rc = LIBSSH2_ERROR_AUTHENTICATION_FAILED;
    libssh2_agent_publickey* identity = nullptr;
    for (int guard = 0; guard < 64; ++guard) {
      if (libssh2_agent_get_identity(agent, &identity, identity) != 0) break;
      ++tried;
      rc = libssh2_agent_userauth(agent, user.c_str(), identity);
      if (rc == 0 || ssh_status::IsFatal(rc)) break;
    }
    how = "ssh-agent (" + std::to_string(tried) + " keys)";
  }
  Status st = rc == 0
                  ? Status::Ok()
                  : ssh_status::FromAuth(session_, rc, options_, target_, how);
  libssh2_agent_disconnect(agent);
  libssh2_agent_free(agent);
  return st;
}

// --- the I/O discipline ---

ssize_t SshSession::SendHook(int socket, const void* buffer, size_t length,
                             int flags, void** abstract) {
  auto* self = static_cast<SshSession*>(*abstract);
  ssize_t n = ::send(socket, buffer, length, flags | MSG_NOSIGNAL);
  if (n < 0) {
    int err = errno;
    // libssh2 keeps the unsent packet on EAGAIN, as on a short write.
    self->outbound_pending_ = err == EAGAIN || err == EWOULDBLOCK;
    if (!self->outbound_pending_ && err != EINTR) self->peer_gone_ = true;
    return -err;
  }
  self->outbound_pending_ = static_cast<size_t>(n) < length;
  return n;
}

ssize_t SshSession::RecvHook(int socket, void* buffer, size_t length, int flags,
                             void** abstract) {
  auto* self = static_cast<SshSession*>(*abstract);
  ssize_t n = ::recv(socket, buffer, length, flags);
  if (n > 0) {
    self->bytes_in_ += static_cast<uint64_t>(n);
    return n;
  }
  if (n == 0) {
    self->peer_gone_ = true;
    return 0;
  }
  int err = errno;
  if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
    self->peer_gone_ = true;
  }
  return -err;
}

int SshSession::Call(Lock& lk, const std::function<int()>& f) {
  if (broken_) return LIBSSH2_ERROR_SOCKET_DISCONNECT;
  const uint64_t bytes_before = bytes_in_;
  int rc = f();
  if (rc == LIBSSH2_ERROR_EAGAIN && outbound_pending_) {
    // Our packet is half-sent: finish it before anyone else may call
    // libssh2 (see the header), still holding io_mu_.
    const auto give_up = Clock::now() + options_.io_timeout;
    for (int guard = 0; guard < 1000000; ++guard) {
      if (Clock::now() >= give_up) {
        MarkBroken("the server accepted no data for " +
                   std::to_string(options_.io_timeout.count()) + " s");
        rc = LIBSSH2_ERROR_SOCKET_TIMEOUT;
        break;
      }
      pollfd p{sock_, POLLOUT, 0};
      ::poll(&p, 1, MsUntil(give_up, milliseconds(100)));
      rc = f();
      if (rc != LIBSSH2_ERROR_EAGAIN || !outbound_pending_) break;
    }
  }
  if (!broken_ && (peer_gone_ || ssh_status::IsFatal(rc))) {
    MarkBroken(peer_gone_ ? "the server closed the connection"
                          : "the connection failed (libssh2 " +
                                std::to_string(rc) + ")");
  }
  if (rc != LIBSSH2_ERROR_EAGAIN || bytes_in_ != bytes_before) {
    ++progress_;
    io_cv_.notify_all();
    WakePoller();
  }
  last_io_ = Clock::now();
  return rc;
}

int SshSession::Drive(Lock& lk, const std::function<int()>& f,
                      Clock::time_point deadline) {
  // Bounded by the deadline: each pass waits up to 200 ms for input.
  for (;;) {
    const uint64_t seen = progress_;
    int rc = Call(lk, f);
    if (rc != LIBSSH2_ERROR_EAGAIN) return rc;
    if (broken_) return LIBSSH2_ERROR_SOCKET_DISCONNECT;
    if (Clock::now() >= deadline) return LIBSSH2_ERROR_TIMEOUT;
    WaitForInput(lk, seen, deadline);
  }
}

void SshSession::WaitForInput(Lock& lk, uint64_t seen,
                              Clock::time_point deadline) {
  if (broken_) return;
  if (progress_ != seen) {
    // Something moved: retry at once, but let other threads at libssh2
    // first, so a command streaming output cannot monopolise io_mu_.
    lk.unlock();
    std::this_thread::yield();
    lk.lock();
    return;
  }
  const auto until = std::min(deadline, Clock::now() + milliseconds(200));
  if (!poller_active_) {
    poller_active_ = true;
    uint64_t drained;
    while (::read(wake_fd_, &drained, sizeof drained) > 0) {
    }
    lk.unlock();
    pollfd fds[2] = {{sock_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    ::poll(fds, 2, MsUntil(until, milliseconds(200)));
    lk.lock();
    poller_active_ = false;
    io_cv_.notify_all();  // Someone else may take over the polling.
  } else {
    io_cv_.wait_until(lk, until, [&] {
      return progress_ != seen || !poller_active_ || broken_;
    });
  }
}

void SshSession::WakePoller() {
  if (!poller_active_) return;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void SshSession::MarkBroken(const std::string& why) {
  if (broken_) return;
  broken_why_ = why;
  broken_ = true;
  // Wakes the poller and makes every later libssh2 send fail at once.
  ::shutdown(sock_, SHUT_RDWR);
  ++progress_;
  io_cv_.notify_all();
  WakePoller();
}

void SshSession::KeepaliveLoop(std::stop_token stop) {
  const auto interval =
      std::chrono::duration_cast<milliseconds>(options_.keepalive);
  // Bounded by the session's life: each pass sleeps interval/2 or until
  // stopped.
  while (!stop.stop_requested()) {
    {
      std::unique_lock lk(keepalive_mu_);
      keepalive_cv_.wait_for(lk, stop, interval / 2, [] { return false; });
    }
    if (stop.stop_requested()) return;
    Lock lk(io_mu_);
    if (broken_) return;
    if (Clock::now() - last_io_ < interval) continue;
    // Idle. A peer that closed shows as end-of-file we can peek at.
    char byte;
    pollfd p{sock_, POLLIN | POLLOUT, 0};
    if (::poll(&p, 1, 0) > 0) {
      if ((p.revents & POLLIN) != 0 &&
          ::recv(sock_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
        MarkBroken("the server closed the idle connection");
        return;
      }
      if ((p.revents & POLLOUT) == 0) continue;  // Never risk a short send.
    }
    int next = 0;
    int rc = libssh2_keepalive_send(session_, &next);
    last_io_ = Clock::now();
    if (rc != 0 || peer_gone_) {
      MarkBroken("keepalive failed: the connection is gone");
      return;
    }
    if (outbound_pending_) {
      // keepalive_send swallows EAGAIN and cannot be resumed; the
      // half-sent packet would make every later send fail.
      MarkBroken("keepalive could not be sent");
      return;
    }
  }
}

}  // namespace hpc::remote
