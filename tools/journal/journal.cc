#include "tools/journal/journal.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mcp_server/assets.h"
#include "mcp_server/json_rpc.h"
#include "mcp_server/redact.h"
#include "mcp_server/schema.h"
#include "tools/registry.h"

namespace hpc::journal {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

Status Errno(const std::string& what, const std::string& path) {
  return Status(StatusCode::kUnavailable, what + " " + path + ": " + std::strerror(errno))
      .WithReason("io_error", true, "check that the repository's .hpc-mcp directory is writable");
}

// An open file descriptor holding an exclusive flock, released on scope exit.
class LockedFile {
 public:
  explicit LockedFile(int fd) : fd_(fd) {}
  ~LockedFile() {
    if (fd_ >= 0) ::close(fd_);  // Closing releases the flock.
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("cannot write", path);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

json ToJson(const Event& e) {
  return {{"ts", e.ts}, {"run", e.run}, {"name", e.name}, {"context", e.context}};
}

}  // namespace

std::string NowUtc() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

Result<Journal> Journal::Open(const std::string& state_dir) {
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec)
    return Status(StatusCode::kUnavailable, "cannot create " + state_dir + ": " + ec.message())
        .WithReason("io_error", false, "pass a writable repo, or start the server with --state-dir");
  fs::path ignore = fs::path(state_dir) / ".gitignore";
  if (!fs::exists(ignore, ec)) std::ofstream(ignore) << "# hpc-mcp state: never committed.\n*\n";
  Journal j;
  j.path_ = (fs::path(state_dir) / "journal.jsonl").string();
  int fd = ::open(j.path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot open", j.path_);
  LockedFile file(fd);
  if (::flock(fd, LOCK_EX) != 0) return Errno("cannot lock", j.path_);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Errno("cannot stat", j.path_);
  if (st.st_size == 0) {
    // Created here: the header goes first, under the lock, so that two
    // servers opening a new journal at once write it once.
    // The id tells journals apart (a poll cursor names it): two created in
    // the same millisecond must still differ.
    unsigned char raw[8];
    std::string id;
    if (RAND_bytes(raw, sizeof raw) == 1)
      for (unsigned char c : raw) id += "0123456789abcdef"[c >> 4], id += "0123456789abcdef"[c & 15];
    json header{{"hpc_mcp_journal", kVersion}, {"created", NowUtc()}, {"id", id}};
    HPC_RETURN_IF_ERROR(WriteAll(fd, mcp::Dump(header) + "\n", j.path_));
    if (::fsync(fd) != 0) return Errno("cannot sync", j.path_);
  }
  return j;
}

Status Journal::Append(Event event) {
  if (event.ts.empty()) event.ts = NowUtc();
  if (event.context.is_null()) event.context = json::object();  // `{}` in C++ is null.
  // No secret reaches the disk, whatever a tool put in the context.
  mcp::RedactJson(event.context);
  json line = ToJson(event);
  auto violations = tools::HpcSchema("schemas/journal_event.json").Validate(line);
  if (!violations.empty())
    return InvalidArgument("journal event does not match schemas/journal_event.json: " +
                           mcp::FormatViolations(violations));
  int fd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path_);
  LockedFile file(fd);
  if (::flock(fd, LOCK_EX) != 0) return Errno("cannot lock", path_);
  std::string text = mcp::Dump(line) + "\n";
  // A crash mid-append leaves a line without its newline; start a fresh
  // line so this event is not glued to the torn one.
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Errno("cannot stat", path_);
  if (st.st_size > 0) {
    char last = '\n';
    if (::pread(fd, &last, 1, st.st_size - 1) != 1) return Errno("cannot read", path_);
    if (last != '\n') text.insert(text.begin(), '\n');
  }
  HPC_RETURN_IF_ERROR(WriteAll(fd, text, path_));
  if (::fdatasync(fd) != 0) return Errno("cannot sync", path_);
  return Status::Ok();
}

Result<Replay> Journal::Read() const { return ReadFrom(0); }

Result<Replay> Journal::ReadFrom(uint64_t offset) const {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot read", path_);
  LockedFile file(fd);
  if (::flock(fd, LOCK_SH) != 0) return Errno("cannot lock", path_);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Errno("cannot stat", path_);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < offset)
    return FailedPrecondition(path_ + " is shorter than the offset read before")
        .WithReason("journal_replaced", true, "it was replaced: read it again from offset 0");
  std::string data(size - offset, '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::pread(fd, data.data() + got, data.size() - got, offset + got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("cannot read", path_);
    got += static_cast<size_t>(n);
  }
  Replay r;
  r.end_offset = offset;
  size_t pos = 0;
  // Line numbers are only known when reading from the start; later reads
  // name the byte offset instead.
  int line_no = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    bool torn = nl == std::string::npos;
    std::string_view line(data.data() + pos, (torn ? data.size() : nl) - pos);
    const uint64_t line_offset = offset + pos;
    pos = torn ? data.size() : nl + 1;
    if (!torn) r.end_offset = offset + pos;
    ++line_no;
    if (line.empty()) continue;
    std::string where = offset == 0 ? path_ + ":" + std::to_string(line_no)
                                    : path_ + "@" + std::to_string(line_offset);
    json j = mcp::ParseJson(line);
    if (line_offset == 0) {
      if (!j.is_object() || !j.contains("hpc_mcp_journal") || !j["hpc_mcp_journal"].is_number_integer())
        return FailedPrecondition(where + ": not an hpc-mcp journal (no version header)");
      r.version = j["hpc_mcp_journal"];
      if (r.version > kVersion)
        return FailedPrecondition(where + ": journal version " + std::to_string(r.version) +
                                  " is newer than this server understands (" +
                                  std::to_string(kVersion) + "); upgrade hpc-mcp");
      if (j.contains("created") && j["created"].is_string()) r.created = j["created"];
      r.id = j.contains("id") && j["id"].is_string() ? j["id"].get<std::string>() : r.created;
      continue;
    }
    if (j.is_discarded()) {
      r.problems.push_back(where + (torn ? ": last line cut short (a crash during a write); skipped"
                                         : ": not valid JSON; skipped"));
      continue;
    }
    auto violations = tools::HpcSchema("schemas/journal_event.json").Validate(j);
    if (!violations.empty()) {
      r.problems.push_back(where + ": " + mcp::FormatViolations(violations) + "; skipped");
      continue;
    }
    r.events.push_back({j["ts"], j["run"], j["name"], j["context"]});
  }
  return r;
}

}  // namespace hpc::journal
