#include "tools/cluster/job_request.h"

#include <catch2/catch.hpp>
#include <thread>

#include "tests/support/files.h"
#include "tests/support/subprocess.h"
#include "tools/cluster/text.h"
#include "tools/remote/local_remote.h"

namespace hpc::cluster {
namespace {

JobRequest Valid() {
  JobRequest r;
  r.name = "train-1";
  r.script = "#!/bin/bash\n#SBATCH --foo\n\necho hi\n";
  r.script_path = "/scratch/run/job.sh";
  r.workdir = "/scratch/run";
  r.stdout_path = "/scratch/run/logs/out.txt";
  r.stderr_path = "/scratch/run/logs/err.txt";
  return r;
}

TEST_CASE("walltime parsing", "[unit][cluster]") {
  CHECK(*ParseWalltime("00:10:00") == 600);
  CHECK(*ParseWalltime("1-02:03:04") == 86400 + 2 * 3600 + 3 * 60 + 4);
  CHECK(*ParseWalltime("48:00:00") == 48 * 3600);
  for (const char* bad : {"", "10", "1:2", "1-25:00:00", "00:61:00", "x",
                          "00:00:00", "-1:00:00", "1:00:00:00"})
    CHECK_FALSE(ParseWalltime(bad).ok());
  CHECK(FormatHms(3 * 3600 + 5) == "3:00:05");
  CHECK(FormatHms(30 * 3600) == "30:00:00");
}

TEST_CASE("memory parsing", "[unit][cluster]") {
  CHECK(*ParseMemoryMiB("500M") == 500);
  CHECK(*ParseMemoryMiB("4G") == 4096);
  CHECK(*ParseMemoryMiB("4g") == 4096);
  CHECK(*ParseMemoryMiB("1T") == 1024 * 1024);
  CHECK(*ParseMemoryMiB("1500K") == 2);  // Rounded up.
  CHECK(*ParseMemoryMiB("2048") == 2048);
  for (const char* bad : {"", "G", "4X", "-4G", "0", "4.5G"})
    CHECK_FALSE(ParseMemoryMiB(bad).ok());
}

TEST_CASE("array specs", "[unit][cluster]") {
  auto a = ParseArraySpec("0-4%2");
  REQUIRE(a.ok());
  CHECK(a->tasks == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(a->max_parallel == 2);
  CHECK(a->single_range);
  auto b = ParseArraySpec("1,3,5-6");
  REQUIRE(b.ok());
  CHECK(b->tasks == std::vector<int64_t>{1, 3, 5, 6});
  CHECK_FALSE(b->single_range);
  auto c = ParseArraySpec("1-10:3");
  REQUIRE(c.ok());
  CHECK(c->tasks == std::vector<int64_t>{1, 4, 7, 10});
  CHECK(c->step == 3);
  for (const char* bad : {"", "%2", "5-1", "a-b", "1-", "-1", "1-3%0", "1-3:0"})
    CHECK_FALSE(ParseArraySpec(bad).ok());
  CHECK_FALSE(ParseArraySpec("0-99", 50).ok());
  CHECK(ParseArraySpec("0-49", 50).ok());
}

TEST_CASE("PrepareRequest fills defaults and leaves limits to CheckLimits", "[unit][cluster]") {
  ClusterProfile p;
  p.name = "site";
  p.defaults.partition = "gpu";
  p.defaults.time = "01:00:00";
  p.defaults.cpus = 4;
  p.limits.max_walltime = "1-00:00:00";
  p.limits.max_array_size = 10;
  auto r = PrepareRequest(p, Valid());
  REQUIRE(r.ok());
  CHECK(r->resources.partition == "gpu");
  CHECK(r->resources.time == "01:00:00");
  CHECK(r->resources.cpus == 4);

  JobRequest explicit_req = Valid();
  explicit_req.resources.partition = "cpu";
  CHECK(PrepareRequest(p, explicit_req)->resources.partition == "cpu");

  // Limits are checked in one place, runs::CheckLimits (limits_test.cc).
  JobRequest too_long = Valid();
  too_long.resources.time = "2-00:00:00";
  CHECK(PrepareRequest(p, too_long).ok());
  JobRequest big_array = Valid();
  big_array.array = "0-10";
  CHECK(PrepareRequest(p, big_array).ok());
}

TEST_CASE("PrepareRequest rejects what no backend can pass safely",
          "[unit][cluster]") {
  ClusterProfile p;
  auto rejects = [&](auto mutate) {
    JobRequest r = Valid();
    mutate(r);
    auto out = PrepareRequest(p, r);
    return !out.ok() && out.status().code() == StatusCode::kInvalidArgument;
  };
  CHECK(rejects([](JobRequest& r) { r.name = "a;touch x"; }));
  CHECK(rejects([](JobRequest& r) { r.name = "$(id)"; }));
  CHECK(rejects([](JobRequest& r) { r.name = "-x"; }));
  CHECK(rejects([](JobRequest& r) { r.name = ""; }));
  CHECK(rejects([](JobRequest& r) { r.script = "echo no shebang"; }));
  CHECK(rejects([](JobRequest& r) { r.workdir = "relative"; }));
  CHECK(rejects([](JobRequest& r) { r.stdout_path = "/a/b\nc"; }));
  CHECK(rejects([](JobRequest& r) { r.env["1X"] = "v"; }));
  CHECK(rejects([](JobRequest& r) { r.env["A B"] = "v"; }));
  CHECK(rejects([](JobRequest& r) { r.env["X"] = std::string("a\0b", 3); }));
  CHECK(rejects([](JobRequest& r) { r.resources.partition = "--wrap=x"; }));
  CHECK(rejects([](JobRequest& r) { r.resources.mem = "lots"; }));
  CHECK(rejects([](JobRequest& r) { r.after_ok = {"1;2"}; }));
  CHECK(rejects([](JobRequest& r) { r.after_any = {"$(id)"}; }));
  CHECK(rejects([](JobRequest& r) {
    r.array = "0-2";
    r.after_corr = {"-1"};
  }));
  // Hostile but harmless values pass: they never meet a shell unquoted.
  JobRequest ok = Valid();
  ok.env["X"] = "a,b=c'\"$(touch /tmp/x) `id` ;\n";
  ok.stdout_path = "/tmp/we ird/$(touch x)'\";/out";
  CHECK(PrepareRequest(p, ok).ok());
}

TEST_CASE("PrepareRequest: after_corr needs an array and names whole arrays",
          "[unit][cluster]") {
  ClusterProfile p;
  JobRequest single = Valid();
  single.after_corr = {"41"};
  auto r = PrepareRequest(p, single);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(r.status().message(), Catch::Contains("after_corr"));
  CHECK_THAT(r.status().message(), Catch::Contains("set array"));

  JobRequest task = Valid();
  task.array = "0-2";
  for (const char* id : {"41_2", "41.2"}) {
    INFO(id);
    task.after_corr = {id};
    auto t = PrepareRequest(p, task);
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(t.status().message(), Catch::Contains("array task"));
  }

  JobRequest array = Valid();
  array.array = "0-2";
  array.after_corr = {"41", "1700000000-abcdef"};
  array.after_any = {"40", "39_1"};
  array.after_ok = {"38"};
  auto ok = PrepareRequest(p, array);
  REQUIRE(ok.ok());
  CHECK(ok->after_corr == array.after_corr);
  CHECK(ok->after_any == array.after_any);
  CHECK(ok->after_ok == array.after_ok);
}

TEST_CASE("generated lines go after the #SBATCH header", "[unit][cluster]") {
  std::string s = InsertAfterHeader(
      "#!/bin/bash\n#SBATCH -p x\n\n# note\nset -e\necho hi\n", "BLOCK\n");
  CHECK(s == "#!/bin/bash\n#SBATCH -p x\n\n# note\nBLOCK\nset -e\necho hi\n");
  CHECK(InsertAfterHeader("#!/bin/sh", "B\n") == "#!/bin/sh\nB\n");
  CHECK(ExportLines({{"A", "x y"}, {"B", "it's"}}) ==
        "export A='x y'\nexport B='it'\\''s'\n");
}

TEST_CASE("shell scripts are recognized by their #! line", "[unit][cluster]") {
  CHECK(IsShellScript("#!/bin/bash\n"));
  CHECK(IsShellScript("#!/bin/sh -e\n"));
  CHECK(IsShellScript("#!/usr/bin/env bash\n"));
  CHECK(IsShellScript("#! /bin/zsh\n"));
  CHECK_FALSE(IsShellScript("#!/usr/bin/env python3\n"));
  CHECK_FALSE(IsShellScript("#!/usr/bin/python\n"));
  CHECK(ShebangPath("#!/bin/bash -l\n") == "/bin/bash");
  CHECK(ShebangPath("#!/usr/bin/env bash\n").empty());
}

TEST_CASE("placeholders only in file names", "[unit][cluster]") {
  CHECK(CheckDirHasNoPlaceholder("stdout_path", "/logs/%j.out", '%').ok());
  CHECK_FALSE(CheckDirHasNoPlaceholder("stdout_path", "/logs/%j/out", '%').ok());
  CHECK(Dirname("/a/b/c") == "/a/b");
  CHECK(Dirname("/c") == "/");
}

TEST_CASE("timestamps", "[unit][cluster]") {
  using text::ParseTimestamp;
  const int64_t t = *text::EpochFromCivil(2026, 11, 23, 10, 0, 5, 0);
  CHECK(t == 1795428005);
  CHECK(*ParseTimestamp("2026-11-23T10:00:05", 0) == t);
  CHECK(*ParseTimestamp("2026-11-23T11:00:05", 3600) == t);
  CHECK(*ParseTimestamp("2026-11-23T10:00:05.123", 0) == t);
  CHECK(*ParseTimestamp("11/23/2026 10:00:05", 0) == t);
  CHECK(*ParseTimestamp("Mon Nov 23 10:00:05 2026", 0) == t);
  CHECK(*ParseTimestamp("1795428005", 0) == t);
  for (const char* none : {"Unknown", "None", "N/A", "", "0", "-/-", "garbage"})
    CHECK_FALSE(ParseTimestamp(none, 0).has_value());
  CHECK(*text::ParseUtcOffset("+0100") == 3600);
  CHECK(*text::ParseUtcOffset("-0530") == -(5 * 3600 + 30 * 60));
}

// A request holding `lock` for the dispatch `token`.
JobRequest Locked(const std::string& lock, const std::string& token) {
  JobRequest r;
  r.submit_lock = lock;
  r.submit_token = token;
  return r;
}

// The claim protocol, on this machine's sh and flock: what a submit still on
// its way when a newer dispatch claimed the lock does (runs/submitter.h).
TEST_CASE("a submit whose lock a newer dispatch claimed does not run",
          "[unit][cluster]") {
  testing::TempDir tmp;
  // Spaces and quotes: the lock's path is data, never script.
  const std::string dir = (tmp.path() / "run 'a\" $x").string();
  std::filesystem::create_directories(dir);
  const std::string lock = dir + "/main.submit.lock", ran = dir + "/ran";
  remote::LocalRemote local;
  auto submit = [&](const std::string& token) {
    auto r = local.Run(
        UnderSubmitLock(Locked(lock, token),
                        {"sh", "-c", "echo \"$0\" >> \"$1\"", token, ran}),
        {});
    REQUIRE(r.ok());
    return *r;
  };
  auto claim = [&](const std::string& token) {
    auto r = local.Run(ClaimSubmitLockArgv(Locked(lock, token)), {});
    REQUIRE(r.ok());
    return r->exit_code;
  };

  // The first dispatch finds no claim and takes it.
  auto first = submit("aaaa");
  CHECK(first.exit_code == 0);
  CHECK(CheckSubmitClaim(first, "here").ok());
  CHECK(testing::ReadAll(lock + ".claim") == "aaaa\n");
  CHECK(submit("aaaa").exit_code == 0);  // Its own retry runs too.

  // A reconciler claims the lock: the first dispatch's late command refuses.
  CHECK(claim("bbbb") == 0);
  auto late = submit("aaaa");
  CHECK(late.exit_code != 0);
  Status s = CheckSubmitClaim(late, "here");
  CHECK(s.code() == StatusCode::kUnavailable);
  CHECK(s.reason() == "submit_superseded");
  CHECK(submit("bbbb").exit_code == 0);
  CHECK(testing::ReadAll(ran) == "aaaa\naaaa\nbbbb\n");

  // A lock whose directory is gone was never taken: flock says 66.
  CHECK(local
            .Run(ClaimSubmitLockArgv(
                     Locked(tmp.path().string() + "/none/x.lock", "cccc")),
                 {})
            ->exit_code == 66);
  // Any other failure of the command is the command's own, not a refusal.
  auto other = local.Run(
      UnderSubmitLock(Locked(lock, "bbbb"), {"sh", "-c", "exit 75"}), {});
  CHECK(other->exit_code == 75);
  CHECK(CheckSubmitClaim(*other, "here").ok());
}

TEST_CASE("claiming a submit lock waits for the submit holding it",
          "[unit][cluster]") {
  testing::TempDir tmp;
  const std::string lock = (tmp.path() / "main.submit.lock").string();
  const std::string done = (tmp.path() / "done").string();
  remote::LocalRemote local;
  // A submit that holds the lock for a while, then leaves its mark.
  std::thread slow([&] {
    auto r =
        local.Run(UnderSubmitLock(Locked(lock, "aaaa"),
                                  {"sh", "-c", "sleep 1; touch \"$0\"", done}),
                  {});
    CHECK(r.ok());
  });
  // Bounded: the submit takes the lock within seconds.
  for (int i = 0; i < 500 && !std::filesystem::exists(lock + ".claim"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto r = local.Run(ClaimSubmitLockArgv(Locked(lock, "bbbb")), {});
  slow.join();
  REQUIRE(r.ok());
  CHECK(r->exit_code == 0);
  // The claim came after the submit had finished.
  CHECK(std::filesystem::exists(done));
  CHECK(testing::ReadAll(lock + ".claim") == "bbbb\n");
}

}  // namespace
}  // namespace hpc::cluster
