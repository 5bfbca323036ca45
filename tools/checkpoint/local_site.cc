// LocalSite: the checkpoint is on this machine.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>

#include "tools/checkpoint/site.h"

namespace hpc::checkpoint {
namespace {

Entry FromStat(std::string rel, const struct stat& st) {
  Entry e;
  e.path = std::move(rel);
  e.size = static_cast<uint64_t>(st.st_size);
  e.mtime = static_cast<int64_t>(st.st_mtim.tv_sec);
  if (S_ISREG(st.st_mode))
    e.type = EntryType::kFile;
  else if (S_ISDIR(st.st_mode))
    e.type = EntryType::kDir;
  else if (S_ISLNK(st.st_mode))
    e.type = EntryType::kSymlink;
  else
    e.type = EntryType::kOther;
  return e;
}

class LocalSite : public Site {
 public:
  explicit LocalSite(int threads) : threads_(threads) {}

  Result<Tree> List(const std::string& root) override {
    struct stat st;
    if (::stat(root.c_str(), &st) != 0) {
      if (errno == ENOENT) return NotFound(root + " does not exist");
      return PermissionDenied("cannot stat " + root + ": " +
                              std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
      return InvalidArgument(
          root + " is not a directory: give the checkpoint's directory");
    Tree tree;
    tree.root = root;
    // Depth-first over directories, never through a symlink: lstat tells a
    // link from what it points to.
    std::vector<std::string> dirs{""};
    while (!dirs.empty()) {
      std::string rel = std::move(dirs.back());
      dirs.pop_back();
      std::string abs = rel.empty() ? root : root + "/" + rel;
      DIR* d = ::opendir(abs.c_str());
      if (!d)
        return PermissionDenied("cannot list " + abs + ": " +
                                std::strerror(errno));
      while (dirent* de = ::readdir(d)) {
        std::string name = de->d_name;
        if (name == "." || name == "..") continue;
        std::string child_rel = rel.empty() ? name : rel + "/" + name;
        std::string child_abs = abs + "/" + name;
        struct stat cst;
        if (::lstat(child_abs.c_str(), &cst) != 0) continue;  // Gone meanwhile.
        Entry e = FromStat(child_rel, cst);
        if (e.type == EntryType::kSymlink) {
          char buf[4096];
          ssize_t n = ::readlink(child_abs.c_str(), buf, sizeof buf);
          if (n > 0) e.link_target.assign(buf, static_cast<size_t>(n));
        }
        if (e.type == EntryType::kDir) dirs.push_back(child_rel);
        tree.entries.push_back(std::move(e));
        if (tree.entries.size() > kMaxEntries) {
          ::closedir(d);
          return ResourceExhausted(
              root + " holds more than " + std::to_string(kMaxEntries) +
              " entries; give a narrower checkpoint directory");
        }
      }
      ::closedir(d);
    }
    std::sort(tree.entries.begin(), tree.entries.end(),
              [](const Entry& a, const Entry& b) { return a.path < b.path; });
    return tree;
  }

  Result<std::vector<FileHash>> Hash(const std::vector<HashTask>& files,
                                     const ProgressFn& progress,
                                     std::stop_token stop) override {
    HashOptions o;
    o.threads = threads_;
    o.stop = stop;
    o.progress = progress;
    return HashLocalFiles(files, o);
  }

  Result<int64_t> Now() override {
    return static_cast<int64_t>(std::time(nullptr));
  }

  std::string Describe() const override {
    int n = threads_ > 0 ? threads_
                         : static_cast<int>(std::max(
                               1u, std::thread::hardware_concurrency()));
    return "this machine (OpenSSL SHA-256, " + std::to_string(n) +
           " thread(s))";
  }

 private:
  int threads_;
};

}  // namespace

const Entry* Tree::Find(const std::string& path) const {
  auto it = std::lower_bound(
      entries.begin(), entries.end(), path,
      [](const Entry& e, const std::string& p) { return e.path < p; });
  return it != entries.end() && it->path == path ? &*it : nullptr;
}

std::unique_ptr<Site> MakeLocalSite(int threads) {
  return std::make_unique<LocalSite>(threads);
}

}  // namespace hpc::checkpoint
