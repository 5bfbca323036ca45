#include "tools/remote/ssh_status.h"

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "tools/remote/remote_errors.h"

namespace hpc::remote::ssh_status {
namespace {

std::string LastError(LIBSSH2_SESSION* session) {
  if (session == nullptr) return "";
  char* text = nullptr;
  int len = 0;
  libssh2_session_last_error(session, &text, &len, 0);
  return text != nullptr ? std::string(text, static_cast<size_t>(len)) : "";
}

std::string Detail(LIBSSH2_SESSION* session, int rc, const Op& op) {
  if (!op.broken_why.empty()) return std::string(op.broken_why);
  std::string text = LastError(session);
  if (text.empty()) text = "libssh2 error";
  return text + " (libssh2 " + std::to_string(rc) + ")";
}

std::string HostPort(std::string_view target) {
  // "user@host:port" -> "-p port user@host", for suggested commands.
  size_t colon = target.rfind(':');
  if (colon == std::string_view::npos) return std::string(target);
  return "-p " + std::string(target.substr(colon + 1)) + " " +
         std::string(target.substr(0, colon));
}

Status Unreachable(const Op& op, std::string detail) {
  std::string message = "cannot " + std::string(op.what) + " on " +
                        std::string(op.target) + ": " + detail;
  if (op.may_have_run) {
    message +=
        "; the connection was lost after the command was sent, so it "
        "may have run and was not retried";
    return RemoteError(Reason::kSshUnreachable, std::move(message), false,
                       "check whether the command took effect (job queue, "
                       "output files) before running it again");
  }
  return RemoteError(Reason::kSshUnreachable, std::move(message), true,
                     "check that sshd answers (ssh " + HostPort(op.target) +
                         " true), then retry");
}

}  // namespace

bool IsFatal(int rc) {
  switch (rc) {
    case LIBSSH2_ERROR_BANNER_RECV:
    case LIBSSH2_ERROR_BANNER_SEND:
    case LIBSSH2_ERROR_INVALID_MAC:
    case LIBSSH2_ERROR_KEX_FAILURE:
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
    case LIBSSH2_ERROR_DECRYPT:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_PROTO:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
    case LIBSSH2_ERROR_BAD_USE:
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_ENCRYPT:
    case LIBSSH2_ERROR_BAD_SOCKET:
      return true;
    default:
      return false;
  }
}

Status FromCall(LIBSSH2_SESSION* session, int rc, const Op& op) {
  if (!op.broken_why.empty() || IsFatal(rc)) {
    return Unreachable(op, Detail(session, rc, op));
  }
  std::string where = std::string(op.what) + " on " + std::string(op.target);
  switch (rc) {
    case LIBSSH2_ERROR_TIMEOUT:
      return RemoteError(
          Reason::kTimeout, "timed out trying to " + where, !op.may_have_run,
          op.may_have_run ? "the command may still be running on the target; "
                            "raise the timeout or submit it as a batch job"
                          : "");
    case LIBSSH2_ERROR_CHANNEL_FAILURE:
      // Open refused, typically "administratively prohibited": the
      // server's MaxSessions is below our max_channels.
      return RemoteError(Reason::kSshUnreachable,
                         "the server refused to open a channel to " + where +
                             ": " + Detail(session, rc, op),
                         true,
                         "lower max_channels below the server's MaxSessions, "
                         "or retry when fewer commands run");
    case LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED:
    case LIBSSH2_ERROR_REQUEST_DENIED:
      return RemoteError(
          Reason::kCommandFailed,
          "the server refused to " + where + ": " + Detail(session, rc, op),
          false,
          "the account may be restricted (forced command, "
          "no shell); try ssh " +
              HostPort(op.target) + " true");
    case LIBSSH2_ERROR_OUT_OF_BOUNDARY:
    case LIBSSH2_ERROR_CHANNEL_PACKET_EXCEEDED:
      return RemoteError(
          Reason::kCommandFailed,
          "cannot " + where + ": the request is larger than an SSH packet",
          false,
          "pass large data on stdin or in a file instead of "
          "in arguments");
    default:
      return RemoteError(Reason::kIoError,
                         "cannot " + where + ": " + Detail(session, rc, op),
                         !op.may_have_run);
  }
}

Status FromSftp(LIBSSH2_SESSION* session, LIBSSH2_SFTP* sftp, int rc,
                const Op& op) {
  if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL || sftp == nullptr) {
    return FromCall(session, rc, op);
  }
  unsigned long code = libssh2_sftp_last_error(sftp);
  std::string where = std::string(op.what) + " on " + std::string(op.target);
  switch (code) {
    case LIBSSH2_FX_NO_SUCH_FILE:
    case LIBSSH2_FX_NO_SUCH_PATH:
    case LIBSSH2_FX_NOT_A_DIRECTORY:
      return RemoteError(Reason::kNotFound,
                         "cannot " + where + ": no such file or directory",
                         false);
    case LIBSSH2_FX_PERMISSION_DENIED:
    case LIBSSH2_FX_WRITE_PROTECT:
      return RemoteError(Reason::kPermissionDenied,
                         "cannot " + where + ": permission denied", false);
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
    case LIBSSH2_FX_QUOTA_EXCEEDED:
      return RemoteError(Reason::kIoError,
                         "cannot " + where + ": no space left (or quota)",
                         false, "free space or ask for more quota, then retry");
    case LIBSSH2_FX_FILE_ALREADY_EXISTS:
      return RemoteError(Reason::kIoError,
                         "cannot " + where + ": the file already exists", true);
    case LIBSSH2_FX_NO_CONNECTION:
    case LIBSSH2_FX_CONNECTION_LOST:
      return Unreachable(op, "SFTP connection lost");
    default:
      return RemoteError(
          Reason::kIoError,
          "cannot " + where + ": SFTP status " + std::to_string(code), true);
  }
}

Status FromHandshake(LIBSSH2_SESSION* session, int rc,
                     std::string_view target) {
  Op op{"complete the SSH handshake", target, false, ""};
  if (rc == LIBSSH2_ERROR_TIMEOUT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT) {
    return Unreachable(op, "no answer within the connect timeout");
  }
  return Unreachable(op, Detail(session, rc, op));
}

Status FromAuth(LIBSSH2_SESSION* session, int rc, const SshOptions& options,
                std::string_view target, std::string_view how) {
  Op op{"authenticate", target, false, ""};
  if (IsFatal(rc) || rc == LIBSSH2_ERROR_TIMEOUT) {
    return Unreachable(op, Detail(session, rc, op));
  }
  std::string message = "authentication as " + options.user + " on " +
                        std::string(target) + " with " + std::string(how) +
                        " failed: " + Detail(session, rc, op);
  std::string remediation;
  if (rc == LIBSSH2_ERROR_FILE) {
    remediation =
        "the key file could not be read or is protected by a "
        "passphrase: check the path, or load the key into "
        "ssh-agent and leave identity_file empty";
  } else if (options.identity_file.empty()) {
    remediation = "add a key that " + options.user +
                  " accepts to ssh-agent (ssh-add), or set identity_file";
  } else {
    remediation = "append " + options.identity_file + ".pub to ~" +
                  options.user +
                  "/.ssh/authorized_keys on the host (ed25519 or ECDSA keys: "
                  "this libssh2 signs RSA keys only with SHA-1, which "
                  "OpenSSH 8.8+ refuses)";
  }
  return RemoteError(Reason::kAuthFailed, std::move(message), false,
                     std::move(remediation));
}

Status FromHostKeyCheck(int check, const HostKeyFacts& facts) {
  std::string host_spec =
      facts.port == 22
          ? std::string(facts.host)
          : "[" + std::string(facts.host) + "]:" + std::to_string(facts.port);
  switch (check) {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH:
      return Status::Ok();
    case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
      return RemoteError(
          Reason::kHostKeyUnknown,
          std::string(facts.known_hosts) + " has no " +
              std::string(facts.key_type) + " key for " + host_spec +
              "; the host presented " + std::string(facts.fingerprint) +
              ", connection refused",
          false,
          "check that the fingerprint " + std::string(facts.fingerprint) +
              " is the host's (ask its administrators), then add it with "
              "ssh-keyscan -p " +
              std::to_string(facts.port) + " " + std::string(facts.host) +
              " >> " + std::string(facts.known_hosts));
    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
      return RemoteError(
          Reason::kHostKeyChanged,
          "the " + std::string(facts.key_type) + " key of " + host_spec +
              " is not the one in " + std::string(facts.known_hosts) +
              " (it presented " + std::string(facts.fingerprint) +
              "): refused; this may be an attack or a reinstalled host",
          false,
          "confirm the new key with the host's administrators before "
          "replacing it (ssh-keygen -R '" +
              host_spec + "' -f " + std::string(facts.known_hosts) +
              ", then ssh-keyscan)");
    default:
      return RemoteError(Reason::kIoError,
                         "cannot check the host key of " + host_spec +
                             " against " + std::string(facts.known_hosts),
                         false, "check that the known_hosts file is readable");
  }
}

}  // namespace hpc::remote::ssh_status
