#include "tools/checkpoint/ssh_sig.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "tools/remote/command_line.h"
#include "tools/remote/local_process.h"

namespace hpc::checkpoint {
namespace {

// A file removed when it goes out of scope: ssh-keygen reads a signature
// only from a file (-s), never from a pipe beside the data on stdin.
class TempFile {
 public:
  Status Create(std::string_view content) {
    std::error_code ec;
    std::string dir = std::filesystem::temp_directory_path(ec).string();
    if (ec || dir.empty())
      return Unavailable(
          "no temporary directory for the signature: set TMPDIR");
    std::string tmpl = dir + "/hpc-mcp-sig-XXXXXX";
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0)
      return Unavailable("cannot create a temporary file in " + dir + ": " +
                         std::strerror(errno));
    path_ = tmpl;
    size_t off = 0;
    while (off < content.size()) {
      ssize_t n = ::write(fd, content.data() + off, content.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        return Unavailable("cannot write " + path_ + ": " +
                           std::strerror(errno));
      }
      off += static_cast<size_t>(n);
    }
    ::close(fd);
    return Status::Ok();
  }
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Status CheckFileArg(const std::string& path, const char* what) {
  if (path.empty() || path[0] != '/')
    return InvalidArgument(std::string(what) +
                           " must be an absolute path, not '" + path + "'");
  if (!std::filesystem::exists(path))
    return NotFound(std::string(what) + " " + path +
                    " does not exist on this machine");
  return Status::Ok();
}

std::string FirstLine(const std::string& s) {
  std::string t = s.substr(0, s.find('\n'));
  return remote::Abbreviate(t, 300);
}

}  // namespace

Result<std::string> SshSign(std::string_view data, const std::string& key_file,
                            std::string_view ns) {
  HPC_RETURN_IF_ERROR(CheckFileArg(key_file, "signing_key"));
  remote::ProcessSpec spec;
  // No file operand: ssh-keygen signs stdin and writes the signature to
  // stdout, so nothing is written beside the key.
  spec.argv = {"ssh-keygen", "-q",     "-Y", "sign",
               "-f",         key_file, "-n", std::string(ns)};
  spec.stdin_data = std::string(data);
  spec.timeout = std::chrono::seconds(30);
  auto r = remote::RunProcess(spec);
  if (!r.ok()) return r.status();
  if (!r->ok() ||
      r->out.find("-----BEGIN SSH SIGNATURE-----") == std::string::npos)
    return FailedPrecondition("ssh-keygen -Y sign with " + key_file +
                              " failed (exit " + std::to_string(r->exit_code) +
                              "): " + remote::Abbreviate(r->err, 400))
        .WithReason("signing_failed", false,
                    "a key with a passphrase must be in ssh-agent (give its "
                    ".pub file then); "
                    "check the path and that it is an SSH private key");
  return r->out;
}

Result<SignatureCheck> SshVerify(std::string_view data,
                                 std::string_view signature,
                                 const std::string& signer,
                                 const std::string& allowed_signers,
                                 std::string_view ns) {
  if (!allowed_signers.empty())
    HPC_RETURN_IF_ERROR(CheckFileArg(allowed_signers, "allowed_signers"));
  TempFile sig;
  HPC_RETURN_IF_ERROR(sig.Create(signature));
  remote::ProcessSpec spec;
  if (allowed_signers.empty())
    spec.argv = {"ssh-keygen",    "-Y", "check-novalidate", "-n",
                 std::string(ns), "-s", sig.path()};
  else
    spec.argv = {"ssh-keygen",    "-Y", "verify",  "-f",
                 allowed_signers, "-I", signer,    "-n",
                 std::string(ns), "-s", sig.path()};
  spec.stdin_data = std::string(data);
  spec.timeout = std::chrono::seconds(30);
  auto r = remote::RunProcess(spec);
  if (!r.ok()) return r.status();
  SignatureCheck c;
  c.valid = r->ok();
  c.identity_checked = c.valid && !allowed_signers.empty();
  c.message = FirstLine(r->ok() ? r->out : (r->err.empty() ? r->out : r->err));
  if (!r->ok() && !r->out.empty() && r->err.find("verif") == std::string::npos)
    c.message = FirstLine(r->out) + "; " + FirstLine(r->err);
  return c;
}

}  // namespace hpc::checkpoint
