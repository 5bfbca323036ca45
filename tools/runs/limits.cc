#include "tools/runs/limits.h"

#include <algorithm>
#include <cstdio>

#include "tools/cluster/job_request.h"

namespace hpc::runs {
namespace {

using nlohmann::json;

constexpr int64_t kDay = 24 * 3600;

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Collects the checks; a limit the profile does not set is not listed.
class Checker {
 public:
  void Add(std::string limit, std::string job, std::string requested,
           std::string allowed, bool ok) {
    checks_.push_back({std::move(limit), std::move(job), std::move(requested),
                       std::move(allowed), ok});
  }
  // An allowed_* list against one job's value; empty means "the
  // scheduler's default", which cannot be shown to be allowed.
  void Allowed(const char* limit, const std::string& job,
               const std::string& value,
               const std::vector<std::string>& allowed) {
    if (allowed.empty()) return;
    bool ok = std::find(allowed.begin(), allowed.end(), value) != allowed.end();
    Add(limit, job, value.empty() ? "none (the scheduler's default)" : value,
        Joined(allowed), ok);
  }
  // GPU-hours of this submission plus what `held` already counts.
  void GpuHours(const char* limit, std::optional<double> max, const Estimate& e,
                double held, const char* held_what) {
    if (!max) return;
    if (e.unbounded()) {
      Add(limit, "", "unknown: a job asks for GPUs without a walltime",
          FormatHours(*max) + " GPU-hours", false);
      return;
    }
    Add(limit, "",
        FormatHours(e.gpu_hours + held) + " GPU-hours (" +
            FormatHours(e.gpu_hours) + " for this submission + " +
            FormatHours(held) + " " + held_what + ")",
        FormatHours(*max) + " GPU-hours", e.gpu_hours + held <= *max + 1e-9);
  }
  const std::vector<LimitCheck>& checks() const { return checks_; }

 private:
  std::vector<LimitCheck> checks_;
};

}  // namespace

bool Estimate::unbounded() const {
  return std::any_of(jobs.begin(), jobs.end(), [](const JobCost& j) {
    return j.gpus > 0 && j.walltime_s == 0;
  });
}

Estimate EstimateCost(const std::vector<PreparedJob>& jobs) {
  Estimate e;
  for (const auto& j : jobs) {
    const cluster::Resources& res = j.request.resources;
    JobCost c;
    c.role = j.role;
    c.nodes = std::max(res.nodes, 1);
    c.gpus = res.gpus * c.nodes;
    if (!j.request.array.empty())
      if (auto a = cluster::ParseArraySpec(j.request.array); a.ok())
        c.tasks = static_cast<int64_t>(a->tasks.size());
    if (!res.time.empty())
      if (auto t = cluster::ParseWalltime(res.time); t.ok()) c.walltime_s = *t;
    c.gpu_hours = static_cast<double>(c.gpus) * static_cast<double>(c.tasks) *
                  static_cast<double>(c.walltime_s) / 3600.0;
    e.gpu_hours += c.gpu_hours;
    e.job_count += c.tasks;
    e.jobs.push_back(std::move(c));
  }
  return e;
}

Usage RepoUsage(const RunTable& table, int64_t now) {
  Usage u;
  for (const auto& [id, run] : table.runs) {
    if (run.active()) {
      u.gpu_hours_in_flight += run.gpu_hours;
      u.jobs_in_flight += run.job_count;
    }
    const int64_t created = ParseTs(run.created_at);
    if (run.state != kSubmitFailed && created > now - kDay && created <= now)
      u.gpu_hours_last_day += run.gpu_hours;
  }
  return u;
}

Result<std::vector<LimitCheck>> CheckLimits(
    const cluster::ClusterProfile& profile,
    const std::vector<PreparedJob>& jobs, const Estimate& estimate,
    const Usage& usage) {
  const cluster::Limits& l = profile.limits;
  Checker c;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const cluster::Resources& res = jobs[i].request.resources;
    const JobCost& cost = estimate.jobs[i];
    const std::string& job = jobs[i].role;
    if (!l.max_walltime.empty()) {
      auto max = cluster::ParseWalltime(l.max_walltime);
      c.Add("max_walltime", job,
            res.time.empty() ? "none (the scheduler's default)" : res.time,
            max.ok() ? l.max_walltime
                     : l.max_walltime +
                           " (unreadable: write HH:MM:SS or D-HH:MM:SS)",
            !res.time.empty() && max.ok() && cost.walltime_s <= *max);
    }
    if (l.max_array_size > 0 && !jobs[i].request.array.empty())
      c.Add("max_array_size", job, std::to_string(cost.tasks) + " array tasks",
            std::to_string(l.max_array_size), cost.tasks <= l.max_array_size);
    if (l.max_nodes)
      c.Add("max_nodes", job, std::to_string(cost.nodes),
            std::to_string(*l.max_nodes), cost.nodes <= *l.max_nodes);
    if (l.max_gpus)
      c.Add("max_gpus", job,
            std::to_string(cost.gpus) + " GPUs (" + std::to_string(res.gpus) +
                " per node x " + std::to_string(cost.nodes) + " nodes)",
            std::to_string(*l.max_gpus), cost.gpus <= *l.max_gpus);
    c.Allowed("allowed_partitions", job, res.partition, l.allowed_partitions);
    c.Allowed("allowed_accounts", job, res.account, l.allowed_accounts);
    c.Allowed("allowed_qos", job, res.qos, l.allowed_qos);
  }
  if (l.max_jobs_in_flight)
    c.Add("max_jobs_in_flight", "",
          std::to_string(estimate.job_count + usage.jobs_in_flight) +
              " jobs (" + std::to_string(estimate.job_count) +
              " for this submission + " + std::to_string(usage.jobs_in_flight) +
              " of active runs)",
          std::to_string(*l.max_jobs_in_flight),
          estimate.job_count + usage.jobs_in_flight <= *l.max_jobs_in_flight);
  c.GpuHours("max_gpu_hours_in_flight", l.max_gpu_hours_in_flight, estimate,
             usage.gpu_hours_in_flight, "of active runs");
  c.GpuHours("max_gpu_hours_per_day", l.max_gpu_hours_per_day, estimate,
             usage.gpu_hours_last_day, "submitted in the last 24 hours");
  if (l.confirm_above_gpu_hours && estimate.unbounded())
    c.Add("confirm_above_gpu_hours", "",
          "unknown: a job asks for GPUs without a walltime",
          FormatHours(*l.confirm_above_gpu_hours) + " GPU-hours", false);

  std::string violations;
  bool retry_later = false;
  for (const auto& k : c.checks()) {
    if (k.ok) continue;
    violations += "\n- " + k.limit +
                  (k.job.empty() ? "" : " (" + k.job + " job)") +
                  ": requested " + k.requested + "; allowed " + k.allowed;
    retry_later = retry_later || k.limit == "max_jobs_in_flight" ||
                  k.limit == "max_gpu_hours_in_flight" ||
                  k.limit == "max_gpu_hours_per_day";
  }
  if (violations.empty()) return c.checks();
  return ResourceExhausted(
             "profile " + profile.name + " (" + profile.source +
             ") does not allow this submission; nothing was submitted." +
             violations)
      .WithReason(
          "limit_exceeded", retry_later,
          "ask for less (a walltime, partition, account or qos the profile "
          "allows; "
          "fewer GPUs, nodes or array tasks)" +
              std::string(retry_later ? ", or wait for active runs to end"
                                      : "") +
              ", or have the limit raised in the profile's limits: section "
              "in " +
              profile.source + ". Limits are never relaxed by the server");
}

bool NeedsConfirmation(const cluster::ClusterProfile& profile,
                       const Estimate& estimate) {
  const auto& t = profile.limits.confirm_above_gpu_hours;
  return t && estimate.gpu_hours > *t;
}

json EstimateJson(const cluster::ClusterProfile& profile, const Estimate& e,
                  const Usage& u, const std::vector<LimitCheck>& checks) {
  json jobs = json::array();
  for (const auto& j : e.jobs)
    jobs.push_back({{"role", j.role},
                    {"gpus", j.gpus},
                    {"nodes", j.nodes},
                    {"tasks", j.tasks},
                    {"walltime_s", j.walltime_s},
                    {"gpu_hours", j.gpu_hours}});
  json limits = json::array();
  for (const auto& k : checks)
    limits.push_back({{"limit", k.limit},
                      {"job", k.job},
                      {"requested", k.requested},
                      {"allowed", k.allowed},
                      {"ok", k.ok}});
  return {{"gpu_hours", e.gpu_hours},
          {"jobs", e.job_count},
          {"per_job", jobs},
          {"gpu_hours_in_flight", u.gpu_hours_in_flight},
          {"gpu_hours_last_24h", u.gpu_hours_last_day},
          {"jobs_in_flight", u.jobs_in_flight},
          {"limits_checked", limits},
          {"needs_confirmation", NeedsConfirmation(profile, e)},
          {"profile_source", profile.source}};
}

std::string FormatHours(double hours) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", hours);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace hpc::runs
