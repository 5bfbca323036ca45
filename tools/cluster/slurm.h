// The Slurm backend: sbatch, squeue, sacct, scontrol, scancel, run through a
// Remote as argv vectors.
//
// Submit writes the script (with a generated block of environment exports)
// through Remote::WriteFileAtomic, creates the log directories (slurmd opens
// --output before the script runs; a missing directory fails the job with
// signal 53 and no log at all), then runs `sbatch --parsable`.
//
// Query asks `squeue --states=all` once for every id (it also shows jobs
// that ended within MinJobAge, with the controller's accurate reason), then
// sacct once for the ids the queue does not show, shows ended (for exit
// codes: squeue prints none) or shows as array tasks (finished tasks leave
// the queue). Where accounting is disabled it falls back to one
// `scontrol -o show job`; scontrol also fills exit codes that sacct does
// not have yet (it lags by seconds). An id no source knows stays kUnknown. Times are
// requested as epoch seconds (SLURM_TIME_FORMAT=%s) so that no time zone is
// guessed.
//
// FindByComment asks `squeue --me --states=all` (queued, running, and ended
// within MinJobAge) and sacct for the user's jobs of the last
// kFindByCommentDays days, and takes the union. Accounting keeps comments
// only where AccountingStoreFlags includes job_comment (as on the
// testbed); where it does not, or where accounting is disabled, jobs that
// left the queue more than MinJobAge ago are not found. Any other sacct
// failure is an error: a partial answer could have a lost submit submitted
// twice.
//
// Dependencies: JobRequest's after_ok, after_any and after_corr become one
// --dependency=afterok:..,afterany:..,aftercorr:.. (all must hold), and
// --kill-on-invalid-dep=yes goes with every dependency: without it a job
// whose afterok dependency failed, or an aftercorr element whose
// counterpart failed, pends forever (DependencyNeverSatisfied); with it
// Slurm cancels that job or that element alone (plain CANCELLED, never
// started), and Query reports cancelled with that reason. Slurm 22.05's
// accounting keeps the reason "Dependency" for such a job but "None" for
// such an element, so once the element has left the queue (MinJobAge)
// Query reports it cancelled without the reason.
//
// The functions in namespace slurm are the backend's pure parts (argv
// builders, output parsers, the state table), exposed for tests.
//
// Thread-safety: SlurmScheduler is thread-safe.
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

namespace slurm {

// The normalized state for a native one: long names ("OUT_OF_MEMORY"), the
// compact codes squeue's %t prints ("OOM"), and "CANCELLED by 1001". Unknown
// strings map to kUnknown.
JobState MapState(std::string_view native);

// The batch script as written: `script` with the environment block inserted
// after its #SBATCH header. REQUIRES: a request that passed PrepareRequest.
Result<std::string> RenderScript(const JobRequest& request);

// sbatch's argv for a prepared request (the script path last).
std::vector<std::string> SbatchArgv(const JobRequest& request);

// sbatch refused a job that --exclude's nodes: no other node could run it,
// or one of them no longer exists. Either way, without JobRequest::
// avoid_nodes it may be accepted.
bool ExcludedEveryNode(const remote::CommandResult& r);

// The job id from `sbatch --parsable` output ("123" or "123;cluster").
Result<std::string> ParseSbatchOutput(std::string_view out);

// Classifies a failed Slurm command: an unreachable controller is
// Unavailable with reason scheduler_unavailable; a rejected submission is
// InvalidArgument with reason submit_rejected and the scheduler's message.
Status CommandError(std::string_view command, const remote::CommandResult& r,
                    const std::string& where);

std::vector<std::string> SqueueArgv(const std::vector<std::string>& ids);
std::vector<std::string> SacctArgv(const std::vector<std::string>& ids);
// `scontrol -o show job [id]`: one job (an array: all its tasks), or with
// an empty id every job the controller holds.
std::vector<std::string> ScontrolArgv(const std::string& id);
std::vector<std::string> ScancelArgv(const std::vector<std::string>& ids);
// The user of job `id` (one line per queued task), queued or running only.
std::vector<std::string> SqueueOwnerArgv(const std::string& id);
// "12345" or "12345_7": what SqueueOwnerArgv and cancel take from an agent.
bool IsJobId(std::string_view id);

// Rows of `squeue --format=<SqueueArgv's format>`; compressed pending array
// ranges ("7_[2-4%2]") expand to one status per task. `utc_offset` is used
// only for timestamps not printed as epoch seconds.
std::vector<JobStatus> ParseSqueue(std::string_view out, int utc_offset);

// Rows of `sacct --parsable2 --noheader` with steps: one status per job or
// array task, the allocation row giving the state and the batch step
// filling in the signal where the allocation row shows 0:0 (cancelled and
// timed-out jobs).
std::vector<JobStatus> ParseSacct(std::string_view out, int utc_offset);

// Records of `scontrol -o show job` (one per line, "Key=Value ...").
std::vector<JobStatus> ParseScontrol(std::string_view out, int utc_offset);

// How far back FindByComment reads accounting: long enough to adopt any
// submit whose answer was lost, short enough that a busy user's sacct
// output stays small.
inline constexpr int kFindByCommentDays = 30;

// FindByComment's queue query: every job of the user, "%F|%k" (the array
// job id, which is the job id of a job that is not an array | the comment,
// "(null)" for none), one line per job, running array task or folded
// pending range.
std::vector<std::string> SqueueCommentsArgv();
// FindByComment's accounting query: "JobID|Comment" for every job and
// array task of the user eligible within the last `days` or later (sacct
// leaves Comment empty until a job starts or ends; squeue covers those).
std::vector<std::string> SacctCommentsArgv(int days);
// The job ids of the "ID|comment" rows of either query whose comment is
// exactly `comment`, once each, in order of appearance; array tasks ("7_3",
// "7_[1-4%2]") and steps map to their job ("7"). The comment is the rest
// of the line, so it may contain '|'.
std::vector<std::string> ParseCommentRows(std::string_view out,
                                          std::string_view comment);

// The statuses for `ids`, in order, from what each source said; array
// parents expand to their tasks. For a job both sources show ended,
// accounting gives state and exit code and the queue the reason; otherwise
// the queue (fresher) wins. Ids found nowhere are kUnknown.
std::vector<JobStatus> Merge(const std::vector<std::string>& ids,
                             const std::vector<JobStatus>& queue,
                             const std::vector<JobStatus>& accounting);

}  // namespace slurm

std::unique_ptr<Scheduler> MakeSlurmScheduler(
    const ClusterProfile& profile, std::shared_ptr<remote::Remote> remote);

}  // namespace hpc::cluster
