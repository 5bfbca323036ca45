#include "tools/remote/ssh_remote.h"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

#include "tools/remote/command_line.h"
#include "tools/remote/remote_errors.h"
#include "tools/remote/shell.h"
#include "tools/remote/ssh_session.h"
#include "tools/remote/temp_name.h"

namespace hpc::remote {

using Clock = SshSession::Clock;

// The shared connection to one endpoint, replaced when it breaks. Callers
// that arrive while a connection attempt is under way wait for that attempt
// and share its outcome, so an unreachable host costs one connect timeout,
// not one per waiting caller.
class SshEndpoint {
 public:
  explicit SshEndpoint(SshOptions options) : options_(std::move(options)) {}

  // The live session, connecting when there is none or it broke.
  Result<std::shared_ptr<SshSession>> Session() { return Get(nullptr); }

  // Like Session(), but first drops `dead` if it is still the current one.
  Result<std::shared_ptr<SshSession>> Replace(
      const std::shared_ptr<SshSession>& dead) {
    return Get(dead);
  }

  // Cleared once the server's SFTP rename refused to replace a file: later
  // writes go straight to `mv`.
  std::atomic<bool> sftp_rename_replaces{true};

 private:
  Result<std::shared_ptr<SshSession>> Get(
      const std::shared_ptr<SshSession>& dead) {
    std::unique_lock lk(mu_);
    if (dead != nullptr && current_ == dead) current_.reset();
    if (current_ != nullptr && !current_->broken()) return current_;
    if (connecting_) {
      const uint64_t attempt = attempts_;
      // The attempt under way ends within its connect timeout (name
      // resolution aside); the bound here is a safety net.
      bool ended = cv_.wait_for(
          lk, options_.connect_timeout * 3 + std::chrono::seconds(5),
          [&] { return attempts_ != attempt; });
      if (current_ != nullptr && !current_->broken()) return current_;
      if (!ended) {
        return RemoteError(
            Reason::kSshUnreachable,
            "a connection attempt to " + options_.host + " is taking too long",
            true);
      }
      return last_error_;
    }
    connecting_ = true;
    current_.reset();
    lk.unlock();
    auto connected = SshSession::Connect(options_);
    lk.lock();
    connecting_ = false;
    ++attempts_;
    cv_.notify_all();
    if (!connected.ok()) {
      last_error_ = connected.status();
      return last_error_;
    }
    current_ = *connected;
    return current_;
  }

  const SshOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<SshSession> current_;
  bool connecting_ = false;
  uint64_t attempts_ = 0;
  Status last_error_;
};

namespace {

std::string EndpointKey(const SshOptions& o) {
  // NUL-separated: no field can contain NUL and fake another's boundary.
  std::string key = o.user;
  for (const std::string* part : {&o.host, &o.identity_file, &o.known_hosts}) {
    key += '\0';
    key += *part;
  }
  key += '\0' + std::to_string(o.port);
  return key;
}

std::shared_ptr<SshEndpoint> SharedEndpoint(const SshOptions& options) {
  // Never destroyed: sessions may be released during static destruction.
  static auto* mu = new std::mutex;
  static auto* registry = new std::map<std::string, std::weak_ptr<SshEndpoint>>;
  std::lock_guard lock(*mu);
  for (auto it = registry->begin(); it != registry->end();) {
    it = it->second.expired() ? registry->erase(it) : std::next(it);
  }
  auto& slot = (*registry)[EndpointKey(options)];
  auto endpoint = slot.lock();
  if (endpoint == nullptr) {
    endpoint = std::make_shared<SshEndpoint>(options);
    slot = endpoint;
  }
  return endpoint;
}

// Worth one more try on a fresh connection: the connection broke and the
// failed call cannot have had an effect that repeating it would duplicate.
bool ShouldReconnect(const Status& st, const SshSession& session) {
  return st.reason() == ReasonName(Reason::kSshUnreachable) &&
         st.retry_safe() && session.broken();
}

// Runs `op` on the current session; once more on a new one if the
// connection broke under it and ShouldReconnect allows.
template <typename T, typename Op>
Result<T> WithReconnect(SshEndpoint& endpoint, const Op& op) {
  auto session = endpoint.Session();
  if (!session.ok()) return session.status();
  Result<T> result = op(**session);
  if (result.ok() || !ShouldReconnect(result.status(), **session)) {
    return result;
  }
  auto fresh = endpoint.Replace(*session);
  if (!fresh.ok()) return fresh.status();
  return op(**fresh);
}

struct Done {};

Result<Done> AsResult(Status st) {
  if (!st.ok()) return st;
  return Done{};
}

}  // namespace

SshRemote::SshRemote(SshOptions options)
    : options_(std::move(options)), endpoint_(SharedEndpoint(options_)) {}

SshRemote::~SshRemote() = default;

std::string SshRemote::Describe() const {
  return "ssh " + options_.user + "@" + options_.host + ":" +
         std::to_string(options_.port);
}

Status SshRemote::Connect() {
  auto session = endpoint_->Session();
  return session.ok() ? Status::Ok() : session.status();
}

Result<CommandResult> SshRemote::Run(const std::vector<std::string>& argv,
                                     const RunOptions& options) {
  HPC_RETURN_IF_ERROR(ValidateRun(argv, options));
  const std::string command =
      RemoteCommandLine(argv, options, options_.login_shell, options_.setup);
  if (command.size() > kMaxCommandBytes) {
    return RemoteError(Reason::kCommandFailed,
                       "the command line is " + std::to_string(command.size()) +
                           " bytes once quoted; SSH exec takes at most " +
                           std::to_string(kMaxCommandBytes),
                       false,
                       "pass large data on stdin or in a file instead of in "
                       "arguments or environment values");
  }
  const auto deadline = Clock::now() + options.timeout;
  return WithReconnect<CommandResult>(*endpoint_, [&](SshSession& s) {
    return s.Exec(command, options.stdin_data, options.max_output, deadline);
  });
}

Result<std::string> SshRemote::ReadFile(const std::string& path,
                                        uint64_t offset, size_t max_bytes) {
  const auto deadline = Clock::now() + options_.io_timeout;
  return WithReconnect<std::string>(*endpoint_, [&](SshSession& s) {
    return s.SftpRead(path, offset, max_bytes, deadline);
  });
}

Result<FileInfo> SshRemote::Stat(const std::string& path) {
  const auto deadline = Clock::now() + options_.io_timeout;
  return WithReconnect<FileInfo>(
      *endpoint_, [&](SshSession& s) { return s.SftpStat(path, deadline); });
}

Result<std::vector<DirEntry>> SshRemote::ListDir(const std::string& path) {
  const auto deadline = Clock::now() + options_.io_timeout;
  return WithReconnect<std::vector<DirEntry>>(
      *endpoint_, [&](SshSession& s) { return s.SftpList(path, deadline); });
}

namespace {

// mkdir -p over SFTP: walks down from the first missing ancestor. A
// directory that appears meanwhile (another writer) is fine.
Status MakeDirs(SshSession& s, const std::string& dir,
                Clock::time_point deadline) {
  if (dir.empty() || dir == "." || dir == "/") return Status::Ok();
  auto info = s.SftpStat(dir, deadline);
  if (info.ok()) {
    if (info->is_dir) return Status::Ok();
    return RemoteError(Reason::kIoError,
                       "cannot create directory " + dir +
                           ": a file of that name is in the way",
                       false);
  }
  if (info.status().reason() != ReasonName(Reason::kNotFound)) {
    return info.status();
  }
  size_t slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    HPC_RETURN_IF_ERROR(MakeDirs(s, dir.substr(0, slash), deadline));
  }
  Status made = s.SftpMkdir(dir, 0755, deadline);
  if (made.ok()) return made;
  auto again = s.SftpStat(dir, deadline);
  if (again.ok() && again->is_dir) return Status::Ok();
  return made;
}

Status WriteAtomic(SshSession& s, const std::string& path,
                   std::string_view content, uint32_t mode,
                   Clock::time_point deadline,
                   std::atomic<bool>& sftp_rename_replaces) {
  auto parts = SplitPath(path);
  if (!parts.ok()) return parts.status();
  HPC_RETURN_IF_ERROR(MakeDirs(s, parts->dir, deadline));
  const std::string temp = TempNameBeside(*parts) + RandomSuffix();
  HPC_RETURN_IF_ERROR(s.SftpWriteNew(temp, content, mode, deadline));
  Status renamed = RemoteError(Reason::kIoError, "not tried", true);
  if (sftp_rename_replaces) {
    renamed = s.SftpRename(temp, path, deadline);
    if (renamed.ok()) return renamed;
  }
  if (renamed.reason() == ReasonName(Reason::kIoError)) {
    // SFTP v3 (OpenSSH) renames with link()+unlink() and refuses an
    // existing target; rename(2) through mv replaces it atomically.
    auto moved = s.Exec(ShellJoin({"mv", "-f", "-T", "--", temp, path}), "",
                        4096, deadline);
    if (moved.ok() && moved->exit_code == 0) {
      sftp_rename_replaces = false;
      return Status::Ok();
    }
    if (moved.ok()) {
      renamed = RemoteError(Reason::kIoError,
                            "cannot rename " + temp + " to " + path + ": " +
                                Abbreviate(moved->err),
                            false);
    } else {
      renamed = moved.status();
    }
  }
  s.SftpUnlink(temp, deadline);  // Best effort: a leftover is only litter.
  return renamed;
}

}  // namespace

Status SshRemote::WriteFileAtomic(const std::string& path,
                                  std::string_view content, uint32_t mode) {
  const auto deadline = Clock::now() + options_.io_timeout;
  // Repeating after a broken connection is safe: a new temporary file is
  // written, and the rename is all-or-nothing.
  auto done = WithReconnect<Done>(*endpoint_, [&](SshSession& s) {
    return AsResult(WriteAtomic(s, path, content, mode, deadline,
                                endpoint_->sftp_rename_replaces));
  });
  return done.ok() ? Status::Ok() : done.status();
}

SshOptions SshOptionsFromProfile(const cluster::ClusterProfile& profile) {
  const cluster::Access& a = profile.access;
  SshOptions o;
  o.host = a.host;
  o.port = a.port;
  o.user = a.user;
  o.identity_file = a.identity_file;
  o.known_hosts = a.known_hosts;
  o.keepalive = std::chrono::seconds(a.keepalive_seconds);
  o.connect_timeout = std::chrono::seconds(a.connect_timeout_seconds);
  o.login_shell = profile.login_shell;
  o.setup = profile.setup;
  return o;
}

}  // namespace hpc::remote
