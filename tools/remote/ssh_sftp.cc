// SshSession's SFTP operations, one at a time on one shared SFTP channel.
#include <libssh2.h>
#include <libssh2_sftp.h>

#include <algorithm>

#include "tools/remote/remote_errors.h"
#include "tools/remote/ssh_session.h"
#include "tools/remote/ssh_status.h"

namespace hpc::remote {
namespace {

FileInfo InfoFrom(const LIBSSH2_SFTP_ATTRIBUTES& attrs) {
  FileInfo info;
  if (attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) {
    info.is_dir = LIBSSH2_SFTP_S_ISDIR(attrs.permissions);
    info.mode = static_cast<uint32_t>(attrs.permissions) & 07777;
  }
  if (attrs.flags & LIBSSH2_SFTP_ATTR_SIZE) info.size = attrs.filesize;
  if (attrs.flags & LIBSSH2_SFTP_ATTR_ACMODTIME) {
    info.mtime = static_cast<int64_t>(attrs.mtime);
  }
  return info;
}

unsigned Len(const std::string& s) { return static_cast<unsigned>(s.size()); }

}  // namespace

Status SshSession::WithSftp(Clock::time_point deadline,
                            const std::function<Status(Lock&)>& body) {
  std::lock_guard sftp_lock(sftp_mu_);
  if (sftp_ == nullptr) {
    if (!sftp_holds_slot_) {
      if (!slots_.try_acquire_until(deadline)) {
        return RemoteError(
            Reason::kTimeout,
            "no free channel to " + target_ + " for SFTP before the deadline",
            true);
      }
      sftp_holds_slot_ = true;  // Kept for the life of the session.
    }
    std::lock_guard open_lock(open_mu_);
    Lock lk(io_mu_);
    int rc = Drive(
        lk,
        [&] {
          sftp_ = libssh2_sftp_init(session_);
          return sftp_ != nullptr ? 0 : libssh2_session_last_errno(session_);
        },
        deadline);
    if (rc != 0) {
      sftp_ = nullptr;
      ssh_status::Op op{"start SFTP", target_, false,
                        broken_ ? std::string_view(broken_why_) : ""};
      return ssh_status::FromCall(session_, rc, op);
    }
  }
  Lock lk(io_mu_);
  Status st = body(lk);
  if (st.reason() == ReasonName(Reason::kTimeout) && !broken_) {
    // A request abandoned half-way leaves libssh2's SFTP state mid-request;
    // the next operation gets a fresh SFTP channel.
    Drive(
        lk, [&] { return libssh2_sftp_shutdown(sftp_); },
        Clock::now() + std::chrono::seconds(1));
    sftp_ = nullptr;
  }
  return st;
}

void SshSession::CloseSftpHandle(Lock& lk, LIBSSH2_SFTP_HANDLE* handle) {
  Drive(
      lk, [&] { return libssh2_sftp_close_handle(handle); },
      Clock::now() + std::chrono::seconds(2));
}

Result<std::string> SshSession::SftpRead(const std::string& path,
                                         uint64_t offset, size_t max_bytes,
                                         Clock::time_point deadline) {
  std::string data;
  Status st = WithSftp(deadline, [&](Lock& lk) -> Status {
    const std::string what = "read " + path;
    auto fail = [&](int rc) { return SftpError(rc, what); };
    LIBSSH2_SFTP_HANDLE* handle = nullptr;
    int rc = Drive(
        lk,
        [&] {
          handle =
              libssh2_sftp_open_ex(sftp_, path.data(), Len(path),
                                   LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
          return handle != nullptr ? 0 : libssh2_session_last_errno(session_);
        },
        deadline);
    if (rc != 0) return fail(rc);
    libssh2_sftp_seek64(handle, offset);
    char buf[65536];
    // Bounded by max_bytes: every pass adds bytes or ends the loop.
    while (data.size() < max_bytes) {
      size_t want = std::min(sizeof buf, max_bytes - data.size());
      ssize_t n = 0;
      rc = Drive(
          lk,
          [&] {
            n = libssh2_sftp_read(handle, buf, want);
            return n >= 0 ? 0 : static_cast<int>(n);
          },
          deadline);
      if (rc != 0) {
        Status failed = fail(rc);
        if (!broken_) CloseSftpHandle(lk, handle);
        return failed;
      }
      if (n == 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    CloseSftpHandle(lk, handle);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return data;
}

Result<FileInfo> SshSession::SftpStat(const std::string& path,
                                      Clock::time_point deadline) {
  LIBSSH2_SFTP_ATTRIBUTES attrs{};
  Status st = WithSftp(deadline, [&](Lock& lk) -> Status {
    int rc = Drive(
        lk,
        [&] {
          return libssh2_sftp_stat_ex(sftp_, path.data(), Len(path),
                                      LIBSSH2_SFTP_STAT, &attrs);
        },
        deadline);
    if (rc == 0) return Status::Ok();
    return SftpError(rc, "stat " + path);
  });
  if (!st.ok()) return st;
  return InfoFrom(attrs);
}

Status SshSession::SftpError(int rc, const std::string& what) const {
  return ssh_status::FromSftp(
      session_, sftp_, rc,
      {what, target_, false, broken_ ? std::string_view(broken_why_) : ""});
}

Status SshSession::SftpMkdir(const std::string& path, uint32_t mode,
                             Clock::time_point deadline) {
  return WithSftp(deadline, [&](Lock& lk) -> Status {
    int rc = Drive(
        lk,
        [&] {
          return libssh2_sftp_mkdir_ex(sftp_, path.data(), Len(path), mode);
        },
        deadline);
    if (rc == 0) return Status::Ok();
    return SftpError(rc, "create directory " + path);
  });
}

Status SshSession::SftpWriteNew(const std::string& path,
                                std::string_view content, uint32_t mode,
                                Clock::time_point deadline) {
  return WithSftp(deadline, [&](Lock& lk) -> Status {
    const std::string what = "write " + path;
    auto fail = [&](int rc) { return SftpError(rc, what); };
    LIBSSH2_SFTP_HANDLE* handle = nullptr;
    int rc = Drive(
        lk,
        [&] {
          handle = libssh2_sftp_open_ex(
              sftp_, path.data(), Len(path),
              LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
              static_cast<long>(mode & 0777), LIBSSH2_SFTP_OPENFILE);
          return handle != nullptr ? 0 : libssh2_session_last_errno(session_);
        },
        deadline);
    if (rc != 0) return fail(rc);
    auto fail_open = [&](int code) {
      Status failed = fail(code);
      if (!broken_) CloseSftpHandle(lk, handle);
      return failed;
    };
    size_t done = 0;
    // libssh2 pipelines writes: after EAGAIN the same buffer and length must
    // be passed again, which Drive does. Bounded by the content's size.
    while (done < content.size()) {
      ssize_t n = 0;
      rc = Drive(
          lk,
          [&] {
            n = libssh2_sftp_write(handle, content.data() + done,
                                   content.size() - done);
            return n >= 0 ? 0 : static_cast<int>(n);
          },
          deadline);
      if (rc != 0) return fail_open(rc);
      if (n == 0) return fail_open(LIBSSH2_ERROR_SOCKET_SEND);
      done += static_cast<size_t>(n);
    }
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    attrs.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
    attrs.permissions = mode & 07777;
    rc = Drive(
        lk, [&] { return libssh2_sftp_fsetstat(handle, &attrs); }, deadline);
    if (rc != 0) return fail_open(rc);
    rc = Drive(
        lk, [&] { return libssh2_sftp_fsync(handle); }, deadline);
    // fsync@openssh.com is an extension; without it the data is still
    // written, only not forced to disk yet.
    if (rc != 0 &&
        !(rc == LIBSSH2_ERROR_SFTP_PROTOCOL &&
          libssh2_sftp_last_error(sftp_) == LIBSSH2_FX_OP_UNSUPPORTED)) {
      return fail_open(rc);
    }
    rc = Drive(
        lk, [&] { return libssh2_sftp_close_handle(handle); }, deadline);
    if (rc != 0) return fail(rc);
    return Status::Ok();
  });
}

Status SshSession::SftpRename(const std::string& from, const std::string& to,
                              Clock::time_point deadline) {
  return WithSftp(deadline, [&](Lock& lk) -> Status {
    int rc = Drive(
        lk,
        [&] {
          return libssh2_sftp_rename_ex(
              sftp_, from.data(), Len(from), to.data(), Len(to),
              LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
                  LIBSSH2_SFTP_RENAME_NATIVE);
        },
        deadline);
    if (rc == 0) return Status::Ok();
    return SftpError(rc, "rename " + from + " to " + to);
  });
}

Status SshSession::SftpUnlink(const std::string& path,
                              Clock::time_point deadline) {
  return WithSftp(deadline, [&](Lock& lk) -> Status {
    int rc = Drive(
        lk,
        [&] { return libssh2_sftp_unlink_ex(sftp_, path.data(), Len(path)); },
        deadline);
    if (rc == 0) return Status::Ok();
    return SftpError(rc, "remove " + path);
  });
}

Result<std::vector<DirEntry>> SshSession::SftpList(const std::string& path,
                                                   Clock::time_point deadline) {
  std::vector<DirEntry> entries;
  Status st = WithSftp(deadline, [&](Lock& lk) -> Status {
    const std::string what = "list " + path;
    auto fail = [&](int rc) { return SftpError(rc, what); };
    LIBSSH2_SFTP_HANDLE* handle = nullptr;
    int rc = Drive(
        lk,
        [&] {
          handle = libssh2_sftp_open_ex(sftp_, path.data(), Len(path), 0, 0,
                                        LIBSSH2_SFTP_OPENDIR);
          return handle != nullptr ? 0 : libssh2_session_last_errno(session_);
        },
        deadline);
    if (rc != 0) return fail(rc);
    char name[4096];
    // Bounded by the directory's size; the guard stops a runaway server.
    for (size_t guard = 0; guard < (size_t{1} << 24); ++guard) {
      LIBSSH2_SFTP_ATTRIBUTES attrs{};
      int n = 0;
      rc = Drive(
          lk,
          [&] {
            n = libssh2_sftp_readdir_ex(handle, name, sizeof name, nullptr, 0,
                                        &attrs);
            return n >= 0 ? 0 : n;
          },
          deadline);
      if (rc != 0) {
        Status failed = fail(rc);
        if (!broken_) CloseSftpHandle(lk, handle);
        return failed;
      }
      if (n == 0) break;
      std::string entry_name(name, static_cast<size_t>(n));
      if (entry_name == "." || entry_name == "..") continue;
      FileInfo info = InfoFrom(attrs);
      entries.push_back({entry_name, info.is_dir, info.size, info.mtime});
    }
    CloseSftpHandle(lk, handle);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  std::sort(
      entries.begin(), entries.end(),
      [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

}  // namespace hpc::remote
