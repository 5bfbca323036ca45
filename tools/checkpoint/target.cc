#include "tools/checkpoint/target.h"

#include <cstdio>
#include <cstdlib>

#include "tools/checkpoint/passport.h"
#include "tools/workspace/repo.h"

namespace hpc::checkpoint {
namespace {

// The checkpoint directory a run's links name, or "".
std::string LinkedRoot(const runs::Run& run, bool from_signoff) {
  std::vector<std::pair<const char*, bool>> order{{"checkpoint", false}};
  if (from_signoff) order.insert(order.begin(), {"checkpoint_signoff", true});
  for (auto [kind, is_file] : order) {
    auto it = run.links.find(kind);
    if (it == run.links.end() || !it->is_string()) continue;
    std::string v = *it;
    if (is_file) v = v.substr(0, v.rfind('/'));
    if (!v.empty()) return v;
  }
  return "";
}

}  // namespace

Result<CheckpointTarget> OpenTarget(mcp::RequestContext& ctx,
                                    const nlohmann::json& args,
                                    bool from_signoff, runs::Intent intent) {
  auto resolved = workspace::ResolveRepo(ctx, args);
  if (!resolved.ok()) return resolved.status();
  const std::string& repo = *resolved;
  CheckpointTarget t;
  t.repo = repo;
  std::string profile = args.value("profile", "local");
  std::string path = args.value("path", "");
  if (args.contains("run_id")) {
    const std::string id = args["run_id"];
    auto store = runs::RunStore::ForRepo(repo);
    if (!store.ok()) return store.status();
    auto table = (*store)->Load();
    if (!table.ok()) return table.status();
    auto it = (*table)->runs.find(id);
    if (it == (*table)->runs.end())
      return NotFound("run " + id + " is not in the journal of " + repo +
                      "; list_runs shows this repository's runs");
    t.store = *store;
    t.run = it->second;
    profile = t.run->profile;
    if (path.empty()) path = LinkedRoot(*t.run, from_signoff);
    if (path.empty())
      return InvalidArgument("run " + id +
                             " has no checkpoint linked to it: give `path`, "
                             "the checkpoint's directory");
  }
  if (path.empty())
    return InvalidArgument(
        "give `path` (the checkpoint's directory) or a run_id");
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  auto cluster = runs::OpenCluster(profile, repo, intent);
  if (!cluster.ok()) return cluster.status();
  t.cluster = std::move(*cluster);
  auto checked = t.cluster->CheckPath(path);
  if (!checked.ok()) return checked.status();
  t.root = *checked;
  if (t.root == "/")
    return InvalidArgument("the checkpoint directory cannot be /");
  t.local = t.cluster->profile.access.kind == "local";
  t.site = t.local ? MakeLocalSite() : MakeRemoteSite(t.cluster->remote);
  t.weight_extensions = WeightExtensions(t.cluster->profile.raw);
  return t;
}

Result<std::string> ExpandLocalPath(const std::string& path, const char* what) {
  if (path == "~" || path.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    if (!home || !*home)
      return InvalidArgument(std::string(what) +
                             " starts with ~ but HOME is not set");
    return std::string(home) + path.substr(1);
  }
  if (path.empty() || path[0] != '/')
    return InvalidArgument(std::string(what) +
                           " must be an absolute path on this machine, not '" +
                           path + "'");
  return path;
}

std::string GiB(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB",
                static_cast<double>(bytes) / (1ull << 30));
  return buf;
}

ProgressFn HashProgress(mcp::RequestContext& ctx) {
  return [&ctx](uint64_t done, uint64_t total) {
    ctx.Progress(static_cast<double>(done), static_cast<double>(total),
                 "hashed " + GiB(done) + " of " + GiB(total));
  };
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace hpc::checkpoint
