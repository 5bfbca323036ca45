#include "tools/cluster/job_wrapper.h"

#include <cstdint>
#include <cstdio>

#include "tools/cluster/text.h"
#include "tools/registry.h"

namespace hpc::cluster {

namespace {
constexpr char kWrapperAsset[] = "cluster_profiles/templates/job_wrapper.sh";
}  // namespace

Result<std::string_view> JobWrapperScript() {
  auto text = mcp::FindAsset(tools::HpcAssets(), kWrapperAsset);
  if (!text)
    return Internal(std::string(kWrapperAsset) +
                    " is not embedded in this binary (check HPC_ASSETS in "
                    "CMakeLists.txt)");
  return *text;
}

std::string JobWrapperFileName(std::string_view content) {
  // FNV-1a: stable across builds and platforms, unlike std::hash.
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : content) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "job_wrapper-%016llx.sh",
                static_cast<unsigned long long>(h));
  return buf;
}

Result<std::string> ResolveStateRoot(const ClusterProfile& profile,
                                     remote::Remote& remote) {
  std::string root = profile.work_root;
  const bool tilde = root == "~" || text::StartsWith(root, "~/");
  if (!root.empty() && !tilde && root[0] != '/')
    return InvalidArgument("profile " + profile.name +
                           ": work_root must be absolute, got \"" + root +
                           "\"");
  if (root.empty() || tilde) {
    // The home directory of the machine that runs the jobs, not ours.
    // Callers cache the resolved root.
    remote::RunOptions o;
    o.login_shell = false;
    o.timeout = std::chrono::seconds(30);
    auto r = remote.Run({"printenv", "HOME"}, o);
    if (!r.ok()) return r.status();
    std::string home(text::Trim(r->out));
    if (!r->ok() || home.empty() || home[0] != '/')
      return FailedPrecondition("cannot find the home directory on " +
                                remote.Describe() +
                                "; set work_root in profile " + profile.name);
    root = root.empty() ? home : home + root.substr(1);
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root + "/.hpc-mcp";
}

}  // namespace hpc::cluster
