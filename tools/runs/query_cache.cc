#include "tools/runs/query_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <utility>

namespace hpc::runs {
namespace {

using cluster::JobState;
using cluster::JobStatus;
using nlohmann::json;

// The file format; a file of another version is ignored and rewritten.
constexpr int kFormatVersion = 1;
// The entry's other unsettled ids ride along in a query until it holds
// this many ids (those asked for are always in it).
constexpr size_t kMaxQueryIds = 5000;
// Unsettled ids nobody asked about for this long stop riding along: a
// purged id stays kUnknown forever.
constexpr int64_t kRideAlongMs = 10 * 60 * 1000;
// Answers nobody asked about for this long leave the entry.
constexpr int64_t kForgetMs = 7LL * 24 * 3600 * 1000;
// How long a process waits for another's query before querying itself.
constexpr auto kLockWait = std::chrono::seconds(120);

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the scheduler said for one requested id (an array parent: one status
// per task), and when.
struct Answer {
  std::vector<JobStatus> statuses;
  int64_t at_ms = 0;     // When the scheduler was asked.
  int64_t asked_ms = 0;  // When a caller last asked for it.
};

// An answer that can no longer change: every status terminal and with its
// exit code (Slurm fills exit codes a poll late, from accounting).
bool Settled(const Answer& a) {
  if (a.statuses.empty()) return false;
  for (const auto& s : a.statuses)
    if (!cluster::IsTerminal(s.state) || !s.exit_code.has_value()) return false;
  return true;
}

using Entry = std::map<std::string, Answer>;  // Requested id -> answer.

// One cluster's entry in this process. `mu` is held across the query, so
// concurrent callers wait for the one in flight.
struct Slot {
  std::mutex mu;
  Entry entry;  // Guarded by mu.
};

std::mutex g_mu;
// Never freed: slots may be in use while the process exits.
auto* g_slots = new std::map<std::string, std::shared_ptr<Slot>>();

std::shared_ptr<Slot> SlotFor(const std::string& key) {
  std::lock_guard lock(g_mu);
  auto& slot = (*g_slots)[key];
  if (!slot) slot = std::make_shared<Slot>();
  return slot;
}

// "query-<16 hex digits>": FNV-1a (stable across builds, unlike std::hash)
// of what decides which jobs a query sees and how it reaches them. The
// work root is in it because the host backend's jobs live under it.
std::string KeyFor(const cluster::ClusterProfile& p) {
  const auto& a = p.access;
  const std::string parts[] = {
      p.name, p.scheduler, a.kind,       a.host,     std::to_string(a.port),
      a.user, a.alias,     a.ssh_config, p.work_root};
  uint64_t h = 1469598103934665603ULL;
  for (const std::string& part : parts) {
    for (unsigned char c : part) h = (h ^ c) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;  // Separator: "ab","c" != "a","bc".
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "query-%016llx",
                static_cast<unsigned long long>(h));
  return buf;
}

// The cache directory, created 0700 where missing; nullopt when there is
// none to be had (then the cache is this process's alone).
std::optional<std::string> CacheDir() {
  std::string dir;
  if (const char* d = std::getenv("HPC_MCP_CACHE_DIR"); d && d[0] == '/') {
    dir = d;
  } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && x[0] == '/') {
    dir = std::string(x) + "/hpc-mcp";
  } else if (const char* h = std::getenv("HOME"); h && h[0] == '/') {
    dir = std::string(h) + "/.cache/hpc-mcp";
  } else {
    return std::nullopt;
  }
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i != dir.size() && dir[i] != '/') continue;
    std::string prefix = dir.substr(0, i);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
      return std::nullopt;
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return std::nullopt;
  return dir;
}

json StatusToJson(const JobStatus& s) {
  json j = {{"job_id", s.job_id},
            {"state", cluster::JobStateName(s.state)},
            {"native_state", s.native_state},
            {"reason", s.reason},
            {"nodes", s.nodes}};
  if (s.exit_code) j["exit_code"] = *s.exit_code;
  if (s.signal) j["signal"] = *s.signal;
  if (s.start_time) j["start_time"] = *s.start_time;
  if (s.end_time) j["end_time"] = *s.end_time;
  return j;
}

// REQUIRES: inside a try block (nlohmann throws on a wrong type).
JobStatus StatusFromJson(const json& j) {
  JobStatus s;
  s.job_id = j.at("job_id").get<std::string>();
  auto state = cluster::ParseJobState(j.at("state").get<std::string>());
  if (!state) throw std::runtime_error("bad state");
  s.state = *state;
  s.native_state = j.at("native_state").get<std::string>();
  s.reason = j.at("reason").get<std::string>();
  s.nodes = j.at("nodes").get<std::string>();
  if (j.contains("exit_code")) s.exit_code = j.at("exit_code").get<int>();
  if (j.contains("signal")) s.signal = j.at("signal").get<int>();
  if (j.contains("start_time"))
    s.start_time = j.at("start_time").get<int64_t>();
  if (j.contains("end_time")) s.end_time = j.at("end_time").get<int64_t>();
  return s;
}

std::string EncodeEntry(const Entry& entry) {
  json answers = json::object();
  for (const auto& [id, a] : entry) {
    json statuses = json::array();
    for (const auto& s : a.statuses) statuses.push_back(StatusToJson(s));
    answers[id] = {{"at_ms", a.at_ms},
                   {"asked_ms", a.asked_ms},
                   {"statuses", std::move(statuses)}};
  }
  json doc = {{"version", kFormatVersion}, {"answers", std::move(answers)}};
  // Ids and reasons come from scheduler output: replace invalid UTF-8
  // rather than throw.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

// nullopt for anything but a well-formed file of this version: a corrupt
// file is ignored and rewritten by the next query.
std::optional<Entry> DecodeEntry(const std::string& text) {
  try {
    json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
    if (doc.at("version").get<int>() != kFormatVersion) return std::nullopt;
    Entry entry;
    for (const auto& [id, a] : doc.at("answers").items()) {
      Answer answer;
      answer.at_ms = a.at("at_ms").get<int64_t>();
      answer.asked_ms = a.at("asked_ms").get<int64_t>();
      for (const auto& s : a.at("statuses"))
        answer.statuses.push_back(StatusFromJson(s));
      entry[id] = std::move(answer);
    }
    return entry;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::string> ReadWhole(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string data;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return std::nullopt;
    }
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

// Temp file beside, then rename: a reader sees the old file or the new
// one, never half of one. No fsync: a file torn by a crash is corrupt, and
// corrupt files are ignored. Failures only cost sharing.
void WriteAtomic(const std::string& path, const std::string& data) {
  std::string temp = path + ".tmp-XXXXXX";
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return;
  bool ok = true;
  for (size_t off = 0; ok && off < data.size();) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) off += static_cast<size_t>(n);
  }
  ok = ::fchmod(fd, 0600) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) ::unlink(temp.c_str());
}

// An flock on `path` held until destruction; not held when the file cannot
// be opened or another process held it past kLockWait.
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return;
    const auto deadline = std::chrono::steady_clock::now() + kLockWait;
    // Polled rather than blocking: a process stuck in its query must not
    // hold every other one forever.
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) break;
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // Releases the lock.
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// Takes from `file` every answer fresher than the one in `entry`.
void MergeNewer(Entry& entry, Entry file) {
  for (auto& [id, a] : file) {
    auto it = entry.find(id);
    if (it == entry.end()) {
      entry[id] = std::move(a);
    } else {
      int64_t asked = std::max(it->second.asked_ms, a.asked_ms);
      if (a.at_ms > it->second.at_ms) it->second = std::move(a);
      it->second.asked_ms = asked;
    }
  }
}

// Whether `a` may be served at `now`: settled, or younger than the
// interval (a clock set back makes answers look younger than they are).
bool Fresh(const Answer& a, int64_t now, int64_t interval_ms) {
  if (interval_ms <= 0 || a.statuses.empty()) return false;
  const int64_t age = now - a.at_ms;
  return Settled(a) || (age < interval_ms && age >= -1000);
}

// Whether `entry` answers every one of `ids` at `now`; `age_ms` is the age
// of the oldest answer used.
bool Serves(const Entry& entry, const std::vector<std::string>& ids,
            int64_t now, int64_t interval_ms, int64_t* age_ms) {
  int64_t oldest = now;
  for (const auto& id : ids) {
    auto it = entry.find(id);
    if (it == entry.end() || !Fresh(it->second, now, interval_ms)) return false;
    oldest = std::min(oldest, it->second.at_ms);
  }
  *age_ms = std::max<int64_t>(0, now - oldest);
  return true;
}

// Whether `status` (as Scheduler::Query reports it) belongs to the queried
// `id`: the id itself, or a task of it ("7_3" of "7", "8.2" of "8").
bool Answers(const std::string& id, const std::string& status_id) {
  if (status_id == id) return true;
  return status_id.size() > id.size() + 1 &&
         status_id.compare(0, id.size(), id) == 0 &&
         (status_id[id.size()] == '_' || status_id[id.size()] == '.');
}

void Forget(Entry& entry, int64_t now) {
  for (auto it = entry.begin(); it != entry.end();)
    it =
        now - it->second.asked_ms > kForgetMs ? entry.erase(it) : std::next(it);
}

std::vector<JobStatus> Collect(const Entry& entry,
                               const std::vector<std::string>& ids) {
  std::vector<JobStatus> out;
  for (const auto& id : ids) {
    auto it = entry.find(id);
    if (it != entry.end() && !it->second.statuses.empty()) {
      out.insert(out.end(), it->second.statuses.begin(),
                 it->second.statuses.end());
      continue;
    }
    JobStatus s;  // Scheduler::Query answers every id; this is a fallback.
    s.job_id = id;
    s.state = JobState::kUnknown;
    s.reason = "the scheduler returned no status for this id";
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Result<std::vector<JobStatus>> CachedQuery(
    const cluster::ClusterProfile& profile, cluster::Scheduler& scheduler,
    const std::vector<std::string>& job_ids, QueryStats* stats) {
  QueryStats ignored;
  QueryStats& st = stats != nullptr ? *stats : ignored;
  st = QueryStats{};
  if (job_ids.empty()) return std::vector<JobStatus>{};

  const std::string key = KeyFor(profile);
  const int64_t interval_ms =
      static_cast<int64_t>(profile.limits.min_query_interval_seconds) * 1000;
  std::shared_ptr<Slot> slot = SlotFor(key);
  std::lock_guard lock(slot->mu);
  Entry& entry = slot->entry;

  const std::optional<std::string> dir = CacheDir();
  const std::string file = dir ? *dir + "/" + key + ".json" : "";
  auto read_file = [&] {
    if (file.empty()) return;
    if (auto text = ReadWhole(file))
      if (auto e = DecodeEntry(*text)) MergeNewer(entry, std::move(*e));
  };
  auto serve = [&]() -> std::optional<std::vector<JobStatus>> {
    int64_t age_ms = 0;
    const int64_t now = NowMs();
    if (!Serves(entry, job_ids, now, interval_ms, &age_ms)) return std::nullopt;
    for (const auto& id : job_ids) entry[id].asked_ms = now;
    st.from_cache = true;
    st.age_seconds = static_cast<double>(age_ms) / 1000.0;
    return Collect(entry, job_ids);
  };

  if (auto hit = serve()) return std::move(*hit);
  read_file();  // Another process may have asked since.
  if (auto hit = serve()) return std::move(*hit);

  // One process queries; the others wait, then read what it wrote.
  std::optional<FileLock> flock;
  if (!file.empty()) {
    flock.emplace(dir.value() + "/" + key + ".lock");
    read_file();
    if (auto hit = serve()) return std::move(*hit);
  }

  // The ids asked for that the entry cannot answer, then the entry's other
  // unsettled ids that callers still ask about, up to the bound.
  const int64_t now = NowMs();
  std::vector<std::string> query;
  std::set<std::string> queued;
  for (const auto& id : job_ids) {
    auto it = entry.find(id);
    const bool fresh = it != entry.end() && Fresh(it->second, now, interval_ms);
    if (!fresh && queued.insert(id).second) query.push_back(id);
  }
  if (interval_ms > 0) {
    for (const auto& [id, a] : entry) {
      if (query.size() >= kMaxQueryIds) break;
      if (!Settled(a) && now - a.asked_ms < kRideAlongMs &&
          queued.insert(id).second)
        query.push_back(id);
    }
  }

  auto result = scheduler.Query(query);
  if (!result.ok()) return result.status();  // Not cached.
  const int64_t done = NowMs();
  for (const auto& id : query) {
    Answer a;
    a.at_ms = done;
    auto old = entry.find(id);
    a.asked_ms = old != entry.end() ? old->second.asked_ms : 0;
    for (const auto& s : *result)
      if (Answers(id, s.job_id)) a.statuses.push_back(s);
    if (a.statuses.empty()) {
      entry.erase(id);  // Asked again next time.
    } else {
      entry[id] = std::move(a);
    }
  }
  for (const auto& id : job_ids)
    if (auto it = entry.find(id); it != entry.end()) it->second.asked_ms = done;
  Forget(entry, done);
  if (!file.empty()) WriteAtomic(file, EncodeEntry(entry));
  return Collect(entry, job_ids);
}

void ResetQueryCacheForTesting() {
  std::lock_guard lock(g_mu);
  g_slots->clear();
}

}  // namespace hpc::runs
