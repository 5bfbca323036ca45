// Shared by the Remote tests: the testbed's coordinates (from the
// environment, else from the env.sh that scripts/testbed/up.sh writes), the
// hostile strings, and /proc helpers that count and find TCP connections.
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tools/remote/openssh_remote.h"
#include "tools/remote/remote.h"
#include "tools/remote/ssh_options.h"

namespace hpc::testing {

struct Testbed {
  std::string dir;          // TESTBED_DIR
  std::string host;         // TESTBED_SSH_HOST
  int port = 0;             // TESTBED_SSH_PORT
  std::string user;         // TESTBED_SSH_USER
  std::string key;          // TESTBED_SSH_KEY
  std::string known_hosts;  // TESTBED_KNOWN_HOSTS
  std::string ssh_config;   // TESTBED_SSH_CONFIG
  std::string alias;        // TESTBED_SSH_ALIAS
  std::string pids;         // TESTBED_PIDS
  std::string work;         // TESTBED_WORK: where tests make their directories
};

// Parses `export NAME='value'` lines (values single-quoted, ' written as
// '\'' ), as up.sh writes them.
inline std::map<std::string, std::string> ParseEnvSh(const std::string& path) {
  std::map<std::string, std::string> vars;
  std::ifstream in(path);
  std::string line;
  for (int guard = 0; guard < 10000 && std::getline(in, line); ++guard) {
    if (line.rfind("export ", 0) != 0) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string name = line.substr(7, eq - 7);
    std::string value;
    size_t i = eq + 1;
    while (i < line.size()) {
      if (line[i] == '\'') {
        size_t close = line.find('\'', i + 1);
        if (close == std::string::npos) break;
        value += line.substr(i + 1, close - i - 1);
        i = close + 1;
      } else if (line[i] == '\\' && i + 1 < line.size()) {
        value += line[i + 1];
        i += 2;
      } else {
        value += line[i++];
      }
    }
    vars[name] = value;
  }
  return vars;
}

// The testbed, or a test failure that says how to start it. Never skips:
// CI starts the testbed before the tests, so a missing one is an error.
inline Testbed RequireTestbed() {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir =
      std::getenv("TESTBED_DIR") != nullptr
          ? std::getenv("TESTBED_DIR")
          : std::string(tmp != nullptr ? tmp : "/tmp") + "/hpc-testbed";
  auto file = ParseEnvSh(dir + "/env.sh");
  auto get = [&](const char* name) -> std::string {
    const char* v = std::getenv(name);
    if (v != nullptr && v[0] != '\0') return v;
    auto it = file.find(name);
    return it == file.end() ? "" : it->second;
  };
  Testbed tb;
  tb.dir = dir;
  tb.host = get("TESTBED_SSH_HOST");
  tb.port = std::atoi(get("TESTBED_SSH_PORT").c_str());
  tb.user = get("TESTBED_SSH_USER");
  tb.key = get("TESTBED_SSH_KEY");
  tb.known_hosts = get("TESTBED_KNOWN_HOSTS");
  tb.ssh_config = get("TESTBED_SSH_CONFIG");
  tb.alias = get("TESTBED_SSH_ALIAS");
  tb.pids = get("TESTBED_PIDS");
  if (tb.pids.empty()) tb.pids = dir + "/pids";
  tb.work = get("TESTBED_WORK");
  if (tb.work.empty()) tb.work = dir + "/work";
  if (tb.host.empty() || tb.port == 0 || tb.user.empty() || tb.key.empty()) {
    FAIL(
        "the SSH testbed is not running (no TESTBED_SSH_* in the "
        "environment or in " +
        dir +
        "/env.sh): run scripts/testbed/up.sh "
        "(as root; --install on a fresh machine), then the tests again");
  }
  return tb;
}

inline remote::SshOptions TestbedSshOptions(const Testbed& tb) {
  remote::SshOptions o;
  o.host = tb.host;
  o.port = tb.port;
  o.user = tb.user;
  o.identity_file = tb.key;
  o.known_hosts = tb.known_hosts;
  o.connect_timeout = std::chrono::seconds(10);
  return o;
}

// The OpenSSH client's options for the testbed's alias (its ssh_config).
inline remote::OpenSshOptions TestbedOpenSsh(const Testbed& tb,
                                             int max_sessions = 0) {
  remote::OpenSshOptions o;
  o.destination = tb.alias.empty() ? "testbed" : tb.alias;
  o.ssh_config = tb.ssh_config;
  if (max_sessions > 0) o.max_sessions = max_sessions;
  return o;
}

// Strings that break naive quoting. Those naming `canary_dir` would create
// a file there if any layer handed them to a shell unquoted.
inline std::vector<std::string> HostileStrings(const std::string& canary_dir) {
  const std::string c = canary_dir + "/canary";
  std::vector<std::string> s = {
      "it's \"quoted\"",
      "'",
      "\"",
      "'\\''",
      "a; touch " + c + "-semi",
      "$(touch " + c + "-subst)",
      "`touch " + c + "-tick`",
      "x\ntouch " + c + "-newline\n",
      "| touch " + c + "-pipe",
      "&& touch " + c + "-and",
      "> " + c + "-redirect",
      "-n",
      "--help",
      "-e \\n",
      "  spaces  inside and around  ",
      "tab\there",
      "cr\rhere",
      "unicode: h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 "
      "\xe6\x97\xa5\xe6\x9c\xac "
      "\xf0\x9f\x9a\x80",
      "$HOME ${PATH} $$ $? !! \\ \\\\ * ? [a] ~ #comment %s %n",
      "",
  };
  std::string big;
  while (big.size() < 10 * 1024) big += "'\"$(touch " + c + "-big)`;\\ \n";
  s.push_back(big);
  return s;
}

// Names of files to create: hostile, but without '/' (not a name char).
inline std::vector<std::string> HostileFileNames() {
  return {"it's \"quoted\"",
          "a; touch canary-fn",
          "$(touch canary-fn)",
          "`touch canary-fn`",
          "new\nline",
          "-leading-dash",
          " spaces ",
          "unicode-h\xc3\xa9llo-\xe2\x9c\x93",
          "*?[x]",
          std::string(200, 'n')};
}

// Inodes of the sockets this process has open.
inline std::set<std::string> OwnSocketInodes() {
  std::set<std::string> inodes;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return inodes;
  for (dirent* e = ::readdir(d); e != nullptr; e = ::readdir(d)) {
    char target[256];
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    std::string t(target, static_cast<size_t>(n));
    if (t.rfind("socket:[", 0) == 0) inodes.insert(t.substr(8, t.size() - 9));
  }
  ::closedir(d);
  return inodes;
}

struct TcpConn {
  int local_port, remote_port;
  std::string inode;
};

// Established TCP connections (IPv4 and IPv6) from /proc/net/tcp{,6}.
inline std::vector<TcpConn> EstablishedTcp() {
  std::vector<TcpConn> conns;
  for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);  // Header.
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, state, queues, tr, retr, uid, timeout,
          inode;
      f >> sl >> local >> remote >> state >> queues >> tr >> retr >> uid >>
          timeout >> inode;
      if (state != "01") continue;
      auto port = [](const std::string& addr) {
        return static_cast<int>(
            std::stoul(addr.substr(addr.rfind(':') + 1), nullptr, 16));
      };
      conns.push_back({port(local), port(remote), inode});
    }
  }
  return conns;
}

// How many established TCP connections this process has to `port`.
inline int OwnConnectionsTo(int port) {
  auto own = OwnSocketInodes();
  int n = 0;
  for (const auto& c : EstablishedTcp()) {
    if (c.remote_port == port && own.count(c.inode) != 0) ++n;
  }
  return n;
}

// The server-side processes (sshd children) of this process's connections
// to `port`: those holding the socket whose peer port is one of ours.
inline std::vector<pid_t> ServerPidsOfOwnConnections(int port) {
  auto own = OwnSocketInodes();
  std::set<int> our_ports;
  auto conns = EstablishedTcp();
  for (const auto& c : conns) {
    if (c.remote_port == port && own.count(c.inode) != 0) {
      our_ports.insert(c.local_port);
    }
  }
  std::set<std::string> server_inodes;
  for (const auto& c : conns) {
    if (c.local_port == port && our_ports.count(c.remote_port) != 0) {
      server_inodes.insert(c.inode);
    }
  }
  std::vector<pid_t> pids;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  for (dirent* e = ::readdir(proc); e != nullptr; e = ::readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0 || pid == ::getpid()) continue;
    std::string fd_dir = std::string("/proc/") + e->d_name + "/fd";
    DIR* fds = ::opendir(fd_dir.c_str());
    if (fds == nullptr) continue;
    for (dirent* f = ::readdir(fds); f != nullptr; f = ::readdir(fds)) {
      char target[256];
      std::string link = fd_dir + "/" + f->d_name;
      ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      std::string t(target, static_cast<size_t>(n));
      if (t.rfind("socket:[", 0) == 0 &&
          server_inodes.count(t.substr(8, t.size() - 9)) != 0) {
        pids.push_back(pid);
        break;
      }
    }
    ::closedir(fds);
  }
  ::closedir(proc);
  return pids;
}

// The pid recorded in `file`, if that process runs `exe` (pids wrap).
inline pid_t RecordedPid(const std::string& file, const std::string& exe) {
  std::ifstream in(file);
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  char target[256];
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return 0;
  return std::string(target, static_cast<size_t>(n)) == exe ? pid : 0;
}

inline bool LocalPathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace hpc::testing
