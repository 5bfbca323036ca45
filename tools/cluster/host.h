// The `host` backend: jobs on a machine without a batch scheduler (a bare
// GPU box reached over SSH), run detached under the job wrapper
// (cluster_profiles/templates/job_wrapper.sh, see job_wrapper.h) which
// records start, end, exit code and signal in files under
// <state root>/jobs/<id>/, creates log directories before redirecting output,
// enforces the profile's concurrency limit (flock slots) and an array's own
// %N limit, waits for dependencies, and handles cancellation. Dependencies
// (JobRequest): afterok waits for every task of each job and runs only if
// all succeeded; afterany waits until every task ended, however; aftercorr
// waits for the task of each array with this task's id ("<dep>_<task>")
// and runs only if it succeeded. A task whose afterok or aftercorr
// dependency did not succeed, or whose dependency does not exist, ends
// cancelled with reason DependencyNeverSatisfied.
//
// Everything goes through the Remote, so `local` (local.h) is this backend
// over a LocalRemote. Job ids are "<epoch seconds>-<6 hex digits>"; array
// tasks are "<id>_<task>" as on Slurm.
//
// Each operation is one remote command: Submit writes three files (script,
// spec, env) and runs `job_wrapper launch`; Query runs `job_wrapper query`
// for all ids; Cancel runs `job_wrapper cancel`; FindByComment runs
// `job_wrapper find`, which reads the comment from each job's spec (jobs
// are kept until their directories are removed).
//
// Memory requests are not enforced (no cgroup is assumed); GPUs are not
// assigned (the concurrency limit is the tool to share a box's GPUs).
//
// Thread-safety: the scheduler is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"
#include "tools/cluster/profile.h"
#include "tools/cluster/scheduler.h"
#include "tools/remote/remote.h"

namespace hpc::cluster {

namespace host {

// A fresh job id: "<epoch seconds>-<6 hex digits>".
std::string NewJobId();

// Whether `id` has the shape of a job or task id of this backend (so it can
// name a directory without escaping the state root).
bool IsJobId(std::string_view id);

// JOBDIR/spec for a prepared request (settings the runner sources).
// With `gpus.nvidia_smi`, a request for GPUs is placed by the wrapper
// (gpus.h).
Result<std::string> RenderSpec(const JobRequest& request, const std::string& id,
                               int max_concurrent_jobs, const GpuPlacement& gpus = {});
// JOBDIR/env: the job's environment as export lines.
std::string RenderEnv(const JobRequest& request);
// JOBDIR/tasks.list: "main", or one array task id per line.
Result<std::string> RenderTaskList(const JobRequest& request);

// Lines of `job_wrapper query`: id, state, exit, signal, start, end, reason
// and, for a task placed on GPUs, their indices, separated by tabs. The
// GPUs go to JobStatus::nodes as "gpu:0,2".
std::vector<JobStatus> ParseQueryOutput(std::string_view out);

// The job ids `job_wrapper find` printed, once each, sorted (submission
// order: ids start with the epoch second).
std::vector<std::string> ParseFindOutput(std::string_view out);

}  // namespace host

// `name` is what name() reports: "host", or "local" for MakeLocalScheduler.
std::unique_ptr<Scheduler> MakeHostScheduler(
    const ClusterProfile& profile, std::shared_ptr<remote::Remote> remote,
    std::string name = "host");

}  // namespace hpc::cluster
