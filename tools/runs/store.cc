#include "tools/runs/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <map>

#include "tools/runs/repo_registry.h"

namespace hpc::runs {
namespace {

std::mutex g_mu;
std::string g_state_dir_override;
std::map<std::string, std::shared_ptr<RunStore>>* g_stores =
    new std::map<std::string, std::shared_ptr<RunStore>>();  // Never freed: outlives exit.

// 8 hex digits of FNV-1a over the journal's id: enough to tell journals
// apart, short in a cursor.
std::string ShortId(const std::string& created) {
  uint32_t h = 2166136261u;
  for (unsigned char c : created) h = (h ^ c) * 16777619u;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

std::string StateDirLocked(const std::string& repo) {
  return g_state_dir_override.empty()
             ? (std::filesystem::path(repo) / ".hpc-mcp").string()
             : g_state_dir_override;
}

}  // namespace

void SetStateDirOverride(std::string dir) {
  std::lock_guard lock(g_mu);
  g_state_dir_override = std::move(dir);
}

std::string StateDirFor(const std::string& repo) {
  std::lock_guard lock(g_mu);
  return StateDirLocked(repo);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::shared_ptr<RunStore>> RunStore::ForRepo(const std::string& repo) {
  std::shared_ptr<RunStore> store;
  {
    std::lock_guard lock(g_mu);
    std::string dir = StateDirLocked(repo);
    auto it = g_stores->find(dir);
    if (it != g_stores->end()) return it->second;
    auto j = journal::Journal::Open(dir);
    if (!j.ok()) return j.status();
    store.reset(new RunStore(repo, dir, std::move(*j)));
    (*g_stores)[dir] = store;
  }
  // Once per repository and process, outside the lock: the patrol finds
  // the repository there. Never fails the caller.
  RecordRepo(repo);
  return store;
}

std::vector<std::shared_ptr<RunStore>> RunStore::Known() {
  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).string();
  if (!ec) (void)ForRepo(cwd);  // Opens it (once) when it can.
  std::lock_guard lock(g_mu);
  std::vector<std::shared_ptr<RunStore>> all;
  for (const auto& [dir, store] : *g_stores) all.push_back(store);
  return all;
}

Status RunStore::CatchUpLocked() {
  auto replay = journal_.ReadFrom(offset_);
  if (!replay.ok() && replay.status().reason() == "journal_replaced") {
    // Replaced under us (restored from a backup): start over.
    offset_ = 0;
    table_ = std::make_shared<RunTable>();
    replay = journal_.ReadFrom(0);
  }
  if (!replay.ok()) return replay.status();
  if (offset_ == 0) journal_id_ = ShortId(replay->id);
  if (replay->events.empty() && replay->problems.empty()) {
    offset_ = replay->end_offset;
    return Status::Ok();
  }
  auto next = std::make_shared<RunTable>(*table_);
  for (const auto& e : replay->events) next->Apply(e);
  // A torn last line is read again on every catch-up until an append
  // completes it: report it once.
  for (auto& p : replay->problems)
    if (std::find(next->problems.begin(), next->problems.end(), p) == next->problems.end())
      next->problems.push_back(std::move(p));
  table_ = std::move(next);
  offset_ = replay->end_offset;
  return Status::Ok();
}

Result<std::shared_ptr<const RunTable>> RunStore::Load() {
  std::lock_guard lock(mu_);
  HPC_RETURN_IF_ERROR(CatchUpLocked());
  return table_;
}

Status RunStore::Append(const std::string& run, const std::string& name,
                        nlohmann::json context) {
  std::lock_guard lock(mu_);
  HPC_RETURN_IF_ERROR(journal_.Append({"", run, name, std::move(context)}));
  // Reading back what was appended (and anything another process wrote
  // before it) keeps the table in journal order.
  return CatchUpLocked();
}

Result<FileLock> RunStore::Lock(const std::string& name, bool wait) {
  std::string path = state_dir_ + "/" + name;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return Status(StatusCode::kUnavailable, "cannot open " + path + ": " + std::strerror(errno))
        .WithReason("io_error", true, "check that the state directory is writable");
  FileLock held(fd);
  while (::flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK)
      return FailedPrecondition("another submit to this repository is in progress")
          .WithReason("busy", true, "try again in a few seconds");
    return Status(StatusCode::kUnavailable, "cannot lock " + path + ": " + std::strerror(errno));
  }
  return held;
}

Result<SubmitLock> RunStore::LockSubmits() { return Lock("submit.lock", true); }
Result<SubmitLock> RunStore::TryLockSubmits() {
  return Lock("submit.lock", false);
}
Result<FileLock> RunStore::LockFile(const std::string& name) {
  return Lock(name, true);
}

std::string RunStore::journal_id() {
  std::lock_guard lock(mu_);
  return journal_id_;
}

std::string RunStore::MakeCursor(uint64_t seq) const {
  return std::to_string(seq) + "." + journal_id_;
}

Result<uint64_t> RunStore::ParseCursor(const std::string& cursor) const {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("cursor \"" + cursor.substr(0, 60) + "\" " + why +
                           "; pass the `cursor` of an earlier poll of this repository, "
                           "or omit `since`");
  };
  size_t dot = cursor.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 19) return bad("is malformed");
  uint64_t seq = 0;
  for (size_t i = 0; i < dot; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(cursor[i]))) return bad("is malformed");
    seq = seq * 10 + static_cast<uint64_t>(cursor[i] - '0');
  }
  if (cursor.substr(dot + 1) != journal_id_) return bad("belongs to another journal");
  return seq;
}

}  // namespace hpc::runs
