#include "tools/runs/poller.h"

#include <chrono>
#include <deque>
#include <map>
#include <mutex>

#include "tools/cluster/job_request.h"
#include "tools/cluster/text.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/diagnosis.h"
#include "tools/runs/health.h"
#include "tools/runs/log_reader.h"
#include "tools/runs/metrics.h"
#include "tools/runs/query_cache.h"
#include "tools/runs/submitter.h"
#include "tools/sweep/launcher.h"

namespace hpc::runs {
namespace {

using cluster::JobState;
using cluster::JobStatus;
using nlohmann::json;

constexpr size_t kHistory = 512;           // Metric points kept per run.
constexpr int64_t kProgressEverySeconds = 60;
constexpr size_t kLogScanBytes = 1 << 20;  // Per run per poll.

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What this process remembers of a running run between polls: the metric
// history the health checks need and the log cursor. Rebuilt from the log's
// tail after a restart.
struct Watch {
  std::deque<MetricPoint> history;
  uint64_t cursor = 0;
  std::string path;  // The log the cursor belongs to.
  bool seeded = false;
  std::optional<double> last_step;
  int64_t step_changed_at = 0;
  int64_t last_progress_event = 0;
};

std::mutex g_mu;
std::map<std::string, Watch>* g_watches = new std::map<std::string, Watch>();

struct DiskCache {
  int64_t at = 0;
  std::optional<double> free_gb;
};
std::map<std::string, DiskCache>* g_disk = new std::map<std::string, DiskCache>();

// Whether scheduler id `status_id` is job `job_id` or one of its array tasks
// ("7_3" for Slurm and the wrapper, "8.2" for Grid Engine).
bool BelongsTo(const std::string& status_id, const std::string& job_id) {
  if (status_id == job_id) return true;
  return status_id.size() > job_id.size() + 1 && status_id.compare(0, job_id.size(), job_id) == 0 &&
         (status_id[job_id.size()] == '_' || status_id[job_id.size()] == '.');
}

std::string TaskOf(const std::string& status_id, const std::string& job_id) {
  return status_id.size() > job_id.size() + 1 ? status_id.substr(job_id.size() + 1) : "main";
}

std::string LogPath(const std::string& tmpl, const std::string& task) {
  std::string p = tmpl;
  size_t at = p.find("{task}");
  if (at != std::string::npos) p.replace(at, 6, task);
  return p;
}

// A job the scheduler no longer knows (accounting off or lagging) but whose
// script recorded its exit code.
void FillFromExitFile(Cluster& c, const Job& job, JobStatus& s) {
  if (s.state != JobState::kUnknown || job.exit_dir.empty()) return;
  auto text = c.remote->ReadFile(job.exit_dir + "/" + TaskOf(s.job_id, job.job_id) + ".exit", 0, 32);
  if (!text.ok()) return;
  auto code = cluster::text::ParseInt(cluster::text::Trim(*text));
  if (!code) return;
  s.exit_code = static_cast<int>(*code);
  s.state = *code == 0 ? JobState::kCompleted : JobState::kFailed;
  s.native_state = "exit file " + std::to_string(*code);
}

std::mutex g_disk_mu;  // Held through one df: the others wait for its answer.

std::optional<double> FreeDiskGb(Cluster& c) {
  std::lock_guard lock(g_disk_mu);
  DiskCache& d = (*g_disk)[c.profile.name + "|" + c.work_root];
  if (d.at && Now() - d.at < 300) return d.free_gb;
  remote::RunOptions o;
  o.login_shell = false;
  o.timeout = std::chrono::seconds(20);
  d.at = Now();
  d.free_gb.reset();
  auto r = c.remote->Run({"df", "-Pk", c.work_root}, o);
  if (!r.ok() || !r->ok()) return std::nullopt;
  auto lines = cluster::text::Lines(r->out);
  if (lines.size() < 2) return std::nullopt;
  auto fields = cluster::text::Split(lines[1], ' ');
  std::vector<std::string_view> f;
  for (auto x : fields)
    if (!x.empty()) f.push_back(x);
  if (f.size() < 4) return std::nullopt;
  auto kb = cluster::text::ParseInt(f[3]);
  if (kb) d.free_gb = static_cast<double>(*kb) / (1024.0 * 1024.0);
  return d.free_gb;
}

std::optional<int64_t> CheckpointAge(Cluster& c, const Run& run, const Thresholds& t) {
  if (t.checkpoint_dir.empty()) return std::nullopt;
  std::string dir = t.checkpoint_dir[0] == '/' ? t.checkpoint_dir : run.workdir + "/" + t.checkpoint_dir;
  auto entries = c.remote->ListDir(dir);
  if (!entries.ok()) return std::nullopt;
  int64_t newest = 0;
  for (const auto& e : *entries) newest = std::max(newest, e.mtime);
  if (!newest) return std::nullopt;
  return Now() - newest;
}

// Reads what the running job's log gained since the last poll into the
// run's watch; returns true when the step counter moved.
bool ReadProgress(Cluster& c, const std::string& path, const Run& run, Watch& w) {
  LogQuery q;
  q.max_lines = 20000;
  q.max_bytes = kLogScanBytes;
  q.max_scan_bytes = kLogScanBytes;
  if (w.path != path) {
    w = Watch{};
    w.path = path;
  }
  Result<LogChunk> chunk = NotFound(path);
  if (!w.seeded) {
    // First sight in this process (or after a restart): the tail is enough
    // for the checks' history, and the cursor continues from its end.
    LogQuery tail = q;
    tail.max_lines = kHistory * 4;
    tail.max_scan_bytes = 512 * 1024;
    chunk = TailLines(*c.remote, path, tail);
    if (chunk.ok()) w.seeded = true;
    if (!run.step_changed_at.empty()) w.step_changed_at = ParseTs(run.step_changed_at);
    if (run.progress.is_object() && run.progress.contains("step"))
      w.last_step = FromJson(run.progress).step;
  } else {
    chunk = ReadSince(*c.remote, path, w.cursor, q);
  }
  if (!chunk.ok()) return false;
  w.cursor = chunk->cursor;
  std::string text;
  for (const auto& l : chunk->lines) text += l + "\n";
  bool moved = false;
  for (auto& p : ExtractMetrics(text)) {
    if (p.step && (!w.last_step || *p.step != *w.last_step)) {
      w.last_step = p.step;
      w.step_changed_at = Now();
      moved = true;
    }
    w.history.push_back(std::move(p));
    if (w.history.size() > kHistory) w.history.pop_front();
  }
  return moved;
}

json HealthJson(const std::vector<HealthCheck>& checks) {
  json arr = json::array();
  for (const auto& c : checks) arr.push_back(ToJson(c));
  return {{"status", WorstStatus(checks)}, {"checks", arr}};
}

// The statuses of which check changed: what makes a health event worth
// journaling.
std::string HealthSignature(const json& health) {
  if (!health.is_object()) return "";
  std::string s = health.value("status", "");
  if (health.contains("checks") && health["checks"].is_array())
    for (const auto& c : health["checks"]) s += "|" + c.value("name", "") + "=" + c.value("status", "");
  return s;
}

struct Ctx {
  RunStore& store;
  Cluster& cluster;
  Thresholds thresholds;
  std::vector<std::string> changed;
  // The newest metrics of running runs: the journal gets them at most once
  // a minute, the poll's answer every time.
  std::map<std::string, json>& live;
};

Status Append(Ctx& x, const Run& run, const std::string& name, json context) {
  x.changed.push_back(run.id);
  return x.store.Append(run.id, name, std::move(context));
}

// The job whose logs explain an ended run: the first that failed (the
// smoke job when the canary failed), with that task's id.
std::pair<const Job*, std::string> Culprit(const Run& run, const std::vector<JobStatus>& st) {
  const Attempt* a = run.current();
  if (!a) return {nullptr, ""};
  for (const auto& job : a->jobs)
    for (const auto& s : st)
      if (BelongsTo(s.job_id, job.job_id) && cluster::IsTerminal(s.state) &&
          s.state != JobState::kCompleted && s.state != JobState::kCancelled)
        return {&job, TaskOf(s.job_id, job.job_id)};
  for (const auto& job : a->jobs)
    for (const auto& s : st)
      if (BelongsTo(s.job_id, job.job_id) && s.state != JobState::kCompleted)
        return {&job, TaskOf(s.job_id, job.job_id)};
  const Job* main = a->Find("main");
  return {main, main && !main->array_tasks.empty() ? std::to_string(main->array_tasks.front()) : "main"};
}

Status DiagnoseEnded(Ctx& x, const Run& run, const std::vector<JobStatus>& st) {
  auto [job, task] = Culprit(run, st);
  if (!job) return Status::Ok();
  DiagnosisInput in;
  for (const auto& s : st)
    if (BelongsTo(s.job_id, job->job_id) && TaskOf(s.job_id, job->job_id) == task) in.status = s;
  if (in.status.job_id.empty() && !st.empty()) in.status = st.front();
  if (in.status.start_time && in.status.end_time)
    in.elapsed_seconds = *in.status.end_time - *in.status.start_time;
  const std::string out = LogPath(job->stdout_path, task), err = LogPath(job->stderr_path, task);
  {
    DiagnosisInput read = ReadEvidence(*x.cluster.remote, out, err);
    read.status = std::move(in.status);
    read.elapsed_seconds = in.elapsed_seconds;
    in = std::move(read);
  }
  in.time_limit = run.spec.value("resources", json::object()).value("time", "");
  if (in.time_limit.empty()) in.time_limit = x.cluster.profile.defaults.time;
  if (!x.thresholds.checkpoint_dir.empty()) {
    std::string dir = x.thresholds.checkpoint_dir[0] == '/' ? x.thresholds.checkpoint_dir
                                                           : run.workdir + "/" + x.thresholds.checkpoint_dir;
    auto entries = x.cluster.remote->ListDir(dir);
    if (entries.ok()) {
      int64_t newest = -1;
      for (const auto& e : *entries)
        if (e.mtime > newest) newest = e.mtime, in.newest_checkpoint = dir + "/" + e.name;
    }
  }
  Diagnosis d = Diagnose(in);
  if (d.category == "none") return Status::Ok();
  json ctx = ToJson(d);
  ctx["job_id"] = in.status.job_id;
  ctx["role"] = job->role;
  ctx["log"] = err != out && !in.stderr_tail.empty() ? err : out;
  return Append(x, run, "diagnosed", std::move(ctx));
}

Status UpdateRun(Ctx& x, const Run& run, const std::vector<JobStatus>& all) {
  const Attempt* a = run.current();
  if (!a) return Status::Ok();
  std::vector<JobStatus> st;
  for (const auto& job : a->jobs) {
    if (job.job_id.empty()) continue;
    for (auto s : all)
      if (BelongsTo(s.job_id, job.job_id)) {
        FillFromExitFile(x.cluster, job, s);
        st.push_back(std::move(s));
      }
  }
  if (st.empty()) return Status::Ok();
  std::string state = AggregateState(st);
  // A run someone cancelled through us stays cancelled even if a task
  // reports otherwise on its way down.
  if (run.state == "cancelled") return Status::Ok();
  const int64_t now = Now();
  std::optional<int64_t> start, end;
  for (const auto& s : st) {
    if (s.start_time && *s.start_time > 0) start = start ? std::min(*start, *s.start_time) : *s.start_time;
    if (s.end_time && *s.end_time > 0) end = end ? std::max(*end, *s.end_time) : *s.end_time;
  }
  std::optional<int64_t> elapsed;
  if (start) elapsed = (cluster::IsTerminal(cluster::ParseJobState(state).value_or(JobState::kUnknown)) && end ? *end : now) - *start;
  std::string tl = run.spec.value("resources", json::object()).value("time", "");
  if (tl.empty()) tl = x.cluster.profile.defaults.time;
  std::optional<int64_t> limit;
  if (!tl.empty())
    if (auto l = cluster::ParseWalltime(tl); l.ok()) limit = *l;

  if (state != run.state) {
    const JobStatus* rep = &st.back();
    for (const auto& s : st)
      if (s.state != JobState::kCompleted && cluster::IsTerminal(s.state)) { rep = &s; break; }
    json ctx{{"from", run.state}, {"to", state}, {"native_state", rep->native_state},
             {"reason", rep->reason}, {"tasks", st.size() > 1 ? CountStates(st) : json::object()}};
    if (rep->exit_code) ctx["exit_code"] = *rep->exit_code;
    if (elapsed) ctx["elapsed_s"] = *elapsed;
    if (limit) ctx["time_limit_s"] = *limit;
    HPC_RETURN_IF_ERROR(Append(x, run, "state_changed", std::move(ctx)));
  }

  if (state == "running") {
    // Progress from the first running task of the job that is running.
    const Job* job = nullptr;
    std::string task = "main";
    for (const auto& j : a->jobs)
      for (const auto& s : st)
        if (!job && BelongsTo(s.job_id, j.job_id) && s.state == JobState::kRunning) {
          job = &j;
          task = TaskOf(s.job_id, j.job_id);
        }
    if (!job) return Status::Ok();
    const std::string key = x.store.state_dir() + "|" + run.id;
    const std::string path = LogPath(job->stdout_path, task);
    Watch w;
    {
      std::lock_guard lock(g_mu);
      w = (*g_watches)[key];
    }
    bool moved = ReadProgress(x.cluster, path, run, w);
    std::vector<MetricPoint> hist(w.history.begin(), w.history.end());
    if (!hist.empty()) x.live[run.id] = ToJson(Latest(hist));
    if (!hist.empty() && (moved || !run.progress.is_object() || run.progress.empty()) &&
        now - w.last_progress_event >= kProgressEverySeconds) {
      w.last_progress_event = now;
      {
        std::lock_guard lock(g_mu);
        (*g_watches)[key] = w;
      }
      HPC_RETURN_IF_ERROR(Append(x, run, "progress",
                                 {{"metrics", ToJson(Latest(hist))}, {"cursor", w.cursor},
                                  {"step_changed_at", journal::NowUtc()}, {"task", task},
                                  {"role", job->role}}));
    }
    HealthInput hi;
    hi.history = std::move(hist);
    int64_t since = w.step_changed_at ? w.step_changed_at : (start ? *start : 0);
    if (since) hi.seconds_since_progress = now - since;
    hi.checkpoint_age_seconds = CheckpointAge(x.cluster, run, x.thresholds);
    hi.free_disk_gb = FreeDiskGb(x.cluster);
    {
      std::lock_guard lock(g_mu);
      (*g_watches)[key] = w;
    }
    json health = HealthJson(CheckHealth(hi, x.thresholds));
    if (HealthSignature(health) != HealthSignature(run.health))
      HPC_RETURN_IF_ERROR(Append(x, run, "health", health));
  } else if (!IsActiveState(state) && run.diagnosis.is_null()) {
    HPC_RETURN_IF_ERROR(DiagnoseEnded(x, run, st));
    std::lock_guard lock(g_mu);
    g_watches->erase(x.store.state_dir() + "|" + run.id);
  }
  return Status::Ok();
}

}  // namespace

DiagnosisInput ReadEvidence(remote::Remote& remote, const std::string& out,
                            const std::string& err) {
  DiagnosisInput in;
  LogQuery q;
  q.max_lines = 200;
  q.max_bytes = 64 * 1024;
  q.max_scan_bytes = 256 * 1024;
  auto o = TailLines(remote, out, q);
  if (o.ok()) {
    for (const auto& l : o->lines) in.stdout_tail += l + "\n";
  } else {
    in.stdout_missing = true;
    auto dir = remote.Stat(cluster::Dirname(out));
    in.log_dir_missing = !dir.ok() && dir.status().code() == StatusCode::kNotFound;
  }
  if (err != out) {
    auto e = TailLines(remote, err, q);
    if (e.ok())
      for (const auto& l : e->lines) in.stderr_tail += l + "\n";
  }
  in.metrics = ExtractMetrics(in.stdout_tail + in.stderr_tail);
  return in;
}

json RunJson(const Run& run, uint64_t since, bool has_since) {
  json j{{"run_id", run.id},
         {"name", run.name},
         {"profile", run.profile},
         {"state", run.state},
         {"native_state", run.native_state},
         {"job_ids", run.JobIds()},
         {"changed", !has_since || run.changed_seq > since},
         {"progress", run.progress.is_object() ? run.progress : json::object()},
         {"health", run.health.is_object() ? run.health : json{{"status", "unknown"}, {"checks", json::array()}}},
         {"diagnosis", run.diagnosis}};
  if (run.elapsed_s) j["elapsed_s"] = *run.elapsed_s;
  if (run.time_limit_s) j["time_limit_s"] = *run.time_limit_s;
  if (run.exit_code) j["exit_code"] = *run.exit_code;
  if (run.tasks.is_object() && !run.tasks.empty()) j["tasks"] = run.tasks;
  if (!run.state_reason.empty()) j["reason"] = run.state_reason;
  if (run.sweep) {
    j["sweep"] = sweep::SummaryJson(*run.sweep);
    j["tasks"] = j["sweep"]["counts"];
    return j;
  }
  if (run.state == kSubmitting) {
    bool lost = false;
    if (const Attempt* a = run.current())
      for (const auto& job : a->jobs) lost |= job.lost || job.job_id.empty();
    if (lost)
      j["reason"] = "its submission did not complete; call submit again with the same "
                    "arguments to adopt or finish it";
  }
  return j;
}

Result<PollOutcome> PollRuns(RunStore& store, const PollRequest& req) {
  auto table = store.Load();
  if (!table.ok()) return table.status();
  std::vector<const Run*> selected;
  if (req.run_ids.empty()) {
    for (const auto& [id, run] : (*table)->runs)
      if (run.active()) selected.push_back(&run);
  } else {
    for (const auto& id : req.run_ids) {
      auto it = (*table)->runs.find(id);
      if (it == (*table)->runs.end())
        return NotFound("run " + id + " is not in the journal of " + store.repo() +
                        "; list_runs shows this repository's runs (a run of another "
                        "repository needs its `repo`)");
      selected.push_back(&it->second);
    }
  }
  std::map<std::string, std::vector<const Run*>> by_profile;
  for (const Run* r : selected)
    if (r->active()) by_profile[r->profile].push_back(r);

  PollOutcome out;
  std::vector<std::string> changed;
  std::map<std::string, json> live;
  for (auto& [profile, runs] : by_profile) {
    auto cluster = OpenCluster(profile, store.repo(), Intent::kObserve);
    if (!cluster.ok()) {
      out.errors.push_back("profile " + profile + ": " + cluster.status().message());
      continue;
    }
    for (const Run* r : runs)
      if (r->state == kSubmitting && !r->sweep)
        (void)ReconcileRun(store, **cluster, r->id, /*dispatch_missing=*/false, /*locked=*/false);
    auto fresh = store.Load();
    if (!fresh.ok()) return fresh.status();
    std::vector<std::string> ids;
    bool sweeps = false;
    for (const Run* r : runs) {
      for (const auto& id : (*fresh)->runs.at(r->id).JobIds()) ids.push_back(id);
      sweeps |= r->sweep != nullptr;
    }
    // A sweep may have work due (a retry, a release) with no job queued.
    if (ids.empty() && !sweeps) continue;
    Result<std::vector<JobStatus>> st = std::vector<JobStatus>{};
    if (!ids.empty()) st = CachedQuery((*cluster)->profile, *(*cluster)->scheduler, ids);
    if (!st.ok()) {
      out.errors.push_back("profile " + profile + ": " + st.status().message());
      continue;
    }
    const auto& prof = (*cluster)->profile;
    auto th = LoadThresholds(prof.raw.is_object() ? prof.raw.value("health", json()) : json(),
                             store.repo(), prof.source);
    Ctx x{store, **cluster, th.ok() ? *th : Thresholds{}, {}, live};
    if (!th.ok()) out.errors.push_back(th.status().message());
    for (const Run* r : runs) {
      auto latest = store.Load();
      if (!latest.ok()) return latest.status();
      if (r->sweep) {
        auto advanced = sweep::AdvanceSweep(store, **cluster, r->id, *st);
        if (!advanced.ok()) {
          out.errors.push_back("sweep " + r->id + ": " + advanced.status().message());
          continue;
        }
        if (advanced->changed) x.changed.push_back(r->id);
        out.errors.insert(out.errors.end(), advanced->errors.begin(), advanced->errors.end());
        continue;
      }
      Status s = UpdateRun(x, (*latest)->runs.at(r->id), *st);
      if (!s.ok()) out.errors.push_back("run " + r->id + ": " + s.message());
    }
    changed.insert(changed.end(), x.changed.begin(), x.changed.end());
  }

  auto final_table = store.Load();
  if (!final_table.ok()) return final_table.status();
  out.seq = (*final_table)->seq;
  out.problems = (*final_table)->problems;
  for (const Run* r : selected) {
    const Run& now = (*final_table)->runs.at(r->id);
    json view = RunJson(now, req.since, req.has_since);
    if (auto it = live.find(now.id); it != live.end() && now.state == "running")
      view["progress"] = it->second;
    out.runs.push_back(std::move(view));
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  out.changed = std::move(changed);
  return out;
}

}  // namespace hpc::runs
