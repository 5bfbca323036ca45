// The one file where libssh2's return codes, SFTP status codes and
// known-host check results become Status, with the stable reasons of
// remote_errors.h. Every ssh_*.cc file hands its failures to these
// functions instead of interpreting libssh2 codes itself.
//
// REQUIRES of every function taking a session: called under the session's
// io_mu_, right after the failing call, so libssh2's "last error" text is
// that call's.
#pragma once

#include <string>
#include <string_view>

#include "mcp_server/status.h"
#include "tools/remote/ssh_options.h"

struct _LIBSSH2_SESSION;
struct _LIBSSH2_SFTP;

namespace hpc::remote::ssh_status {

// What the failing call was doing.
struct Op {
  std::string_view what;    // "open a channel", "read /x"
  std::string_view target;  // "user@host:port"
  // A command was (or may have been) sent: a lost connection is then not
  // retry_safe, because running it again could run it twice.
  bool may_have_run = false;
  // Set when the session was already broken: why (replaces libssh2's text).
  std::string_view broken_why;
};

// True when the session cannot be used after a call returned `rc`.
bool IsFatal(int rc);

// Any libssh2 call other than SFTP requests and authentication.
Status FromCall(_LIBSSH2_SESSION* session, int rc, const Op& op);

// An SFTP request; reads the SFTP status for LIBSSH2_ERROR_SFTP_PROTOCOL.
Status FromSftp(_LIBSSH2_SESSION* session, _LIBSSH2_SFTP* sftp, int rc,
                const Op& op);

// The banner exchange and key exchange.
Status FromHandshake(_LIBSSH2_SESSION* session, int rc,
                     std::string_view target);

// Public-key or agent authentication. `how` names what was tried
// ("key /home/u/.ssh/id_ed25519", "ssh-agent (2 keys)").
Status FromAuth(_LIBSSH2_SESSION* session, int rc, const SshOptions& options,
                std::string_view target, std::string_view how);

struct HostKeyFacts {
  std::string_view target;
  std::string_view host;
  int port = 22;
  std::string_view known_hosts;  // The file that was consulted.
  std::string_view fingerprint;  // "SHA256:..." of the presented key.
  std::string_view key_type;     // "ssh-ed25519"
};

// The result of libssh2_knownhost_checkp: OK for a match; host_key_unknown,
// host_key_changed, or io_error otherwise.
Status FromHostKeyCheck(int check, const HostKeyFacts& facts);

}  // namespace hpc::remote::ssh_status
