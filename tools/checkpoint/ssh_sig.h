// OpenSSH signatures of a sign-off (ssh-keygen -Y, the "sshsig" format), so
// that anyone can check one with stock OpenSSH and an allowed-signers file:
//   ssh-keygen -Y verify -f allowed_signers -I <signer>
//       -n hpc-mcp-checkpoint -s SIGNOFF.json.sig < SIGNOFF.json
// (one command line).
// ssh-keygen runs on this machine, where the user's key is, with argv and
// no shell; the data travels on its stdin. A key with a passphrase works
// only through ssh-agent (pass the public key file then): there is no
// terminal to ask on.
//
// Thread-safety: functions are thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "mcp_server/status.h"

namespace hpc::checkpoint {

// The armored signature of `data` by `key_file` (a private key, or a
// public key whose private half ssh-agent holds) in `ns`.
Result<std::string> SshSign(std::string_view data, const std::string& key_file,
                            std::string_view ns);

struct SignatureCheck {
  bool valid = false;             // The signature is good for `data`.
  bool identity_checked = false;  // ...and by `signer` per allowed_signers.
  std::string message;            // ssh-keygen's words.
};

// With `allowed_signers`: `ssh-keygen -Y verify` for `signer`. Without:
// `ssh-keygen -Y check-novalidate` (good signature, signer unchecked).
// A Status error only when ssh-keygen could not be run.
Result<SignatureCheck> SshVerify(std::string_view data,
                                 std::string_view signature,
                                 const std::string& signer,
                                 const std::string& allowed_signers,
                                 std::string_view ns);

}  // namespace hpc::checkpoint
