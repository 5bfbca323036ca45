// The Grid Engine backend (SGE 8.1 / Son of Grid Engine): qsub, qstat,
// qacct, qdel, run through a Remote as argv vectors.
//
// Submit writes the script (always a file: `qsub -b y cmd args` joins its
// arguments and runs them through a shell) with a generated block that
// exports the environment (`qsub -v` splits values at commas), records the
// job's exit status in the state root for dependents, and enforces afterok
// and aftercorr; it creates the log directories first (a missing one parks
// the job in Eqw forever), then runs `qsub -terse` with -N always (a name
// derived from the command line may be rejected).
//
// Dependencies: after_ok and after_any become -hold_jid, after_corr
// -hold_jid_ad (element i waits for element i), each on the base job ids.
// Both release a job when its predecessor ends *whatever its exit status*:
// afterany as it is. The generated block makes -hold_jid afterok and
// -hold_jid_ad aftercorr: each job writes <state>/sge/<id>.exit (an array
// task: <job>.<task>.exit) from an EXIT trap; a dependent checks the file
// of every after_ok predecessor (of each of its tasks, for an array) and,
// for each after_corr array, the file of its task with this task's
// SGE_TASK_ID; unless all say 0, it marks itself <id>.depfail, skips its
// body and exits kDependencyExitStatus; Query reports that as cancelled
// with reason DependencyNeverSatisfied. A predecessor killed by SIGKILL
// (qdel, h_rt) writes no file and counts as failed. A script that replaces
// the EXIT trap with its own loses the record, so its dependents are
// cancelled: fail-safe, never a false success. Grid Engine cannot tell
// qdel from `kill -9` in accounting (both: failed 100, exit 137), so
// Cancel leaves <id>.cancelled beside.
//
// FindByComment: the comment travels as job context (-ac
// hpc_mcp_comment=<comment>), which qstat shows only while the job is in
// the queue and qacct never keeps. So the generated block also records it
// in <state>/sge/<id>.comment when the job starts, and FindByComment takes
// the union of `qstat -xml -u $user` + `qstat -xml -j <those ids>`
// (queued and running jobs) and a grep of those files (jobs that started).
// A job deleted before it ever started is forgotten once it leaves the
// queue.
//
// Query: one `qstat -xml -g d` (XML: unambiguous fields; the plain format
// truncates names and shifts columns when ja-task-ID is empty), one
// `qstat -j` for jobs in Eqw (the error reason), one shell loop of
// `qacct -j` for jobs gone from the queue (qacct takes one job per call),
// and one `sh -c` test of the few marker files that may decide an outcome.
//
// Thread-safety: SgeScheduler is thread-safe.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"
#include "tools/cluster/profile.h"
#include "tools/cluster/scheduler.h"
#include "tools/remote/remote.h"

namespace hpc::cluster {

namespace sge {

// Exit status of a job that did not run because a dependency failed.
inline constexpr int kDependencyExitStatus = 113;

// The state for qstat's state letters ("qw", "hqw", "r", "t", "Eqw", "dr",
// "s", "Rr"...).
JobState MapQstatState(std::string_view letters);

// The state for an accounting record: `failed` is qacct's field ("0",
// "37  : qmaster enforced h_rt...", "100 : assumedly after job").
JobStatus MapAccounting(std::string_view failed, int exit_status);

// The script as submitted. `state_dir` is <state root>/sge.
Result<std::string> RenderScript(const JobRequest& request,
                                 const std::string& state_dir);

// qsub's argv for a prepared request; InvalidArgument for what Grid Engine
// cannot express (task ids from 0, id lists, QOS, multi-node, ':' in log
// paths, which qsub reads as host:path).
Result<std::vector<std::string>> QsubArgv(const JobRequest& request);

// The job id from `qsub -terse` ("12", arrays "8.1-100:1").
Result<std::string> ParseQsubOutput(std::string_view out);

// qsub -w e refused the job: no queue could run it (e.g. one that avoids
// JobRequest::avoid_nodes, when those are the only hosts).
bool NoSuitableQueue(const remote::CommandResult& r);

Status CommandError(std::string_view command, const remote::CommandResult& r,
                    const std::string& where);

std::vector<std::string> QstatArgv();
// Statuses from `qstat -xml -g d` ("8.3" for array tasks).
Result<std::vector<JobStatus>> ParseQstatXml(std::string_view xml,
                                             int utc_offset);

std::vector<std::string> QstatJobArgv(const std::vector<std::string>& ids);
// "<job>.<task>" or "<job>" -> first error reason, from `qstat -j` output.
std::map<std::string, std::string> ParseErrorReasons(std::string_view out);
// The owner: line of `qstat -j` text output (one job); empty if none.
std::string ParseOwner(std::string_view out);

std::vector<std::string> QacctArgv(const std::vector<std::string>& ids);
// One status per record of `qacct -j` output (the last record per job and
// task wins: a rescheduled job has several).
std::vector<JobStatus> ParseQacct(std::string_view out, int utc_offset);

// Applies Cancel's and the dependency check's markers (file names in the
// state directory) to statuses that ended by a kill, by the dependency exit
// status, or are unknown.
void ApplyMarkers(const std::set<std::string>& files,
                  std::vector<JobStatus>* statuses);

std::vector<std::string> QdelArgv(const std::vector<std::string>& ids);

// The job context variable that carries JobRequest::comment.
inline constexpr char kCommentVariable[] = "hpc_mcp_comment";

// FindByComment's queue query: every job of the user, arrays folded
// (`qstat -xml -u $user`, no -g d).
std::vector<std::string> QstatUserArgv();
// The job numbers in `qstat -xml` output, once each, in order.
Result<std::vector<std::string>> ParseQstatJobNumbers(std::string_view xml);
// `qstat -xml -j 1,2,3`: the full record of each job, context included.
// REQUIRES: `ids` non-empty.
std::vector<std::string> QstatContextArgv(const std::vector<std::string>& ids);
// The jobs of `qstat -xml -j` output whose context has
// kCommentVariable=`comment`. Grid Engine 8.1.9 writes '<' in a value as
// "%lt;" (not "&lt;"); a value read back that way matches too. Ids qstat
// no longer knows (<unknown_jobs>) are simply absent.
Result<std::vector<std::string>> ParseJobsWithComment(std::string_view xml,
                                                      std::string_view comment);
// A constant `sh -c` script that prints the <state_dir>/<id>.comment files
// (written by the generated block) whose one line is `comment`; nothing
// when the directory does not exist.
std::vector<std::string> CommentFilesArgv(const std::string& state_dir,
                                          const std::string& comment);
// The job ids of the files CommentFilesArgv printed.
std::vector<std::string> ParseCommentFiles(std::string_view out);

// The statuses for `ids`, in order; array parents expand to their tasks.
std::vector<JobStatus> Merge(const std::vector<std::string>& ids,
                             const std::vector<JobStatus>& queue,
                             const std::vector<JobStatus>& accounting);

}  // namespace sge

std::unique_ptr<Scheduler> MakeSgeScheduler(
    const ClusterProfile& profile, std::shared_ptr<remote::Remote> remote);

}  // namespace hpc::cluster
