#include "tools/cluster/sge.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "tools/cluster/job_request.h"
#include "tools/cluster/job_wrapper.h"
#include "tools/cluster/text.h"

namespace hpc::cluster {
namespace {

using text::Contains;


class SgeScheduler : public Scheduler {
 public:
  SgeScheduler(ClusterProfile profile, std::shared_ptr<remote::Remote> remote)
      : profile_(std::move(profile)), remote_(std::move(remote)) {}

  std::string name() const override { return "sge"; }

  Result<SubmitResult> Submit(const JobRequest& request) override {
    auto prepared = PrepareRequest(profile_, request);
    if (!prepared.ok()) return prepared.status();
    const JobRequest& r = *prepared;
    HPC_RETURN_IF_ERROR(CheckDirHasNoPlaceholder("stdout_path", r.stdout_path, '$'));
    HPC_RETURN_IF_ERROR(CheckDirHasNoPlaceholder("stderr_path", r.stderr_path, '$'));
    auto argv = sge::QsubArgv(r);
    if (!argv.ok()) return argv.status();
    auto state = StateDir();
    if (!state.ok()) return state.status();
    auto script = sge::RenderScript(r, *state);
    if (!script.ok()) return script.status();
    HPC_RETURN_IF_ERROR(remote_->WriteFileAtomic(r.script_path, *script, 0755));
    HPC_RETURN_IF_ERROR(MakeDirs(*remote_, {Dirname(r.stdout_path),
                                            Dirname(r.stderr_path), r.workdir,
                                            *state}));
    auto res = RunSchedulerCommand(*remote_, UnderSubmitLock(r, *argv),
                                   Options(), "Grid Engine");
    if (res.ok() && sge::NoSuitableQueue(*res) && !r.avoid_nodes.empty()) {
      // Only the avoided hosts could run it: the preference yields. The
      // refused qsub created no job.
      JobRequest anywhere = r;
      anywhere.avoid_nodes.clear();
      argv = sge::QsubArgv(anywhere);
      if (!argv.ok()) return argv.status();
      res = RunSchedulerCommand(*remote_, UnderSubmitLock(r, *argv), Options(),
                                "Grid Engine");
    }
    if (!res.ok()) return res.status();
    HPC_RETURN_IF_ERROR(CheckSubmitClaim(*res, remote_->Describe()));
    if (!res->ok()) return sge::CommandError("qsub", *res, remote_->Describe());
    auto id = sge::ParseQsubOutput(res->out);
    if (!id.ok()) return id.status();
    if (!r.array.empty()) {
      // Dependents check every task's record (afterok block). Should this
      // write fail they find no list and treat the array as failed: safe.
      auto spec = ParseArraySpec(r.array);
      std::string list;
      if (spec.ok())
        for (int64_t t : spec->tasks) list += std::to_string(t) + "\n";
      (void)remote_->WriteFileAtomic(*state + "/" + *id + ".tasks", list);
    }
    return SubmitResult{*id, res->out};
  }

  Result<std::vector<JobStatus>> Query(
      const std::vector<std::string>& ids) override {
    if (ids.empty()) return std::vector<JobStatus>{};
    for (const auto& id : ids)
      if (!ValidId(id)) return InvalidArgument("\"" + id + "\" is not a Grid Engine job id");
    auto offset = UtcOffset();
    if (!offset.ok()) return offset.status();

    auto q = RunSchedulerCommand(*remote_, sge::QstatArgv(), Options(),
                                 "Grid Engine");
    if (!q.ok()) return q.status();
    if (!q->ok()) return sge::CommandError("qstat", *q, remote_->Describe());
    auto queue = sge::ParseQstatXml(q->out, *offset);
    if (!queue.ok()) return queue.status();

    // Jobs in Eqw: the reason is only in `qstat -j`.
    std::vector<std::string> errored;
    for (const auto& s : *queue)
      if (s.state == JobState::kFailed && Wanted(ids, s.job_id))
        errored.push_back(s.job_id);
    if (!errored.empty()) {
      auto j = RunSchedulerCommand(*remote_, sge::QstatJobArgv(errored),
                                   Options(), "Grid Engine");
      if (!j.ok()) return j.status();
      auto reasons = sge::ParseErrorReasons(j->out);
      for (auto& s : *queue) {
        if (s.state != JobState::kFailed) continue;
        auto it = reasons.find(s.job_id);
        std::string why = it != reasons.end() ? it->second : "no reason recorded";
        s.reason = "failed to launch (Eqw): " + why +
                   "; the job stays in Eqw until `qdel` (or `qmod -cj` after "
                   "fixing the cause)";
      }
    }

    std::vector<std::string> missing;
    for (const auto& id : ids) {
      bool exact = false, tasks = false;
      for (const auto& s : *queue) {
        exact = exact || s.job_id == id;
        tasks = tasks || (s.job_id.size() > id.size() &&
                          s.job_id.compare(0, id.size() + 1, id + ".") == 0);
      }
      if (!exact || tasks) missing.push_back(id);
    }
    std::vector<JobStatus> accounting;
    if (!missing.empty()) {
      // qacct exits 1 for ids it does not know ("job id N not found"); the
      // records it did print are still good.
      auto a = RunSchedulerCommand(*remote_, sge::QacctArgv(missing), Options(),
                                   "Grid Engine");
      if (!a.ok()) return a.status();
      accounting = sge::ParseQacct(a->out, *offset);
    }
    std::vector<JobStatus> merged = sge::Merge(ids, *queue, accounting);

    // Markers decide only kills, the dependency exit status and unknowns;
    // test just those names (one command, however full the directory).
    std::vector<std::string> probe;
    for (const auto& s : merged) {
      if (s.state != JobState::kUnknown && !s.signal.has_value() &&
          s.exit_code != sge::kDependencyExitStatus)
        continue;
      for (const std::string& name :
           {s.job_id + ".cancelled", s.job_id.substr(0, s.job_id.find('.')) + ".cancelled",
            s.job_id + ".depfail"})
        if (std::find(probe.begin(), probe.end(), name) == probe.end())
          probe.push_back(name);
    }
    if (!probe.empty()) {
      auto state = StateDir();
      if (!state.ok()) return state.status();
      // A constant script; the paths arrive as positional parameters.
      std::vector<std::string> argv = {
          "sh", "-c", "for f do [ -e \"$f\" ] && printf '%s\\n' \"${f##*/}\"; done; exit 0",
          "sh"};
      for (const auto& name : probe) argv.push_back(*state + "/" + name);
      remote::RunOptions o;
      o.login_shell = false;
      o.timeout = std::chrono::seconds(30);
      auto r = remote_->Run(argv, o);
      if (!r.ok()) return r.status();
      std::set<std::string> files;
      for (std::string_view line : text::Lines(r->out)) files.insert(std::string(line));
      sge::ApplyMarkers(files, &merged);
    }
    return merged;
  }

  Result<JobOwner> Owner(const std::string& id) override {
    if (!ValidId(id))
      return InvalidArgument("\"" + id + "\" is not a Grid Engine job id (123 or 123.4)");
    auto me = RemoteUser(*remote_);
    if (!me.ok()) return me.status();
    JobOwner o;
    o.me = *me;
    auto q = RunSchedulerCommand(*remote_, sge::QstatJobArgv({id}), Options(),
                                 "Grid Engine");
    if (!q.ok()) return q.status();
    if (!q->ok()) {
      if (Contains(q->out + q->err, "do not exist")) return o;
      return sge::CommandError("qstat", *q, remote_->Describe());
    }
    o.owner = sge::ParseOwner(q->out);
    o.active = !o.owner.empty();
    return o;
  }

  Result<std::vector<std::string>> FindByComment(
      const std::string& comment) override {
    if (comment.empty() || comment.find(',') != std::string::npos ||
        std::any_of(comment.begin(), comment.end(),
                    [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
      return InvalidArgument(
          "cannot search Grid Engine jobs by the comment \"" + comment +
          "\": it must be non-empty text on one line without ',' (no job "
          "can carry such a comment)");
    // The queue first, the files last: a job that leaves the queue between
    // the two has started, so its file exists by then.
    auto q = RunSchedulerCommand(*remote_, sge::QstatUserArgv(), Options(),
                                 "Grid Engine");
    if (!q.ok()) return q.status();
    if (!q->ok()) return sge::CommandError("qstat", *q, remote_->Describe());
    auto queued = sge::ParseQstatJobNumbers(q->out);
    if (!queued.ok()) return queued.status();
    std::vector<std::string> ids;
    // About 4.5 KB of XML per job: batches keep each answer far below
    // the output limit however many jobs the user has queued.
    constexpr size_t kBatch = 500;
    for (size_t i = 0; i < queued->size(); i += kBatch) {
      std::vector<std::string> batch(
          queued->begin() + i,
          queued->begin() + std::min(queued->size(), i + kBatch));
      auto j = RunSchedulerCommand(*remote_, sge::QstatContextArgv(batch),
                                   Options(), "Grid Engine");
      if (!j.ok()) return j.status();
      if (!j->ok()) return sge::CommandError("qstat", *j, remote_->Describe());
      auto found = sge::ParseJobsWithComment(j->out, comment);
      if (!found.ok()) return found.status();
      ids.insert(ids.end(), found->begin(), found->end());
    }

    auto state = StateDir();
    if (!state.ok()) return state.status();
    remote::RunOptions o;
    o.login_shell = false;
    o.timeout = std::chrono::seconds(60);
    o.max_output = 8 << 20;
    auto f = remote_->Run(sge::CommentFilesArgv(*state, comment), o);
    if (!f.ok()) return f.status();
    // The script exits 0 whatever grep said; anything on stderr means some
    // record could not be read, and a partial answer could have a lost
    // submit submitted twice.
    if (!f->ok() || !text::Trim(f->err).empty())
      return Unavailable("cannot read the job comment records in " + *state +
                         " on " + remote_->Describe() + ": " +
                         CommandMessage(*f))
          .WithReason("io_error", true,
                      "check that directory's permissions on the cluster");
    for (auto& id : sge::ParseCommentFiles(f->out))
      if (std::find(ids.begin(), ids.end(), id) == ids.end())
        ids.push_back(std::move(id));
    std::sort(ids.begin(), ids.end(), [](const auto& a, const auto& b) {
      return a.size() != b.size() ? a.size() < b.size() : a < b;
    });
    return ids;
  }

  Status Cancel(const std::vector<std::string>& ids) override {
    if (ids.empty()) return Status::Ok();
    for (const auto& id : ids)
      if (!ValidId(id)) return InvalidArgument("\"" + id + "\" is not a Grid Engine job id");
    auto r = RunSchedulerCommand(*remote_, sge::QdelArgv(ids), Options(),
                                 "Grid Engine");
    if (!r.ok()) return r.status();
    // Accounting cannot tell qdel from kill -9: leave a marker for each job
    // qdel did not report as gone. qdel exits 1 when any id does not exist
    // (it ended by itself): that alone is no error.
    std::set<std::string> gone;
    bool other_error = false;
    for (std::string_view line : text::Lines(r->out + "\n" + r->err)) {
      if (Contains(line, "does not exist")) {
        for (const auto& id : ids)
          if (Contains(line, "\"" + id + "\"") || Contains(line, " " + id + " ") ||
              line.ends_with(" " + id))
            gone.insert(id);
      } else if (Contains(line, "denied") || Contains(line, "error") ||
                 Contains(line, "unable")) {
        other_error = true;
      }
    }
    if (!r->ok() && (gone.empty() || other_error))
      return sge::CommandError("qdel", *r, remote_->Describe());
    std::vector<std::string> touch = {"touch", "--"};
    auto state = StateDir();
    if (!state.ok()) return state.status();
    for (const auto& id : ids)
      if (!gone.count(id)) touch.push_back(*state + "/" + id + ".cancelled");
    if (touch.size() > 2) {
      remote::RunOptions o;
      o.login_shell = false;
      o.timeout = std::chrono::seconds(30);
      (void)remote_->Run(touch, o);  // Best effort: only the label depends on it.
    }
    return Status::Ok();
  }

 private:
  static bool ValidId(const std::string& id) {
    if (id.empty()) return false;
    for (char c : id)
      if (!((c >= '0' && c <= '9') || c == '.')) return false;
    return id[0] != '.';
  }

  static bool Wanted(const std::vector<std::string>& ids, const std::string& id) {
    for (const auto& w : ids)
      if (w == id || id.substr(0, id.find('.')) == w) return true;
    return false;
  }

  static remote::RunOptions Options() {
    remote::RunOptions o;
    o.timeout = std::chrono::seconds(60);
    o.max_output = 32 << 20;
    return o;
  }

  Result<std::string> StateDir() {
    std::lock_guard lock(mu_);
    if (state_dir_.empty()) {
      auto root = ResolveStateRoot(profile_, *remote_);
      if (!root.ok()) return root.status();
      state_dir_ = *root + "/sge";
    }
    return state_dir_;
  }

  // Grid Engine prints local times of the cluster; ask its offset once.
  Result<int> UtcOffset() {
    std::lock_guard lock(mu_);
    if (!utc_offset_) {
      remote::RunOptions o;
      o.login_shell = false;
      o.timeout = std::chrono::seconds(30);
      auto r = remote_->Run({"date", "+%z"}, o);
      if (!r.ok()) return r.status();
      utc_offset_ = text::ParseUtcOffset(r->out).value_or(text::LocalUtcOffset());
    }
    return *utc_offset_;
  }

  const ClusterProfile profile_;
  const std::shared_ptr<remote::Remote> remote_;
  std::mutex mu_;
  std::string state_dir_;           // Guarded by mu_.
  std::optional<int> utc_offset_;   // Guarded by mu_.
};

}  // namespace

std::unique_ptr<Scheduler> MakeSgeScheduler(
    const ClusterProfile& profile, std::shared_ptr<remote::Remote> remote) {
  return std::make_unique<SgeScheduler>(profile, std::move(remote));
}

}  // namespace hpc::cluster
