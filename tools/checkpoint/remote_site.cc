// RemoteSite: the checkpoint is on a cluster; find and sha256sum run there.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "tools/checkpoint/site.h"
#include "tools/remote/command_line.h"

namespace hpc::checkpoint {
namespace {

// A batch of files for one sha256sum: bounded in count, bytes and argv
// length, so a command neither runs for hours nor hits ARG_MAX.
constexpr size_t kBatchFiles = 256;
constexpr uint64_t kBatchBytes = 2ull << 30;
constexpr size_t kBatchArgBytes = 64 * 1024;

// Generous: 2 minutes plus 40 MB/s, far below what sha256sum reads even
// from a busy parallel filesystem.
std::chrono::milliseconds BatchTimeout(uint64_t bytes) {
  return std::chrono::milliseconds(120000 + bytes / 40000);
}

Status FindFailed(const std::string& root, const remote::CommandResult& r) {
  std::string err = remote::Abbreviate(r.err, 400);
  if (r.out.empty() &&
      err.find("No such file or directory") != std::string::npos)
    return NotFound(root + " does not exist on the cluster");
  return FailedPrecondition("could not list " + root +
                            " on the cluster (find exit " +
                            std::to_string(r.exit_code) + "): " + err);
}

class RemoteSite : public Site {
 public:
  RemoteSite(std::shared_ptr<remote::Remote> remote, int parallel)
      : remote_(std::move(remote)), parallel_(std::max(1, parallel)) {}

  Result<Tree> List(const std::string& root) override {
    remote::RunOptions o;
    o.login_shell = false;
    o.timeout = std::chrono::seconds(300);
    o.max_output = 256u << 20;
    // -H follows the root itself if it is a symlink (scratch directories
    // often are), never anything below it.
    auto r = remote_->Run(
        {"find", "-H", root, "-printf", "%y\\0%s\\0%T@\\0%P\\0%l\\0"}, o);
    if (!r.ok()) return r.status();
    if (r->out_truncated)
      return ResourceExhausted("the listing of " + root +
                               " is too large; give a narrower directory");
    if (!r->ok()) return FindFailed(root, *r);
    return ParseFindOutput(root, r->out);
  }

  Result<std::vector<FileHash>> Hash(const std::vector<HashTask>& files,
                                     const ProgressFn& progress,
                                     std::stop_token stop) override {
    std::vector<FileHash> results(files.size());
    std::vector<std::vector<size_t>> batches;
    uint64_t total = 0;
    {
      std::vector<size_t> cur;
      uint64_t bytes = 0;
      size_t args = 0;
      for (size_t i = 0; i < files.size(); ++i) {
        if (!cur.empty() &&
            (cur.size() >= kBatchFiles || bytes + files[i].size > kBatchBytes ||
             args + files[i].path.size() > kBatchArgBytes)) {
          batches.push_back(std::move(cur));
          cur.clear();
          bytes = 0;
          args = 0;
        }
        cur.push_back(i);
        bytes += files[i].size;
        args += files[i].path.size() + 1;
        total += files[i].size;
      }
      if (!cur.empty()) batches.push_back(std::move(cur));
    }
    std::atomic<size_t> next{0};
    std::atomic<uint64_t> done{0};
    std::mutex mu;
    std::condition_variable cv;
    Status failure;
    int running = std::min<int>(parallel_, static_cast<int>(batches.size()));
    std::vector<std::thread> workers;
    for (int w = 0, n = running; w < n; ++w) {
      workers.emplace_back([&] {
        for (;;) {
          size_t k = next.fetch_add(1);
          if (k >= batches.size() || stop.stop_requested()) break;
          Status s = RunBatch(files, batches[k], results, done);
          if (!s.ok()) {
            std::lock_guard<std::mutex> l(mu);
            if (failure.ok()) failure = s;
            next.store(batches.size());  // The others stop after their batch.
            break;
          }
        }
        std::lock_guard<std::mutex> l(mu);
        if (--running == 0) cv.notify_all();
      });
    }
    {
      std::unique_lock<std::mutex> l(mu);
      while (!cv.wait_for(l, std::chrono::milliseconds(250),
                          [&] { return running == 0; })) {
        if (progress) {
          l.unlock();
          progress(done.load(), total);
          l.lock();
        }
      }
    }
    for (auto& w : workers) w.join();
    if (!failure.ok()) return failure;
    if (stop.stop_requested())
      return Cancelled("hashing on the cluster was cancelled after " +
                       std::to_string(done.load()) + " of " +
                       std::to_string(total) + " bytes");
    if (progress) progress(done.load(), total);
    return results;
  }

  Result<int64_t> Now() override {
    remote::RunOptions o;
    o.login_shell = false;
    auto r = remote_->Run({"date", "+%s"}, o);
    if (!r.ok()) return r.status();
    try {
      if (r->ok()) return static_cast<int64_t>(std::stoll(r->out));
    } catch (const std::exception&) {
    }
    return FailedPrecondition("`date +%s` on the cluster answered '" +
                              remote::Abbreviate(r->out) + "'");
  }

  std::string Describe() const override {
    return "the cluster (sha256sum over " + remote_->Describe() + ")";
  }

 private:
  // Hashes one batch with one sha256sum; `done` grows by the batch's bytes.
  Status RunBatch(const std::vector<HashTask>& files,
                  const std::vector<size_t>& batch,
                  std::vector<FileHash>& results, std::atomic<uint64_t>& done) {
    // -z: NUL-terminated records and names written as they are (no
    // backslash escaping of odd names). `--` keeps names starting with '-'
    // from reading as options.
    std::vector<std::string> argv{"sha256sum", "-z", "--"};
    std::map<std::string, size_t> index;
    uint64_t bytes = 0;
    for (size_t i : batch) {
      argv.push_back(files[i].path);
      index[files[i].path] = i;
      bytes += files[i].size;
    }
    remote::RunOptions o;
    o.login_shell = false;
    o.timeout = BatchTimeout(bytes);
    auto r = remote_->Run(argv, o);
    if (!r.ok()) return r.status();
    std::vector<bool> seen(files.size(), false);
    size_t pos = 0;
    while (pos < r->out.size()) {
      size_t end = r->out.find('\0', pos);
      if (end == std::string::npos) break;  // Truncated record.
      std::string rec = r->out.substr(pos, end - pos);
      pos = end + 1;
      // "<64 hex><space><space or *><name>"
      if (rec.size() < 67 || rec[64] != ' ') continue;
      auto it = index.find(rec.substr(66));
      if (it == index.end() || !IsSha256Hex(rec.substr(0, 64))) continue;
      results[it->second].sha256 = rec.substr(0, 64);
      results[it->second].bytes = files[it->second].size;
      seen[it->second] = true;
    }
    for (size_t i : batch) {
      if (seen[i]) continue;
      std::string why;
      size_t at = r->err.find(files[i].path);
      if (at != std::string::npos) {
        size_t eol = r->err.find('\n', at);
        why = r->err.substr(
            at, eol == std::string::npos ? std::string::npos : eol - at);
      } else {
        why = "sha256sum exit " + std::to_string(r->exit_code) + ": " +
              remote::Abbreviate(r->err);
      }
      results[i].error = why;
    }
    done.fetch_add(bytes);
    return Status::Ok();
  }

  std::shared_ptr<remote::Remote> remote_;
  int parallel_;
};

}  // namespace

Result<Tree> ParseFindOutput(const std::string& root, const std::string& out) {
  Tree tree;
  tree.root = root;
  std::vector<std::string_view> f;
  std::string_view rest(out);
  while (!rest.empty()) {
    size_t nul = rest.find('\0');
    if (nul == std::string_view::npos) break;
    f.push_back(rest.substr(0, nul));
    rest.remove_prefix(nul + 1);
  }
  if (f.size() % 5 != 0)
    return Internal("find printed a malformed listing of " + root);
  bool root_seen = false;
  for (size_t i = 0; i < f.size(); i += 5) {
    Entry e;
    char y = f[i].empty() ? '?' : f[i][0];
    e.type = y == 'f'   ? EntryType::kFile
             : y == 'd' ? EntryType::kDir
             : y == 'l' ? EntryType::kSymlink
                        : EntryType::kOther;
    try {
      e.size = std::stoull(std::string(f[i + 1]));
      e.mtime = std::stoll(std::string(f[i + 2]));
    } catch (const std::exception&) {
      return Internal("find printed a malformed listing of " + root);
    }
    e.path = std::string(f[i + 3]);
    e.link_target = std::string(f[i + 4]);
    if (e.path.empty()) {
      root_seen = true;
      if (e.type != EntryType::kDir)
        return InvalidArgument(
            root + " is not a directory: give the checkpoint's directory");
      continue;
    }
    tree.entries.push_back(std::move(e));
    if (tree.entries.size() > kMaxEntries)
      return ResourceExhausted(
          root + " holds more than " + std::to_string(kMaxEntries) +
          " entries; give a narrower checkpoint directory");
  }
  if (!root_seen) return NotFound(root + " does not exist on the cluster");
  std::sort(tree.entries.begin(), tree.entries.end(),
            [](const Entry& a, const Entry& b) { return a.path < b.path; });
  return tree;
}

std::unique_ptr<Site> MakeRemoteSite(std::shared_ptr<remote::Remote> remote,
                                     int parallel) {
  return std::make_unique<RemoteSite>(std::move(remote), parallel);
}

}  // namespace hpc::checkpoint
