#include "tools/runs/submitter.h"

#include <chrono>
#include <mutex>
#include <optional>
#include <random>

#include "tools/cluster/job_request.h"
#include "tools/runs/confirm.h"
#include "tools/runs/limits.h"
#include "tools/runs/render.h"

namespace hpc::runs {
namespace {

using nlohmann::json;

std::mutex g_hook_mu;
std::function<Status(std::string_view)> g_hook;
std::function<int64_t()> g_clock;

Status Fault(std::string_view point) {
  std::lock_guard lock(g_hook_mu);
  return g_hook ? g_hook(point) : Status::Ok();
}

int64_t NowSeconds() {
  {
    std::lock_guard lock(g_hook_mu);
    if (g_clock) return g_clock();
  }
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One job of a run, fully planned: what is written and what is submitted.
struct JobPlan {
  std::string role, tag;
  cluster::JobRequest request;  // after_ok filled at dispatch.
  std::string program_path, program;  // The agent's `script`, if any.
  std::string stdout_template, stderr_template;  // "{task}" for arrays.
  std::string exit_dir;
  std::vector<int64_t> array_tasks;
};

std::string Tag(const std::string& run_id, int attempt, const std::string& role) {
  return "hpc-mcp:" + run_id + ":" + std::to_string(attempt) + ":" + role;
}

Result<std::string> ResolveWorkdir(const Cluster& c, const SubmitRequest& req) {
  if (req.workdir.empty())
    return c.profile.access.kind == "local" ? c.repo : c.work_root;
  std::string w = req.workdir;
  if (w.rfind("~", 0) == 0) {
    // work_root was resolved against the same home.
    auto p = c.policy.Check(w);
    if (!p.ok()) return p.status();
    return *p;
  }
  return c.CheckPath(w);
}

Result<std::vector<JobPlan>> PlanJobs(const Cluster& c, const SubmitRequest& req,
                                      const std::string& run_id, int attempt) {
  auto workdir = ResolveWorkdir(c, req);
  if (!workdir.ok()) return workdir.status();
  const std::string run_dir = c.work_root + "/runs/" + run_id + "/a" + std::to_string(attempt);
  const std::string log_dir = c.log_root + "/" + run_id;
  std::vector<std::string> roles;
  if (req.smoke) roles.push_back("smoke");
  roles.push_back("main");
  std::vector<JobPlan> plans;
  for (const auto& role : roles) {
    JobPlan p;
    p.role = role;
    p.tag = Tag(run_id, attempt, role);
    const bool smoke = role == "smoke";
    const bool array = !smoke && (!req.array.empty() || !req.param_sets.empty());
    cluster::JobRequest& r = p.request;
    // Grid Engine refuses names that start with a digit.
    r.name = "hpc-" + run_id + (smoke ? "-smoke" : "");
    r.workdir = *workdir;
    r.resources = req.resources;
    if (smoke) r.resources.time = req.smoke_time;
    r.env = req.env;
    r.comment = p.tag;
    r.script_path = run_dir + "/" + role + ".sh";
    r.submit_lock = run_dir + "/" + role + ".submit.lock";
    r.submit_token = cluster::NewSubmitToken();
    std::string task_part = array ? "." + TaskPlaceholder(c.profile.scheduler) : "";
    r.stdout_path = log_dir + "/" + role + task_part + ".out";
    r.stderr_path = log_dir + "/" + role + task_part + ".err";
    p.stdout_template = log_dir + "/" + role + (array ? ".{task}" : "") + ".out";
    p.stderr_template = log_dir + "/" + role + (array ? ".{task}" : "") + ".err";
    p.exit_dir = run_dir + "/" + role + ".exit";

    ScriptPlan s;
    s.run_id = run_id;
    s.role = role;
    s.tag = p.tag;
    s.attempt = attempt;
    s.workdir = *workdir;
    s.dirs = {log_dir, p.exit_dir};
    s.exit_dir = p.exit_dir;
    if (!req.script.empty()) {
      p.program_path = run_dir + "/program";
      p.program = req.script;
      s.program_path = p.program_path;
    } else {
      s.command = smoke && !req.smoke_command.empty() ? req.smoke_command : req.command;
      if (smoke && req.smoke_command.empty())
        s.command.insert(s.command.end(), req.smoke_args.begin(), req.smoke_args.end());
    }
    if (array && !req.param_sets.empty()) {
      // Task ids start at 0, except on Grid Engine, where they start at 1.
      const size_t base = c.profile.scheduler == "sge" ? 1 : 0;
      r.array = std::to_string(base) + "-" + std::to_string(base + req.param_sets.size() - 1);
      for (size_t i = 0; i < req.param_sets.size(); ++i)
        s.task_env[std::to_string(base + i)] = req.param_sets[i];
    } else if (array) {
      r.array = req.array;
    }
    if (smoke && !req.param_sets.empty())
      for (const auto& [k, v] : req.param_sets.front()) r.env[k] = v;  // The first cell.
    if (!r.array.empty()) {
      // Not capped at limits.max_array_size: CheckLimits says so better.
      auto spec = cluster::ParseArraySpec(r.array);
      if (!spec.ok()) return spec.status();
      p.array_tasks = spec->tasks;
    }
    r.script = RenderBatchScript(s);
    plans.push_back(std::move(p));
  }
  return plans;
}

json JobsJson(const Run& run) {
  json jobs = json::array();
  if (const Attempt* a = run.current())
    for (const auto& j : a->jobs)
      jobs.push_back({{"role", j.role}, {"job_id", j.job_id}});
  return jobs;
}

json Describe(const Run& run, bool idempotent) {
  json out{{"run_id", run.id},       {"job_ids", run.JobIds()}, {"jobs", JobsJson(run)},
           {"state", run.state},     {"idempotent", idempotent}, {"dry_run", false},
           {"script_path", ""},      {"log_paths", json::object()}};
  if (const Attempt* a = run.current())
    if (const Job* main = a->Find("main")) {
      out["script_path"] = main->script_path;
      out["log_paths"] = {{"stdout", main->stdout_path}, {"stderr", main->stderr_path}};
    }
  return out;
}

// The job ids `req.depends_on` names (main jobs of their current attempts);
// completed runs need no waiting.
Result<std::vector<std::string>> DependencyJobs(const RunTable& table, const SubmitRequest& req) {
  std::vector<std::string> ids;
  for (const auto& dep : req.depends_on) {
    auto it = table.runs.find(dep);
    if (it == table.runs.end())
      return NotFound("depends_on: run " + dep +
                      " is not in this repository's journal; list_runs shows the runs");
    const Run& r = it->second;
    if (r.state == "completed") continue;
    if (!r.active())
      return FailedPrecondition("depends_on: run " + dep + " ended " + r.state +
                                "; it can never succeed, so this run would never start")
          .WithReason("dependency_failed", false, "resubmit " + dep + " first, or drop it");
    const Attempt* a = r.current();
    const Job* main = a ? a->Find("main") : nullptr;
    if (!main || main->job_id.empty())
      return FailedPrecondition("depends_on: run " + dep + " has no job id yet (still submitting)")
          .WithReason("dependency_submitting", true, "poll it, then submit again");
    ids.push_back(main->job_id);
  }
  return ids;
}

bool Definite(const Status& s) {
  // The scheduler (or our own checks) refused: no job exists. Anything
  // else (a timeout, a dropped connection) may have reached it.
  return s.code() == StatusCode::kInvalidArgument ||
         s.code() == StatusCode::kPermissionDenied ||
         s.code() == StatusCode::kNotFound || s.reason() == "submit_rejected" ||
         s.reason() == "scheduler_missing" ||
         s.reason() == "path_outside_roots" || s.reason() == "gpus_unavailable";
}

// Steps 1-3 of the protocol for one job whose `submitting` may already be
// journaled (`journaled`).
Status Dispatch(RunStore& store, Cluster& c, const std::string& run_id, int attempt,
                JobPlan& p, bool journaled) {
  if (!journaled) {
    json ctx{{"attempt", attempt},
             {"role", p.role},
             {"tag", p.tag},
             {"script_path", p.request.script_path},
             {"stdout_path", p.stdout_template},
             {"stderr_path", p.stderr_template},
             {"exit_dir", p.exit_dir},
             {"array_tasks", p.array_tasks}};
    HPC_RETURN_IF_ERROR(store.Append(run_id, "submitting", std::move(ctx)));
  }
  auto sent = SubmitOrAdopt(c, p.request, p.tag, [&]() -> Status {
    if (p.program.empty()) return Status::Ok();
    return c.remote->WriteFileAtomic(p.program_path, p.program, 0755);
  });
  if (sent.ok())
    return store.Append(run_id, "submitted",
                        {{"attempt", attempt}, {"role", p.role}, {"job_id", sent->job_id},
                         {"how", sent->how}});
  const Status& err = sent.status();
  if (Definite(err)) {
    HPC_RETURN_IF_ERROR(store.Append(run_id, "submit_failed",
                                     {{"attempt", attempt}, {"role", p.role}, {"lost", false},
                                      {"message", err.message()}, {"reason", err.reason()}}));
    return err;
  }
  HPC_RETURN_IF_ERROR(store.Append(run_id, "submit_failed",
                                   {{"attempt", attempt}, {"role", p.role}, {"lost", true},
                                    {"message", err.message()}, {"reason", err.reason()}}));
  return Status(StatusCode::kUnavailable,
                "run " + run_id + ": the " + p.role + " job's submission did not complete (" +
                    err.message() + "); whether it reached the scheduler is not known yet")
      .WithReason("submit_answer_lost", true,
                  "call submit again with the same arguments: it adopts the job if it exists "
                  "and submits it once if it does not");
}

Status ReconcileLocked(RunStore& store, Cluster& c, const Run& run, bool dispatch_missing) {
  // No attempt yet: the process died between `created` and `submitting`.
  const int attempt = run.current() ? run.current()->number : 1;
  auto req = ParseSubmitRequest(run.spec);
  if (!req.ok()) return req.status();
  auto plans = PlanJobs(c, *req, run.id, attempt);
  if (!plans.ok()) return plans.status();
  for (auto& p : *plans) {
    // Re-read: an earlier iteration may have adopted or submitted a job.
    auto table = store.Load();
    if (!table.ok()) return table.status();
    const Run& now = (*table)->runs.at(run.id);
    const Job* job = now.current() ? now.current()->Find(p.role) : nullptr;
    if (job && !job->job_id.empty()) continue;
    if (job) {
      // A submit cut short may still be running on the cluster, or still be
      // on its way there (the SSH channel outlives a killed server): wait
      // for it to let go of the lock and take the claim from it before
      // looking for its job.
      HPC_RETURN_IF_ERROR(ClaimInflightSubmit(c, p.request));
      auto found = c.scheduler->FindByComment(job->tag);
      if (!found.ok()) return found.status();
      if (!found->empty()) {
        HPC_RETURN_IF_ERROR(store.Append(run.id, "submitted",
                                         {{"attempt", attempt}, {"role", p.role},
                                          {"job_id", found->front()}, {"how", "comment"}}));
        continue;
      }
    }
    if (!dispatch_missing) return Status::Ok();
    if (p.role == "main") {
      auto deps = DependencyJobs(**table, *req);
      if (!deps.ok()) return deps.status();
      p.request.after_ok = *deps;
      if (const Job* smoke = now.current() ? now.current()->Find("smoke") : nullptr)
        p.request.after_ok.insert(p.request.after_ok.begin(), smoke->job_id);
    }
    HPC_RETURN_IF_ERROR(Dispatch(store, c, run.id, attempt, p, job != nullptr));
  }
  return Status::Ok();
}

std::vector<std::string> StringList(const json& j) {
  std::vector<std::string> v;
  if (j.is_array())
    for (const auto& s : j)
      if (s.is_string()) v.push_back(s);
  return v;
}

std::string Scalar(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

}  // namespace

bool SubmitFailureIsDefinite(const Status& s) { return Definite(s); }

Result<Dispatched> SubmitOrAdopt(Cluster& c, const cluster::JobRequest& request,
                                 const std::string& tag, const std::function<Status()>& before) {
  auto send = [&]() -> Result<cluster::SubmitResult> {
    HPC_RETURN_IF_ERROR(Fault("before_dispatch"));
    if (before) HPC_RETURN_IF_ERROR(before());
    auto sent = c.scheduler->Submit(request);
    if (!sent.ok()) return sent;
    HPC_RETURN_IF_ERROR(Fault("after_dispatch"));  // The answer lost on its way back.
    return sent;
  };
  auto res = send();
  if (res.ok()) return Dispatched{res->job_id, "answer"};
  if (Definite(res.status())) return res.status();
  // The job may exist: look for its tag before saying anything.
  auto found = c.scheduler->FindByComment(tag);
  if (found.ok() && !found->empty()) return Dispatched{found->front(), "comment"};
  return res.status();
}

Status ClaimInflightSubmit(Cluster& c, const cluster::JobRequest& request) {
  remote::RunOptions o;
  o.login_shell = false;
  o.timeout = std::chrono::seconds(660);
  // -w bounds the wait. A lock whose directory does not exist was never
  // taken: flock fails to open it (66), and that is an answer: the job's
  // submit command is only sent once its script is written there.
  auto r = c.remote->Run(cluster::ClaimSubmitLockArgv(request), o);
  if (!r.ok()) return r.status();
  if (r->exit_code == 0 || r->exit_code == 66) return Status::Ok();
  if (r->exit_code == 1)  // flock timed out.
    return Status(StatusCode::kUnavailable,
                  "a submit of this run is still running on " +
                      c.remote->Describe() + " after 600 s (lock " +
                      request.submit_lock + ")")
        .WithReason("submit_in_flight", true, "call submit again later");
  return Status(StatusCode::kUnavailable,
                "cannot claim the submit lock " + request.submit_lock + " on " +
                    c.remote->Describe() + ": " + cluster::CommandMessage(*r))
      .WithReason("submit_lock_unusable", true,
                  "check that the run's directory on the cluster is writable, "
                  "then call submit again");
}

int64_t SubmitClockNow() { return NowSeconds(); }

void SetSubmitFaultHookForTesting(std::function<Status(std::string_view)> hook) {
  std::lock_guard lock(g_hook_mu);
  g_hook = std::move(hook);
}

void SetSubmitClockForTesting(std::function<int64_t()> now) {
  std::lock_guard lock(g_hook_mu);
  g_clock = std::move(now);
}

Result<SubmitRequest> ParseSubmitRequest(const json& args) {
  SubmitRequest r;
  r.profile = args.value("profile", "local");
  r.name = args.value("name", "");
  r.command = StringList(args.value("command", json()));
  r.script = args.value("script", "");
  r.workdir = args.value("workdir", "");
  if (args.contains("env") && args["env"].is_object())
    for (const auto& [k, v] : args["env"].items()) r.env[k] = Scalar(v);
  r.resources = cluster::ResourcesFromJson(args.value("resources", json::object()));
  if (args.contains("array")) {
    const json& a = args["array"];
    if (a.is_string()) r.array = a.get<std::string>();
    if (a.is_array())
      for (const auto& set : a) {
        std::map<std::string, std::string> m;
        for (const auto& [k, v] : set.items()) m[k] = Scalar(v);
        r.param_sets.push_back(std::move(m));
      }
  }
  r.depends_on = StringList(args.value("depends_on", json()));
  r.smoke = args.value("smoke", false);
  r.smoke_args = StringList(args.value("smoke_args", json()));
  r.smoke_command = StringList(args.value("smoke_command", json()));
  r.smoke_time = args.value("smoke_time", "00:10:00");
  r.dry_run = args.value("dry_run", false);
  r.force = args.value("force", false);
  r.confirm_token = args.value("confirm_token", "");
  if (r.command.empty() == r.script.empty())
    return InvalidArgument("give exactly one of `command` (an argv list) or `script` (a program's text)");
  if (!r.script.empty() && r.script.rfind("#!", 0) != 0)
    return InvalidArgument("`script` must start with an interpreter line such as #!/bin/bash");
  if (!r.smoke && (!r.smoke_args.empty() || !r.smoke_command.empty()))
    return InvalidArgument("smoke_args / smoke_command need `smoke: true`");
  if (r.smoke && !r.script.empty() && r.smoke_command.empty())
    return InvalidArgument("a smoke run of a `script` needs `smoke_command` (smoke_args extend a `command`)");
  r.spec = args;
  for (const char* k : {"repo", "dry_run", "force", "confirm_token"})
    r.spec.erase(k);
  r.spec["profile"] = r.profile;
  return r;
}

Result<json> SubmitRun(RunStore& store, Cluster& c, const SubmitRequest& req) {
  auto lock = store.LockSubmits();
  if (!lock.ok()) return lock.status();
  auto table = store.Load();
  if (!table.ok()) return table.status();
  const std::string hash = SpecHash(req.spec);
  if (!req.force) {
    for (const auto& [id, run] : (*table)->runs) {
      // A run someone cancelled is never finished or returned.
      if (run.spec_hash != hash || !run.active() || run.cancel_requested) continue;
      if (run.state == kSubmitting) {
        // A submit of this spec was cut short: finish it, once.
        HPC_RETURN_IF_ERROR(ReconcileLocked(store, c, run, /*dispatch_missing=*/true));
        auto again = store.Load();
        if (!again.ok()) return again.status();
        return Describe((*again)->runs.at(id), true);
      }
      return Describe(run, true);
    }
  }
  auto deps = DependencyJobs(**table, req);
  if (!deps.ok()) return deps.status();

  const int64_t now = NowSeconds();
  // A dry run only looks: its token, if any, is neither checked nor spent.
  std::optional<Confirmation> confirmed;
  if (!req.confirm_token.empty() && !req.dry_run) {
    auto k = RedeemConfirmation(**table, req.confirm_token, hash, now);
    if (!k.ok()) return k.status();
    confirmed = *k;
  }
  std::string run_id;
  if (confirmed && !(*table)->runs.count(confirmed->run_id)) {
    run_id = confirmed->run_id;  // The paths the plan showed.
  } else {
    std::random_device rd;
    do {
      run_id = MakeRunId(req.name, now, rd());
    } while ((*table)->runs.count(run_id));
  }
  auto plans = PlanJobs(c, req, run_id, 1);
  if (!plans.ok()) return plans.status();
  // Everything a backend would refuse, and every limit of the profile, is
  // checked before anything is journaled.
  std::vector<PreparedJob> prepared;
  for (const auto& p : *plans) {
    auto r = cluster::PrepareRequest(c.profile, p.request);
    if (!r.ok()) return r.status();
    prepared.push_back({p.role, std::move(*r)});
  }
  const Estimate estimate = EstimateCost(prepared);
  const Usage usage = RepoUsage(**table, now);
  auto checks = CheckLimits(c.profile, prepared, estimate, usage);
  if (!checks.ok()) return checks.status();
  const json estimate_json = EstimateJson(c.profile, estimate, usage, *checks);

  const bool ask = NeedsConfirmation(c.profile, estimate) && !confirmed;
  if (req.dry_run || ask) {
    json jobs = json::array();
    for (size_t i = 0; i < plans->size(); ++i) {
      const JobPlan& p = (*plans)[i];
      jobs.push_back({{"role", p.role},
                      {"script_path", p.request.script_path},
                      {"script", p.request.script},
                      {"stdout", p.stdout_template},
                      {"stderr", p.stderr_template},
                      {"array", p.request.array},
                      {"time", prepared[i].request.resources.time},
                      {"after", p.role == "main" && req.smoke
                                    ? "the smoke job succeeds (afterok)"
                                    : ""}});
    }
    const JobPlan& main = plans->back();
    json out{
        {"run_id", run_id},
        {"job_ids", json::array()},
        {"jobs", json::array()},
        {"state", req.dry_run ? "planned" : "awaiting_confirmation"},
        {"idempotent", false},
        {"dry_run", req.dry_run},
        {"script_path", main.request.script_path},
        {"log_paths",
         {{"stdout", main.stdout_template}, {"stderr", main.stderr_template}}},
        {"plan",
         {{"profile", c.profile.name},
          {"scheduler", c.profile.scheduler},
          {"depends_on_jobs", *deps},
          {"jobs", jobs}}},
        {"estimate", estimate_json}};
    if (req.dry_run) return out;
    auto token = NewConfirmToken();
    if (!token.ok()) return token.status();
    HPC_RETURN_IF_ERROR(
        store.Append("", "confirm_requested",
                     {{"token_sha256", ConfirmTokenDigest(*token)},
                      {"spec_hash", hash},
                      {"run_id", run_id},
                      {"gpu_hours", estimate.gpu_hours},
                      {"expires_at", now + kConfirmTtlSeconds}}));
    out["confirm"] = {
        {"token", *token},
        {"expires_in_s", kConfirmTtlSeconds},
        {"above_gpu_hours", *c.profile.limits.confirm_above_gpu_hours},
        {"gpu_hours", estimate.gpu_hours}};
    return out;
  }

  json created{{"name", req.name},
               {"profile", c.profile.name},
               {"scheduler", c.profile.scheduler},
               {"spec", req.spec},
               {"spec_hash", hash},
               {"workdir", plans->front().request.workdir},
               {"gpu_hours", estimate.gpu_hours},
               {"jobs", estimate.job_count}};
  // Spends the token: see confirm.h.
  if (confirmed)
    created["confirm_token_sha256"] = ConfirmTokenDigest(req.confirm_token);
  HPC_RETURN_IF_ERROR(store.Append(run_id, "created", std::move(created)));
  std::string smoke_id;
  for (auto& p : *plans) {
    if (p.role == "main") {
      p.request.after_ok = *deps;
      if (!smoke_id.empty()) p.request.after_ok.insert(p.request.after_ok.begin(), smoke_id);
    }
    Status s = Dispatch(store, c, run_id, 1, p, false);
    if (!s.ok()) {
      if (p.role == "main" && !smoke_id.empty() && s.reason() != "submit_answer_lost")
        (void)c.scheduler->Cancel({smoke_id});  // A canary for nothing.
      return s;
    }
    auto t = store.Load();
    if (!t.ok()) return t.status();
    if (p.role == "smoke") smoke_id = (*t)->runs.at(run_id).current()->Find("smoke")->job_id;
  }
  auto done = store.Load();
  if (!done.ok()) return done.status();
  json out = Describe((*done)->runs.at(run_id), false);
  out["estimate"] = estimate_json;
  return out;
}

Status ReconcileRun(RunStore& store, Cluster& c, const std::string& run_id, bool dispatch_missing,
                    bool locked) {
  std::optional<SubmitLock> lock;
  if (!locked) {
    auto l = store.TryLockSubmits();
    if (!l.ok()) return l.status();  // A submit is in flight: it will finish.
    lock.emplace(std::move(*l));
  }
  auto table = store.Load();
  if (!table.ok()) return table.status();
  auto it = (*table)->runs.find(run_id);
  if (it == (*table)->runs.end()) return NotFound("run " + run_id + " is not in the journal");
  if (it->second.state != kSubmitting) return Status::Ok();
  return ReconcileLocked(store, c, it->second, dispatch_missing && !it->second.cancel_requested);
}

}  // namespace hpc::runs
