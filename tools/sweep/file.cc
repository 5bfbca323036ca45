// A sweep file of the repository: found inside it (symlinks resolved, so
// a link cannot lead the server to read a file elsewhere), read whole with
// a size cap, parsed as YAML or JSON by its extension.

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tools/sweep/sweep.h"

namespace hpc::sweep {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;  // A sweep is a page of YAML.

bool Inside(const std::string& path, const std::string& root) {
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
         (root.back() == '/' || path[root.size()] == '/');
}

Result<std::string> ReadInRepo(const std::string& repo,
                               const std::string& path) {
  char buf[PATH_MAX];
  if (repo.empty() || repo[0] != '/' ||
      ::realpath(repo.c_str(), buf) == nullptr)
    return InvalidArgument("repository '" + repo +
                           "' is not an existing absolute directory");
  const std::string root = buf;
  if (path.empty())
    return InvalidArgument(
        "no sweep file named: give its path in the "
        "repository, e.g. sweeps/distill.yaml");
  const std::string full = path[0] == '/' ? path : root + "/" + path;
  if (::realpath(full.c_str(), buf) == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR)
      return NotFound("sweep file '" + path + "' does not exist in " + root);
    return Unavailable("cannot resolve sweep file '" + path +
                       "': " + std::strerror(errno));
  }
  const std::string resolved = buf;
  if (!Inside(resolved, root))
    return PermissionDenied("sweep file '" + path + "' resolves to " +
                            resolved + ", outside the repository " + root)
        .WithReason("path_outside_repo", false,
                    "put the sweep file inside the repository");
  struct stat st;
  if (::stat(resolved.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return InvalidArgument("sweep file '" + path + "' is not a regular file");
  if (static_cast<size_t>(st.st_size) > kMaxFileBytes)
    return ResourceExhausted("sweep file '" + path + "' has " +
                             std::to_string(st.st_size) +
                             " bytes, more than a sweep needs (at most " +
                             std::to_string(kMaxFileBytes) +
                             "): use a grid instead of listing every task");
  std::ifstream in(resolved, std::ios::binary);
  if (!in)
    return Unavailable("cannot read sweep file '" + path +
                       "': " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<Sweep> LoadSweepFile(const std::string& repo, const std::string& path) {
  const bool json_file = path.ends_with(".json");
  if (!json_file && !path.ends_with(".yaml") && !path.ends_with(".yml"))
    return InvalidArgument("sweep file '" + path +
                           "' must end in .yaml, .yml or .json");
  auto text = ReadInRepo(repo, path);
  if (!text.ok()) return text.status();
  if (!json_file) return LoadSweepYaml(*text, path);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::parse_error& e) {
    return InvalidArgument(path + ": invalid JSON at byte " +
                           std::to_string(e.byte) + ": " + e.what());
  }
  return LoadSweep(doc, path);
}

}  // namespace hpc::sweep
