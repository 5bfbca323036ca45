#include "tools/remote/remote_errors.h"

#include <cerrno>
#include <cstring>

namespace hpc::remote {
namespace {

StatusCode CodeOf(Reason reason) {
  switch (reason) {
    case Reason::kSshUnreachable:
      return StatusCode::kUnavailable;
    case Reason::kAuthFailed:
      return StatusCode::kPermissionDenied;
    case Reason::kHostKeyUnknown:
      return StatusCode::kFailedPrecondition;
    case Reason::kHostKeyChanged:
      return StatusCode::kFailedPrecondition;
    case Reason::kTimeout:
      return StatusCode::kDeadlineExceeded;
    case Reason::kCommandFailed:
      return StatusCode::kFailedPrecondition;
    case Reason::kNotFound:
      return StatusCode::kNotFound;
    case Reason::kPermissionDenied:
      return StatusCode::kPermissionDenied;
    case Reason::kIoError:
      return StatusCode::kUnavailable;
  }
  return StatusCode::kInternal;
}

const char* DefaultRemediation(Reason reason) {
  switch (reason) {
    case Reason::kSshUnreachable:
      return "check that the host is up and sshd answers on that port "
             "(ssh -p PORT USER@HOST true), then retry";
    case Reason::kAuthFailed:
      return "check that the profile's key is in the remote user's "
             "~/.ssh/authorized_keys, or load it into ssh-agent";
    case Reason::kHostKeyUnknown:
      return "verify the host's key fingerprint out of band, then add it to "
             "known_hosts (ssh-keyscan -p PORT HOST >> known_hosts)";
    case Reason::kHostKeyChanged:
      return "the host presented a different key than known_hosts holds: ask "
             "the cluster's administrators before replacing the entry";
    case Reason::kTimeout:
      return "raise the timeout, or run long work as a batch job";
    case Reason::kCommandFailed:
      return "check that the program exists on the target and is executable";
    case Reason::kNotFound:
      return "check the path (list the parent directory)";
    case Reason::kPermissionDenied:
      return "use a path the remote user may access (the profile's work_root)";
    case Reason::kIoError:
      return "retry; if it persists, check disk space and quota on the target";
  }
  return "";
}

}  // namespace

const char* ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kSshUnreachable:
      return "ssh_unreachable";
    case Reason::kAuthFailed:
      return "auth_failed";
    case Reason::kHostKeyUnknown:
      return "host_key_unknown";
    case Reason::kHostKeyChanged:
      return "host_key_changed";
    case Reason::kTimeout:
      return "timeout";
    case Reason::kCommandFailed:
      return "command_failed";
    case Reason::kNotFound:
      return "not_found";
    case Reason::kPermissionDenied:
      return "permission_denied";
    case Reason::kIoError:
      return "io_error";
  }
  return "io_error";
}

Status RemoteError(Reason reason, std::string message, bool retry_safe,
                   std::string remediation) {
  if (remediation.empty()) remediation = DefaultRemediation(reason);
  return Status(CodeOf(reason), std::move(message))
      .WithReason(ReasonName(reason), retry_safe, std::move(remediation));
}

Status ErrnoError(int err, std::string_view what) {
  std::string message = std::string(what) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return RemoteError(Reason::kNotFound, std::move(message), false);
    case EACCES:
    case EPERM:
    case EROFS:
      return RemoteError(Reason::kPermissionDenied, std::move(message), false);
    default:
      return RemoteError(Reason::kIoError, std::move(message), true);
  }
}

}  // namespace hpc::remote
