#include "tools/cluster/slurm.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "tools/cluster/job_request.h"
#include "tools/cluster/text.h"

namespace hpc::cluster {
namespace {

class SlurmScheduler : public Scheduler {
 public:
  static constexpr size_t kMaxScontrolCalls = 8;

  SlurmScheduler(ClusterProfile profile, std::shared_ptr<remote::Remote> remote)
      : profile_(std::move(profile)), remote_(std::move(remote)) {}

  std::string name() const override { return "slurm"; }

  Result<SubmitResult> Submit(const JobRequest& request) override {
    auto prepared = PrepareRequest(profile_, request);
    if (!prepared.ok()) return prepared.status();
    const JobRequest& r = *prepared;
    HPC_RETURN_IF_ERROR(CheckDirHasNoPlaceholder("stdout_path", r.stdout_path, '%'));
    HPC_RETURN_IF_ERROR(CheckDirHasNoPlaceholder("stderr_path", r.stderr_path, '%'));
    auto script = slurm::RenderScript(r);
    if (!script.ok()) return script.status();
    HPC_RETURN_IF_ERROR(remote_->WriteFileAtomic(r.script_path, *script, 0755));
    HPC_RETURN_IF_ERROR(MakeDirs(
        *remote_, {Dirname(r.stdout_path), Dirname(r.stderr_path), r.workdir}));
    auto res = RunSchedulerCommand(
        *remote_, UnderSubmitLock(r, slurm::SbatchArgv(r)), Options(), "Slurm");
    if (res.ok() && !r.avoid_nodes.empty() && slurm::ExcludedEveryNode(*res)) {
      // Only the avoided nodes could run it: the preference yields. The
      // refused sbatch created no job.
      JobRequest anywhere = r;
      anywhere.avoid_nodes.clear();
      res = RunSchedulerCommand(*remote_,
                                UnderSubmitLock(r, slurm::SbatchArgv(anywhere)),
                                Options(), "Slurm");
    }
    if (!res.ok()) return res.status();
    HPC_RETURN_IF_ERROR(CheckSubmitClaim(*res, remote_->Describe()));
    if (!res->ok()) return slurm::CommandError("sbatch", *res, remote_->Describe());
    auto id = slurm::ParseSbatchOutput(res->out);
    if (!id.ok()) return id.status();
    return SubmitResult{*id, res->out};
  }

  Result<std::vector<JobStatus>> Query(
      const std::vector<std::string>& ids) override {
    if (ids.empty()) return std::vector<JobStatus>{};
    for (const auto& id : ids)
      if (id.empty() || id[0] == '-' || id.find(',') != std::string::npos)
        return InvalidArgument("\"" + id + "\" is not a Slurm job id");
    // Times come as epoch seconds (SLURM_TIME_FORMAT); should a site's
    // Slurm ignore it, its ISO times are read as this machine's local time.
    const int offset = text::LocalUtcOffset();

    auto q = RunSchedulerCommand(*remote_, slurm::SqueueArgv(ids), Options(),
                                 "Slurm");
    if (!q.ok()) return q.status();
    std::vector<JobStatus> queue;
    if (q->ok()) {
      queue = slurm::ParseSqueue(q->out, offset);
    } else if (!text::Contains(q->err, "Invalid job id specified")) {
      // squeue with a single purged id fails; with several it filters.
      return slurm::CommandError("squeue", *q, remote_->Describe());
    }

    // Accounting for ids not in the queue, array parents (finished tasks
    // leave it) and jobs the queue shows ended (for their exit codes).
    std::vector<std::string> missing;
    for (const auto& id : ids) {
      bool exact = false, tasks = false, ended = false;
      for (const auto& s : queue) {
        bool mine = s.job_id == id;
        bool task = !mine && s.job_id.size() > id.size() &&
                    s.job_id.compare(0, id.size() + 1, id + "_") == 0;
        exact = exact || mine;
        tasks = tasks || task;
        ended = ended || ((mine || task) && IsTerminal(s.state));
      }
      if (!exact || tasks || ended) missing.push_back(id);
    }
    std::vector<JobStatus> accounting;
    if (!missing.empty()) {
      auto acct = Accounting(missing, offset);
      if (!acct.ok()) return acct.status();
      accounting = std::move(*acct);
    }
    std::vector<JobStatus> merged = slurm::Merge(ids, queue, accounting);

    // Ended in the queue but not yet in sacct: the controller still has
    // the exit code. scontrol takes one job per call (an array job shows
    // all its tasks), so only a few are asked; sacct catches up by the next
    // poll for the rest.
    std::vector<std::string> need_exit;
    for (const auto& s : merged) {
      if (!IsTerminal(s.state) || s.exit_code) continue;
      std::string base = s.job_id.substr(0, s.job_id.find('_'));
      if (std::find(need_exit.begin(), need_exit.end(), base) == need_exit.end())
        need_exit.push_back(base);
    }
    if (!accounting_disabled_.load() && need_exit.size() <= kMaxScontrolCalls) {
      for (const auto& base : need_exit) {
        auto r = RunSchedulerCommand(*remote_, slurm::ScontrolArgv(base),
                                     Options(), "Slurm");
        if (!r.ok() || !r->ok()) continue;
        for (const auto& h : slurm::ParseScontrol(r->out, offset)) {
          for (auto& s : merged) {
            if (h.job_id != s.job_id || s.exit_code || !h.exit_code) continue;
            s.exit_code = h.exit_code;
            s.signal = h.signal;
            if (!s.end_time) s.end_time = h.end_time;
          }
        }
      }
    }
    return merged;
  }

  Result<JobOwner> Owner(const std::string& id) override {
    if (!slurm::IsJobId(id))
      return InvalidArgument("\"" + id + "\" is not a Slurm job id (12345 or 12345_7)");
    auto me = RemoteUser(*remote_);
    if (!me.ok()) return me.status();
    JobOwner o;
    o.me = *me;
    auto q = RunSchedulerCommand(*remote_, slurm::SqueueOwnerArgv(id),
                                 Options(), "Slurm");
    if (!q.ok()) return q.status();
    if (!q->ok()) {
      if (text::Contains(q->err, "Invalid job id specified")) return o;
      return slurm::CommandError("squeue", *q, remote_->Describe());
    }
    // One row per queued task of an array: the same user on each.
    for (std::string_view line : text::Lines(q->out)) {
      std::string_view user = text::Trim(line);
      if (user.empty()) continue;
      o.active = true;
      o.owner = std::string(user);
      break;
    }
    return o;
  }

  Result<std::vector<std::string>> FindByComment(
      const std::string& comment) override {
    // squeue prints "(null)" for a job without a comment: that comment
    // would find every such job.
    if (comment.empty() || comment == "(null)" ||
        std::any_of(comment.begin(), comment.end(),
                    [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
      return InvalidArgument("cannot search Slurm jobs by the comment \"" +
                             comment +
                             "\": it must be non-empty text on one line");
    auto q = RunSchedulerCommand(*remote_, slurm::SqueueCommentsArgv(),
                                 Options(), "Slurm");
    if (!q.ok()) return q.status();
    if (!q->ok()) return slurm::CommandError("squeue", *q, remote_->Describe());
    std::vector<std::string> ids = slurm::ParseCommentRows(q->out, comment);

    if (!accounting_disabled_.load()) {
      auto a = RunSchedulerCommand(
          *remote_, slurm::SacctCommentsArgv(slurm::kFindByCommentDays),
          Options(), "Slurm");
      if (!a.ok()) return a.status();
      if (a->ok()) {
        for (auto& id : slurm::ParseCommentRows(a->out, comment))
          if (std::find(ids.begin(), ids.end(), id) == ids.end())
            ids.push_back(std::move(id));
      } else if (text::Contains(a->err, "accounting storage is disabled")) {
        accounting_disabled_.store(true);  // The queue alone answers.
      } else {
        return slurm::CommandError("sacct", *a, remote_->Describe());
      }
    }
    // Submission order; ids are digits (ParseCommentRows checked).
    std::sort(ids.begin(), ids.end(), [](const auto& a, const auto& b) {
      return a.size() != b.size() ? a.size() < b.size() : a < b;
    });
    return ids;
  }

  Status Cancel(const std::vector<std::string>& ids) override {
    if (ids.empty()) return Status::Ok();
    for (const auto& id : ids)
      if (id.empty() || id[0] == '-')
        return InvalidArgument("\"" + id + "\" is not a Slurm job id");
    // scancel exits 0 and prints nothing for unknown ids; callers confirm
    // by querying.
    auto r = RunSchedulerCommand(*remote_, slurm::ScancelArgv(ids), Options(),
                                 "Slurm");
    if (!r.ok()) return r.status();
    if (!r->ok()) return slurm::CommandError("scancel", *r, remote_->Describe());
    return Status::Ok();
  }

 private:
  static remote::RunOptions Options() {
    remote::RunOptions o;
    o.timeout = std::chrono::seconds(60);
    o.max_output = 32 << 20;
    // Epoch seconds: no guessing the cluster's time zone.
    o.env["SLURM_TIME_FORMAT"] = "%s";
    return o;
  }

  // sacct for `ids`; where accounting is disabled or unreachable, the
  // controller's memory of recent jobs (MinJobAge) through scontrol.
  Result<std::vector<JobStatus>> Accounting(const std::vector<std::string>& ids,
                                            int offset) {
    if (!accounting_disabled_.load()) {
      auto r = RunSchedulerCommand(*remote_, slurm::SacctArgv(ids), Options(),
                                   "Slurm");
      if (!r.ok()) return r.status();
      if (r->ok()) return slurm::ParseSacct(r->out, offset);
      // "Slurm accounting storage is disabled" will not change; a slurmdbd
      // that is down may come back, so that is not remembered.
      if (text::Contains(r->err, "accounting storage is disabled"))
        accounting_disabled_.store(true);
    }
    auto r = RunSchedulerCommand(*remote_, slurm::ScontrolArgv(""), Options(),
                                 "Slurm");
    if (!r.ok()) return r.status();
    if (!r->ok()) {
      if (text::Contains(r->out + r->err, "No jobs in the system"))
        return std::vector<JobStatus>{};
      return slurm::CommandError("scontrol", *r, remote_->Describe());
    }
    return slurm::ParseScontrol(r->out, offset);
  }

  const ClusterProfile profile_;
  const std::shared_ptr<remote::Remote> remote_;
  std::atomic<bool> accounting_disabled_{false};
};

}  // namespace

std::unique_ptr<Scheduler> MakeSlurmScheduler(
    const ClusterProfile& profile, std::shared_ptr<remote::Remote> remote) {
  return std::make_unique<SlurmScheduler>(profile, std::move(remote));
}

}  // namespace hpc::cluster
