#include "tools/cluster/path_policy.h"

#include <sstream>

namespace hpc::cluster {

std::string ExpandHome(const std::string& path, const std::string& home) {
  if (path == "~") return home;
  if (path.rfind("~/", 0) == 0) return home + path.substr(1);
  return path;
}

Result<std::string> NormalizePath(const std::string& path) {
  if (path.empty() || path[0] == '-')
    return InvalidArgument("path \"" + path + "\" must not be empty or start with '-'");
  if (path[0] != '/')
    return InvalidArgument("path \"" + path + "\" must be absolute (start with / or ~/)");
  if (path.find('\0') != std::string::npos)
    return InvalidArgument("path contains a NUL byte");
  std::vector<std::string> parts;
  std::stringstream in(path);
  std::string part;
  while (std::getline(in, part, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

PathPolicy::PathPolicy(const std::vector<std::string>& roots, const std::string& home)
    : home_(home) {
  for (const auto& r : roots) {
    if (r.empty()) continue;
    auto n = NormalizePath(ExpandHome(r, home));
    if (n.ok()) roots_.push_back(*n);
  }
}

Result<std::string> PathPolicy::Check(const std::string& path) const {
  auto n = NormalizePath(ExpandHome(path, home_));
  if (!n.ok()) return n.status();
  for (const auto& root : roots_) {
    if (*n == root || root == "/" ||
        (n->size() > root.size() && n->compare(0, root.size(), root) == 0 &&
         (*n)[root.size()] == '/'))
      return *n;
  }
  std::string list;
  for (const auto& r : roots_) list += (list.empty() ? "" : ", ") + r;
  return Status(StatusCode::kPermissionDenied,
                "path " + *n + " is outside the profile's roots (" +
                    (list.empty() ? "none configured" : list) + ")")
      .WithReason("path_outside_roots", false,
                  "use a path under one of the roots, or add its directory to "
                  "paths.allowed_roots in the profile");
}

}  // namespace hpc::cluster
