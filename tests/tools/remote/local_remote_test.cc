// LocalRemote: the Remote contract on this machine, plus what only a local
// process shows (the whole process group dies on timeout, spawn errors).
#include "tools/remote/local_remote.h"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "tests/tools/remote/remote_contract.h"

namespace hpc::testing {
namespace {

using remote::LocalRemote;

TEST_CASE("LocalRemote keeps the Remote contract", "[remote][local]") {
  LocalRemote r;
  Traits traits;
  SECTION("exit codes, signals, stdout and stderr") {
    CheckExitCodes(r, traits);
  }
  SECTION("stdin") { CheckStdin(r); }
  SECTION("output cap") { CheckOutputCap(r); }
  SECTION("timeout") { CheckTimeout(r); }
  SECTION("cwd and env") {
    ScratchDir dir(r);
    CheckCwdAndEnv(r, dir.path());
  }
  SECTION("files") {
    ScratchDir dir(r);
    CheckFiles(r, dir.path());
  }
  SECTION("atomic write against a concurrent reader") {
    ScratchDir dir(r);
    CheckAtomicWrite(r, dir.path());
  }
  SECTION("hostile strings, no shell") {
    ScratchDir dir(r);
    CheckHostileStrings(r, dir.path(), traits, false);
  }
}

TEST_CASE("LocalRemote with setup lines crosses a login shell safely",
          "[remote][local]") {
  LocalRemote r({"bash", "-l"}, {"export HPC_SETUP_MARK=from-setup"});
  SECTION("setup lines run before the command, only with login_shell") {
    CHECK(MustRun(r, {"printenv", "HPC_SETUP_MARK"}).out == "from-setup\n");
    RunOptions plain;
    plain.login_shell = false;
    CHECK(MustRun(r, {"printenv", "HPC_SETUP_MARK"}, plain).exit_code == 1);
  }
  SECTION("hostile strings through the login shell") {
    // The quoting is what is tested; a shell that reads no profile keeps
    // the ~70 shell starts fast.
    LocalRemote quick({"bash"}, {"export HPC_SETUP_MARK=from-setup"});
    ScratchDir dir(quick);
    CheckHostileStrings(quick, dir.path(), Traits{}, true);
    CHECK(MustRun(quick, {"printenv", "HPC_SETUP_MARK"}).out == "from-setup\n");
  }
  SECTION("cwd and env through the login shell") {
    ScratchDir dir(r);
    CheckCwdAndEnv(r, dir.path());
  }
}

TEST_CASE("LocalRemote kills the whole process group on timeout",
          "[remote][local]") {
  LocalRemote r;
  RunOptions o;
  o.timeout = std::chrono::milliseconds(500);
  ScratchDir dir(r);
  const std::string pid_file = dir.path() + "/child.pid";
  // The grandchild writes its pid, then both sleep.
  auto res = r.Run(
      {"sh", "-c", "sleep 60 & echo $! > \"$1\"; wait", "sh", pid_file}, o);
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().reason() == "timeout");
  auto pid_text = r.ReadFile(pid_file, 0, 64);
  REQUIRE(pid_text.ok());
  pid_t child = std::atoi(pid_text->c_str());
  REQUIRE(child > 0);
  // SIGKILL is delivered at once; reaping by init may take a moment.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::string stat;
    std::ifstream in("/proc/" + std::to_string(child) + "/stat");
    std::getline(in, stat);
    gone = stat.empty() || stat.find(") Z") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(gone);
}

TEST_CASE("LocalRemote reports what could not be started", "[remote][local]") {
  LocalRemote r;
  auto missing = r.Run({"hpc-mcp-no-such-program"}, {});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().reason() == "command_failed");
  CHECK(missing.status().message().find("hpc-mcp-no-such-program") !=
        std::string::npos);
  RunOptions o;
  o.cwd = "/nonexistent-hpc-mcp-dir";
  auto bad_cwd = r.Run({"true"}, o);
  REQUIRE_FALSE(bad_cwd.ok());
  CHECK(bad_cwd.status().reason() == "command_failed");
  CHECK(bad_cwd.status().message().find("working directory") !=
        std::string::npos);
  auto nul = r.Run({"printf", std::string("a\0b", 3)}, {});
  REQUIRE_FALSE(nul.ok());
  CHECK(nul.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("LocalRemote survives a child that closes its stdin early",
          "[remote][local]") {
  LocalRemote r;
  RunOptions o;
  o.stdin_data = std::string(8 << 20, 'x');  // Far more than a pipe holds.
  auto res = r.Run({"head", "-c", "10"}, o);
  REQUIRE(res.ok());
  CHECK(res->out == std::string(10, 'x'));
}

TEST_CASE("LocalRemote file errors carry stable reasons", "[remote][local]") {
  LocalRemote r;
  ScratchDir dir(r);
  REQUIRE(r.WriteFileAtomic(dir.path() + "/f", "x").ok());
  // A file in the way of a directory.
  auto blocked = r.WriteFileAtomic(dir.path() + "/f/g", "y");
  REQUIRE_FALSE(blocked.ok());
  CHECK(blocked.reason() == "io_error");
  auto read_dir = r.ReadFile(dir.path(), 0, 10);
  REQUIRE_FALSE(read_dir.ok());
  CHECK(read_dir.status().reason() == "io_error");
}

}  // namespace
}  // namespace hpc::testing
