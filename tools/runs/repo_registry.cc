#include "tools/runs/repo_registry.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

namespace hpc::runs {
namespace {

// The whole file, read through `fd` from its start.
std::string ReadAll(int fd) {
  std::string data;
  char buf[8192];
  if (::lseek(fd, 0, SEEK_SET) < 0) return data;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    if (nl > start) out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace

std::string RepoRegistryPath() {
  const char* state = std::getenv("XDG_STATE_HOME");
  if (state && *state == '/') return std::string(state) + "/hpc-mcp/repos";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") +
         "/.local/state/hpc-mcp/repos";
}

void RecordRepo(const std::string& repo) {
  if (repo.empty() || repo[0] != '/' || repo.find('\n') != std::string::npos)
    return;
  const std::string path = RepoRegistryPath();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(),
                                      ec);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    spdlog::debug("cannot record {} in {}: {}", repo, path,
                  std::strerror(errno));
    return;
  }
  while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
  }
  const std::string text = ReadAll(fd);
  bool listed = false;
  for (const auto& line : Lines(text)) listed |= line == repo;
  if (!listed) {
    // A line cut short by a crash is ended first, not extended.
    const bool torn = !text.empty() && text.back() != '\n';
    const std::string line = (torn ? "\n" : "") + repo + "\n";
    if (::write(fd, line.data(), line.size()) !=
        static_cast<ssize_t>(line.size()))
      spdlog::debug("cannot record {} in {}: {}", repo, path,
                    std::strerror(errno));
  }
  ::close(fd);  // Releases the lock.
}

std::vector<std::string> SeenRepos() {
  int fd = ::open(RepoRegistryPath().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  while (::flock(fd, LOCK_SH) != 0 && errno == EINTR) {
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto& line : Lines(ReadAll(fd)))
    if (line[0] == '/' && seen.insert(line).second)
      out.push_back(std::move(line));
  ::close(fd);
  return out;
}

}  // namespace hpc::runs
