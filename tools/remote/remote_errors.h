// The stable error reasons of the Remote seam (remote.h) and the one place
// that decides, for each, the StatusCode and the default remediation line.
//
// Every implementation (local, libssh2, OpenSSH) builds its errors here, so a
// caller can branch on Status::reason() whatever the transport was.
#pragma once

#include <string>
#include <string_view>

#include "mcp_server/status.h"

namespace hpc::remote {

enum class Reason {
  kSshUnreachable,    // No connection, or it dropped.
  kAuthFailed,        // The server refused our credentials.
  kHostKeyUnknown,    // known_hosts has no key for the host: refused.
  kHostKeyChanged,    // known_hosts has a different key: refused.
  kTimeout,           // The operation ran past its deadline.
  kCommandFailed,     // Could not be started, or killed by us.
  kNotFound,          // The path does not exist.
  kPermissionDenied,  // The remote user may not do this.
  kIoError,           // Anything else that went wrong reading or writing.
};

// "ssh_unreachable", "auth_failed", ... (the Status::reason() strings).
const char* ReasonName(Reason reason);

// A non-OK Status with `reason`, its StatusCode, and `remediation` (the
// reason's generic advice when empty). `retry_safe` says whether repeating
// the same request may succeed; for commands it is true only when the
// command cannot have started.
Status RemoteError(Reason reason, std::string message, bool retry_safe,
                   std::string remediation = "");

// The error for a failed POSIX call on a path: ENOENT/ENOTDIR -> not_found,
// EACCES/EPERM/EROFS -> permission_denied, anything else -> io_error.
// `what` says what was being done ("read /x").
Status ErrnoError(int err, std::string_view what);

}  // namespace hpc::remote
