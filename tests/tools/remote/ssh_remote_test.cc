// SshRemote against the testbed's sshd (127.0.0.1:2222, user hpctest): the
// Remote contract, host keys, credentials, one shared connection for many
// threads, and a server that dies and comes back.
#include "tools/remote/ssh_remote.h"

#include <signal.h>

#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "tests/tools/remote/remote_contract.h"
#include "tools/remote/local_remote.h"

namespace hpc::testing {
namespace {

using remote::LocalRemote;
using remote::SshOptions;
using remote::SshRemote;

// Runs a local program (ssh-keygen, up.sh) and requires success.
std::string Local(const std::vector<std::string>& argv,
                  std::chrono::seconds timeout = std::chrono::seconds(30)) {
  LocalRemote local;
  RunOptions o;
  o.timeout = timeout;
  auto r = local.Run(argv, o);
  INFO(argv[0] << ": " << (r.ok() ? r->err : r.status().ToString()));
  REQUIRE(r.ok());
  REQUIRE(r->exit_code == 0);
  return r->out;
}

// A key pair the testbed has never seen, in `dir`.
std::string FreshKey(const std::string& dir) {
  const std::string key = dir + "/id_ed25519";
  Local({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key});
  return key;
}

TEST_CASE("SshRemote keeps the Remote contract", "[remote][ssh][integration]") {
  const Testbed tb = RequireTestbed();
  SshRemote r(TestbedSshOptions(tb));
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
  SECTION("hostile strings, login shell") {
    ScratchDir dir(r);
    CheckHostileStrings(r, dir.path(), traits, true);
  }
  SECTION("hostile strings, no login shell") {
    ScratchDir dir(r);
    CheckHostileStrings(r, dir.path(), traits, false);
  }
  SECTION("permission denied is a stable reason") {
    auto shadow = r.ReadFile("/etc/shadow", 0, 10);
    REQUIRE_FALSE(shadow.ok());
    CHECK(shadow.status().reason() == "permission_denied");
    auto root = r.WriteFileAtomic("/root-owned-hpc-mcp-test/x", "x");
    REQUIRE_FALSE(root.ok());
    CHECK(root.reason() == "permission_denied");
  }
  SECTION("command lines longer than SSH exec takes are refused") {
    auto huge = r.Run({"printf", "%s", std::string(40000, 'x')}, {});
    REQUIRE_FALSE(huge.ok());
    CHECK(huge.status().reason() == "command_failed");
    // The same data on stdin is fine.
    RunOptions o;
    o.stdin_data = std::string(40000, 'x');
    CHECK(MustRun(r, {"wc", "-c"}, o).out.find("40000") != std::string::npos);
  }
}

TEST_CASE("SshRemote runs setup lines in the login shell",
          "[remote][ssh][integration]") {
  const Testbed tb = RequireTestbed();
  SshOptions o = TestbedSshOptions(tb);
  o.setup = {"export HPC_SETUP_MARK='from setup'"};
  SshRemote r(o);
  CHECK(MustRun(r, {"printenv", "HPC_SETUP_MARK"}).out == "from setup\n");
  RunOptions plain;
  plain.login_shell = false;
  CHECK(MustRun(r, {"printenv", "HPC_SETUP_MARK"}, plain).exit_code == 1);
}

TEST_CASE("SshRemote refuses unknown and changed host keys",
          "[remote][ssh][integration]") {
  const Testbed tb = RequireTestbed();
  LocalRemote local;
  ScratchDir dir(local);
  SECTION("unknown: known_hosts has no entry") {
    const std::string empty = dir.path() + "/known_hosts";
    REQUIRE(local.WriteFileAtomic(empty, "").ok());
    SshOptions o = TestbedSshOptions(tb);
    o.known_hosts = empty;
    SshRemote r(o);
    auto res = r.Run({"true"}, {});
    REQUIRE_FALSE(res.ok());
    const Status& st = res.status();
    CHECK(st.reason() == "host_key_unknown");
    CHECK_FALSE(st.retry_safe());
    CHECK(st.message().find("SHA256:") != std::string::npos);
    CHECK(st.remediation().find("ssh-keyscan -p " + std::to_string(tb.port) +
                                " " + tb.host) != std::string::npos);
    CHECK(st.remediation().find("SHA256:") != std::string::npos);
  }
  SECTION("changed: known_hosts has another key of the same type") {
    const std::string other = FreshKey(dir.path());
    auto pub = local.ReadFile(other + ".pub", 0, 4096);
    REQUIRE(pub.ok());
    std::string type_and_key = pub->substr(0, pub->rfind(' '));
    const std::string known = dir.path() + "/known_hosts";
    REQUIRE(local
                .WriteFileAtomic(known, "[" + tb.host +
                                            "]:" + std::to_string(tb.port) +
                                            " " + type_and_key + "\n")
                .ok());
    SshOptions o = TestbedSshOptions(tb);
    o.known_hosts = known;
    SshRemote r(o);
    auto res = r.Run({"true"}, {});
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().reason() == "host_key_changed");
    CHECK_FALSE(res.status().retry_safe());
  }
}

TEST_CASE("SshRemote reports credentials the server refuses",
          "[remote][ssh][integration]") {
  const Testbed tb = RequireTestbed();
  LocalRemote local;
  ScratchDir dir(local);
  SECTION("a key the server does not know") {
    SshOptions o = TestbedSshOptions(tb);
    o.identity_file = FreshKey(dir.path());
    SshRemote r(o);
    auto res = r.Run({"true"}, {});
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().reason() == "auth_failed");
    CHECK_FALSE(res.status().retry_safe());
    CHECK(res.status().remediation().find("authorized_keys") !=
          std::string::npos);
  }
  SECTION("a key file that does not exist") {
    SshOptions o = TestbedSshOptions(tb);
    o.identity_file = dir.path() + "/missing_key";
    SshRemote r(o);
    auto res = r.Run({"true"}, {});
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().reason() == "auth_failed");
  }
  SECTION("a port nobody listens on") {
    SshOptions o = TestbedSshOptions(tb);
    o.port = 1;
    SshRemote r(o);
    auto res = r.Run({"true"}, {});
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().reason() == "ssh_unreachable");
    CHECK(res.status().retry_safe());
  }
}

// Sets an environment variable for one scope. Only for tests that run
// alone: setenv is not thread-safe.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    if (old != nullptr) old_ = old;
    had_ = old != nullptr;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      ::setenv(name_, old_.c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST_CASE("SshRemote authenticates through ssh-agent",
          "[remote][ssh][integration]") {
  const Testbed tb = RequireTestbed();
  LocalRemote local;
  ScratchDir dir(local);
  SshOptions o = TestbedSshOptions(tb);
  o.identity_file = "";  // ssh-agent.
  SECTION("with the key loaded") {
    const std::string sock = dir.path() + "/agent.sock";
    std::string out = Local({"ssh-agent", "-s", "-a", sock});
    size_t at = out.find("SSH_AGENT_PID=");
    REQUIRE(at != std::string::npos);
    pid_t agent = std::atoi(out.c_str() + at + 14);
    REQUIRE(agent > 0);
    struct AgentKiller {
      pid_t pid;
      ~AgentKiller() { ::kill(pid, SIGTERM); }
    } killer{agent};
    LocalRemote with_sock;
    RunOptions add;
    add.env = {{"SSH_AUTH_SOCK", sock}};
    auto added = with_sock.Run({"ssh-add", "-q", tb.key}, add);
    REQUIRE(added.ok());
    REQUIRE(added->exit_code == 0);
    ScopedEnv env("SSH_AUTH_SOCK", sock.c_str());
    SshRemote r(o);
    auto res = r.Run({"echo", "agent"}, {});
    INFO((res.ok() ? "" : res.status().ToString()));
    REQUIRE(res.ok());
    CHECK(res->out == "agent\n");
  }
  SECTION("without an agent") {
    ScopedEnv env("SSH_AUTH_SOCK", nullptr);
    SshRemote r(o);
    auto res = r.Run({"true"}, {});
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().reason() == "auth_failed");
    CHECK(res.status().remediation().find("ssh-agent") != std::string::npos);
  }
}

TEST_CASE("SshRemote shares one connection among many threads",
          "[remote][ssh][integration]") {
  const Testbed tb = RequireTestbed();
  SshRemote r(TestbedSshOptions(tb));
  SshRemote twin(TestbedSshOptions(tb));  // Same endpoint: same connection.
  REQUIRE(r.Connect().ok());
  REQUIRE(OwnConnectionsTo(tb.port) == 1);
  constexpr int kThreads = 16, kCommands = 10;
  std::atomic<int> ok{0}, wrong{0};
  std::atomic<int> max_connections{0};
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Remote& remote = t % 2 == 0 ? static_cast<Remote&>(r) : twin;
      for (int i = 0; i < kCommands; ++i) {
        const std::string token = std::to_string(t) + "-" + std::to_string(i);
        RunOptions o;
        o.login_shell = i % 2 == 0;
        // Some commands are slow, so channels overlap.
        auto res = remote.Run({"sh", "-c", "sleep 0.0$2; printf %s \"$1\"",
                               "sh", token, std::to_string(i % 3)},
                              o);
        if (res.ok() && res->exit_code == 0 && res->out == token) {
          ++ok;
        } else {
          ++wrong;
          failures[t] = res.ok() ? "got '" + res->out + "' " + res->err
                                 : res.status().ToString();
        }
        int n = OwnConnectionsTo(tb.port);
        int seen = max_connections.load();
        while (n > seen && !max_connections.compare_exchange_weak(seen, n)) {
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& f : failures) CHECK(f == "");
  CHECK(wrong == 0);
  CHECK(ok == kThreads * kCommands);
  CHECK(max_connections == 1);
  CHECK(OwnConnectionsTo(tb.port) == 1);
}

TEST_CASE("SshRemote interleaves large transfers on one connection",
          "[remote][ssh][integration]") {
  const Testbed tb = RequireTestbed();
  SshRemote r(TestbedSshOptions(tb));
  ScratchDir dir(r);
  std::string blob;
  for (int i = 0; blob.size() < 300000; ++i) blob += std::to_string(i) + "\n";
  REQUIRE(r.WriteFileAtomic(dir.path() + "/blob", blob).ok());
  std::string seq;
  for (int i = 1; i <= 40000; ++i) seq += std::to_string(i) + "\n";
  constexpr int kThreads = 8, kRounds = 4;
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto fail = [&](const std::string& what) {
        if (failures[t].empty()) failures[t] = what;
      };
      for (int i = 0; i < kRounds; ++i) {
        switch ((t + i) % 4) {
          case 0: {  // Large stdout.
            auto res = r.Run({"seq", "1", "40000"}, {});
            if (!res.ok() || res->out != seq) fail("seq");
            break;
          }
          case 1: {  // Large stdin echoed back, with stderr beside it.
            RunOptions o;
            o.stdin_data = blob;
            auto res = r.Run({"sh", "-c", "cat; echo done >&2"}, o);
            if (!res.ok() || res->out != blob || res->err != "done\n") {
              fail("cat");
            }
            break;
          }
          case 2: {  // SFTP read beside the channels.
            auto res = r.ReadFile(dir.path() + "/blob", 1000, 200000);
            if (!res.ok() || *res != blob.substr(1000, 200000)) fail("read");
            break;
          }
          case 3: {  // SFTP write and stat.
            std::string path = dir.path() + "/w" + std::to_string(t);
            if (!r.WriteFileAtomic(path, seq).ok() ||
                r.Stat(path)->size != seq.size()) {
              fail("write");
            }
            break;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& f : failures) CHECK(f == "");
  CHECK(OwnConnectionsTo(tb.port) == 1);
}

TEST_CASE("SshRemote stays up across idle keepalives",
          "[remote][ssh][integration]") {
  const Testbed tb = RequireTestbed();
  SshOptions o = TestbedSshOptions(tb);
  o.keepalive = std::chrono::seconds(1);
  SshRemote r(o);  // The only SshRemote for this endpoint: its options rule.
  CHECK(MustRun(r, {"true"}).exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2600));
  CHECK(MustRun(r, {"echo", "still"}).out == "still\n");
}

// Kills the sshd listener and the server side of this process's
// connections, as a crashed or restarted server would look.
void StopSshd(const Testbed& tb) {
  pid_t listener = RecordedPid(tb.pids + "/sshd.pid", "/usr/sbin/sshd");
  INFO("no live sshd recorded in " << tb.pids << "/sshd.pid");
  REQUIRE(listener > 0);
  // Listener first, so no new connection slips in; established connections
  // live on in their own processes (testbed.md), so those go next.
  REQUIRE(::kill(listener, SIGKILL) == 0);
  for (pid_t pid : ServerPidsOfOwnConnections(tb.port)) ::kill(pid, SIGKILL);
}

void StartSshd(const Testbed& tb) {
  Local({"bash", std::string(HPC_MCP_SOURCE_DIR) + "/scripts/testbed/up.sh",
         "--no-smoke"},
        std::chrono::seconds(120));
  // Bounded wait until it accepts connections again.
  for (int i = 0; i < 100; ++i) {
    SshRemote probe(TestbedSshOptions(tb));
    if (probe.Connect().ok()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL("sshd did not come back after scripts/testbed/up.sh --no-smoke");
}

TEST_CASE(
    "SshRemote fails clearly when sshd dies and reconnects when it is "
    "back",
    "[remote][ssh][integration][fault]") {
  const Testbed tb = RequireTestbed();
  SshRemote r(TestbedSshOptions(tb));
  REQUIRE(MustRun(r, {"true"}).exit_code == 0);

  // A command in flight when the server dies may have run: never retried.
  auto in_flight = std::async(std::launch::async, [&] {
    RunOptions o;
    o.timeout = std::chrono::seconds(30);
    return r.Run({"sleep", "10"}, o);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  StopSshd(tb);
  auto lost = in_flight.get();
  REQUIRE_FALSE(lost.ok());
  CHECK(lost.status().reason() == "ssh_unreachable");
  CHECK_FALSE(lost.status().retry_safe());
  CHECK(lost.status().message().find("may have run") != std::string::npos);

  // The next call finds the connection gone, tries once to reconnect, and
  // reports that nothing ran.
  auto start = std::chrono::steady_clock::now();
  auto down = r.Run({"true"}, {});
  REQUIRE_FALSE(down.ok());
  CHECK(down.status().reason() == "ssh_unreachable");
  CHECK(down.status().retry_safe());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  auto read_down = r.ReadFile("/etc/hostname", 0, 100);
  REQUIRE_FALSE(read_down.ok());
  CHECK(read_down.status().reason() == "ssh_unreachable");

  StartSshd(tb);
  auto back = r.Run({"echo", "back"}, {});
  INFO((back.ok() ? "" : back.status().ToString()));
  REQUIRE(back.ok());
  CHECK(back->out == "back\n");
  CHECK(OwnConnectionsTo(tb.port) == 1);
}

TEST_CASE(
    "SshRemote reconnects transparently when an idle connection was "
    "dropped",
    "[remote][ssh][integration][fault]") {
  const Testbed tb = RequireTestbed();
  SshRemote r(TestbedSshOptions(tb));
  REQUIRE(MustRun(r, {"true"}).exit_code == 0);
  // Only this connection's server side dies; the listener stays.
  auto pids = ServerPidsOfOwnConnections(tb.port);
  REQUIRE_FALSE(pids.empty());
  for (pid_t pid : pids) ::kill(pid, SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Nothing had been sent for this command: the reconnect is invisible.
  auto res = r.Run({"echo", "again"}, {});
  INFO((res.ok() ? "" : res.status().ToString()));
  REQUIRE(res.ok());
  CHECK(res->out == "again\n");
  auto file = r.Stat("/etc/hostname");
  CHECK(file.ok());
}

}  // namespace
}  // namespace hpc::testing
