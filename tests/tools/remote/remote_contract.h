// The behaviour every Remote must show, as functions that each
// implementation's test calls with its own Remote and scratch directory:
// commands (exit codes, stdin, output caps, timeouts, cwd, env), files (read
// by offset, stat, atomic write, list), and hostile strings as arguments,
// environment values, file names and contents.
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/tools/remote/remote_test_support.h"
#include "tools/remote/remote.h"

namespace hpc::testing {

using remote::CommandResult;
using remote::Remote;
using remote::RunOptions;

// What differs between implementations, by design.
struct Traits {
  // Whether a command killed by a signal reports it (OpenSSH's ssh exits
  // 255 instead).
  bool reports_signal = true;
  // Whether this process can see the target's files (local and the
  // loopback testbed), to check canaries without trusting the Remote.
  bool shares_filesystem = true;
};

inline CommandResult MustRun(Remote& r, const std::vector<std::string>& argv,
                             RunOptions o = {}) {
  auto res = r.Run(argv, o);
  INFO(r.Describe() << ": " << argv[0] << ": "
                    << (res.ok() ? "" : res.status().ToString()));
  REQUIRE(res.ok());
  return *res;
}

// A fresh directory on the target, removed at scope exit.
class ScratchDir {
 public:
  explicit ScratchDir(Remote& r) : r_(r) {
    RunOptions o;
    o.login_shell = false;
    auto res = r.Run({"mktemp", "-d"}, o);
    REQUIRE(res.ok());
    REQUIRE(res->exit_code == 0);
    path_ = res->out.substr(0, res->out.find('\n'));
    REQUIRE(!path_.empty());
  }
  ~ScratchDir() {
    RunOptions o;
    o.login_shell = false;
    r_.Run({"rm", "-rf", "--", path_}, o);
  }
  const std::string& path() const { return path_; }

 private:
  Remote& r_;
  std::string path_;
};

inline void CheckExitCodes(Remote& r, const Traits& t) {
  CHECK(MustRun(r, {"true"}).exit_code == 0);
  CHECK(MustRun(r, {"false"}).exit_code == 1);
  auto three = MustRun(r, {"sh", "-c", "echo out; echo err >&2; exit 3"});
  CHECK(three.exit_code == 3);
  CHECK(three.out == "out\n");
  CHECK(three.err == "err\n");
  CHECK_FALSE(three.ok());
  auto killed = MustRun(r, {"sh", "-c", "kill -TERM $$"});
  if (t.reports_signal) {
    CHECK(killed.exit_code == -1);
    CHECK(killed.signal == 15);
  } else {
    CHECK(killed.exit_code == 255);
  }
  auto missing = r.Run({"hpc-mcp-no-such-program"}, {});
  // Local: cannot start (command_failed). Remote: the shell says 127.
  if (missing.ok()) {
    CHECK(missing->exit_code == 127);
  } else {
    CHECK(missing.status().reason() == "command_failed");
  }
  auto empty = r.Run({}, {});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().code() == StatusCode::kInvalidArgument);
}

inline void CheckStdin(Remote& r) {
  std::string data;
  for (int i = 0; data.size() < (1 << 20); ++i) {
    data += std::to_string(i) + (i % 7 == 0 ? "\n" : " ");
    data += static_cast<char>(i & 0xff);
  }
  RunOptions o;
  o.stdin_data = data;
  o.max_output = 2 << 20;
  auto cat = MustRun(r, {"cat"}, o);
  CHECK(cat.exit_code == 0);
  CHECK(cat.out.size() == data.size());
  CHECK(cat.out == data);
  // A command that never reads its stdin must not hang the call.
  auto ignore = MustRun(r, {"true"}, o);
  CHECK(ignore.exit_code == 0);
  o.stdin_data = "";
  auto none = MustRun(r, {"wc", "-c"}, o);
  CHECK(none.out.find('0') != std::string::npos);
}

inline void CheckOutputCap(Remote& r) {
  RunOptions o;
  o.max_output = 1000;
  auto big = MustRun(r,
                     {"sh", "-c",
                      "head -c 3000000 /dev/zero; "
                      "head -c 5000 /dev/zero >&2"},
                     o);
  CHECK(big.exit_code == 0);
  CHECK(big.out.size() == 1000);
  CHECK(big.out_truncated);
  CHECK(big.err.size() == 1000);
  CHECK(big.err_truncated);
  auto small = MustRun(r, {"printf", "%s", "abc"}, o);
  CHECK(small.out == "abc");
  CHECK_FALSE(small.out_truncated);
}

inline void CheckTimeout(Remote& r) {
  RunOptions o;
  o.timeout = std::chrono::milliseconds(1000);
  auto start = std::chrono::steady_clock::now();
  auto res = r.Run({"sleep", "30"}, o);
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().reason() == "timeout");
  CHECK_FALSE(res.status().retry_safe());
  CHECK(took < std::chrono::seconds(8));
  // The Remote is still usable afterwards.
  CHECK(MustRun(r, {"true"}).exit_code == 0);
}

inline void CheckCwdAndEnv(Remote& r, const std::string& dir) {
  RunOptions o;
  o.cwd = dir;
  CHECK(MustRun(r, {"pwd"}, o).out == dir + "\n");
  RunOptions e;
  e.env = {{"HPC_TEST_A", "one"}, {"HPC_TEST_B", "two words"}};
  auto env = MustRun(r,
                     {"sh", "-c",
                      "printf '%s|%s' \"$HPC_TEST_A\" "
                      "\"$HPC_TEST_B\""},
                     e);
  CHECK(env.out == "one|two words");
  e.cwd = dir;
  CHECK(MustRun(r, {"sh", "-c", "printf '%s:%s' \"$PWD\" \"$HPC_TEST_A\""}, e)
            .out == dir + ":one");
  RunOptions bad;
  bad.env = {{"NOT-A-NAME", "x"}};
  auto rejected = r.Run({"true"}, bad);
  REQUIRE_FALSE(rejected.ok());
  CHECK(rejected.status().code() == StatusCode::kInvalidArgument);
}

inline void CheckFiles(Remote& r, const std::string& dir) {
  const std::string path = dir + "/a/b/c.txt";  // Parents do not exist yet.
  REQUIRE(r.WriteFileAtomic(path, "0123456789", 0640).ok());
  auto all = r.ReadFile(path, 0, 1 << 20);
  REQUIRE(all.ok());
  CHECK(*all == "0123456789");
  CHECK(*r.ReadFile(path, 3, 4) == "3456");
  CHECK(*r.ReadFile(path, 8, 100) == "89");
  CHECK(r.ReadFile(path, 10, 5)->empty());
  CHECK(r.ReadFile(path, 1000, 5)->empty());
  CHECK(r.ReadFile(path, 2, 0)->empty());

  auto st = r.Stat(path);
  REQUIRE(st.ok());
  CHECK_FALSE(st->is_dir);
  CHECK(st->size == 10);
  CHECK(st->mode == 0640);
  CHECK(st->mtime > 1600000000);
  auto dst = r.Stat(dir + "/a");
  REQUIRE(dst.ok());
  CHECK(dst->is_dir);

  // Every byte value survives, NUL included.
  std::string binary;
  for (int i = 0; i < 256 * 4; ++i) binary += static_cast<char>(i & 0xff);
  REQUIRE(r.WriteFileAtomic(dir + "/bin", binary).ok());
  CHECK(*r.ReadFile(dir + "/bin", 0, 1 << 20) == binary);
  CHECK(*r.ReadFile(dir + "/bin", 255, 3) == binary.substr(255, 3));
  CHECK(r.Stat(dir + "/bin")->mode == 0644);

  // Overwrite: the new content replaces the old entirely.
  REQUIRE(r.WriteFileAtomic(path, "new").ok());
  CHECK(*r.ReadFile(path, 0, 100) == "new");
  REQUIRE(r.WriteFileAtomic(path, "").ok());
  CHECK(r.ReadFile(path, 0, 100)->empty());

  auto list = r.ListDir(dir);
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);  // No temporary files left behind.
  CHECK((*list)[0].name == "a");
  CHECK((*list)[0].is_dir);
  CHECK((*list)[1].name == "bin");
  CHECK_FALSE((*list)[1].is_dir);
  CHECK((*list)[1].size == binary.size());
  CHECK((*list)[1].mtime > 1600000000);
  auto sub = r.ListDir(dir + "/a/b");
  REQUIRE(sub.ok());
  REQUIRE(sub->size() == 1);
  CHECK((*sub)[0].name == "c.txt");

  for (const std::string& missing : {dir + "/nope", dir + "/nope/deeper"}) {
    auto rf = r.ReadFile(missing, 0, 10);
    REQUIRE_FALSE(rf.ok());
    CHECK(rf.status().reason() == "not_found");
    auto sf = r.Stat(missing);
    REQUIRE_FALSE(sf.ok());
    CHECK(sf.status().reason() == "not_found");
    CHECK(sf.status().code() == StatusCode::kNotFound);
    auto lf = r.ListDir(missing);
    REQUIRE_FALSE(lf.ok());
    CHECK(lf.status().reason() == "not_found");
  }
  auto bad = r.WriteFileAtomic(dir + "/", "x");
  CHECK_FALSE(bad.ok());
}

// A reader running beside the writer sees the old or the new content,
// never a mix or a partial file.
inline void CheckAtomicWrite(Remote& r, const std::string& dir) {
  const std::string path = dir + "/atomic";
  const size_t size = 256 * 1024;
  const std::string a(size, 'a'), b(size, 'b');
  REQUIRE(r.WriteFileAtomic(path, a).ok());
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, bad{0}, errors{0};
  std::thread reader([&] {
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while ((!done || reads < 3) && std::chrono::steady_clock::now() < give_up) {
      auto got = r.ReadFile(path, 0, 2 * size);
      if (!got.ok()) {
        ++errors;
        continue;
      }
      ++reads;
      if (got->size() != size ||
          got->find_first_not_of((*got)[0]) != std::string::npos) {
        ++bad;
      }
    }
  });
  int write_errors = 0;
  for (int i = 0; i < 20; ++i) {
    if (!r.WriteFileAtomic(path, i % 2 == 0 ? b : a).ok()) ++write_errors;
  }
  done = true;
  reader.join();
  CHECK(write_errors == 0);
  CHECK(errors == 0);
  CHECK(bad == 0);
  CHECK(reads >= 3);
  auto list = r.ListDir(dir);
  REQUIRE(list.ok());
  CHECK(list->size() == 1);  // Only the target; no temporary files.
}

// Hostile strings as arguments, environment values, file contents and file
// names: each arrives byte for byte, and no canary file is ever created.
inline void CheckHostileStrings(Remote& r, const std::string& dir,
                                const Traits& t, bool login_shell) {
  RunOptions o;
  o.login_shell = login_shell;
  const auto strings = HostileStrings(dir);
  for (const std::string& s : strings) {
    INFO("hostile string: " << s.substr(0, 80));
    auto echo = MustRun(r, {"printf", "%s", s}, o);
    CHECK(echo.exit_code == 0);
    CHECK(echo.out == s);
    // A leading '-' and the like also survive as later arguments.
    auto two = MustRun(r, {"printf", "[%s][%s]", s, s}, o);
    CHECK(two.out == "[" + s + "][" + s + "]");
    RunOptions e = o;
    e.env = {{"HPC_HOSTILE", s}};
    auto env = MustRun(r, {"printenv", "HPC_HOSTILE"}, e);
    CHECK(env.out == s + "\n");
  }
  // All of them in one command line.
  std::vector<std::string> argv = {"printf", "%s\\0"};
  argv.insert(argv.end(), strings.begin(), strings.end());
  std::string expected;
  for (const auto& s : strings) expected += s + '\0';
  CHECK(MustRun(r, argv, o).out == expected);

  // As file names (also as cwd) and as file contents.
  const auto names = HostileFileNames();
  for (size_t i = 0; i < names.size(); ++i) {
    INFO("hostile file name: " << names[i].substr(0, 80));
    const std::string sub = dir + "/" + names[i];
    const std::string content = strings[i % strings.size()];
    REQUIRE(r.WriteFileAtomic(sub + "/" + names[i], content).ok());
    auto back = r.ReadFile(sub + "/" + names[i], 0, 1 << 20);
    REQUIRE(back.ok());
    CHECK(*back == content);
    auto st = r.Stat(sub + "/" + names[i]);
    REQUIRE(st.ok());
    CHECK(st->size == content.size());
    RunOptions in_dir = o;
    in_dir.cwd = sub;
    CHECK(MustRun(r, {"cat", "--", names[i]}, in_dir).out == content);
  }
  auto list = r.ListDir(dir);
  REQUIRE(list.ok());
  std::vector<std::string> listed;
  for (const auto& e : *list) listed.push_back(e.name);
  for (const auto& n : names) {
    CHECK(std::find(listed.begin(), listed.end(), n) != listed.end());
  }

  // No canary anywhere: not in the scratch dir, not in the login or cwd dirs.
  for (const auto& e : *list) {
    CHECK(e.name.rfind("canary", 0) != 0);
  }
  RunOptions plain;
  plain.login_shell = false;
  auto found = MustRun(r,
                       {"sh", "-c",
                        "find \"$1\" \"$HOME\" -maxdepth 2 -name "
                        "'canary*' 2>/dev/null; exit 0",
                        "sh", dir},
                       plain);
  CHECK(found.out == "");
  if (t.shares_filesystem) {
    for (const char* suffix : {"-semi", "-subst", "-tick", "-newline", "-pipe",
                               "-and", "-redirect", "-big"}) {
      CHECK_FALSE(LocalPathExists(dir + "/canary" + suffix));
    }
  }
}

}  // namespace hpc::testing
