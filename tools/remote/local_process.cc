#include "tools/remote/local_process.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <thread>

#include "tools/remote/command_line.h"
#include "tools/remote/remote_errors.h"

extern char** environ;

namespace hpc::remote {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

Status MakePipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe2");
  read_end->reset(fds[0]);
  write_end->reset(fds[1]);
  return Status::Ok();
}

void SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// A write that cannot raise SIGPIPE in this process: the server may not have
// ignored it, and a child that exits without reading its stdin must not take
// the server down. SIGPIPE is blocked for this thread during the write and a
// SIGPIPE that the write itself raised is consumed.
ssize_t WriteNoSigpipe(int fd, const char* data, size_t size) {
  sigset_t pipe_set, old_mask, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  ssize_t n = ::write(fd, data, size);
  int err = errno;
  if (n < 0 && err == EPIPE && !was_pending) {
    timespec zero{};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = err;
  return n;
}

// Our environment with `extra` added; `extra` wins over inherited entries.
std::vector<std::string> ChildEnvironment(
    const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string name(entry.substr(0, entry.find('=')));
    if (extra.count(name) == 0) env.emplace_back(entry);
  }
  for (const auto& [name, value] : extra) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Output of one stream, capped: bytes past `max` are read and dropped so
// that the child never blocks on a full pipe.
struct Sink {
  std::string* text;
  bool* truncated;
  size_t max;
  void Add(const char* data, size_t n) {
    size_t room = text->size() < max ? max - text->size() : 0;
    text->append(data, std::min(room, n));
    if (n > room) *truncated = true;
  }
};

// Reads what `fd` has now. Returns false at end of file or on error.
bool Drain(int fd, Sink& sink) {
  char buf[65536];
  for (int i = 0; i < 64; ++i) {  // Bounded: at most 4 MiB per wake-up.
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      sink.Add(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    return false;  // EOF or a real error: either way this stream is over.
  }
  return true;
}

// Kills the child's process group (it is a session leader, so its pid is the
// group id) and reaps the child, waiting at most a few seconds.
void KillAndReap(pid_t pid, int* wait_status) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  auto give_up = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < give_up) {
    pid_t r = ::waitpid(pid, wait_status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return;
    std::this_thread::sleep_for(milliseconds(2));
  }
}

std::string DescribeSpawnFailure(const ProcessSpec& spec, int err) {
  std::string message = "cannot start '" + Abbreviate(spec.argv[0], 100) +
                        "': " + std::strerror(err);
  if (!spec.cwd.empty()) {
    struct stat st;
    if (::stat(spec.cwd.c_str(), &st) != 0) {
      message = "cannot start '" + Abbreviate(spec.argv[0], 100) +
                "': working directory '" + Abbreviate(spec.cwd, 200) +
                "': " + std::strerror(errno);
    } else if (!S_ISDIR(st.st_mode)) {
      message = "cannot start '" + Abbreviate(spec.argv[0], 100) +
                "': working directory '" + Abbreviate(spec.cwd, 200) +
                "' is not a directory";
    }
  }
  return message;
}

}  // namespace

Result<CommandResult> RunProcess(const ProcessSpec& spec) {
  const auto start = Clock::now();
  const auto deadline = start + spec.timeout;

  Fd in_r, in_w, out_r, out_w, err_r, err_w;
  HPC_RETURN_IF_ERROR(MakePipe(&in_r, &in_w));
  HPC_RETURN_IF_ERROR(MakePipe(&out_r, &out_w));
  HPC_RETURN_IF_ERROR(MakePipe(&err_r, &err_w));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears FD_CLOEXEC on the target; every other descriptor of ours is
  // O_CLOEXEC and closes on exec.
  posix_spawn_file_actions_adddup2(&actions, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  if (!spec.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());
  }

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t no_signals, all_signals;
  sigemptyset(&no_signals);
  sigfillset(&all_signals);
  posix_spawnattr_setsigmask(&attr, &no_signals);
  posix_spawnattr_setsigdefault(&attr, &all_signals);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> argv_strings = spec.argv;
  std::vector<std::string> env_strings = ChildEnvironment(spec.env);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);

  pid_t pid = -1;
  int rc =
      ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return RemoteError(Reason::kCommandFailed, DescribeSpawnFailure(spec, rc),
                       false);
  }
  in_r.reset();
  out_w.reset();
  err_w.reset();

  CommandResult result;
  Sink out{&result.out, &result.out_truncated, spec.max_output};
  Sink err{&result.err, &result.err_truncated, spec.max_output};
  size_t written = 0;
  if (spec.stdin_data.empty()) in_w.reset();
  SetNonBlocking(out_r.get());
  SetNonBlocking(err_r.get());
  if (in_w.get() >= 0) SetNonBlocking(in_w.get());

  bool timed_out = false;
  while (out_r.get() >= 0 || err_r.get() >= 0) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out_r.get() >= 0) {
      out_i = n;
      fds[n++] = {out_r.get(), POLLIN, 0};
    }
    if (err_r.get() >= 0) {
      err_i = n;
      fds[n++] = {err_r.get(), POLLIN, 0};
    }
    if (in_w.get() >= 0) {
      in_i = n;
      fds[n++] = {in_w.get(), POLLOUT, 0};
    }
    int ready =
        ::poll(fds, n, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) {
      int e = errno;
      KillAndReap(pid, &rc);
      return ErrnoError(e, "poll on the output of '" + spec.argv[0] + "'");
    }
    if (ready <= 0) continue;
    if (out_i >= 0 && fds[out_i].revents != 0 && !Drain(out_r.get(), out)) {
      out_r.reset();
    }
    if (err_i >= 0 && fds[err_i].revents != 0 && !Drain(err_r.get(), err)) {
      err_r.reset();
    }
    if (in_i >= 0 && fds[in_i].revents != 0) {
      size_t chunk = std::min<size_t>(spec.stdin_data.size() - written, 65536);
      ssize_t w =
          WriteNoSigpipe(in_w.get(), spec.stdin_data.data() + written, chunk);
      if (w > 0) written += static_cast<size_t>(w);
      // EPIPE and friends: the child closed its stdin; the rest is dropped.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
          written == spec.stdin_data.size()) {
        in_w.reset();
      }
    }
  }
  in_w.reset();

  // Both streams closed: wait for the exit, still under the deadline (the
  // child may have closed its output and kept running).
  int wait_status = 0;
  if (!timed_out) {
    int sleep_ms = 1;
    for (;;) {
      pid_t r = ::waitpid(pid, &wait_status, WNOHANG);
      if (r == pid) break;
      if (r < 0 && errno != EINTR) {
        return ErrnoError(errno, "waitpid for '" + spec.argv[0] + "'");
      }
      if (Clock::now() >= deadline) {
        timed_out = true;
        break;
      }
      std::this_thread::sleep_for(milliseconds(sleep_ms));
      sleep_ms = std::min(sleep_ms * 2, 50);
    }
  }
  if (timed_out) {
    KillAndReap(pid, &wait_status);
    return RemoteError(
        Reason::kTimeout,
        "'" + Abbreviate(spec.argv[0], 100) + "' ran longer than " +
            std::to_string(spec.timeout.count()) + " ms and was killed",
        false);
  }

  result.elapsed =
      std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  if (WIFEXITED(wait_status)) {
    result.exit_code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    result.exit_code = -1;
    result.signal = WTERMSIG(wait_status);
  }
  return result;
}

}  // namespace hpc::remote
