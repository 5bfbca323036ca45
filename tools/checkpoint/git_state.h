// What the experiment repository says about the code and the person that
// produced a checkpoint: `git rev-parse HEAD`, uncommitted changes, and
// `git config user.email`. Read on this machine, where the repository is.
//
// Thread-safety: functions are thread-safe.
#pragma once

#include <optional>
#include <string>

namespace hpc::checkpoint {

struct GitState {
  std::optional<std::string> commit;  // Absent: not a git repository, or no
                                      // commit yet.
  std::optional<bool> dirty;          // Tracked files changed.
};

GitState ReadGitState(const std::string& repo);

// A default signer: the repository's `git config user.email`, else $USER,
// reduced to the characters schemas/signoff.json allows; empty if none.
std::string DefaultSigner(const std::string& repo);

}  // namespace hpc::checkpoint
