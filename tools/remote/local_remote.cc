#include "tools/remote/local_remote.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "tools/remote/command_line.h"
#include "tools/remote/local_process.h"
#include "tools/remote/remote_errors.h"
#include "tools/remote/shell.h"
#include "tools/remote/temp_name.h"

namespace hpc::remote {
namespace {

// Closes a descriptor on every path out of a function.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// mkdir -p: every missing component of `dir`, mode 0755. An existing
// non-directory in the way is an error.
Status MakeDirs(const std::string& dir) {
  if (dir.empty() || dir == "." || dir == "/") return Status::Ok();
  size_t pos = dir[0] == '/' ? 1 : 0;
  for (int guard = 0; guard < 4096; ++guard) {  // Components of one path.
    size_t slash = dir.find('/', pos);
    std::string prefix = dir.substr(0, slash);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), 0755) != 0 &&
        errno != EEXIST) {
      return ErrnoError(errno, "create directory " + prefix);
    }
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return ErrnoError(errno, "create directory " + dir);
  }
  if (!S_ISDIR(st.st_mode)) {
    return RemoteError(Reason::kIoError,
                       "cannot create directory " + dir +
                           ": a file of that name is in the way",
                       false);
  }
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view content, const std::string& what) {
  size_t done = 0;
  for (int guard = 0; done < content.size() && guard < (1 << 20); ++guard) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError(n < 0 ? errno : EIO, "write " + what);
    done += static_cast<size_t>(n);
  }
  if (done != content.size()) return ErrnoError(EIO, "write " + what);
  return Status::Ok();
}

}  // namespace

LocalRemote::LocalRemote(std::vector<std::string> login_shell,
                         std::vector<std::string> setup)
    : login_shell_(std::move(login_shell)), setup_(std::move(setup)) {}

Result<CommandResult> LocalRemote::Run(const std::vector<std::string>& argv,
                                       const RunOptions& options) {
  HPC_RETURN_IF_ERROR(ValidateRun(argv, options));
  ProcessSpec spec;
  spec.stdin_data = options.stdin_data;
  spec.timeout = options.timeout;
  spec.max_output = options.max_output;
  if (options.login_shell && !login_shell_.empty() && !setup_.empty()) {
    // The same string SshRemote sends, parsed by a POSIX shell as an SSH
    // server's shell would; cwd and env travel inside it.
    spec.argv = {"/bin/sh", "-c",
                 RemoteCommandLine(argv, options, login_shell_, setup_)};
  } else {
    spec.argv = argv;
    spec.cwd = options.cwd;
    spec.env = options.env;
  }
  return RunProcess(spec);
}

Result<std::string> LocalRemote::ReadFile(const std::string& path,
                                          uint64_t offset, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open " + path);
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoError(errno, "stat " + path);
  if (S_ISDIR(st.st_mode)) return ErrnoError(EISDIR, "read " + path);
  std::string data;
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > offset) {
    data.reserve(static_cast<size_t>(std::min<uint64_t>(
        max_bytes, static_cast<uint64_t>(st.st_size) - offset)));
  }
  char buf[65536];
  uint64_t pos = offset;
  // Bounded by max_bytes: every pass adds at least one byte or stops.
  while (data.size() < max_bytes) {
    size_t want = std::min(sizeof buf, max_bytes - data.size());
    ssize_t n = ::pread(fd, buf, want, static_cast<off_t>(pos));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "read " + path);
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    pos += static_cast<uint64_t>(n);
  }
  return data;
}

Result<FileInfo> LocalRemote::Stat(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoError(errno, "stat " + path);
  FileInfo info;
  info.is_dir = S_ISDIR(st.st_mode);
  info.size = static_cast<uint64_t>(st.st_size);
  info.mtime = static_cast<int64_t>(st.st_mtime);
  info.mode = static_cast<uint32_t>(st.st_mode) & 07777;
  return info;
}

Status LocalRemote::WriteFileAtomic(const std::string& path,
                                    std::string_view content, uint32_t mode) {
  auto parts = SplitPath(path);
  if (!parts.ok()) return parts.status();
  HPC_RETURN_IF_ERROR(MakeDirs(parts->dir));
  std::string temp = TempNameBeside(*parts) + "XXXXXX";
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0)
    return ErrnoError(errno, "create a temporary file beside " + path);
  Status st = WriteAll(fd, content, temp);
  if (st.ok() && ::fchmod(fd, mode & 07777) != 0) {
    st = ErrnoError(errno, "chmod " + temp);
  }
  if (st.ok() && ::fsync(fd) != 0) st = ErrnoError(errno, "fsync " + temp);
  if (::close(fd) != 0 && st.ok()) st = ErrnoError(errno, "close " + temp);
  if (st.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    st = ErrnoError(errno, "rename " + temp + " to " + path);
  }
  if (!st.ok()) {
    ::unlink(temp.c_str());
    return st;
  }
  // The rename is durable once the directory is; failure here is harmless
  // for readers, so it is not reported.
  int dir_fd = ::open(parts->dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return Status::Ok();
}

Result<std::vector<DirEntry>> LocalRemote::ListDir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return ErrnoError(errno, "list " + path);
  std::vector<DirEntry> entries;
  int dir_fd = ::dirfd(dir);
  // Bounded by the directory's size; the guard stops a runaway filesystem.
  for (size_t guard = 0; guard < (size_t{1} << 24); ++guard) {
    errno = 0;
    dirent* e = ::readdir(dir);
    if (e == nullptr) {
      if (errno != 0) {
        int err = errno;
        ::closedir(dir);
        return ErrnoError(err, "list " + path);
      }
      break;
    }
    std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    DirEntry entry;
    entry.name = std::string(name);
    struct stat st;
    if (::fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      entry.is_dir = S_ISDIR(st.st_mode);
      entry.size = static_cast<uint64_t>(st.st_size);
      entry.mtime = static_cast<int64_t>(st.st_mtime);
    }
    entries.push_back(std::move(entry));
  }
  ::closedir(dir);
  std::sort(
      entries.begin(), entries.end(),
      [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

}  // namespace hpc::remote
