// A submission's cost and the profile's limits on it (the profile's
// `limits:`, cluster/profile.h). Every limit is checked here and nowhere
// else: SubmitRun calls CheckLimits once the jobs are planned and prepared,
// before anything is journaled or reaches the scheduler, dry runs included.
// A violation is an error naming the limit, what was asked, what is
// allowed and the profile file to change; nothing is ever clamped to fit.
//
// The estimate is of what is requested, not what will be used: a job holds
// GPUs per node x nodes x array tasks x walltime hours. A run counts its
// whole estimate while it is active ("in flight") and, whatever became of
// it, in the rolling 24 hours after it was created ("per day"), unless the
// scheduler refused it. The estimate is journaled with the run (`created`),
// so the accounting replays what was checked even after the profile
// changes.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/cluster/profile.h"
#include "tools/cluster/scheduler.h"
#include "tools/runs/run.h"

namespace hpc::runs {

// One job of a submission after cluster::PrepareRequest (defaults filled,
// syntax checked).
struct PreparedJob {
  std::string role;  // "smoke" or "main".
  cluster::JobRequest request;
};

struct JobCost {
  std::string role;
  int nodes = 1;
  int gpus = 0;            // Per task: GPUs per node x nodes.
  int64_t tasks = 1;       // Array tasks; 1 when not an array.
  int64_t walltime_s = 0;  // 0: none asked (the scheduler's default).
  double gpu_hours = 0;    // gpus x tasks x walltime hours.
};

struct Estimate {
  std::vector<JobCost> jobs;
  double gpu_hours = 0;
  int64_t job_count = 0;  // Scheduler jobs, each array task counted.
  // A job asks for GPUs without a walltime: its GPU-hours are unknown.
  bool unbounded() const;
};

Estimate EstimateCost(const std::vector<PreparedJob>& jobs);

// What this repository's runs hold at `now` (unix seconds).
struct Usage {
  double gpu_hours_in_flight = 0;  // Active runs.
  double gpu_hours_last_day = 0;   // Created in (now - 24 h, now].
  int64_t jobs_in_flight = 0;      // Active runs' scheduler jobs.
};

Usage RepoUsage(const RunTable& table, int64_t now);

// One limit the profile sets, against one job (per-job limits) or the
// whole submission (job empty).
struct LimitCheck {
  std::string limit, job, requested, allowed;
  bool ok = true;
};

// Every limit `profile` sets, checked. ResourceExhausted (reason
// limit_exceeded) listing each violation when any fails.
// REQUIRES: `estimate` is EstimateCost(jobs).
Result<std::vector<LimitCheck>> CheckLimits(
    const cluster::ClusterProfile& profile,
    const std::vector<PreparedJob>& jobs, const Estimate& estimate,
    const Usage& usage);

// Whether `profile` wants a confirmation before submitting `estimate`.
bool NeedsConfirmation(const cluster::ClusterProfile& profile,
                       const Estimate& estimate);

// The submit tool's `estimate` object (schemas/tools/submit.json).
nlohmann::json EstimateJson(const cluster::ClusterProfile& profile,
                            const Estimate& estimate, const Usage& usage,
                            const std::vector<LimitCheck>& checks);

// "12", "2.5", "0.33": GPU-hours for messages.
std::string FormatHours(double hours);

}  // namespace hpc::runs
