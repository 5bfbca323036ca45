#include "tools/cluster/host.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>

#include "tools/cluster/gpus.h"
#include "tools/cluster/job_request.h"
#include "tools/cluster/job_wrapper.h"
#include "tools/cluster/text.h"
#include "tools/remote/shell.h"

namespace hpc::cluster {
namespace host {

std::string NewJobId() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  uint64_t r;
  {
    std::lock_guard lock(mu);
    r = rng();
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld-%06llx", static_cast<long long>(now),
                static_cast<unsigned long long>(r & 0xffffff));
  return buf;
}

bool IsJobId(std::string_view id) {
  // <digits>-<hex>[_<digits>]
  size_t dash = id.find('-');
  if (dash == 0 || dash == std::string_view::npos) return false;
  for (size_t i = 0; i < dash; ++i)
    if (id[i] < '0' || id[i] > '9') return false;
  std::string_view rest = id.substr(dash + 1);
  size_t us = rest.find('_');
  std::string_view hex = rest.substr(0, us);
  if (hex.empty()) return false;
  for (char c : hex)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  if (us != std::string_view::npos) {
    std::string_view task = rest.substr(us + 1);
    if (task.empty()) return false;
    for (char c : task)
      if (c < '0' || c > '9') return false;
  }
  return true;
}

Result<std::string> RenderSpec(const JobRequest& r, const std::string& id,
                               int max_concurrent_jobs, const GpuPlacement& gpus) {
  using remote::ShellQuote;
  std::string time;
  if (!r.resources.time.empty()) {
    auto secs = ParseWalltime(r.resources.time);
    if (!secs.ok()) return secs.status();
    time = std::to_string(*secs);
  }
  int array_limit = 0;
  if (!r.array.empty()) {
    auto spec = ParseArraySpec(r.array);
    if (!spec.ok()) return spec.status();
    array_limit = spec->max_parallel;
  }
  auto join = [](const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& d : ids) out += (out.empty() ? "" : " ") + d;
    return out;
  };
  std::string s = "# hpc-mcp job spec (generated; sourced by job_wrapper.sh)\n";
  auto line = [&](const char* k, const std::string& v) {
    s += std::string(k) + "=" + ShellQuote(v) + "\n";
  };
  line("HPC_W_ID", id);
  line("HPC_W_NAME", r.name);
  line("HPC_W_COMMENT", r.comment);
  line("HPC_W_SCRIPT", r.script_path);
  line("HPC_W_WORKDIR", r.workdir);
  line("HPC_W_STDOUT", r.stdout_path);
  line("HPC_W_STDERR", r.stderr_path);
  line("HPC_W_TIME", time);
  line("HPC_W_AFTER_OK", join(r.after_ok));
  line("HPC_W_AFTER_ANY", join(r.after_any));
  line("HPC_W_AFTER_CORR", join(r.after_corr));
  line("HPC_W_SLOTS", std::to_string(std::max(max_concurrent_jobs, 0)));
  line("HPC_W_ARRAY_LIMIT", std::to_string(array_limit));
  if (gpus.nvidia_smi && r.resources.gpus > 0) {
    std::string avoid;
    for (int g : r.avoid_gpus) avoid += (avoid.empty() ? "" : ",") + std::to_string(g);
    line("HPC_W_GPUS", std::to_string(r.resources.gpus));
    line("HPC_W_GPU_FREE_MIB", std::to_string(gpus.free_below_mib));
    line("HPC_W_AVOID_GPUS", avoid);
  }
  return s;
}

std::string RenderEnv(const JobRequest& r) {
  return "# hpc-mcp job environment (generated; sourced in the job's process)\n" +
         ExportLines(r.env);
}

Result<std::string> RenderTaskList(const JobRequest& r) {
  if (r.array.empty()) return std::string("main\n");
  auto spec = ParseArraySpec(r.array);
  if (!spec.ok()) return spec.status();
  std::string s;
  for (int64_t t : spec->tasks) s += std::to_string(t) + "\n";
  return s;
}

std::vector<JobStatus> ParseQueryOutput(std::string_view out) {
  std::vector<JobStatus> rows;
  for (std::string_view line : text::Lines(out)) {
    auto f = text::Split(line, '\t');
    if (f.size() < 7) continue;
    JobStatus s;
    s.job_id = std::string(f[0]);
    s.native_state = std::string(f[1]);
    s.state = ParseJobState(f[1]).value_or(JobState::kUnknown);
    if (auto v = text::ParseInt(f[2])) s.exit_code = static_cast<int>(*v);
    if (auto v = text::ParseInt(f[3]); v && *v != 0) s.signal = static_cast<int>(*v);
    s.start_time = text::ParseTimestamp(f[4], 0);
    s.end_time = text::ParseTimestamp(f[5], 0);
    s.reason = std::string(f[6]);  // The wrapper writes it without tabs.
    if (f.size() > 7 && !f[7].empty()) s.nodes = "gpu:" + std::string(f[7]);
    rows.push_back(std::move(s));
  }
  return rows;
}

std::vector<std::string> ParseFindOutput(std::string_view out) {
  std::vector<std::string> ids;
  for (std::string_view line : text::Lines(out)) {
    line = text::Trim(line);
    // Task ids never come from `find`; a stray line is not a job.
    if (!IsJobId(line) || line.find('_') != std::string_view::npos) continue;
    if (std::find(ids.begin(), ids.end(), line) == ids.end())
      ids.emplace_back(line);
  }
  // "<epoch seconds>-<hex>": submission order, to the second.
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace host

namespace {

class HostScheduler : public Scheduler {
 public:
  HostScheduler(ClusterProfile profile, std::shared_ptr<remote::Remote> remote,
                std::string name)
      : profile_(std::move(profile)),
        remote_(std::move(remote)),
        name_(std::move(name)) {}

  std::string name() const override { return name_; }

  Result<SubmitResult> Submit(const JobRequest& request) override {
    auto prepared = PrepareRequest(profile_, request);
    if (!prepared.ok()) return prepared.status();
    // Placeholders (%j %A %a) may appear anywhere in the log paths: the
    // wrapper substitutes them, then creates the directories.
    const JobRequest& r = *prepared;
    auto setup = Setup();
    if (!setup.ok()) return setup.status();
    const auto& [root, wrapper] = *setup;
    // A dependency that is no job of ours is an error now rather than a
    // job cancelled later (the wrapper's own check, for one removed since).
    for (const auto* deps : {&r.after_ok, &r.after_any, &r.after_corr}) {
      for (const auto& dep : *deps) {
        if (!host::IsJobId(dep))
          return InvalidArgument("dependency \"" + dep + "\" is not a " +
                                 name_ + " job id");
        std::string base = dep.substr(0, dep.find('_'));
        auto st = remote_->Stat(root + "/jobs/" + base + "/spec");
        if (!st.ok()) {
          if (st.status().code() == StatusCode::kNotFound)
            return InvalidArgument("dependency " + dep + " is not a job of " +
                                   name_ + " on " + remote_->Describe());
          return st.status();
        }
      }
    }
    auto tasks = host::RenderTaskList(r);
    if (!tasks.ok()) return tasks.status();
    const std::string id = host::NewJobId();
    const std::string jobdir = root + "/jobs/" + id;
    HPC_RETURN_IF_ERROR(CheckGpus(r));
    auto spec = host::RenderSpec(r, id, profile_.limits.max_concurrent_jobs, profile_.gpus);
    if (!spec.ok()) return spec.status();
    HPC_RETURN_IF_ERROR(remote_->WriteFileAtomic(r.script_path, r.script, 0755));
    HPC_RETURN_IF_ERROR(remote_->WriteFileAtomic(jobdir + "/env", host::RenderEnv(r), 0600));
    HPC_RETURN_IF_ERROR(remote_->WriteFileAtomic(jobdir + "/tasks.list", *tasks));
    HPC_RETURN_IF_ERROR(remote_->WriteFileAtomic(jobdir + "/spec", *spec));
    remote::RunOptions o = Options();
    // The job inherits the environment of the launch: the profile's login
    // shell and setup lines (module loads, venv) apply to it.
    o.login_shell = true;
    auto res = remote_->Run(
        UnderSubmitLock(r, {"bash", wrapper, "launch", jobdir}), o);
    if (!res.ok()) return res.status();
    HPC_RETURN_IF_ERROR(CheckSubmitClaim(*res, remote_->Describe()));
    if (!res->ok())
      return Internal("the job wrapper could not launch job " + id + " on " +
                      remote_->Describe() + ": " + CommandMessage(*res));
    return SubmitResult{id, res->out};
  }

  Result<std::vector<JobStatus>> Query(
      const std::vector<std::string>& ids) override {
    if (ids.empty()) return std::vector<JobStatus>{};
    HPC_RETURN_IF_ERROR(CheckIds(ids));
    auto setup = Setup();
    if (!setup.ok()) return setup.status();
    const auto& [root, wrapper] = *setup;
    std::vector<std::string> argv = {"bash", wrapper, "query", root};
    argv.insert(argv.end(), ids.begin(), ids.end());
    auto res = remote_->Run(argv, Options());
    if (!res.ok()) return res.status();
    if (!res->ok())
      return Internal("the job wrapper's query failed on " +
                      remote_->Describe() + ": " + CommandMessage(*res));
    return host::ParseQueryOutput(res->out);
  }

  Result<std::vector<std::string>> FindByComment(
      const std::string& comment) override {
    if (comment.empty() ||
        std::any_of(comment.begin(), comment.end(),
                    [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
      return InvalidArgument("cannot search " + name_ +
                             " jobs by the comment \"" + comment +
                             "\": it must be non-empty text on one line");
    auto setup = Setup();
    if (!setup.ok()) return setup.status();
    const auto& [root, wrapper] = *setup;
    auto res =
        remote_->Run({"bash", wrapper, "find", root, comment}, Options());
    if (!res.ok()) return res.status();
    if (!res->ok())
      return Internal("the job wrapper's find failed on " +
                      remote_->Describe() + ": " + CommandMessage(*res));
    return host::ParseFindOutput(res->out);
  }

  // The wrapper's jobs live under the login user's own state directory: a
  // job found there is that user's.
  Result<JobOwner> Owner(const std::string& id) override {
    auto q = Query({id});
    if (!q.ok()) return q.status();
    auto me = RemoteUser(*remote_);
    if (!me.ok()) return me.status();
    JobOwner o;
    o.me = *me;
    o.active = std::any_of(q->begin(), q->end(), [](const JobStatus& s) {
      return s.state != JobState::kUnknown && !IsTerminal(s.state);
    });
    if (o.active) o.owner = o.me;
    return o;
  }

  Status Cancel(const std::vector<std::string>& ids) override {
    if (ids.empty()) return Status::Ok();
    HPC_RETURN_IF_ERROR(CheckIds(ids));
    auto setup = Setup();
    if (!setup.ok()) return setup.status();
    const auto& [root, wrapper] = *setup;
    std::vector<std::string> argv = {"bash", wrapper, "cancel", root};
    argv.insert(argv.end(), ids.begin(), ids.end());
    auto res = remote_->Run(argv, Options());
    if (!res.ok()) return res.status();
    if (!res->ok())
      return Internal("the job wrapper's cancel failed on " +
                      remote_->Describe() + ": " + CommandMessage(*res));
    return Status::Ok();
  }

 private:
  // With GPU placement, a task that asks for more GPUs than the host has
  // would wait for ever: refused here, from one nvidia-smi query.
  Status CheckGpus(const JobRequest& r) {
    if (!profile_.gpus.nvidia_smi || r.resources.gpus <= 0) return Status::Ok();
    // Where the job wrapper will look: the profile's setup lines (a module
    // that brings nvidia-smi) apply.
    remote::RunOptions o = Options();
    o.login_shell = true;
    auto q = remote_->Run(GpuQueryArgv(), o);
    if (!q.ok()) return q.status();
    if (!q->ok())
      return FailedPrecondition("profile " + profile_.name + " places GPUs with nvidia-smi, but " +
                                "nvidia-smi failed on " + remote_->Describe() + ": " +
                                CommandMessage(*q))
          .WithReason("gpus_unavailable", false,
                      "install the NVIDIA driver there, or set gpus.placement: none");
    auto gpus = ParseGpuQuery(q->out);
    if (!gpus.ok()) return gpus.status();
    if (static_cast<int>(gpus->size()) < r.resources.gpus)
      return InvalidArgument("each task asks for " + std::to_string(r.resources.gpus) +
                             " GPUs, but " + remote_->Describe() + " has " +
                             std::to_string(gpus->size()) + "; ask for at most that many");
    return Status::Ok();
  }

  Status CheckIds(const std::vector<std::string>& ids) const {
    for (const auto& id : ids)
      if (!host::IsJobId(id))
        return InvalidArgument("\"" + id + "\" is not a " + name_ +
                               " job id (they look like 1732400000-3fa9c2 or "
                               "1732400000-3fa9c2_4)");
    return Status::Ok();
  }

  static remote::RunOptions Options() {
    remote::RunOptions o;
    o.login_shell = false;  // Plumbing: the wrapper needs only bash.
    o.timeout = std::chrono::seconds(60);
    o.max_output = 32 << 20;
    return o;
  }

  // The state root and the installed wrapper's path, resolved and installed
  // once per scheduler.
  Result<std::pair<std::string, std::string>> Setup() {
    std::lock_guard lock(mu_);
    if (!wrapper_path_.empty()) return std::make_pair(root_, wrapper_path_);
    auto root = ResolveStateRoot(profile_, *remote_);
    if (!root.ok()) return root.status();
    auto text = JobWrapperScript();
    if (!text.ok()) return text.status();
    std::string path = *root + "/bin/" + JobWrapperFileName(*text);
    auto st = remote_->Stat(path);
    if (!st.ok() || st->size != text->size()) {
      if (!st.ok() && st.status().code() != StatusCode::kNotFound)
        return st.status();
      HPC_RETURN_IF_ERROR(remote_->WriteFileAtomic(path, *text, 0755));
    }
    root_ = *root;
    wrapper_path_ = path;
    return std::make_pair(root_, wrapper_path_);
  }

  const ClusterProfile profile_;
  const std::shared_ptr<remote::Remote> remote_;
  const std::string name_;
  std::mutex mu_;
  std::string root_, wrapper_path_;  // Guarded by mu_.
};

}  // namespace

std::unique_ptr<Scheduler> MakeHostScheduler(
    const ClusterProfile& profile, std::shared_ptr<remote::Remote> remote,
    std::string name) {
  return std::make_unique<HostScheduler>(profile, std::move(remote),
                                         std::move(name));
}

}  // namespace hpc::cluster
