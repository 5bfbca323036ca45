// Child processes for integration tests: starts a built binary with its
// stdin, stdout and stderr on pipes (posix_spawn, no shell), reads its stdout
// line by line with a timeout, and always kills and reaps it on scope exit so
// that a failing test never leaks a server.
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace hpc::testing {

using Clock = std::chrono::steady_clock;

// Path of a binary that the build puts next to the test binary.
inline std::string BuiltBinary(std::string_view name) {
  return std::string(HPC_MCP_BINARY_DIR) + "/" + std::string(name);
}

// A private directory under the system's temp dir, removed on scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "hpc-mcp-test-XXXXXX")
            .string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes `content` to `name` inside the directory; returns its path.
  std::string WriteFile(const std::string& name, const std::string& content) {
    std::filesystem::path p = path_ / name;
    std::ofstream(p) << content;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

class Subprocess {
 public:
  // Starts argv[0] (a path, not looked up in PATH) with all three standard
  // streams piped. started() tells whether the spawn worked.
  explicit Subprocess(std::vector<std::string> argv) {
    // A server that dies while we write its stdin must fail the test with
    // an error return, not kill the test binary with SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    int in[2], out[2], err[2];
    // O_CLOEXEC: the pipes must not leak into other children this test
    // process starts, or their EOF would never come.
    if (::pipe2(in, O_CLOEXEC) != 0) return;
    if (::pipe2(out, O_CLOEXEC) != 0) {
      CloseAll({in[0], in[1]});
      return;
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
      CloseAll({in[0], in[1], out[0], out[1]});
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    // The child starts with default signal handling, not our SIG_IGN for
    // SIGPIPE, so that it behaves as it would under a real client.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults, empty;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigemptyset(&empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc =
        ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    CloseAll({in[0], out[1], err[1]});
    if (rc != 0) {
      CloseAll({in[1], out[0], err[0]});
      return;
    }
    pid_ = pid;
    stdin_fd_ = in[1];
    stdout_thread_ = std::thread([this, fd = out[0]] { ReadStdout(fd); });
    stderr_thread_ = std::thread([this, fd = err[0]] { ReadStderr(fd); });
  }

  ~Subprocess() {
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    CloseStdin();
    // The reader threads end at EOF, which the child's death guarantees.
    if (stdout_thread_.joinable()) stdout_thread_.join();
    if (stderr_thread_.joinable()) stderr_thread_.join();
  }
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Writes all of `data` to the child's stdin; false once that fails.
  bool Write(std::string_view data) {
    if (stdin_fd_ < 0) return false;
    while (!data.empty()) {
      ssize_t n = ::write(stdin_fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  void CloseStdin() {
    if (stdin_fd_ >= 0) ::close(stdin_fd_);
    stdin_fd_ = -1;
  }

  // The next complete line of stdout without its '\n'; nullopt when none
  // arrives within `timeout` or stdout reached EOF.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !lines_.empty() || stdout_eof_; });
    if (lines_.empty()) return std::nullopt;
    std::string line = std::move(lines_.front());
    lines_.pop_front();
    return line;
  }

  // Waits up to `timeout` for stdout to close; returns the lines that were
  // still unread. `*eof` (when given) tells whether EOF was seen.
  std::vector<std::string> ReadRemaining(std::chrono::milliseconds timeout,
                                         bool* eof = nullptr) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return stdout_eof_; });
    if (eof) *eof = stdout_eof_;
    std::vector<std::string> rest(lines_.begin(), lines_.end());
    lines_.clear();
    return rest;
  }

  // Bytes written to stdout after the last newline (should stay empty:
  // every protocol message ends with one).
  std::string PartialStdoutLine() {
    std::lock_guard lock(mu_);
    return partial_;
  }

  // Everything the child wrote to stderr so far. After the child exited,
  // pass a timeout to wait (that long at most) for the last bytes to be
  // read: the exit can be seen before the reader thread drained the pipe.
  std::string Stderr(
      std::chrono::milliseconds wait_for_eof = std::chrono::milliseconds(0)) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait_for_eof, [&] { return stderr_eof_; });
    return stderr_;
  }

  void Signal(int sig) {
    if (pid_ > 0 && !exit_code_) ::kill(pid_, sig);
  }

  // The exit status once the child exits within `timeout` (128 + the signal
  // number when a signal ended it); nullopt while it still runs.
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return std::nullopt;
    auto deadline = Clock::now() + timeout;
    while (!exit_code_) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exit_code_ =
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (r < 0 && errno != EINTR) break;
      if (Clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return exit_code_;
  }

 private:
  static void CloseAll(std::initializer_list<int> fds) {
    for (int fd : fds) ::close(fd);
  }

  void ReadStdout(int fd) {
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard lock(mu_);
      partial_.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos;
           start = nl + 1) {
        lines_.push_back(partial_.substr(start, nl - start));
      }
      partial_.erase(0, start);
      cv_.notify_all();
    }
    ::close(fd);
    std::lock_guard lock(mu_);
    stdout_eof_ = true;
    cv_.notify_all();
  }

  // Drained continuously: a server that logs at debug level would otherwise
  // fill the pipe and block.
  void ReadStderr(int fd) {
    char buf[1 << 14];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard lock(mu_);
      stderr_.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    std::lock_guard lock(mu_);
    stderr_eof_ = true;
    cv_.notify_all();
  }

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::optional<int> exit_code_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  std::string partial_;
  bool stdout_eof_ = false, stderr_eof_ = false;
  std::string stderr_;
  std::thread stdout_thread_, stderr_thread_;
};

}  // namespace hpc::testing
