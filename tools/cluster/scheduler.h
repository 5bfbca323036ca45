// A batch scheduler, reached through a Remote: submit, query many jobs in one
// call, cancel. Backends are argv builders + output parsers + a state table
// (slurm.cc, sge.cc); `local` and `host` run jobs under a small wrapper that
// records start, end and exit code in files (job_wrapper.h).
//
// Thread-safety: implementations are thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/cluster/job_state.h"
#include "tools/cluster/profile.h"
#include "tools/remote/remote.h"

namespace hpc::cluster {

struct Resources {
  std::string time;  // Walltime "HH:MM:SS" or "D-HH:MM:SS".
  int cpus = 0, gpus = 0, nodes = 0;  // 0: scheduler default.
  std::string mem;   // "4G", "500M".
  std::string partition, account, qos, constraint;
};

struct JobRequest {
  std::string name;         // Job name (letters, digits, -_.).
  std::string script;       // Batch script body (#! line included).
  std::string script_path;  // Where the script is written (absolute).
  std::string workdir;      // Absolute.
  std::string stdout_path, stderr_path;  // Absolute; may contain %A/%a style
                                         // placeholders of the backend.
  Resources resources;
  std::string array;                 // "0-9%2", "1,3,5"; empty: no array.
  // Job ids this job waits for; it runs only if all of them succeeded
  // (Slurm afterok), else the backend cancels it with reason
  // DependencyNeverSatisfied.
  std::vector<std::string> after_ok;
  // Job ids this job waits for until they ended, however (Slurm afterany,
  // Grid Engine -hold_jid without the success check).
  std::vector<std::string> after_any;
  // Array jobs this array waits for element by element: element i starts
  // once element i of each of them succeeded (Slurm aftercorr, Grid Engine
  // -hold_jid_ad plus the success check); an element whose counterpart did
  // not succeed is cancelled as after_ok's job is. REQUIRES: this request is
  // an array with the same task ids as each of them.
  std::vector<std::string> after_corr;
  std::string comment;               // Our run tag, visible in the queue.
  // Absolute path on the cluster; when set, the submit command runs under
  // `flock` on it, so that a submit still in flight after its caller died
  // holds the lock until it has finished (see runs/submitter.h).
  std::string submit_lock;
  // With submit_lock: this dispatch's claim on it (random, one per process
  // that plans the job). The command runs only while the lock's claim file
  // names this token, so a submit still on its way when a newer dispatch
  // claimed the lock never runs (UnderSubmitLock, ClaimSubmitLockArgv).
  std::string submit_token;
  std::map<std::string, std::string> env;  // Exported to the job.
  // Host and local backends with GPU placement (profile gpus.placement):
  // GPUs a task takes only when no others are free, e.g. those a retried
  // task ran out of memory on. Ignored elsewhere.
  std::vector<int> avoid_gpus;
  // Slurm and Grid Engine: nodes a retried task should not run on (those
  // its failed attempt ran on; Slurm hostlists such as "gpu[01-02]" too).
  // A preference: when the scheduler refuses the job because no other node
  // could run it (a one-node partition), it is submitted without them.
  // Ignored by host and local.
  std::vector<std::string> avoid_nodes;
};

// Who holds a job that is still queued or running (JobOwner::active), as
// the scheduler says, and who the Remote logs in as.
struct JobOwner {
  bool active = false;  // False: ended, purged, or never existed.
  std::string owner;    // The job's user; empty when !active.
  std::string me;       // The user the Remote logs in as.
  bool mine() const { return active && owner == me; }
};

struct SubmitResult {
  std::string job_id;
  std::string native_output;  // What the submit command printed.
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual std::string name() const = 0;  // "slurm", "sge", "local", "host"

  // Writes the script through the Remote and submits it.
  virtual Result<SubmitResult> Submit(const JobRequest& request) = 0;

  // The status of each id, in order, with as few scheduler commands as the
  // backend allows (Slurm: one squeue for all, one sacct for those gone from
  // the queue). An id that no source knows is kUnknown, never kCompleted.
  // Array parents expand to one status per task.
  virtual Result<std::vector<JobStatus>> Query(
      const std::vector<std::string>& job_ids) = 0;

  virtual Status Cancel(const std::vector<std::string>& job_ids) = 0;
  // The owner of `job_id` while it is queued or running. Asked before a job
  // that no run of the journal started is cancelled: hpc-mcp never cancels
  // another user's job, whatever its profile allows (the scheduler may well
  // let an operator or a coordinator do it).
  virtual Result<JobOwner> Owner(const std::string& job_id) = 0;

  // The ids of this user's jobs whose comment (JobRequest::comment, our run
  // tag) equals `comment`, whether queued, running or ended (as far back as
  // the scheduler remembers: Slurm accounting, Grid Engine's queue and our
  // exit files, the wrapper's job directories). Array jobs are reported once
  // by their parent id. This is how a submit whose answer was lost is found
  // and adopted instead of submitted twice.
  virtual Result<std::vector<std::string>> FindByComment(
      const std::string& comment) = 0;
};

// The user `remote` logs in as (`id -un` there).
Result<std::string> RemoteUser(remote::Remote& remote);

// The backend `profile.scheduler` names, running its commands through
// `remote`.
Result<std::unique_ptr<Scheduler>> MakeScheduler(
    const ClusterProfile& profile, std::shared_ptr<remote::Remote> remote);

}  // namespace hpc::cluster
