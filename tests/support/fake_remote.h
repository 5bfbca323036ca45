// A recording Remote for unit tests of code that drives schedulers: every
// Run is recorded (argv and options) and answered by the first rule whose
// command name (argv[0]) matches, in the order the rules were added; files
// live in memory. Answers are meant to be real captured output
// (tests/testdata/, testdata.h), so production parsers run on real
// formats.
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tools/remote/remote.h"

namespace hpc::testing {

struct RecordedRun {
  std::vector<std::string> argv;
  remote::RunOptions options;
};

class FakeRemote : public remote::Remote {
 public:
  using Handler = std::function<Result<remote::CommandResult>(
      const std::vector<std::string>& argv)>;

  // The next Run of `command` (argv[0]) answers `out`/`err`/`exit_code`.
  // Answers for one command are used in order; the last one repeats.
  void Answer(const std::string& command, std::string out,
              std::string err = "", int exit_code = 0) {
    remote::CommandResult r;
    r.out = std::move(out);
    r.err = std::move(err);
    r.exit_code = exit_code;
    std::lock_guard lock(mu_);
    answers_[command].push_back(r);
  }
  // Runs of `command` are answered by `h` (takes precedence over Answer).
  void Handle(const std::string& command, Handler h) {
    std::lock_guard lock(mu_);
    handlers_[command] = std::move(h);
  }

  Result<remote::CommandResult> Run(const std::vector<std::string>& argv,
                                    const remote::RunOptions& options) override {
    Handler h;
    {
      std::lock_guard lock(mu_);
      runs_.push_back({argv, options});
      if (argv.empty()) return Internal("empty argv");
      auto hit = handlers_.find(argv[0]);
      if (hit != handlers_.end()) h = hit->second;
      if (!h) {
        auto it = answers_.find(argv[0]);
        if (it == answers_.end() || it->second.empty()) {
          remote::CommandResult ok;
          ok.exit_code = 0;
          return ok;
        }
        remote::CommandResult r = it->second.front();
        if (it->second.size() > 1) it->second.pop_front();
        return r;
      }
    }
    return h(argv);
  }

  Result<std::string> ReadFile(const std::string& path, uint64_t offset,
                               size_t max_bytes) override {
    std::lock_guard lock(mu_);
    auto it = files_.find(path);
    if (it == files_.end())
      return Status(NotFound(path)).WithReason("not_found", false, "");
    if (offset >= it->second.size()) return std::string();
    return it->second.substr(offset, max_bytes);
  }

  Result<remote::FileInfo> Stat(const std::string& path) override {
    std::lock_guard lock(mu_);
    auto it = files_.find(path);
    if (it == files_.end())
      return Status(NotFound(path)).WithReason("not_found", false, "");
    remote::FileInfo info;
    info.size = it->second.size();
    info.mode = modes_[path];
    return info;
  }

  Status WriteFileAtomic(const std::string& path, std::string_view content,
                         uint32_t mode) override {
    std::lock_guard lock(mu_);
    files_[path] = std::string(content);
    modes_[path] = mode;
    writes_.push_back(path);
    return Status::Ok();
  }

  Result<std::vector<remote::DirEntry>> ListDir(
      const std::string& path) override {
    std::lock_guard lock(mu_);
    std::vector<remote::DirEntry> out;
    std::string prefix = path + "/";
    for (const auto& [p, content] : files_) {
      if (p.compare(0, prefix.size(), prefix) != 0) continue;
      std::string rest = p.substr(prefix.size());
      if (rest.find('/') != std::string::npos) continue;
      remote::DirEntry e;
      e.name = rest;
      e.size = content.size();
      out.push_back(e);
    }
    if (out.empty() && !dirs_.count(path))
      return Status(NotFound(path)).WithReason("not_found", false, "");
    return out;
  }

  std::string Describe() const override { return "fake"; }

  // A directory ListDir reports even when empty.
  void AddDir(const std::string& path) {
    std::lock_guard lock(mu_);
    dirs_.insert({path, true});
  }
  void PutFile(const std::string& path, std::string content) {
    std::lock_guard lock(mu_);
    files_[path] = std::move(content);
  }

  std::vector<RecordedRun> runs() {
    std::lock_guard lock(mu_);
    return runs_;
  }
  // The argv of every Run whose command is `command`.
  std::vector<std::vector<std::string>> runs_of(const std::string& command) {
    std::lock_guard lock(mu_);
    std::vector<std::vector<std::string>> out;
    for (const auto& r : runs_)
      if (!r.argv.empty() && r.argv[0] == command) out.push_back(r.argv);
    return out;
  }
  std::string file(const std::string& path) {
    std::lock_guard lock(mu_);
    auto it = files_.find(path);
    return it == files_.end() ? std::string() : it->second;
  }
  uint32_t mode(const std::string& path) {
    std::lock_guard lock(mu_);
    return modes_[path];
  }
  std::vector<std::string> writes() {
    std::lock_guard lock(mu_);
    return writes_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::deque<remote::CommandResult>> answers_;
  std::map<std::string, Handler> handlers_;
  std::vector<RecordedRun> runs_;
  std::map<std::string, std::string> files_;
  std::map<std::string, uint32_t> modes_;
  std::map<std::string, bool> dirs_;
  std::vector<std::string> writes_;
};

}  // namespace hpc::testing
