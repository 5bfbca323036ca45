// What every backend checks and renders the same way before submitting a
// JobRequest: walltime, memory and array syntax, names, absolute paths,
// environment keys, profile defaults, and the generated block of shell
// lines (environment exports) placed into a batch script. The profile's
// limits are not checked here but in runs::CheckLimits (runs/limits.h),
// the one place that knows the whole submission and the repository's runs.
//
// Environment values are written into the script as `export K=<quoted>`
// lines quoted by remote::ShellQuote rather than passed on the submit
// command line: `sbatch --export` and `qsub -v` both split their argument at
// commas, so a value such as "a,b=c" would silently become two variables.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"
#include "tools/cluster/profile.h"
#include "tools/cluster/scheduler.h"
#include "tools/remote/remote.h"

namespace hpc::cluster {

// Resources from the `resources` object of a tool's arguments or a sweep
// (schemas/tools/submit.json's vocabulary, already schema-checked); absent
// fields keep the scheduler's defaults.
Resources ResourcesFromJson(const nlohmann::json& r);

// Seconds in "HH:MM:SS" or "D-HH:MM:SS" (hours may exceed 23 without days).
Result<int64_t> ParseWalltime(std::string_view text);
// "H:MM:SS" with as many hours as needed (Grid Engine's h_rt syntax).
std::string FormatHms(int64_t seconds);

// Mebibytes in "500M", "4G", "1T", "2048K" or a bare number of megabytes.
Result<int64_t> ParseMemoryMiB(std::string_view text);

// "0-9%2", "1,3,5", "1-10:2", "1-3,7%4": the task ids, in the order given.
struct ArraySpec {
  std::vector<int64_t> tasks;
  int max_parallel = 0;       // After '%'; 0: no limit.
  // Set when the spec is one range "a-b[:s]" or a single id (what Grid
  // Engine's -t accepts).
  bool single_range = false;
  int64_t first = 0, last = 0, step = 1;
};
// At most `max_tasks` tasks (0: a built-in cap of 1,000,000).
Result<ArraySpec> ParseArraySpec(std::string_view spec, size_t max_tasks = 0);

// The request with empty resource fields filled from the profile's defaults,
// checked against the rules every backend shares:
// job name of letters, digits and -_. ; absolute paths free of control
// characters; environment keys that are shell identifiers, values without
// NUL; a script that starts with "#!"; array syntax; dependency ids of
// letters, digits and -_. ; after_corr only on an array, naming array jobs
// (not "<job>_<task>" or "<job>.<task>").
Result<JobRequest> PrepareRequest(const ClusterProfile& profile,
                                  JobRequest request);

// Whether the script's "#!" line names a POSIX-family shell (sh, bash, dash,
// ksh, zsh; directly or through env), so that generated shell lines can be
// inserted into it.
bool IsShellScript(std::string_view script);
// The interpreter path of the "#!" line without arguments ("/bin/bash"), or
// empty when it goes through env or there is none.
std::string ShebangPath(std::string_view script);

// `block` inserted after the script's header (the "#!" line and the comment
// and blank lines after it), so the scheduler still sees every #SBATCH / #$
// directive: both stop reading directives at the first command line.
std::string InsertAfterHeader(std::string_view script, std::string_view block);

// "export K=<ShellQuote(v)>\n" for each entry, in key order.
std::string ExportLines(const std::map<std::string, std::string>& env);

// The directory part of an absolute path ("/a/b/c.log" -> "/a/b").
std::string Dirname(std::string_view path);

// InvalidArgument when the directory part of `path` contains `marker`
// (a backend's placeholder character: '%' for Slurm, '$' for Grid Engine):
// log directories are created before submission, so their names must be
// known then.
Status CheckDirHasNoPlaceholder(std::string_view field, std::string_view path,
                                char marker);

// Runs `mkdir -p -- dirs...` (no login shell) so that a job's log directory
// exists before the scheduler opens its output files (a missing one fails a
// Slurm job in a second with signal 53 and no log; Grid Engine parks the job
// in Eqw forever).
Status MakeDirs(remote::Remote& remote, std::vector<std::string> dirs);

// The claim protocol of JobRequest::submit_lock and submit_token. flock
// alone cannot tell a submit that has not reached the lock yet from one never
// sent: the command of a server killed mid-submit can take the lock after
// the server that replaced it waited for the lock, found no job and
// submitted again (sshd runs a command it received although its client is
// gone; a login shell is slow to start). So the lock guards a claim file
// (<lock>.claim) naming the one dispatch allowed to submit:
//  - UnderSubmitLock: `argv` run under `flock -w 600 <r.submit_lock>` once
//    the claim names r.submit_token; with no claim yet it claims it first;
//    with another token it exits without running `argv` (CheckSubmitClaim).
//    Without a lock, `argv` itself; without a token, under the bare lock.
//  - ClaimSubmitLockArgv: under the lock, makes the claim name
//    r.submit_token whatever it named. Once it has run, a submit still on its
//    way can no longer create a job: every job earlier dispatches created
//    exists.
std::vector<std::string> UnderSubmitLock(const JobRequest& r,
                                         std::vector<std::string> argv);
std::vector<std::string> ClaimSubmitLockArgv(const JobRequest& r);
// A fresh submit_token.
std::string NewSubmitToken();
// OK unless `r` is the answer of a submit UnderSubmitLock refused because
// another dispatch holds the claim: no job was created by it, but the other
// dispatch may have created one, so the error is not definite (reason
// submit_superseded). `where` names the cluster.
Status CheckSubmitClaim(const remote::CommandResult& r,
                        const std::string& where);

// Runs a scheduler command. An error Status when it could not be run; a
// FailedPrecondition (reason scheduler_missing) when the shell could not
// find it (exit 127), naming `what` ("Slurm", "Grid Engine") and pointing at
// the profile's setup lines.
Result<remote::CommandResult> RunSchedulerCommand(
    remote::Remote& remote, const std::vector<std::string>& argv,
    const remote::RunOptions& options, std::string_view what);

// The first `max_lines` non-empty lines of a command's stderr (else stdout),
// joined by "; " and trimmed, for error messages.
std::string CommandMessage(const remote::CommandResult& r,
                           size_t max_lines = 3);

}  // namespace hpc::cluster
