// preflight: checks a cluster profile end to end, read-only, and returns a
// checklist the agent (or a person) can act on: each item ok, warn, fail or
// skipped, with evidence and a remediation. Reads the profile's access,
// shell, paths, scheduler and defaults. Results are cached for 60 s per
// (repo, profile file) so that an agent calling it in a loop does not load
// the login node.
#include <chrono>
#include <map>
#include <mutex>

#include "mcp_server/registration.h"
#include "tools/cluster/connect.h"
#include "tools/cluster/probe.h"
#include "tools/registry.h"
#include "tools/workspace/repo.h"

namespace hpc::tools {
namespace {

using cluster::Check;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr auto kCacheTtl = std::chrono::seconds(60);

struct Cached {
  Clock::time_point at;
  json result;
};
std::mutex g_cache_mu;
std::map<std::string, Cached> g_cache;

// The connection checks: what a failure to run `true` says about the
// reachable → host_key → auth chain.
std::vector<Check> ConnectionChecks(remote::Remote& r, const cluster::ClusterProfile& p) {
  remote::RunOptions o;
  o.login_shell = false;
  o.timeout = std::chrono::seconds(p.access.connect_timeout_seconds + 20);
  auto start = Clock::now();
  auto res = r.Run({"true"}, o);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  std::string where = r.Describe();
  if (res.ok() && res->ok()) {
    if (p.access.kind == "local") return {{"reachable", "ok", "this machine", ""}};
    return {{"reachable", "ok", "connected to " + where + " (" + std::to_string(ms) + " ms)", ""},
            {"host_key", "ok", "matches known_hosts", ""},
            {"auth", "ok", "authenticated", ""}};
  }
  const Status s = res.ok() ? Status(StatusCode::kUnavailable,
                                     "`true` exited " + std::to_string(res->exit_code) + ": " + res->err)
                            : res.status();
  const std::string& reason = s.reason();
  std::string fix = s.remediation();
  if (reason == "host_key_unknown" || reason == "host_key_changed")
    return {{"reachable", "ok", "TCP connection to " + where, ""},
            {"host_key", "fail", s.message(), fix},
            {"auth", "skipped", "not checked: host key not verified", ""}};
  if (reason == "auth_failed")
    return {{"reachable", "ok", "TCP connection to " + where, ""},
            {"host_key", "ok", "matches known_hosts", ""},
            {"auth", "fail", s.message(), fix}};
  return {{"reachable", "fail", s.message(), fix.empty() ? "check the host, port and network" : fix}};
}

Check LoginShellCheck(remote::Remote& r, const cluster::ClusterProfile& p) {
  remote::RunOptions o;
  o.timeout = std::chrono::seconds(60);
  auto res = r.Run({"true"}, o);
  std::string shell;
  for (const auto& w : p.login_shell) shell += (shell.empty() ? "" : " ") + w;
  if (res.ok() && res->ok())
    return {"login_shell", "ok",
            shell + " with " + std::to_string(p.setup.size()) + " setup line(s) runs", ""};
  std::string why = res.ok() ? "exited " + std::to_string(res->exit_code) + ": " + res->err
                             : res.status().message();
  return {"login_shell", "fail", shell + " with the setup lines failed: " + why,
          "fix shell.setup in " + p.source + " (try the lines by hand in a login shell)"};
}

json Run(const cluster::ClusterProfile& p) {
  auto start = Clock::now();
  std::vector<Check> checks{{"profile", "ok", "loaded from " + p.source, ""}};
  std::string access = p.access.kind;
  auto remote = cluster::ConnectRemote(p);
  if (!remote.ok()) {
    checks.push_back({"reachable", "fail", remote.status().message(), ""});
  } else {
    remote::Remote& r = **remote;
    access = r.Describe();
    auto conn = ConnectionChecks(r, p);
    bool connected = conn.back().status == "ok";
    checks.insert(checks.end(), conn.begin(), conn.end());
    Check shell = connected ? LoginShellCheck(r, p)
                            : Check{"login_shell", "skipped", "not checked: no connection", ""};
    checks.push_back(shell);
    if (shell.status == "ok") {
      auto sched = cluster::ProbeScheduler(p, r);
      checks.insert(checks.end(), sched.begin(), sched.end());
      auto gpus = cluster::ProbeGpus(p, r);
      checks.insert(checks.end(), gpus.begin(), gpus.end());
      auto home = cluster::RemoteHome(*remote);
      for (auto [label, root] : {std::pair{"work_root", p.work_root}, std::pair{"log_root", p.log_root}}) {
        if (root.empty()) {
          checks.push_back({label, "warn", "not set in the profile",
                            std::string("set paths.") + label + " in " + p.source});
          continue;
        }
        std::string resolved = home.ok() ? cluster::ExpandHome(root, *home) : root;
        auto probe = cluster::ProbeRoot(label, resolved, r);
        checks.insert(checks.end(), probe.begin(), probe.end());
      }
      auto tools = cluster::ProbeTools(r);
      checks.insert(checks.end(), tools.begin(), tools.end());
    }
  }
  int fails = 0, warns = 0;
  json items = json::array();
  for (const auto& c : checks) {
    fails += c.status == "fail";
    warns += c.status == "warn";
    json item{{"name", c.name}, {"status", c.status}, {"evidence", c.evidence}};
    if (!c.remediation.empty()) item["remediation"] = c.remediation;
    items.push_back(std::move(item));
  }
  std::string summary = fails ? std::to_string(fails) + " check(s) failed; fix them before submitting"
                        : warns ? "usable, with " + std::to_string(warns) + " warning(s)"
                                : "all checks passed";
  return {{"profile", p.name},
          {"source", p.source},
          {"scheduler", p.scheduler},
          {"access", access},
          {"ok", fails == 0},
          {"summary", summary},
          {"checks", std::move(items)},
          {"cached", false},
          {"elapsed_ms", std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()}};
}

Result<mcp::ToolResult> Preflight(mcp::RequestContext& ctx, const json& args) {
  auto repo = workspace::ResolveRepo(ctx, args);
  if (!repo.ok()) return repo.status();
  auto profile = cluster::LoadProfile(args["profile"], *repo);
  if (!profile.ok()) return profile.status();
  std::string key = *repo + "\n" + profile->source + "\n" + mcp::Dump(profile->raw);
  if (!args["refresh"].get<bool>()) {
    std::lock_guard lock(g_cache_mu);
    auto it = g_cache.find(key);
    if (it != g_cache.end() && Clock::now() - it->second.at < kCacheTtl) {
      json cached = it->second.result;
      cached["cached"] = true;
      return mcp::ToolResult::Structured(std::move(cached));
    }
  }
  json result = Run(*profile);
  {
    std::lock_guard lock(g_cache_mu);
    g_cache[key] = {Clock::now(), result};
  }
  return mcp::ToolResult::Structured(std::move(result));
}

}  // namespace

Status RegisterPreflight(mcp::Server& server) {
  return mcp::AddToolFromAssets(server, HpcAssets(), "schemas/tools", "preflight", Preflight);
}

}  // namespace hpc::tools
