// The repositories this user's hpc-mcp has worked in: one absolute path per
// line in $XDG_STATE_HOME/hpc-mcp/repos (else ~/.local/state/hpc-mcp/repos),
// so that `hpc-mcp patrol` without --repo knows where to look.
//
// RunStore::ForRepo records each repository it opens. Appends happen under
// an exclusive flock on the file itself and skip a path already listed, so
// concurrent servers keep one line per repository. Nothing here ever fails
// a caller: a registry that cannot be written costs only the patrol's
// default list (logged once per path at debug level).
//
// Thread-safety: all functions may be called concurrently, also from
// several processes.
#pragma once

#include <string>
#include <vector>

namespace hpc::runs {

// The registry file's path (not created).
std::string RepoRegistryPath();

// Adds `repo` (absolute; a path with a newline is not recorded) unless it is
// listed already.
void RecordRepo(const std::string& repo);

// The recorded repositories, in the order first seen, without duplicates.
std::vector<std::string> SeenRepos();

}  // namespace hpc::runs
