#include "tools/wandb/sync_action.h"

#include <chrono>
#include <cstdio>
#include <set>
#include <sstream>
#include <thread>

#include "tools/cluster/connect.h"
#include "tools/runlog/actions.h"
#include "tools/runs/run_resources.h"
#include "tools/wandb/datastore.h"
#include "tools/wandb/sync.h"

namespace hpc::wandb {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string Mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB",
                static_cast<double>(bytes) / (1 << 20));
  return buf;
}

namespace {

constexpr auto kBeat = std::chrono::seconds(5);
constexpr int kTimeoutExitCode = 124;  // timeout(1).
constexpr size_t kOutputLines = 40;
const std::set<std::string> kGenericProjects = {
    "uncategorized", "test",    "tmp",   "default",
    "my-project",    "project", "wandb", "debug"};

// The destinations the run's own files would pick if we let them, so the
// agent can tell the user what is being overridden.
json RecordedDefaults(remote::Remote& rm, const Inventory& inv,
                      const std::string& train) {
  json out = json::array();
  bool cut = false;
  if (auto s = ReadWhole(rm, train + "/wandb/settings", 65536, &cut); s.ok()) {
    json keys = ParseSettings(*s), d{{"source", train + "/wandb/settings"}};
    for (const char* k : {"entity", "project", "base_url"})
      if (keys.contains(k)) d[k] = keys[k];
    if (d.size() > 1) out.push_back(d);
  }
  if (auto head = ReadWhole(rm, inv.run.wandb_file, 1 << 20, &cut); head.ok()) {
    auto log = ParseTransactionLog(*head);
    if (log.ok() &&
        (log->run.contains("entity") || log->run.contains("project"))) {
      json d{{"source", "run record in " + inv.run.wandb_file}};
      for (const char* k : {"entity", "project"})
        if (log->run.contains(k)) d[k] = log->run[k];
      out.push_back(d);
    }
  }
  return out;
}

json StagingJson(const std::vector<Staging>& v) {
  json a = json::array();
  for (const auto& s : v)
    a.push_back({{"path", s.path},
                 {"bytes", s.bytes},
                 {"files", s.files},
                 {"scope", s.scope}});
  return a;
}

// Prunes every staging directory, each only after checking that its real
// path is the one listed (no symlink on the way) and inside the roots.
Result<json> Prune(runs::Cluster& c, const Inventory& inv,
                   const std::string& train) {
  json pruned = json::array();
  for (const auto& s : inv.staging) {
    const std::string base = s.scope == "run" ? inv.run.path : train;
    auto real = RealPath(*c.remote, base);
    if (!real.ok()) return real.status();
    const std::string expected = *real + s.path.substr(base.size());
    if (auto inside = c.CheckPath(expected); !inside.ok())
      return inside.status();
    HPC_RETURN_IF_ERROR(PruneStaging(*c.remote, s.path, expected));
    pruned.push_back({{"path", s.path}, {"bytes", s.bytes}});
  }
  return pruned;
}

}  // namespace

Result<json> SyncAction(mcp::RequestContext& ctx, const json& args,
                        runs::Cluster& c, Inventory inv, runs::RunStore& store,
                        const runs::Run* run) {
  // Checked here, not by an if/then in the schema: clients differ in how
  // they take conditional schemas, and the message can say what to do.
  for (const char* k : {"entity", "project"})
    if (!args.contains(k))
      return InvalidArgument(
          std::string("a sync needs ") + k + " (W&B " +
          (k[0] == 'e' ? "user or team" : "project") +
          " that receives the run); it is never taken from defaults inside "
          "the run. Ask the user, then call again with entity and project");
  const auto start = Clock::now();
  auto progress = [&](const std::string& what) {
    ctx.Progress(
        std::chrono::duration<double>(Clock::now() - start).count() + 0.001,
        args["timeout_s"].get<double>(), what);
  };
  progress("measuring " + inv.run.path);
  remote::Remote& rm = *c.remote;
  const std::string train = TrainingDir(inv.run.path);
  // The seed's layout: WANDB_DATA_DIR=<training dir>/wandb_data.
  const std::string shared = train + "/wandb_data/artifacts/staging";
  if (c.CheckPath(shared).ok()) {
    if (auto l = Walk(rm, shared); l.ok()) {
      Staging s{shared, 0, 0, "data_dir"};
      for (const auto& e : l->entries) {
        if (e.type == 'd') continue;
        s.bytes += e.size;
        ++s.files;
      }
      inv.staging.push_back(s);
      inv.staging_bytes += s.bytes;
    }
  }
  const Target target = TargetFromProfile(c.profile.raw.value("wandb", json()));
  SyncRequest req{inv.run.path,        args["entity"],
                  args["project"],     args.value("wandb_id", ""),
                  args["mark_synced"], args["timeout_s"]};
  const bool dry = args["dry_run"], prune = args["prune_staging"];
  std::vector<std::string> warnings;
  auto home = cluster::RemoteHome(c.remote);
  if (!home.ok()) return home.status();
  auto token = FindToken(rm, *home, args.value("token_file", ""), target);
  if (!token.ok() && !(dry && token.status().code() == StatusCode::kNotFound))
    return token.status();
  if (!token.ok())
    warnings.push_back(token.status().message() + "; a real sync will fail");
  if (token.ok() && token->group_or_world_readable)
    warnings.push_back("token file " + token->path +
                       " is readable by others: chmod 600 it");
  const std::string secret = token.ok() ? token->key : "";
  json recorded = RecordedDefaults(rm, inv, train);
  for (const auto& d : recorded)
    for (const char* k : {"entity", "project"})
      if (d.contains(k) && d[k] != args[k])
        warnings.push_back(d["source"].get<std::string>() + " names " + k +
                           " '" + d[k].get<std::string>() +
                           "'; this sync goes to '" +
                           args[k].get<std::string>() +
                           "' as asked: make sure the user agrees");
  if (kGenericProjects.count(req.project))
    warnings.push_back("project '" + req.project +
                       "' looks generic: confirm it with the user");
  if (inv.run.synced)
    warnings.push_back("already synced once (" + inv.run.wandb_file +
                       ".synced)");
  if (inv.staging_bytes && !prune)
    warnings.push_back(
        Mib(inv.staging_bytes) +
        " of transient artifact staging: prune_staging "
        "removes it (artifacts staged there are then not uploaded)");
  if (inv.truncated)
    warnings.push_back("the listing was cut short; sizes are lower bounds");
  json largest = json::array();
  for (const auto& e : inv.largest_uploads)
    largest.push_back({{"path", e.rel}, {"bytes", e.size}});
  json out{{"action", "sync"},
           {"dry_run", dry},
           {"path", inv.run.path},
           {"profile", c.profile.name},
           {"machine", rm.Describe()},
           {"wandb_run_id", inv.run.wandb_id},
           {"offline", inv.run.offline},
           {"already_synced", inv.run.synced},
           {"size_bytes", inv.total_bytes},
           {"files", inv.total_files},
           {"upload_bytes", inv.upload_bytes},
           {"upload_files", inv.upload_files},
           {"largest_uploads", largest},
           {"not_uploaded_bytes", inv.other_bytes},
           {"staging", StagingJson(inv.staging)},
           {"staging_bytes", inv.staging_bytes},
           {"destination",
            {{"entity", req.entity},
             {"project", req.project},
             {"base_url", target.base_url}}},
           {"recorded_defaults", recorded},
           {"cleared_env", ClearedVariables()},
           {"via", target.via},
           {"token_file", token.ok() ? json(token->path) : json()},
           {"command",
            Redact(DisplayCommand(target, req, token.ok() ? token->path : ""),
                   secret)},
           {"synced", false},
           {"url", nullptr},
           {"linked_run", nullptr}};
  if (!dry) {
    if (prune) {
      progress("pruning " + Mib(inv.staging_bytes) + " of staging");
      auto pruned = Prune(c, inv, train);
      if (!pruned.ok()) return pruned.status();
      out["pruned"] = *pruned;
    }
    remote::RunOptions o;
    o.stdin_data = secret + "\n";
    o.timeout = std::chrono::seconds(req.timeout_s + 30);
    o.cwd = c.CheckPath(train).ok() ? train : inv.run.path;
    o.login_shell = true;  // The profile's setup lines put wandb on PATH.
    Result<remote::CommandResult> r = Internal("the sync did not run");
    {
      // The sync blocks; a heartbeat keeps the client's request alive.
      std::jthread beat([&](std::stop_token st) {
        for (auto next = Clock::now() + kBeat; !st.stop_requested();
             std::this_thread::sleep_for(std::chrono::milliseconds(200)))
          if (Clock::now() >= next) {
            auto s = std::chrono::duration_cast<std::chrono::seconds>(
                Clock::now() - start);
            progress("wandb sync running for " + std::to_string(s.count()) +
                     " s");
            next += kBeat;
          }
      });
      progress("syncing to " + req.entity + "/" + req.project);
      r = rm.Run(SyncArgv(target, req), o);
    }
    if (!r.ok()) return r.status();
    const std::string sout = Redact(r->out, secret),
                      serr = Redact(r->err, secret);
    json lines = json::array();
    std::istringstream all(sout + serr);
    std::vector<std::string> v;
    for (std::string l; std::getline(all, l);) v.push_back(l);
    for (size_t i = v.size() > kOutputLines ? v.size() - kOutputLines : 0;
         i < v.size(); ++i)
      lines.push_back(v[i]);
    out["exit_code"] = r->exit_code;
    out["output"] = lines;
    out["elapsed_s"] =
        std::chrono::duration_cast<std::chrono::seconds>(r->elapsed).count();
    auto parsed = ParseSyncOutput(sout, serr);
    if (r->exit_code == kTimeoutExitCode)
      return Status(StatusCode::kDeadlineExceeded,
                    "wandb sync did not finish within " +
                        std::to_string(req.timeout_s) +
                        " s and was stopped; last output: " +
                        (v.empty() ? "(none)" : v.back()))
          .WithReason("timeout", true,
                      "raise timeout_s, or prune staging to make it smaller");
    if (r->exit_code == kNoKeyExitCode)
      return FailedPrecondition(
          "the API key did not reach wandb: a setup line or login script "
          "of profile " +
          c.profile.name + " read stdin");
    if (!r->ok() || parsed.url.empty() || !parsed.done ||
        !parsed.skipped.empty()) {
      std::string why = !parsed.errors.empty() ? parsed.errors.front()
                        : !parsed.skipped.empty()
                            ? "wandb skipped " + parsed.skipped.front()
                        : !v.empty() ? v.back()
                                     : "no output";
      return Status(StatusCode::kFailedPrecondition,
                    "wandb sync on " + rm.Describe() + " exited " +
                        std::to_string(r->exit_code) +
                        " without a synced URL: " + why)
          .WithReason("sync_failed", true,
                      "read the output above; a dry run shows the command");
    }
    out["synced"] = true;
    out["url"] = parsed.url;
    if (parsed.url_entity != req.entity || parsed.url_project != req.project)
      warnings.push_back("the URL names " + parsed.url_entity + "/" +
                         parsed.url_project +
                         ", not the requested destination");
    if (run) {
      json linked{
          {"kind", "wandb"},        {"value", parsed.url},
          {"path", inv.run.path},   {"entity", req.entity},
          {"project", req.project}, {"wandb_run_id", parsed.url_run_id}};
      if (run->current()) linked["attempt"] = run->current()->number;
      HPC_RETURN_IF_ERROR(store.Append(run->id, "linked", linked));
      out["linked_run"] = run->id;
      // The URL goes into the run's run log too (its W&B section and job
      // block) now, not at the agent's next write_run_log call: once the
      // run is synced there may be none, and the log would say "pending".
      auto log = runlog::RefreshRunLog(store.repo(), run->id);
      if (!log.ok())
        warnings.push_back(
            "the URL is journaled, but the run log was not rewritten: " +
            log.status().message() + "; any write_run_log call on run " +
            run->id + " writes it");
      else if (!log->path.empty())
        out["run_log"] = log->path;
      runs::NotifyRunChanged(ctx, run->id);
    }
  }
  out["warnings"] = warnings;
  return out;
}

}  // namespace hpc::wandb
