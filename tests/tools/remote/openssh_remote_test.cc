// OpenSshRemote against the testbed's sshd through its ssh_config alias: the
// Remote contract, ssh's failures mapped to the stable reasons, and the
// ControlMaster it manages.
#include "tools/remote/openssh_remote.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "tests/tools/remote/remote_contract.h"
#include "tools/remote/local_remote.h"

namespace hpc::testing {
namespace {

using remote::LocalRemote;
using remote::OpenSshOptions;
using remote::OpenSshRemote;

// Options that reach the testbed without its ssh_config, so each part can
// be replaced (known_hosts, key, port).
OpenSshOptions Explicit(const Testbed& tb, const std::string& key,
                        const std::string& known_hosts, int port) {
  OpenSshOptions o;
  o.destination = tb.user + "@" + tb.host;
  o.ssh_config = "/dev/null";
  o.ssh_options = {"Port=" + std::to_string(port),
                   "IdentityFile=" + key,
                   "IdentitiesOnly=yes",
                   "UserKnownHostsFile=" + known_hosts,
                   "GlobalKnownHostsFile=/dev/null",
                   "StrictHostKeyChecking=yes",
                   "LogLevel=ERROR"};
  return o;
}

TEST_CASE("OpenSshRemote keeps the Remote contract",
          "[remote][openssh][integration]") {
  const Testbed tb = RequireTestbed();
  OpenSshRemote r(TestbedOpenSsh(tb));
  Traits traits;
  traits.reports_signal = false;  // ssh exits 255 for a killed command.
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
  }
  SECTION("a command's own exit 255 is not mistaken for ssh's") {
    auto res =
        r.Run({"sh", "-c", "echo 'Permission denied' >&2; exit 255"}, {});
    REQUIRE(res.ok());
    CHECK(res->exit_code == 255);
  }
}

TEST_CASE("OpenSshRemote manages a private ControlMaster",
          "[remote][openssh][integration]") {
  const Testbed tb = RequireTestbed();
  std::string socket;
  {
    OpenSshRemote r(TestbedOpenSsh(tb));
    auto argv = r.SshArgv("true");
    auto s = std::find(argv.begin(), argv.end(), "-S");
    REQUIRE(s != argv.end());
    socket = *(s + 1);
    CHECK(std::find(argv.begin(), argv.end(), "BatchMode=yes") != argv.end());
    CHECK(*(argv.end() - 3) == "--");
    REQUIRE(MustRun(r, {"true"}).exit_code == 0);
    struct stat st;
    REQUIRE(::stat(socket.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    std::string dir = socket.substr(0, socket.rfind('/'));
    REQUIRE(::stat(dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK(MustRun(r, {"echo", "again"}).out == "again\n");
  }
  // The destructor stopped the master and removed its directory.
  CHECK_FALSE(LocalPathExists(socket));
  CHECK_FALSE(LocalPathExists(socket.substr(0, socket.rfind('/'))));
}

TEST_CASE("OpenSshRemote maps ssh's failures to stable reasons",
          "[remote][openssh][integration]") {
  const Testbed tb = RequireTestbed();
  LocalRemote local;
  ScratchDir dir(local);
  SECTION("the testbed itself, spelled out, works") {
    OpenSshRemote r(Explicit(tb, tb.key, tb.known_hosts, tb.port));
    CHECK(MustRun(r, {"echo", "ok"}).out == "ok\n");
  }
  SECTION("unknown host key") {
    const std::string empty = dir.path() + "/known_hosts";
    REQUIRE(local.WriteFileAtomic(empty, "").ok());
    OpenSshRemote r(Explicit(tb, tb.key, empty, tb.port));
    auto res = r.Run({"true"}, {});
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().reason() == "host_key_unknown");
    CHECK_FALSE(res.status().retry_safe());
  }
  SECTION("changed host key") {
    const std::string key = dir.path() + "/other";
    LocalRemote().Run(
        {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key}, {});
    auto pub = local.ReadFile(key + ".pub", 0, 4096);
    REQUIRE(pub.ok());
    const std::string known = dir.path() + "/known_hosts";
    REQUIRE(local
                .WriteFileAtomic(
                    known, "[" + tb.host + "]:" + std::to_string(tb.port) +
                               " " + pub->substr(0, pub->rfind(' ')) + "\n")
                .ok());
    OpenSshRemote r(Explicit(tb, tb.key, known, tb.port));
    auto res = r.Run({"true"}, {});
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().reason() == "host_key_changed");
  }
  SECTION("a key the server does not know") {
    const std::string key = dir.path() + "/stranger";
    LocalRemote().Run(
        {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key}, {});
    OpenSshRemote r(Explicit(tb, key, tb.known_hosts, tb.port));
    auto res = r.Run({"true"}, {});
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().reason() == "auth_failed");
  }
  SECTION("nobody listening") {
    OpenSshRemote r(Explicit(tb, tb.key, tb.known_hosts, 1));
    auto res = r.Run({"true"}, {});
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().reason() == "ssh_unreachable");
    CHECK(res.status().retry_safe());
  }
  SECTION("a destination that looks like an option is refused") {
    OpenSshOptions o;
    o.destination = "-oProxyCommand=touch /tmp/hpc-mcp-canary-proxy";
    OpenSshRemote r(o);
    auto res = r.Run({"true"}, {});
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().code() == StatusCode::kInvalidArgument);
    CHECK_FALSE(LocalPathExists("/tmp/hpc-mcp-canary-proxy"));
  }
}

TEST_CASE("ClassifySshFailure reads ssh's own messages", "[remote][unit]") {
  using remote::ClassifySshFailure;
  CHECK_FALSE(ClassifySshFailure(0, "Host key verification failed.", "h"));
  CHECK_FALSE(ClassifySshFailure(255, "my tool failed", "h"));
  CHECK(ClassifySshFailure(255, "Host key verification failed.\r\n", "h")
            ->reason() == "host_key_unknown");
  CHECK(ClassifySshFailure(
            255,
            "@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!"
            "     @\n...\nHost key verification failed.\n",
            "h")
            ->reason() == "host_key_changed");
  CHECK(ClassifySshFailure(255, "u@h: Permission denied (publickey).\n", "h")
            ->reason() == "auth_failed");
  auto refused = ClassifySshFailure(
      255, "ssh: connect to host h port 22: Connection refused\n", "h");
  CHECK(refused->reason() == "ssh_unreachable");
  CHECK(refused->retry_safe());
  auto lost =
      ClassifySshFailure(255, "Connection to h closed by remote host.\n", "h");
  CHECK(lost->reason() == "ssh_unreachable");
  CHECK_FALSE(lost->retry_safe());
  auto mux = ClassifySshFailure(
      255,
      "mux_client_request_session: read from master failed: Connection reset "
      "by peer\n",
      "h");
  CHECK_FALSE(mux->retry_safe());
}

}  // namespace
}  // namespace hpc::testing
