#include "tools/remote/openssh_remote.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tools/remote/command_line.h"
#include "tools/remote/local_process.h"
#include "tools/remote/remote_errors.h"
#include "tools/remote/temp_name.h"

namespace hpc::remote {
namespace {

using Clock = std::chrono::steady_clock;

// Constant scripts for file operations; operands arrive as $1, $2, ... and
// are never parsed. Exit codes 3-7 are ours (see FileOpError); anything else
// is the failing tool's.
constexpr char kReadScript[] =
    "[ -e \"$1\" ] || exit 3; [ -d \"$1\" ] && exit 5; "
    "[ -r \"$1\" ] || exit 4; tail -c +\"$2\" -- \"$1\" | head -c \"$3\"";
constexpr char kStatScript[] =
    "[ -e \"$1\" ] || exit 3; exec stat -L -c '%f %s %Y' -- \"$1\"";
constexpr char kListScript[] =
    "[ -e \"$1\" ] || exit 3; [ -d \"$1\" ] || exit 5; cd -- \"$1\" || exit 4; "
    "exec find . -mindepth 1 -maxdepth 1 -printf '%y %s %T@ %P\\0'";
// set -C: the temporary file must be new (O_EXCL), never someone's link.
constexpr char kWriteScript[] =
    "mkdir -p -- \"$1\" || exit 6; set -C; "
    "cat > \"$2\" && chmod \"$4\" -- \"$2\" && "
    "{ sync -- \"$2\" 2>/dev/null || :; } && mv -f -T -- \"$2\" \"$3\" "
    "|| { rm -f -- \"$2\"; exit 7; }";

bool Contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

Status FileOpError(const CommandResult& r, const std::string& what) {
  std::string detail = Abbreviate(r.err);
  switch (r.exit_code) {
    case 3:
      return RemoteError(Reason::kNotFound,
                         "cannot " + what + ": no such file or directory",
                         false);
    case 4:
      return RemoteError(Reason::kPermissionDenied,
                         "cannot " + what + ": permission denied", false);
    case 5:
      return RemoteError(Reason::kIoError,
                         "cannot " + what +
                             ": wrong kind of file (directory "
                             "vs. file)",
                         false);
    default:
      break;
  }
  if (Contains(r.err, "Permission denied")) {
    return RemoteError(Reason::kPermissionDenied,
                       "cannot " + what + ": " + detail, false);
  }
  if (Contains(r.err, "No such file or directory") ||
      Contains(r.err, "Not a directory")) {
    return RemoteError(Reason::kNotFound, "cannot " + what + ": " + detail,
                       false);
  }
  return RemoteError(Reason::kIoError,
                     "cannot " + what + " (exit " +
                         std::to_string(r.exit_code) + "): " + detail,
                     true);
}

bool ValidDestination(const std::string& d) {
  if (d.empty() || d[0] == '-') return false;
  return std::none_of(d.begin(), d.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
  });
}

std::string PrivateRuntimeDir(Status* error) {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  struct stat st;
  std::string base = runtime != nullptr && runtime[0] == '/' &&
                             ::stat(runtime, &st) == 0 && S_ISDIR(st.st_mode)
                         ? runtime
                         : "/tmp";
  std::string dir = base + "/hpc-mcp-ssh-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {  // mkdtemp makes it 0700.
    *error = ErrnoError(errno, "create a private directory under " + base +
                                   " for the ssh control socket");
    return "";
  }
  return dir;
}

}  // namespace

std::optional<Status> ClassifySshFailure(int exit_code, std::string_view err,
                                         std::string_view destination) {
  if (exit_code != 255) return std::nullopt;
  const std::string dest(destination);
  const std::string text = Abbreviate(err, 400);
  if (Contains(err, "REMOTE HOST IDENTIFICATION HAS CHANGED") ||
      Contains(err, "Host key for ") /* "... has changed" */) {
    return RemoteError(
        Reason::kHostKeyChanged,
        "ssh refused " + dest + ": its host key changed: " + text, false,
        "confirm the new key with the host's administrators "
        "before replacing the known_hosts entry "
        "(ssh-keygen -R HOST)");
  }
  if (Contains(err, "Host key verification failed") ||
      Contains(err, "host key is known for")) {
    return RemoteError(
        Reason::kHostKeyUnknown,
        "ssh refused " + dest + ": its host key is not in known_hosts: " + text,
        false,
        "check the host key fingerprint with the host's "
        "administrators, then add it (ssh-keyscan HOST >> "
        "~/.ssh/known_hosts, with -p PORT if not 22)");
  }
  if (Contains(err, ": Permission denied (") ||
      Contains(err, "Too many authentication failures")) {
    return RemoteError(Reason::kAuthFailed,
                       "ssh could not authenticate to " + dest + ": " + text,
                       false,
                       "check the IdentityFile for this host in ssh_config "
                       "and that its public key is in the remote "
                       "~/.ssh/authorized_keys (ssh -v " +
                           dest + " true)");
  }
  // After the command was sent: it may have run. Checked first, since a
  // lost connection can also print the texts below.
  for (std::string_view post :
       {"closed by remote host", "client_loop: send disconnect",
        "read from master failed", "Broken pipe", "Timeout, server",
        "not responding"}) {
    if (Contains(err, post)) {
      return RemoteError(Reason::kSshUnreachable,
                         "the connection to " + dest +
                             " was lost while the command ran (it may have "
                             "run and was not retried): " +
                             text,
                         false,
                         "check whether the command took effect before "
                         "running it again");
    }
  }
  // Before authentication: nothing ran, retrying is safe.
  for (std::string_view pre :
       {"ssh: connect to host", "ssh: Could not resolve hostname",
        "Connection refused", "Connection timed out", "No route to host",
        "Network is unreachable", "kex_exchange_identification",
        "Connection closed by", "Connection reset by",
        "Session open refused by peer", "administratively prohibited"}) {
    if (Contains(err, pre)) {
      return RemoteError(Reason::kSshUnreachable,
                         "ssh could not reach " + dest + ": " + text, true,
                         "check that the host is up and sshd answers "
                         "(ssh " +
                             dest + " true), then retry");
    }
  }
  return std::nullopt;
}

OpenSshRemote::OpenSshRemote(OpenSshOptions options)
    : options_(std::move(options)),
      sessions_(std::clamp(options_.max_sessions, 1, 1024)) {
  if (!ValidDestination(options_.destination)) {
    config_error_ = InvalidArgument(
        "ssh destination '" + Abbreviate(options_.destination, 80) +
        "' must be non-empty, not start with '-', and have no spaces or "
        "control characters");
    return;
  }
  if (options_.control_master) {
    control_dir_ = PrivateRuntimeDir(&config_error_);
    if (!control_dir_.empty()) control_path_ = control_dir_ + "/cm";
  }
}

OpenSshRemote::~OpenSshRemote() {
  if (control_dir_.empty()) return;
  struct stat st;
  if (::lstat(control_path_.c_str(), &st) == 0) {
    ProcessSpec stop;
    stop.argv = {options_.ssh_binary, "-S", control_path_, "-O", "exit"};
    if (!options_.ssh_config.empty()) {
      stop.argv.insert(stop.argv.begin() + 1, {"-F", options_.ssh_config});
    }
    stop.argv.insert(stop.argv.end(), {"--", options_.destination});
    stop.timeout = std::chrono::seconds(5);
    RunProcess(stop);  // Best effort: ControlPersist ends it anyway.
    ::unlink(control_path_.c_str());
  }
  ::rmdir(control_dir_.c_str());
}

std::string OpenSshRemote::Describe() const {
  return "openssh " + options_.destination;
}

std::vector<std::string> OpenSshRemote::SshArgv(
    const std::string& remote_command) const {
  std::vector<std::string> argv = {options_.ssh_binary};
  if (!options_.ssh_config.empty()) {
    argv.insert(argv.end(), {"-F", options_.ssh_config});
  }
  if (options_.control_master) {
    // -S, not -o ControlPath=: ssh would split an option value at spaces.
    argv.insert(
        argv.end(),
        {"-S", control_path_, "-o", "ControlMaster=auto", "-o",
         "ControlPersist=" + std::to_string(options_.control_persist.count())});
  } else {
    argv.insert(argv.end(),
                {"-o", "ControlMaster=no", "-o", "ControlPath=none"});
  }
  argv.insert(
      argv.end(),
      {"-o", "BatchMode=yes", "-o",
       "ConnectTimeout=" + std::to_string(options_.connect_timeout.count())});
  if (options_.keepalive.count() > 0) {
    argv.insert(argv.end(),
                {"-o", "ServerAliveInterval=" +
                           std::to_string(options_.keepalive.count())});
  }
  argv.push_back("-T");
  for (const auto& o : options_.ssh_options) {
    argv.insert(argv.end(), {"-o", o});
  }
  argv.insert(argv.end(), {"--", options_.destination, remote_command});
  return argv;
}

Result<CommandResult> OpenSshRemote::Run(const std::vector<std::string>& argv,
                                         const RunOptions& options) {
  HPC_RETURN_IF_ERROR(config_error_);
  HPC_RETURN_IF_ERROR(ValidateRun(argv, options));
  const auto deadline = Clock::now() + options.timeout;
  if (!sessions_.try_acquire_until(deadline)) {
    return RemoteError(Reason::kTimeout,
                       "all " + std::to_string(options_.max_sessions) +
                           " ssh sessions to " + options_.destination +
                           " stayed busy until the deadline; the command did "
                           "not run",
                       true);
  }
  ProcessSpec spec;
  spec.argv = SshArgv(
      RemoteCommandLine(argv, options, options_.login_shell, options_.setup));
  spec.stdin_data = options.stdin_data;
  spec.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max(deadline - Clock::now(), Clock::duration::zero()));
  spec.max_output = options.max_output;
  auto result = RunProcess(spec);
  sessions_.release();
  if (!result.ok()) {
    if (result.status().reason() == ReasonName(Reason::kTimeout)) {
      return RemoteError(
          Reason::kTimeout,
          "the command on " + options_.destination + " ran longer than " +
              std::to_string(options.timeout.count()) +
              " ms; ssh was killed (a remote process that neither reads nor "
              "writes may still be running)",
          false, "raise the timeout, or submit long work as a batch job");
    }
    return result.status();
  }
  if (auto failure = ClassifySshFailure(result->exit_code, result->err,
                                        options_.destination)) {
    return *failure;
  }
  return result;
}

Result<CommandResult> OpenSshRemote::RunPlumbing(
    const std::vector<std::string>& argv, const std::string& stdin_data,
    size_t max_output) {
  RunOptions options;
  options.login_shell = false;
  options.stdin_data = stdin_data;
  options.timeout = options_.io_timeout;
  options.max_output = max_output;
  return Run(argv, options);
}

Result<std::string> OpenSshRemote::ReadFile(const std::string& path,
                                            uint64_t offset, size_t max_bytes) {
  // head -c takes any count up to UINTMAX_MAX; capped anyway to stay far
  // from overflow in tail's +N.
  const uint64_t count = std::min<uint64_t>(max_bytes, uint64_t{1} << 62);
  auto r = RunPlumbing({"sh", "-c", kReadScript, "sh", path,
                        std::to_string(offset + 1), std::to_string(count)},
                       "", max_bytes);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return FileOpError(*r, "read " + path);
  return std::move(r->out);
}

Result<FileInfo> OpenSshRemote::Stat(const std::string& path) {
  auto r = RunPlumbing({"sh", "-c", kStatScript, "sh", path}, "", 4096);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return FileOpError(*r, "stat " + path);
  unsigned long mode = 0;
  unsigned long long size = 0;
  long long mtime = 0;
  if (std::sscanf(r->out.c_str(), "%lx %llu %lld", &mode, &size, &mtime) != 3) {
    return RemoteError(Reason::kIoError,
                       "cannot stat " + path + ": unexpected output '" +
                           Abbreviate(r->out, 80) + "'",
                       true);
  }
  FileInfo info;
  info.is_dir = S_ISDIR(mode);
  info.size = size;
  info.mtime = mtime;
  info.mode = static_cast<uint32_t>(mode) & 07777;
  return info;
}

Status OpenSshRemote::WriteFileAtomic(const std::string& path,
                                      std::string_view content, uint32_t mode) {
  auto parts = SplitPath(path);
  if (!parts.ok()) return parts.status();
  char octal[16];
  std::snprintf(octal, sizeof octal, "%o", mode & 07777);
  const std::string temp = TempNameBeside(*parts) + RandomSuffix();
  auto r = RunPlumbing(
      {"sh", "-c", kWriteScript, "sh", parts->dir, temp, path, octal},
      std::string(content), 4096);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return FileOpError(*r, "write " + path);
  return Status::Ok();
}

Result<std::vector<DirEntry>> OpenSshRemote::ListDir(const std::string& path) {
  auto r =
      RunPlumbing({"sh", "-c", kListScript, "sh", path}, "", size_t{256} << 20);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return FileOpError(*r, "list " + path);
  std::vector<DirEntry> entries;
  std::string_view out = r->out;
  // Records are "TYPE SIZE MTIME NAME\0"; NAME may hold any byte but NUL.
  for (size_t guard = 0; !out.empty() && guard < (size_t{1} << 24); ++guard) {
    size_t end = out.find('\0');
    std::string_view record = out.substr(0, end);
    out = end == std::string_view::npos ? "" : out.substr(end + 1);
    size_t s1 = record.find(' ');
    size_t s2 = s1 == std::string_view::npos ? s1 : record.find(' ', s1 + 1);
    size_t s3 = s2 == std::string_view::npos ? s2 : record.find(' ', s2 + 1);
    if (s3 == std::string_view::npos) continue;
    DirEntry e;
    e.is_dir = record.substr(0, s1) == "d";
    e.size = std::strtoull(
        std::string(record.substr(s1 + 1, s2 - s1 - 1)).c_str(), nullptr, 10);
    e.mtime = std::strtoll(
        std::string(record.substr(s2 + 1, s3 - s2 - 1)).c_str(), nullptr, 10);
    e.name = std::string(record.substr(s3 + 1));
    entries.push_back(std::move(e));
  }
  std::sort(
      entries.begin(), entries.end(),
      [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

OpenSshOptions OpenSshOptionsFromProfile(
    const cluster::ClusterProfile& profile) {
  const cluster::Access& a = profile.access;
  OpenSshOptions o;
  o.destination = a.alias.empty() ? a.host : a.alias;
  if (a.alias.empty() && !a.user.empty()) o.destination = a.user + "@" + a.host;
  if (a.alias.empty() && a.port != 22) {
    o.ssh_options.push_back("Port=" + std::to_string(a.port));
  }
  o.ssh_config = a.ssh_config;
  o.ssh_options.insert(o.ssh_options.end(), a.ssh_options.begin(),
                       a.ssh_options.end());
  o.connect_timeout = std::chrono::seconds(a.connect_timeout_seconds);
  o.keepalive = std::chrono::seconds(a.keepalive_seconds);
  o.login_shell = profile.login_shell;
  o.setup = profile.setup;
  return o;
}

}  // namespace hpc::remote
