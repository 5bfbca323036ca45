// submit_sweep's work and the batch submission protocol (launcher.h).
#include "tools/sweep/launcher.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <random>

#include "tools/cluster/job_request.h"
#include "tools/runs/confirm.h"
#include "tools/runs/limits.h"
#include "tools/runs/render.h"
#include "tools/runs/submitter.h"
#include "tools/sweep/batch_script.h"
#include "tools/sweep/launch_internal.h"
#include "tools/sweep/report.h"

namespace hpc::sweep {
namespace launch {

using nlohmann::json;

std::string Tag(const std::string& sweep_id, const std::string& batch_id) {
  return "hpc-mcp:" + sweep_id + ":" + batch_id;
}

Result<std::string> Workdir(const runs::Cluster& c, const Phase& phase) {
  if (phase.workdir.empty()) return c.profile.access.kind == "local" ? c.repo : c.work_root;
  if (phase.workdir.rfind("~", 0) == 0) return c.policy.Check(phase.workdir);
  return c.CheckPath(phase.workdir);
}

Status Build(const runs::Cluster& c, const Loaded& l, const std::string& sweep_id,
             BatchPlan& b) {
  const bool aggregate = b.kind == kAggregateBatch;
  const Phase* phase = aggregate ? &l.sweep.phases.front() : &l.sweep.phases[b.phase];
  auto workdir = Workdir(c, *phase);
  if (!workdir.ok()) return workdir.status();
  const std::string dir = c.work_root + "/runs/" + sweep_id;
  const std::string log_dir = c.log_root + "/" + sweep_id;
  b.base = !aggregate && c.profile.scheduler == "sge" ? 1 : 0;
  b.tag = Tag(sweep_id, b.id);
  b.exit_dir = dir + "/" + b.id + ".exit";
  const std::string element = aggregate ? "" : "." + runs::TaskPlaceholder(c.profile.scheduler);
  b.stdout_template = log_dir + "/" + b.id + (aggregate ? "" : ".{task}") + ".out";
  b.stderr_template = log_dir + "/" + b.id + (aggregate ? "" : ".{task}") + ".err";

  BatchScript s;
  s.sweep_id = sweep_id;
  s.batch_id = b.id;
  s.kind = b.kind;
  s.tag = b.tag;
  s.phase = aggregate ? "" : phase->name;
  s.workdir = *workdir;
  s.dirs = {log_dir, b.exit_dir};
  s.exit_dir = b.exit_dir;
  s.base = b.base;
  s.precondition_wait_seconds = l.sweep.precondition_wait_seconds;
  if (aggregate) {
    const Aggregate& a = *l.sweep.aggregate;  // Bound to {"sweep"}.
    for (const Template& t : a.command) s.command.push_back(t.Render({l.sweep.name}));
    s.outputs = {a.output.Render({l.sweep.name})};
  } else {
    for (uint32_t t : b.tasks) s.tasks.push_back(&l.expansion.tasks[t]);
  }

  cluster::JobRequest& r = b.request;
  r = cluster::JobRequest{};
  r.name = "hpc-" + sweep_id + "-" + b.id;
  r.workdir = *workdir;
  r.resources = phase->resources;
  if (aggregate) r.resources.gpus = 0;
  r.comment = b.tag;
  r.script_path = dir + "/" + b.id + ".sh";
  r.submit_lock = dir + "/" + b.id + ".submit.lock";
  r.submit_token = cluster::NewSubmitToken();
  r.stdout_path = log_dir + "/" + b.id + element + ".out";
  r.stderr_path = log_dir + "/" + b.id + element + ".err";
  if (!aggregate)
    r.array = std::to_string(b.base) + "-" + std::to_string(b.base + b.tasks.size() - 1);
  r.script = RenderBatchScript(s);
  return Status::Ok();
}

std::vector<BatchPlan> PlanBatches(const Plan& plan) {
  std::vector<BatchPlan> out;
  for (const PlanArray& a : plan.arrays) {
    BatchPlan b;
    b.id = a.id;
    b.kind = kPlanBatch;
    b.phase = a.phase;
    for (size_t t : a.tasks) b.tasks.push_back(static_cast<uint32_t>(t));
    for (const ArrayDependency& d : a.after) b.after.emplace_back(plan.arrays[d.array].id, d.kind);
    out.push_back(std::move(b));
  }
  return out;
}

Plan PlanOf(const Loaded& l, const runs::Run& run) {
  const json limits = run.spec.value("limits", json::object());
  PlanLimits pl{limits.value("max_array_size", 0), limits.value("max_concurrent_jobs", 0)};
  return MakePlan(l.sweep, l.expansion, pl);
}

Status ResolveAfter(const SweepState& s, BatchPlan& b) {
  cluster::JobRequest& r = b.request;
  r.after_ok.clear();
  r.after_any.clear();
  r.after_corr.clear();
  for (const auto& [id, kind] : b.after) {
    auto it = s.batch_index.find(id);
    if (it == s.batch_index.end())
      return FailedPrecondition("batch " + b.id + " waits for batch " + id +
                                ", which is not submitted yet");
    const BatchRecord& dep = s.batches[it->second];
    // By each task's state now, wherever it runs: a task retried in a
    // later batch is waited for there, not in this one.
    bool all_done = true, any_dead = false, active_here = false, active_elsewhere = false;
    for (uint32_t t : dep.tasks) {
      const TaskRecord& task = s.tasks[t];
      if (task.state == TaskState::kDone) continue;
      all_done = false;
      if (!IsActive(task.state))
        any_dead = true;
      else if (task.batch == it->second)
        active_here = true;
      else
        active_elsewhere = true;
    }
    if (dep.failed || (any_dead && kind != DependencyKind::kAfterAny))
      return FailedPrecondition("batch " + b.id + " waits for batch " + id +
                                ", whose tasks did not all succeed")
          .WithReason("dependency_failed", false, "");
    if (all_done || (!active_here && !active_elsewhere)) continue;  // Nothing to wait for.
    if (active_elsewhere || dep.job_id.empty())
      return FailedPrecondition("batch " + b.id + " waits for tasks of batch " + id +
                                " that are not in the scheduler under one job yet")
          .WithReason("dependency_pending", true, "");
    switch (kind) {
      case DependencyKind::kAfterAny:
        r.after_any.push_back(dep.job_id);
        break;
      case DependencyKind::kAfterOk:
        r.after_ok.push_back(dep.job_id);
        break;
      case DependencyKind::kAfterCorr:
        r.after_corr.push_back(dep.job_id);
        break;
    }
  }
  return Status::Ok();
}

Status Dispatch(runs::RunStore& store, runs::Cluster& c, const std::string& sweep_id,
                BatchPlan& b, bool journaled) {
  if (!journaled) {
    json after = json::array();
    for (const auto& [id, kind] : b.after)
      after.push_back({{"batch", id}, {"kind", DependencyKindName(kind)}});
    json ctx{{"batch", b.id},
             {"phase", b.phase},
             {"kind", b.kind},
             {"tasks", b.tasks},
             {"base", b.base},
             {"tag", b.tag},
             {"script_path", b.request.script_path},
             {"stdout_path", b.stdout_template},
             {"stderr_path", b.stderr_template},
             {"exit_dir", b.exit_dir},
             {"after", after}};
    // A retry's preferences, so that a server that sends it after a crash
    // (Rebuild) avoids the same nodes and GPUs.
    if (!b.request.avoid_nodes.empty())
      ctx["avoid_nodes"] = b.request.avoid_nodes;
    if (!b.request.avoid_gpus.empty()) ctx["avoid_gpus"] = b.request.avoid_gpus;
    HPC_RETURN_IF_ERROR(
        store.Append(sweep_id, "batch_submitting", std::move(ctx)));
  }
  auto sent = runs::SubmitOrAdopt(c, b.request, b.tag);
  if (sent.ok())
    return store.Append(sweep_id, "batch_submitted",
                        {{"batch", b.id}, {"job_id", sent->job_id}, {"how", sent->how}});
  const Status& err = sent.status();
  if (runs::SubmitFailureIsDefinite(err)) {
    HPC_RETURN_IF_ERROR(store.Append(sweep_id, "batch_submit_failed",
                                     {{"batch", b.id}, {"lost", false},
                                      {"message", err.message()}, {"reason", err.reason()}}));
    return err;
  }
  HPC_RETURN_IF_ERROR(store.Append(sweep_id, "batch_submit_failed",
                                   {{"batch", b.id}, {"lost", true},
                                    {"message", err.message()}, {"reason", err.reason()}}));
  return Status(StatusCode::kUnavailable,
                "sweep " + sweep_id + ": batch " + b.id + "'s submission did not complete (" +
                    err.message() + "); whether it reached the scheduler is not known yet")
      .WithReason("submit_answer_lost", true,
                  "call poll (or submit_sweep with the same arguments): it adopts the batch if "
                  "it exists and submits it once if it does not");
}

Status AppendChanges(runs::RunStore& store, const std::string& sweep_id, json changes) {
  if (changes.empty()) return Status::Ok();
  return store.Append(sweep_id, "tasks_changed", {{"changes", std::move(changes)}});
}

namespace {

// Rebuilds the plan batch `id` or the batch journaled as `rec`.
Result<BatchPlan> Rebuild(const runs::Cluster& c, const Loaded& l, const std::string& sweep_id,
                          const std::vector<BatchPlan>& plan, const BatchRecord& rec) {
  BatchPlan b;
  auto it = std::find_if(plan.begin(), plan.end(),
                         [&](const BatchPlan& p) { return p.id == rec.id; });
  if (it != plan.end()) {
    b = *it;
  } else {
    b.id = rec.id;
    b.kind = rec.kind;
    b.phase = rec.phase;
    b.tasks = rec.tasks;
    for (const auto& [id, kind] : rec.after)
      b.after.emplace_back(id, kind == "afterok"     ? DependencyKind::kAfterOk
                               : kind == "aftercorr" ? DependencyKind::kAfterCorr
                                                     : DependencyKind::kAfterAny);
  }
  HPC_RETURN_IF_ERROR(Build(c, l, sweep_id, b));
  b.request.avoid_nodes = rec.avoid_nodes;
  b.request.avoid_gpus = rec.avoid_gpus;
  return b;
}

}  // namespace

Status FinishSubmission(runs::RunStore& store, runs::Cluster& c, const std::string& sweep_id,
                        const Loaded& l, bool dispatch, const std::vector<BatchPlan>* built) {
  auto table = store.Load();
  if (!table.ok()) return table.status();
  const runs::Run& run = (*table)->runs.at(sweep_id);
  if (run.cancel_requested) return Status::Ok();
  std::vector<BatchPlan> planned;
  if (!built) planned = PlanBatches(PlanOf(l, run));
  const std::vector<BatchPlan>& plan = built ? *built : planned;
  // Batches journaled without a job id: adopted by tag, or sent again.
  for (const BatchRecord& rec : run.sweep->batches) {
    if (!rec.job_id.empty() || rec.failed) continue;
    auto b = Rebuild(c, l, sweep_id, plan, rec);
    if (!b.ok()) return b.status();
    HPC_RETURN_IF_ERROR(runs::ClaimInflightSubmit(c, b->request));
    auto found = c.scheduler->FindByComment(rec.tag);
    if (!found.ok()) return found.status();
    if (!found->empty()) {
      HPC_RETURN_IF_ERROR(store.Append(sweep_id, "batch_submitted",
                                       {{"batch", rec.id}, {"job_id", found->front()},
                                        {"how", "comment"}}));
      continue;
    }
    if (!dispatch) continue;
    auto now = store.Load();
    if (!now.ok()) return now.status();
    if (Status s = ResolveAfter(*(*now)->runs.at(sweep_id).sweep, *b); !s.ok()) {
      if (s.reason() != "dependency_failed") continue;  // Later.
      HPC_RETURN_IF_ERROR(store.Append(sweep_id, "batch_submit_failed",
                                       {{"batch", rec.id}, {"lost", false},
                                        {"message", s.message()}, {"reason", s.reason()}}));
      continue;
    }
    HPC_RETURN_IF_ERROR(Dispatch(store, c, sweep_id, *b, /*journaled=*/true));
  }
  if (!dispatch) return Status::Ok();
  // The plan's batches never journaled: the server died mid-plan.
  for (BatchPlan b : plan) {
    auto now = store.Load();
    if (!now.ok()) return now.status();
    const SweepState& s = *(*now)->runs.at(sweep_id).sweep;
    if (s.batch_index.count(b.id)) continue;
    if (!built) HPC_RETURN_IF_ERROR(Build(c, l, sweep_id, b));
    if (Status r = ResolveAfter(s, b); !r.ok()) {
      if (r.reason() == "dependency_pending") continue;  // A later poll.
      if (r.reason() != "dependency_failed") return r;
      // Its inputs failed: its tasks wait, blocked, for them to be done.
      json changes = json::array();
      for (uint32_t t : b.tasks)
        changes.push_back({{"t", t}, {"s", "blocked"}, {"m", r.message()}});
      HPC_RETURN_IF_ERROR(AppendChanges(store, sweep_id, std::move(changes)));
      continue;
    }
    HPC_RETURN_IF_ERROR(Dispatch(store, c, sweep_id, b, /*journaled=*/false));
  }
  return Status::Ok();
}

Status SyncState(runs::RunStore& store, const std::string& sweep_id, const Loaded& l,
                 const std::string& reason, std::vector<std::string>& errors) {
  auto table = store.Load();
  if (!table.ok()) return table.status();
  const runs::Run& run = (*table)->runs.at(sweep_id);
  const std::string state = run.sweep->RunState();
  if (state == run.state) return Status::Ok();
  json counts = json::object();
  for (const auto& [k, v] : run.sweep->Counts()) counts[k] = v;
  HPC_RETURN_IF_ERROR(store.Append(sweep_id, "state_changed",
                                   {{"from", run.state}, {"to", state}, {"native_state", ""},
                                    {"reason", reason}, {"tasks", counts}}));
  if (runs::IsActiveState(state)) return Status::Ok();
  auto ended = store.Load();
  if (!ended.ok()) return ended.status();
  if (Status s = WriteSummary(store, (*ended)->runs.at(sweep_id), l); !s.ok())
    errors.push_back("sweep " + sweep_id + ": summary.md: " + s.message());
  return Status::Ok();
}

bool DependenciesDone(const Loaded& l, const SweepState& s, uint32_t task, bool* stuck) {
  *stuck = false;
  bool done = true;
  auto check = [&](size_t t) {
    const TaskRecord& r = s.tasks[t];
    if (r.state == TaskState::kDone) return;
    done = false;
    if (r.state == TaskState::kStuck || r.state == TaskState::kCancelled) *stuck = true;
  };
  const Task& t = l.expansion.tasks[task];
  for (size_t d : t.after) check(d);
  for (const Dependency& d : l.sweep.phases[t.phase].depends_on) {
    if (!d.match.empty()) continue;
    const Expansion::Span& span = l.expansion.phases[d.phase_index];
    for (size_t i = span.first; i < span.first + span.count; ++i) check(i);
  }
  return done;
}

}  // namespace launch

namespace {

using nlohmann::json;
using launch::BatchPlan;

std::mutex g_cache_mu;
std::map<std::string, std::shared_ptr<const Loaded>>* g_cache =
    new std::map<std::string, std::shared_ptr<const Loaded>>();

// The loaded sweep for a spec, cached by its hash (a poll of a 10,000-task
// sweep should not expand it again).
Result<std::shared_ptr<const Loaded>> LoadSpec(const json& spec, const std::string& hash,
                                               const std::string& source) {
  {
    std::lock_guard lock(g_cache_mu);
    if (auto it = g_cache->find(hash); it != g_cache->end()) return it->second;
  }
  auto sweep = LoadSweep(spec.value("sweep", json::object()), source);
  if (!sweep.ok()) return sweep.status();
  auto expansion = ExpandSweep(*sweep);
  if (!expansion.ok()) return expansion.status();
  auto l = std::make_shared<const Loaded>(Loaded{std::move(*sweep), std::move(*expansion)});
  std::lock_guard lock(g_cache_mu);
  if (g_cache->size() > 64) g_cache->clear();
  (*g_cache)[hash] = l;
  return l;
}

json CreatedSweep(const Loaded& l) {
  json phases = json::array();
  for (size_t p = 0; p < l.sweep.phases.size(); ++p)
    phases.push_back({{"name", l.sweep.phases[p].name},
                      {"first", l.expansion.phases[p].first},
                      {"count", l.expansion.phases[p].count},
                      {"template_key", TemplateKey(l.sweep.phases[p])}});
  json ids = json::array();
  for (const Task& t : l.expansion.tasks) ids.push_back(t.id);
  return {{"name", l.sweep.name},
          {"phases", phases},
          {"task_ids", std::move(ids)},
          {"aggregate", l.sweep.aggregate.has_value()}};
}

// Mean seconds of done tasks by phase template, from earlier sweeps.
Durations KnownDurations(const runs::RunTable& table) {
  std::map<std::string, std::pair<double, int>> sums;
  for (const auto& [id, run] : table.runs) {
    if (!run.sweep) continue;
    for (size_t p = 0; p < run.sweep->phases.size(); ++p) {
      const PhaseSpan& span = run.sweep->phases[p];
      for (uint32_t t = span.first; t < span.first + span.count && t < run.sweep->tasks.size();
           ++t) {
        const TaskRecord& r = run.sweep->tasks[t];
        if (r.state != TaskState::kDone || !r.elapsed_s) continue;
        auto& [sum, n] = sums[span.template_key];
        sum += static_cast<double>(*r.elapsed_s);
        ++n;
      }
    }
  }
  Durations d;
  for (const auto& [key, sn] : sums) d.by_template[key] = sn.first / sn.second;
  return d;
}

json Describe(const runs::Run& run, bool idempotent) {
  json batches = json::array();
  size_t listed = 0;
  for (const BatchRecord& b : run.sweep->batches) {
    if (listed++ == 40) break;
    batches.push_back({{"id", b.id}, {"kind", b.kind}, {"job_id", b.job_id},
                       {"tasks", b.tasks.size()}});
  }
  return {{"sweep_id", run.id},
          {"state", run.state},
          {"idempotent", idempotent},
          {"dry_run", false},
          {"tasks", run.sweep->tasks.size()},
          {"batches", batches},
          {"summary", SummaryJson(*run.sweep)}};
}

bool g_polls_dispatch = true;
std::mutex g_flag_mu;

}  // namespace

void SetPollsDispatch(bool enabled) {
  std::lock_guard lock(g_flag_mu);
  g_polls_dispatch = enabled;
}

namespace launch {
bool PollsDispatch() {
  std::lock_guard lock(g_flag_mu);
  return g_polls_dispatch;
}
}  // namespace launch

Result<std::shared_ptr<const Loaded>> LoadedFor(const runs::Run& run) {
  if (!run.sweep) return InvalidArgument("run " + run.id + " is not a sweep");
  return LoadSpec(run.spec, run.spec_hash, "sweep " + run.id);
}

Result<SubmitSweepRequest> ParseSubmitSweepRequest(const std::string& repo, const json& args) {
  SubmitSweepRequest r;
  r.profile = args.value("profile", "local");
  r.file = args.value("file", "");
  r.dry_run = args.value("dry_run", false);
  r.force = args.value("force", false);
  r.confirm_token = args.value("confirm_token", "");
  const bool inline_given = args.contains("sweep");
  if (inline_given == !r.file.empty())
    return InvalidArgument(
        "give exactly one of `sweep` (the sweep as an object) or `file` (a YAML or JSON file "
        "of the repository holding it)");
  Result<Sweep> sweep = inline_given ? LoadSweep(args["sweep"], "sweep")
                                     : LoadSweepFile(repo, r.file);
  if (!sweep.ok()) return sweep.status();
  // Counted before anything is built: a million-task grid is refused here.
  auto expansion = ExpandSweep(*sweep);
  if (!expansion.ok()) return expansion.status();
  r.spec = {{"profile", r.profile}, {"sweep", sweep->document}};
  if (!r.file.empty()) r.spec["file"] = r.file;
  auto l = std::make_shared<Loaded>(Loaded{std::move(*sweep), std::move(*expansion)});
  r.loaded = l;
  return r;
}

Result<json> SubmitSweep(runs::RunStore& store, runs::Cluster& c, const SubmitSweepRequest& req) {
  auto lock = store.LockSubmits();
  if (!lock.ok()) return lock.status();
  auto table = store.Load();
  if (!table.ok()) return table.status();
  const Loaded& l = *req.loaded;
  // The plan's limits are part of what is submitted: a sweep planned under
  // other limits is another submission.
  const PlanLimits limits = PlanLimits::FromProfile(c.profile.limits);
  json spec = req.spec;
  spec["limits"] = {{"max_array_size", limits.max_array_size},
                    {"max_concurrent_jobs", limits.max_concurrent_jobs}};
  const std::string hash = runs::SpecHash(spec);
  if (!req.force) {
    for (const auto& [id, run] : (*table)->runs) {
      if (!run.sweep || run.spec_hash != hash || !run.active() || run.cancel_requested) continue;
      HPC_RETURN_IF_ERROR(launch::FinishSubmission(store, c, id, l, /*dispatch=*/true));
      std::vector<std::string> ignored;  // A summary is the poll's to write.
      HPC_RETURN_IF_ERROR(launch::SyncState(store, id, l, "", ignored));
      auto again = store.Load();
      if (!again.ok()) return again.status();
      return Describe((*again)->runs.at(id), true);
    }
  }
  const int64_t now = runs::SubmitClockNow();
  std::optional<runs::Confirmation> confirmed;
  if (!req.confirm_token.empty() && !req.dry_run) {
    auto k = runs::RedeemConfirmation(**table, req.confirm_token, hash, now);
    if (!k.ok()) return k.status();
    confirmed = *k;
  }
  std::string sweep_id;
  if (confirmed && !(*table)->runs.count(confirmed->run_id)) {
    sweep_id = confirmed->run_id;
  } else {
    std::random_device rd;
    do {
      sweep_id = runs::MakeRunId(l.sweep.name, now, rd());
    } while ((*table)->runs.count(sweep_id));
  }
  const Plan plan = MakePlan(l.sweep, l.expansion, limits);
  std::vector<BatchPlan> batches = launch::PlanBatches(plan);
  std::vector<runs::PreparedJob> prepared;
  for (BatchPlan& b : batches) {
    HPC_RETURN_IF_ERROR(launch::Build(c, l, sweep_id, b));
    auto r = cluster::PrepareRequest(c.profile, b.request);
    if (!r.ok()) return r.status();
    prepared.push_back({b.id, std::move(*r)});
  }
  if (l.sweep.aggregate) {
    auto workdir = launch::Workdir(c, l.sweep.phases.front());
    if (!workdir.ok()) return workdir.status();
  }
  const runs::Estimate estimate = runs::EstimateCost(prepared);
  const runs::Usage usage = runs::RepoUsage(**table, now);
  auto checks = runs::CheckLimits(c.profile, prepared, estimate, usage);
  if (!checks.ok()) return checks.status();
  const json estimate_json = runs::EstimateJson(c.profile, estimate, usage, *checks);
  const bool too_many = l.expansion.tasks.size() > kConfirmAboveTasks;
  const bool ask = (runs::NeedsConfirmation(c.profile, estimate) || too_many) && !confirmed;

  if (req.dry_run || ask) {
    const WallClock wall = EstimateWallClock(l.sweep, plan, KnownDurations(**table));
    json out{{"sweep_id", sweep_id},
             {"state", req.dry_run ? "planned" : "awaiting_confirmation"},
             {"idempotent", false},
             {"dry_run", req.dry_run},
             {"tasks", l.expansion.tasks.size()},
             {"batches", json::array()},
             {"plan", PlanJson(l.sweep, l.expansion, plan, &wall)},
             {"estimate", estimate_json},
             {"first_script", batches.empty() ? "" : batches.front().request.script.substr(0, 4096)}};
    if (req.dry_run) return out;
    auto token = runs::NewConfirmToken();
    if (!token.ok()) return token.status();
    HPC_RETURN_IF_ERROR(store.Append("", "confirm_requested",
                                     {{"token_sha256", runs::ConfirmTokenDigest(*token)},
                                      {"spec_hash", hash},
                                      {"run_id", sweep_id},
                                      {"gpu_hours", estimate.gpu_hours},
                                      {"expires_at", now + runs::kConfirmTtlSeconds}}));
    json why = json::array();
    if (too_many)
      why.push_back("the sweep has " + FormatCount(l.expansion.tasks.size()) +
                    " tasks, more than " + FormatCount(kConfirmAboveTasks));
    if (runs::NeedsConfirmation(c.profile, estimate))
      why.push_back("about " + runs::FormatHours(estimate.gpu_hours) +
                    " GPU-hours, above the profile's confirm_above_gpu_hours");
    out["confirm"] = {{"token", *token},
                      {"expires_in_s", runs::kConfirmTtlSeconds},
                      {"why", why},
                      {"gpu_hours", estimate.gpu_hours}};
    return out;
  }

  json created{{"name", l.sweep.name},
               {"profile", c.profile.name},
               {"scheduler", c.profile.scheduler},
               {"spec", spec},
               {"spec_hash", hash},
               {"workdir", batches.empty() ? "" : batches.front().request.workdir},
               {"gpu_hours", estimate.gpu_hours},
               {"jobs", estimate.job_count},
               {"sweep", CreatedSweep(l)}};
  if (confirmed) created["confirm_token_sha256"] = runs::ConfirmTokenDigest(req.confirm_token);
  HPC_RETURN_IF_ERROR(store.Append(sweep_id, "created", std::move(created)));
  {
    std::lock_guard cache(g_cache_mu);
    (*g_cache)[hash] = req.loaded;
  }
  HPC_RETURN_IF_ERROR(
      launch::FinishSubmission(store, c, sweep_id, l, /*dispatch=*/true, &batches));
  std::vector<std::string> ignored;
  HPC_RETURN_IF_ERROR(launch::SyncState(store, sweep_id, l, "", ignored));
  auto done = store.Load();
  if (!done.ok()) return done.status();
  json out = Describe((*done)->runs.at(sweep_id), false);
  out["estimate"] = estimate_json;
  out["plan"] = PlanJson(l.sweep, l.expansion, plan);
  return out;
}

}  // namespace hpc::sweep
