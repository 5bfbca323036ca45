// How SshRemote reaches a host: the libssh2 counterpart of a profile's
// `access` block (tools/cluster/profile.h) plus its login shell and setup.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace hpc::remote {

struct SshOptions {
  std::string host;  // Name or address; resolved with getaddrinfo.
  int port = 22;
  std::string user;
  std::string identity_file;  // Private key file; empty: ssh-agent.
  std::string known_hosts;    // Empty: ~/.ssh/known_hosts.
  // Idle time after which a keepalive is sent; 0 disables keepalives.
  std::chrono::seconds keepalive{30};
  std::chrono::seconds connect_timeout{10};  // TCP connect + SSH handshake.
  // Deadline of each file operation (SFTP) and of the parts of a command
  // that are not the command itself (opening its channel).
  std::chrono::seconds io_timeout{60};
  // At most this many channels (commands and the one SFTP channel) are open
  // at once on the shared connection; more callers wait for a free one.
  // Keep it below the server's MaxSessions (OpenSSH default: 10).
  int max_channels = 8;
  // Commands run as WrapInLoginShell(login_shell, setup, argv) when
  // RunOptions::login_shell is set and login_shell is non-empty.
  std::vector<std::string> login_shell = {"bash", "-l"};
  std::vector<std::string> setup;
};

}  // namespace hpc::remote
