// Which paths hpc-mcp may read or write on a cluster: only those under the
// profile's roots (work_root, log_root, allowed_roots).
//
// Checks are lexical, after resolving a leading ~ against the remote home
// and normalizing "." and ".." components: "/scratch/a/../../etc" is
// "/etc", and "/scratch/alice2" is not under "/scratch/alice". Paths that
// start with '-' are refused outright (they would read as options).
// Symlinks inside a root that point out of it are the cluster owner's
// business: the same user could follow them by hand.
#pragma once

#include <string>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::cluster {

// "~" and "~/x" become home and home + "/x"; other paths are unchanged.
std::string ExpandHome(const std::string& path, const std::string& home);

// Lexically normalized absolute path ("/a/./b/../c" -> "/a/c"); InvalidArgument
// when `path` is relative or starts with '-'.
Result<std::string> NormalizePath(const std::string& path);

class PathPolicy {
 public:
  // `roots` may start with ~ (resolved against `home`).
  PathPolicy(const std::vector<std::string>& roots, const std::string& home);

  // The normalized path when it lies under a root; PermissionDenied (reason
  // path_outside_roots) naming the roots otherwise.
  Result<std::string> Check(const std::string& path) const;

  const std::vector<std::string>& roots() const { return roots_; }

 private:
  std::vector<std::string> roots_;
  std::string home_;
};

}  // namespace hpc::cluster
