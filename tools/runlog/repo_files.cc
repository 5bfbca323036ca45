#include "tools/runlog/repo_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tools/remote/local_remote.h"
#include "tools/runlog/layout.h"

namespace hpc::runlog {
namespace {

Status IoError(const std::string& what, const std::string& path) {
  return Status(StatusCode::kUnavailable,
                what + " " + path + ": " + std::strerror(errno))
      .WithReason("io_error", true, "check that the repository is writable");
}

Status Outside(const std::string& rel, const std::string& why) {
  return PermissionDenied("'" + rel + "' " + why +
                          "; run logs stay inside the repository")
      .WithReason("path_outside_repo", false,
                  "use a plain group and task name");
}

bool Inside(const std::string& path, const std::string& root) {
  return path == root || (path.size() > root.size() &&
                          path.compare(0, root.size(), root) == 0 &&
                          (root.back() == '/' || path[root.size()] == '/'));
}

}  // namespace

Result<RepoFiles> RepoFiles::Open(const std::string& repo) {
  char buf[PATH_MAX];
  if (repo.empty() || repo[0] != '/' ||
      ::realpath(repo.c_str(), buf) == nullptr)
    return InvalidArgument("repository '" + repo +
                           "' is not an existing absolute directory");
  return RepoFiles(buf);
}

Result<std::string> RepoFiles::Resolve(const std::string& rel) const {
  HPC_RETURN_IF_ERROR(CheckRelative(rel));
  // Walk the components: each one that exists must not be a symlink out of
  // the repository; the last one must not be a symlink at all.
  std::string path = root_;
  size_t start = 0;
  while (start < rel.size()) {
    size_t slash = rel.find('/', start);
    const bool last = slash == std::string::npos || slash + 1 == rel.size();
    path +=
        "/" + rel.substr(start, slash == std::string::npos ? std::string::npos
                                                           : slash - start);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) break;  // Created later, inside.
      return IoError("cannot inspect", path);
    }
    if (S_ISLNK(st.st_mode)) {
      if (last) return Outside(rel, "is a symbolic link");
      char buf[PATH_MAX];
      if (::realpath(path.c_str(), buf) == nullptr || !Inside(buf, root_))
        return Outside(
            rel, "goes through a symbolic link that leaves the repository");
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return root_ + "/" +
         (rel.back() == '/' ? rel.substr(0, rel.size() - 1) : rel);
}

Result<std::optional<std::string>> RepoFiles::Read(const std::string& rel,
                                                   size_t max_bytes) const {
  auto path = Resolve(rel);
  if (!path.ok()) return path.status();
  struct stat st;
  if (::stat(path->c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return IoError("cannot read", *path);
  }
  if (!S_ISREG(st.st_mode))
    return InvalidArgument(rel + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return ResourceExhausted(rel + " is " + std::to_string(st.st_size) +
                             " bytes, more than a run log can be (" +
                             std::to_string(max_bytes) + "); move it aside");
  std::ifstream in(*path, std::ios::binary);
  if (!in) return IoError("cannot open", *path);
  std::ostringstream s;
  s << in.rdbuf();
  return std::optional<std::string>(s.str());
}

Status RepoFiles::Write(const std::string& rel,
                        std::string_view content) const {
  auto path = Resolve(rel);
  if (!path.ok()) return path.status();
  remote::LocalRemote local;
  return local.WriteFileAtomic(*path, content, 0644);
}

Result<std::vector<std::string>> RepoFiles::List(
    const std::string& rel_dir) const {
  auto path = Resolve(rel_dir);
  if (!path.ok()) return path.status();
  struct stat st;
  if (::stat(path->c_str(), &st) != 0) return std::vector<std::string>{};
  remote::LocalRemote local;
  auto entries = local.ListDir(*path);
  if (!entries.ok()) return entries.status();
  std::vector<std::string> names;
  for (const auto& e : *entries) {
    struct stat fst;
    if (::lstat((*path + "/" + e.name).c_str(), &fst) == 0 &&
        S_ISREG(fst.st_mode))
      names.push_back(e.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<FileLock> FileLock::Acquire(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot open lock file", path);
  FileLock held(fd);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    return IoError("cannot lock", path);
  }
  return held;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace hpc::runlog
