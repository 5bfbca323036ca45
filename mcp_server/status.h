// Status and Result<T>: how errors travel inside hpc-mcp.
//
// Domain code returns a Status (or a Result<T> carrying either a value or a
// non-OK Status) instead of throwing. Exceptions from libraries that throw
// (nlohmann::json, yaml-cpp) are caught in the adapter that calls them and
// turned into a Status there. The message of a Status is written for the
// reader who has to act on it: it says what was wrong and what to do next.
//
// Thread-safety: values; safe to copy between threads.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace hpc {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // The caller sent something wrong; fixing it helps.
  kNotFound,            // A named thing does not exist.
  kAlreadyExists,       // Creating something that is already there.
  kFailedPrecondition,  // The system is not in a state to do this now.
  kPermissionDenied,    // Not allowed, whatever the input.
  kResourceExhausted,   // A limit was hit (size, count, rate).
  kUnavailable,         // A dependency is unreachable; retrying may help.
  kDeadlineExceeded,    // Took too long.
  kCancelled,           // The caller asked us to stop.
  kUnimplemented,       // Not supported by this build or backend.
  kInternal,            // A bug or an invariant broken.
};

// The stable lower-case name of a code ("invalid_argument"), for messages.
const char* StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;  // OK.
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // A stable, machine-readable cause for callers that branch on it
  // ("ssh_unreachable", "auth_failed", ...); empty when none was given.
  const std::string& reason() const { return reason_; }
  // Whether repeating the same request may succeed (a dropped connection)
  // or cannot (bad credentials).
  bool retry_safe() const { return retry_safe_; }
  // One line on what the user or agent should do about it.
  const std::string& remediation() const { return remediation_; }
  Status& WithReason(std::string reason, bool retry_safe,
                     std::string remediation) & {
    reason_ = std::move(reason);
    retry_safe_ = retry_safe;
    remediation_ = std::move(remediation);
    return *this;
  }
  Status&& WithReason(std::string reason, bool retry_safe,
                      std::string remediation) && {
    return std::move(WithReason(std::move(reason), retry_safe,
                                std::move(remediation)));
  }

  // "<code name>: <message>", or "ok".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string reason_;
  bool retry_safe_ = false;
  std::string remediation_;
};

inline Status InvalidArgument(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFound(std::string m) {
  return Status(StatusCode::kNotFound, std::move(m));
}
inline Status AlreadyExists(std::string m) {
  return Status(StatusCode::kAlreadyExists, std::move(m));
}
inline Status FailedPrecondition(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}
inline Status PermissionDenied(std::string m) {
  return Status(StatusCode::kPermissionDenied, std::move(m));
}
inline Status ResourceExhausted(std::string m) {
  return Status(StatusCode::kResourceExhausted, std::move(m));
}
inline Status Unavailable(std::string m) {
  return Status(StatusCode::kUnavailable, std::move(m));
}
inline Status DeadlineExceeded(std::string m) {
  return Status(StatusCode::kDeadlineExceeded, std::move(m));
}
inline Status Cancelled(std::string m) {
  return Status(StatusCode::kCancelled, std::move(m));
}
inline Status Unimplemented(std::string m) {
  return Status(StatusCode::kUnimplemented, std::move(m));
}
inline Status Internal(std::string m) {
  return Status(StatusCode::kInternal, std::move(m));
}

// Either a T or a non-OK Status. Constructing a Result from an OK Status is a
// bug and yields an kInternal error instead.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design.
  Result(Status status)                      // NOLINT: implicit by design.
      : v_(status.ok() ? Internal("Result built from an OK status")
                       : std::move(status)) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  // REQUIRES: !ok()
  const Status& status() const { return std::get<Status>(v_); }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace hpc

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define HPC_RETURN_IF_ERROR(expr)          \
  do {                                     \
    ::hpc::Status hpc_status_ = (expr);    \
    if (!hpc_status_.ok()) return hpc_status_; \
  } while (0)
