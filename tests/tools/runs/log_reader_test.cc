// The log reader: tails and follow-up reads through the Remote seam, on an
// in-memory file (FakeRemote), on a sparse 10 GB file locally, and over SFTP
// on the testbed. Every test also checks what was read, through a counting
// Remote that does not trust LogChunk::bytes_read.
#include "tools/runs/log_reader.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "tests/support/fake_remote.h"
#include "tests/tools/remote/remote_contract.h"
#include "tools/remote/local_remote.h"
#include "tools/remote/ssh_remote.h"

namespace hpc::testing {
namespace {

using runs::CompileGrep;
using runs::LogChunk;
using runs::LogQuery;
using runs::ReadSince;
using runs::TailLines;

constexpr uint64_t kTenGB = 10ull * 1000 * 1000 * 1000;
const std::string kEllipsis = "\xE2\x80\xA6";
const std::string kReplacement = "\xEF\xBF\xBD";

// Passes calls through to `inner` and counts what ReadFile returned.
class CountingRemote : public remote::Remote {
 public:
  explicit CountingRemote(remote::Remote& inner) : inner_(inner) {}
  Result<remote::CommandResult> Run(const std::vector<std::string>& argv,
                                    const remote::RunOptions& o) override {
    return inner_.Run(argv, o);
  }
  Result<std::string> ReadFile(const std::string& path, uint64_t offset,
                               size_t max_bytes) override {
    ++reads;
    largest_request = std::max(largest_request, max_bytes);
    auto r = inner_.ReadFile(path, offset, max_bytes);
    if (r.ok()) bytes += r->size();
    return r;
  }
  Result<remote::FileInfo> Stat(const std::string& path) override {
    return inner_.Stat(path);
  }
  Status WriteFileAtomic(const std::string& path, std::string_view content,
                         uint32_t mode) override {
    return inner_.WriteFileAtomic(path, content, mode);
  }
  Result<std::vector<remote::DirEntry>> ListDir(
      const std::string& path) override {
    return inner_.ListDir(path);
  }
  std::string Describe() const override { return inner_.Describe(); }

  int reads = 0;
  uint64_t bytes = 0;
  size_t largest_request = 0;

 private:
  remote::Remote& inner_;
};

LogChunk MustTail(remote::Remote& r, const std::string& path,
                  const LogQuery& q = {}) {
  auto c = TailLines(r, path, q);
  INFO((c.ok() ? "" : c.status().ToString()));
  REQUIRE(c.ok());
  return *c;
}

LogChunk MustReadSince(remote::Remote& r, const std::string& path,
                       uint64_t cursor, const LogQuery& q = {}) {
  auto c = ReadSince(r, path, cursor, q);
  INFO((c.ok() ? "" : c.status().ToString()));
  REQUIRE(c.ok());
  return *c;
}

std::vector<std::string> Numbered(int from, int to) {
  std::vector<std::string> v;
  for (int i = from; i <= to; ++i) v.push_back("line " + std::to_string(i));
  return v;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

LogQuery Grep(const std::string& pattern) {
  LogQuery q;
  auto re = CompileGrep(pattern);
  REQUIRE(re.ok());
  q.grep = *re;
  return q;
}

TEST_CASE("TailLines returns the last lines, oldest first", "[log_reader]") {
  FakeRemote fake;
  CountingRemote r(fake);
  const std::string text = Joined(Numbered(1, 500));
  fake.PutFile("log", text);
  LogQuery q;
  q.max_lines = 3;
  LogChunk c = MustTail(r, "log", q);
  CHECK(c.lines ==
        std::vector<std::string>{"line 498", "line 499", "line 500"});
  CHECK(c.truncated);
  CHECK_FALSE(c.rotated);
  CHECK(c.size == text.size());
  CHECK(c.cursor == text.size());
  CHECK(c.bytes_read == r.bytes);
  CHECK(r.bytes == text.size());  // Smaller than one block: one read.

  q.max_lines = 500;
  c = MustTail(r, "log", q);
  CHECK(c.lines == Numbered(1, 500));
  CHECK_FALSE(c.truncated);  // Exactly all of them: nothing more existed.

  q.max_lines = 499;
  CHECK(MustTail(r, "log", q).truncated);

  SECTION("empty file and empty lines") {
    fake.PutFile("empty", "");
    c = MustTail(r, "empty");
    CHECK(c.lines.empty());
    CHECK(c.cursor == 0);
    CHECK_FALSE(c.truncated);
    fake.PutFile("blank", "\n\na\n\n");
    c = MustTail(r, "blank");
    CHECK(c.lines == std::vector<std::string>{"", "", "a", ""});
    CHECK(c.cursor == 5);
  }
}

TEST_CASE("TailLines finds lines across block boundaries", "[log_reader]") {
  // Lines of random length (some longer than a 64 KiB block, cut), so that
  // blocks start and end mid-line; compared with a plain split.
  std::mt19937 rng(7);
  std::vector<std::string> lines;
  std::string text;
  while (text.size() < 700 * 1024) {
    size_t len = rng() % 40 == 0 ? 70000 + rng() % 5000 : rng() % 300;
    std::string l(len, static_cast<char>('a' + rng() % 26));
    l += std::to_string(lines.size());
    lines.push_back(l);
    text += l + "\n";
  }
  FakeRemote fake;
  fake.PutFile("log", text);
  LogQuery q;
  q.max_lines = lines.size();
  q.max_bytes = SIZE_MAX;
  q.max_scan_bytes = text.size();
  q.max_line_bytes = SIZE_MAX;
  LogChunk c = MustTail(fake, "log", q);
  CHECK(c.lines == lines);
  CHECK_FALSE(c.truncated);
  CHECK(c.bytes_read == text.size());
  // Forwards, in small steps, the same lines.
  std::vector<std::string> forward;
  uint64_t cursor = 0;
  q.max_lines = 7;
  q.max_scan_bytes = 100 * 1024;  // Longer than every line.
  for (int guard = 0; guard < 10000; ++guard) {
    LogChunk f = MustReadSince(fake, "log", cursor, q);
    forward.insert(forward.end(), f.lines.begin(), f.lines.end());
    cursor = f.cursor;
    if (!f.truncated) break;
  }
  CHECK(forward == lines);
  CHECK(cursor == text.size());
}

TEST_CASE("a partial last line is not returned until it is complete",
          "[log_reader]") {
  FakeRemote fake;
  fake.PutFile("log", "one\ntwo\nthr");
  LogChunk t = MustTail(fake, "log");
  CHECK(t.lines == std::vector<std::string>{"one", "two"});
  CHECK(t.cursor == 8);
  CHECK(t.size == 11);
  LogChunk s = MustReadSince(fake, "log", 0);
  CHECK(s.lines == std::vector<std::string>{"one", "two"});
  CHECK(s.cursor == 8);
  CHECK_FALSE(s.truncated);
  // Nothing new while the line is still being written.
  s = MustReadSince(fake, "log", s.cursor);
  CHECK(s.lines.empty());
  CHECK(s.cursor == 8);
  fake.PutFile("log", "one\ntwo\nthree\nfo");
  s = MustReadSince(fake, "log", s.cursor);
  CHECK(s.lines == std::vector<std::string>{"three"});
  CHECK(s.cursor == 14);
  s = MustReadSince(fake, "log", s.cursor);
  CHECK(s.lines.empty());

  SECTION("a file with no newline at all") {
    fake.PutFile("nonl", "still writing");
    t = MustTail(fake, "nonl");
    CHECK(t.lines.empty());
    CHECK(t.cursor == 0);
    CHECK(MustReadSince(fake, "nonl", 0).lines.empty());
  }
}

TEST_CASE("ReadSince re-reads a file that shrank below the cursor",
          "[log_reader]") {
  FakeRemote fake;
  fake.PutFile("log", Joined(Numbered(1, 100)));
  LogChunk c = MustReadSince(fake, "log", 0);
  REQUIRE(c.lines.size() == 100);
  CHECK_FALSE(c.rotated);
  fake.PutFile("log", "new 1\nnew 2\n");
  LogChunk again = MustReadSince(fake, "log", c.cursor);
  CHECK(again.rotated);
  CHECK(again.lines == std::vector<std::string>{"new 1", "new 2"});
  CHECK(again.cursor == 12);
  // At exactly the size: nothing new, not rotated.
  LogChunk same = MustReadSince(fake, "log", 12);
  CHECK_FALSE(same.rotated);
  CHECK(same.lines.empty());
}

TEST_CASE("lines are shown as a terminal would, as valid UTF-8",
          "[log_reader]") {
  FakeRemote fake;
  LogQuery q;
  q.max_line_bytes = 10;
  const std::string e_acute = "\xC3\xA9";  // 2 bytes.
  fake.PutFile("log",
               "crlf\r\n"
               "\r  0%|   |\r 50%|#  |\r100%|###|\n"
               "ends in cr\r\r\n"
               "abc\xFF\xC0\x80"
               "def\n"                  // Invalid bytes.
               "\xED\xA0\x80\n"         // A surrogate.
               "\xF0\x9F\x9A\x80 ok\n"  // U+1F680.
               "12345678" +
                   e_acute +
                   "x\n"  // 11: cut after the é.
                   "123456789" +
                   e_acute +
                   "\n"              // 11: cut before the é.
                   "tr\xE2\x82\n");  // A sequence cut short.
  LogChunk c = MustReadSince(fake, "log", 0, q);
  std::vector<std::string> want = {
      "crlf",
      "100%|###|",
      "ends in cr",
      "abc" + kReplacement + kReplacement,  // Then cut at 10 bytes.
      kReplacement + kReplacement + kReplacement,
      "\xF0\x9F\x9A\x80 ok",
      "12345678" + e_acute,
      "123456789" + kEllipsis,
      "tr" + kReplacement + kReplacement,
  };
  want[3] += kEllipsis;
  want[6] += kEllipsis;
  CHECK(c.lines == want);
  CHECK(MustTail(fake, "log", q).lines == want);

  SECTION("exactly max_line_bytes is not cut") {
    fake.PutFile("exact", "1234567" + e_acute + "\n");  // 9 bytes.
    q.max_line_bytes = 9;
    CHECK(MustTail(fake, "exact", q).lines ==
          std::vector<std::string>{"1234567" + e_acute});
  }
  SECTION("any bytes at all become valid JSON text") {
    std::mt19937 rng(1);
    std::string noise;
    for (int i = 0; i < 200000; ++i) noise += static_cast<char>(rng() & 0xFF);
    noise += "\n";
    fake.PutFile("noise", noise);
    LogQuery big;
    big.max_lines = 100000;
    big.max_bytes = SIZE_MAX;
    big.max_line_bytes = 300;
    for (const LogChunk& chunk :
         {MustTail(fake, "noise", big), MustReadSince(fake, "noise", 0, big)}) {
      REQUIRE(chunk.lines.size() > 500);
      nlohmann::json j = chunk.lines;
      std::string dumped;
      CHECK_NOTHROW(dumped = j.dump());
      CHECK(nlohmann::json::parse(dumped) == j);
      for (const auto& l : chunk.lines) CHECK(l.size() <= 300 + 3);
    }
  }
}

TEST_CASE("ReadSince stops at the byte and line budgets and continues there",
          "[log_reader]") {
  FakeRemote fake;
  std::mt19937 rng(3);
  std::vector<std::string> lines;
  for (int i = 0; i < 2000; ++i) {
    lines.push_back(std::to_string(i) + std::string(rng() % 60, 'x'));
  }
  const std::string text = Joined(lines) + "partial";
  fake.PutFile("log", text);

  LogQuery q;
  q.max_lines = GENERATE(1, 3, 50);
  q.max_bytes = GENERATE(1, 100, 5000);
  q.max_scan_bytes = GENERATE(size_t{80}, size_t{1000}, size_t{1} << 20);
  CAPTURE(q.max_lines, q.max_bytes, q.max_scan_bytes);
  std::string rebuilt;
  uint64_t cursor = 0;
  int calls = 0;
  for (; calls < 100000; ++calls) {
    CountingRemote r(fake);
    LogChunk c = MustReadSince(r, "log", cursor, q);
    REQUIRE(c.bytes_read == r.bytes);
    REQUIRE(r.bytes <= q.max_scan_bytes);
    REQUIRE(c.lines.size() <= q.max_lines);
    size_t bytes = 0;
    for (const auto& l : c.lines) bytes += l.size();
    if (c.lines.size() > 1) REQUIRE(bytes <= q.max_bytes);
    for (const auto& l : c.lines) rebuilt += l + "\n";
    REQUIRE(c.cursor >= cursor);
    cursor = c.cursor;
    REQUIRE(rebuilt.size() == cursor);  // The cursor is after the last line.
    if (!c.truncated) break;
  }
  CHECK(rebuilt == Joined(lines));  // Exactly, without the partial line.
  CHECK(cursor == text.size() - 7);
  if (q.max_lines == 1) CHECK(calls + 1 >= 2000);
}

TEST_CASE("TailLines keeps the newest lines that fit max_bytes",
          "[log_reader]") {
  FakeRemote fake;
  fake.PutFile("log", Joined({std::string(50, 'a'), std::string(30, 'b'),
                              std::string(30, 'c')}));
  LogQuery q;
  q.max_bytes = 60;
  LogChunk c = MustTail(fake, "log", q);
  CHECK(c.lines ==
        std::vector<std::string>{std::string(30, 'b'), std::string(30, 'c')});
  CHECK(c.truncated);
  // One line is always returned, even larger than the budget.
  q.max_bytes = 10;
  c = MustTail(fake, "log", q);
  CHECK(c.lines == std::vector<std::string>{std::string(30, 'c')});
  CHECK(c.truncated);
  CHECK(MustReadSince(fake, "log", 0, q).lines ==
        std::vector<std::string>{std::string(50, 'a')});
}

TEST_CASE("grep: only matching lines count", "[log_reader]") {
  FakeRemote fake;
  std::vector<std::string> lines;
  for (int i = 0; i < 3000; ++i) {
    lines.push_back(i % 100 == 0 ? "step " + std::to_string(i) + " loss=1.5"
                                 : "noise " + std::to_string(i));
  }
  const std::string text = Joined(lines);
  fake.PutFile("log", text);
  LogQuery q = Grep("loss=\\d");
  q.max_lines = 5;

  SECTION("TailLines scans back past lines that do not match") {
    LogChunk c = MustTail(fake, "log", q);
    CHECK(c.lines ==
          std::vector<std::string>{"step 2500 loss=1.5", "step 2600 loss=1.5",
                                   "step 2700 loss=1.5", "step 2800 loss=1.5",
                                   "step 2900 loss=1.5"});
    CHECK(c.truncated);  // step 2400 exists.
    CHECK(c.cursor == text.size());
    q.max_lines = 30;
    c = MustTail(fake, "log", q);
    CHECK(c.lines.size() == 30);
    CHECK(c.lines.front() == "step 0 loss=1.5");
    CHECK_FALSE(c.truncated);
  }
  SECTION("TailLines stops at max_scan_bytes") {
    q.max_scan_bytes = 2000;  // About 150 lines: one or two matches.
    CountingRemote r(fake);
    LogChunk c = MustTail(r, "log", q);
    CHECK(r.bytes == 2000);
    CHECK(c.lines.size() <= 2);
    CHECK(c.truncated);
    auto none = Grep("no such thing");
    LogChunk n = MustTail(r, "log", none);
    CHECK(n.lines.empty());
    CHECK_FALSE(n.truncated);  // The whole file (< 1 MiB) was scanned.
  }
  SECTION("ReadSince passes lines that do not match") {
    LogChunk c = MustReadSince(fake, "log", 0, q);
    CHECK(c.lines.size() == 5);
    CHECK(c.lines.back() == "step 400 loss=1.5");
    CHECK(c.truncated);
    // The cursor is right after the last match returned.
    CHECK(c.cursor == Joined({lines.begin(), lines.begin() + 401}).size());
    std::vector<std::string> all = c.lines;
    for (int guard = 0; guard < 100 && c.truncated; ++guard) {
      c = MustReadSince(fake, "log", c.cursor, q);
      all.insert(all.end(), c.lines.begin(), c.lines.end());
    }
    CHECK(all.size() == 30);
    CHECK(c.cursor == text.size());
    // A query for nothing still moves the cursor to the end.
    LogChunk n = MustReadSince(fake, "log", 0, Grep("no such thing"));
    CHECK(n.lines.empty());
    CHECK(n.cursor == text.size());
    CHECK_FALSE(n.truncated);
  }
}

TEST_CASE("a line longer than the scan budget does not stall the reader",
          "[log_reader]") {
  FakeRemote fake;
  const std::string text = "a\n" + std::string(5000, 'x') + "\nb\n";
  fake.PutFile("log", text);
  LogQuery q;
  q.max_scan_bytes = 1000;
  q.max_line_bytes = 10;
  std::vector<std::string> all;
  uint64_t cursor = 0;
  for (int guard = 0; guard < 100; ++guard) {
    LogChunk c = MustReadSince(fake, "log", cursor, q);
    all.insert(all.end(), c.lines.begin(), c.lines.end());
    cursor = c.cursor;
    if (!c.truncated) break;
  }
  CHECK(cursor == text.size());
  REQUIRE(all.size() >= 3);
  CHECK(all.front() == "a");
  CHECK(all[1] == std::string(10, 'x') + kEllipsis);
  CHECK(all.back() == "b");
  // The tail sees "b" and then runs out of budget inside the long line.
  LogChunk t = MustTail(fake, "log", q);
  CHECK(t.lines == std::vector<std::string>{"b"});
  CHECK(t.truncated);
}

TEST_CASE("CompileGrep checks the pattern", "[log_reader]") {
  auto ok = CompileGrep("loss=([0-9.]+)|NaN");
  REQUIRE(ok.ok());
  CHECK(std::regex_search("step 3 loss=0.25", *ok));

  auto bad = CompileGrep("loss=(");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(bad.status().message(), Catch::Contains("\"loss=(\""));
  CHECK_THAT(bad.status().message(), Catch::Contains("ECMAScript"));
  CHECK_THAT(bad.status().message(), Catch::Contains("backslash"));

  auto long_pattern = CompileGrep(std::string(201, 'a'));
  REQUIRE_FALSE(long_pattern.ok());
  CHECK(long_pattern.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(long_pattern.status().message(), Catch::Contains("at most 200"));
  CHECK(CompileGrep(std::string(200, 'a')).ok());
  CHECK(CompileGrep("").ok());
}

TEST_CASE("a missing log file is NotFound naming the path", "[log_reader]") {
  FakeRemote fake;
  remote::LocalRemote local;
  for (remote::Remote* r : {static_cast<remote::Remote*>(&fake),
                            static_cast<remote::Remote*>(&local)}) {
    const std::string path = "/nonexistent-hpc-mcp-dir/train.log";
    auto t = TailLines(*r, path, {});
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().code() == StatusCode::kNotFound);
    CHECK(t.status().reason() == "not_found");
    CHECK_THAT(t.status().message(), Catch::Contains(path));
    auto s = ReadSince(*r, path, 0, {});
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kNotFound);
    CHECK_THAT(s.status().message(), Catch::Contains(path));
  }
}

// A sparse file of `size` bytes with `lines` appended; removed (with its
// directory) at scope exit.
class LocalSparseLog {
 public:
  LocalSparseLog(uint64_t size, const std::string& lines) {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
        "/log-reader-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/train.log";
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    bool ok =
        ::ftruncate(fd, static_cast<off_t>(size)) == 0 &&
        ::pwrite(fd, lines.data(), lines.size(), static_cast<off_t>(size)) ==
            static_cast<ssize_t>(lines.size());
    ::close(fd);
    REQUIRE(ok);
  }
  ~LocalSparseLog() {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

std::string LogLines(int n) {
  std::string s;
  for (int i = 1; i <= n; ++i) {
    s += "2026-11-23 08:00:00 step " + std::to_string(i) +
         " loss=0.123 lr=3e-4\n";
  }
  return s;
}

// The tail of a 10 GB file (sparse: no disk) with 1,000 lines at its end.
void CheckTailOfHugeFile(remote::Remote& remote, const std::string& path) {
  CountingRemote r(remote);
  LogQuery q;
  LogChunk c = MustTail(r, path, q);
  REQUIRE(c.lines.size() == 200);
  CHECK(c.lines.front() == "2026-11-23 08:00:00 step 801 loss=0.123 lr=3e-4");
  CHECK(c.lines.back() == "2026-11-23 08:00:00 step 1000 loss=0.123 lr=3e-4");
  CHECK(c.truncated);
  CHECK(c.size > kTenGB);
  CHECK(c.cursor == c.size);
  CHECK(c.bytes_read == r.bytes);
  CHECK(r.bytes <= 1024 * 1024);  // In fact one 64 KiB block.
  CHECK(r.bytes <= 64 * 1024);
  // A grep that matches nothing stops at the scan budget.
  CountingRemote g(remote);
  LogChunk none = MustTail(g, path, Grep("NaN"));
  CHECK(none.lines.empty());
  CHECK(none.truncated);
  CHECK(g.bytes == q.max_scan_bytes);
  // Reading forwards from the start stops at the scan budget, inside the
  // zeros (returned as a cut piece: a reader never stalls on them).
  CountingRemote s(remote);
  LogChunk head = MustReadSince(s, path, 0);
  CHECK(s.bytes == q.max_scan_bytes);
  CHECK(head.truncated);
  CHECK(head.cursor == q.max_scan_bytes);
  REQUIRE(head.lines.size() == 1);
  CHECK(head.lines[0] == std::string(q.max_line_bytes, '\0') + kEllipsis);
  CHECK_NOTHROW(nlohmann::json(head.lines).dump());
  // Following from the tail's cursor reads nothing; from just before the
  // last line, only that line.
  CountingRemote f(remote);
  LogChunk next = MustReadSince(f, path, c.cursor);
  CHECK(next.lines.empty());
  CHECK(f.bytes == 0);
  const uint64_t last = c.cursor - (c.lines.back().size() + 1);
  next = MustReadSince(f, path, last);
  CHECK(next.lines == std::vector<std::string>{c.lines.back()});
}

TEST_CASE("the tail of a sparse 10 GB file reads about one block, locally",
          "[log_reader]") {
  LocalSparseLog log(kTenGB, LogLines(1000));
  remote::LocalRemote local;
  CheckTailOfHugeFile(local, log.path());
}

TEST_CASE("the tail of a sparse 10 GB file reads about one block, over SFTP",
          "[log_reader][testbed][integration]") {
  const Testbed tb = RequireTestbed();
  remote::SshRemote ssh(TestbedSshOptions(tb));
  ScratchDir dir(ssh);  // Removed (with the file) at scope exit.
  const std::string path = dir.path() + "/train.log";
  remote::RunOptions o;
  o.login_shell = false;
  o.stdin_data = LogLines(1000);
  auto made = ssh.Run({"sh", "-c", "truncate -s \"$1\" \"$2\" && cat >> \"$2\"",
                       "sh", std::to_string(kTenGB), path},
                      o);
  REQUIRE(made.ok());
  INFO(made->err);
  REQUIRE(made->exit_code == 0);
  CheckTailOfHugeFile(ssh, path);
}

}  // namespace
}  // namespace hpc::testing
