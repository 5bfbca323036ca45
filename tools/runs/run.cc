#include "tools/runs/run.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "mcp_server/json_rpc.h"

namespace hpc::runs {
namespace {

using nlohmann::json;

std::string Str(const json& c, const char* key) {
  auto it = c.find(key);
  return it != c.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int Int(const json& c, const char* key, int fallback) {
  auto it = c.find(key);
  return it != c.end() && it->is_number_integer() ? it->get<int>() : fallback;
}

double Num(const json& c, const char* key) {
  auto it = c.find(key);
  return it != c.end() && it->is_number() ? it->get<double>() : 0;
}

// Sorted keys: nlohmann::json objects are std::map-ordered already, so a
// dump is canonical.
std::string Canonical(const json& j) { return mcp::Dump(j); }

// The notification a change of state from `run.state` to `to` is, given
// what the run went through before (run_started only the first time; a
// cancel asked through `cancel` is no failure).
std::string NoticeFor(const Run& run, const std::string& to) {
  // A sweep is announced when it starts and once it ended, however: one
  // failed task of hundreds is in the sweep_done notice, not a run_failed.
  if (run.sweep && !IsActiveState(to) && to != "cancelled") return "sweep_done";
  if (to == "running") return run.started ? "" : "run_started";
  if (to == "completed") return "run_finished";
  if (to == "cancelled") return run.cancel_requested ? "" : "run_failed";
  if (to == "failed" || to == "timeout" || to == "out_of_memory" || to == "node_fail" ||
      to == "preempted" || to == kSubmitFailed)
    return "run_failed";
  return "";
}

// Records a change of `run`'s state to `to` made by the event being
// applied; a repeated report of the state it already has (two pollers
// racing) changes nothing.
void ChangeState(RunTable& t, Run& run, const journal::Event& e, const std::string& to) {
  if (to.empty() || to == run.state) return;
  t.milestones.push_back(
      Milestone{t.seq, e.ts, run.id, "state", run.state, to, NoticeFor(run, to), nullptr});
  if (to == "running") run.started = true;
  run.state = to;
  run.state_changed_at = e.ts;
}

// The failing checks of a health event's context.
json FailedChecks(const json& c) {
  json failed = json::array();
  if (c.contains("checks") && c["checks"].is_array())
    for (const auto& check : c["checks"])
      if (check.is_object() && Str(check, "status") == "fail") failed.push_back(check);
  return failed;
}

void ApplyRepoWide(RunTable& t, const journal::Event& e) {
  const json& c = e.context;
  if (e.name == "confirm_requested") {
    Confirmation& k = t.confirmations[Str(c, "token_sha256")];
    k.spec_hash = Str(c, "spec_hash");
    k.run_id = Str(c, "run_id");
    k.gpu_hours = Num(c, "gpu_hours");
    k.expires_at = static_cast<int64_t>(Num(c, "expires_at"));
  } else if (e.name == "notify_started") {
    if (!t.notify_from) t.notify_from = static_cast<uint64_t>(Num(c, "seq"));
  } else if (e.name == "notice_claimed") {
    NoticeRecord& n = t.notices[Str(c, "key")];
    n.event = Str(c, "event");
    n.run = Str(c, "run");
    n.claimed_by = Str(c, "by");
    n.claimed_at = e.ts;
    if (!n.claim_seq) n.claim_seq = t.seq;
    if (c.contains("channels") && c["channels"].is_array())
      for (const auto& ch : c["channels"])
        if (ch.is_string() &&
            std::find(n.channels.begin(), n.channels.end(), ch.get<std::string>()) ==
                n.channels.end())
          n.channels.push_back(ch.get<std::string>());
  } else if (e.name == "notice_sent") {
    NoticeRecord& n = t.notices[Str(c, "key")];
    const bool ok = c.contains("ok") && c["ok"].is_boolean() && c["ok"].get<bool>();
    n.sent[Str(c, "channel")] = {ok, Str(c, "error"), e.ts};
  }
}

Attempt& AttemptFor(Run& run, int number) {
  for (auto& a : run.attempts)
    if (a.number == number) return a;
  run.attempts.push_back(Attempt{number, {}});
  return run.attempts.back();
}

}  // namespace

bool IsActiveState(const std::string& state) {
  return state == kSubmitting || state == "pending" || state == "running" || state == "unknown";
}

const Job* Attempt::Find(const std::string& role) const {
  for (const auto& j : jobs)
    if (j.role == role) return &j;
  return nullptr;
}
Job* Attempt::Find(const std::string& role) {
  for (auto& j : jobs)
    if (j.role == role) return &j;
  return nullptr;
}

std::vector<std::string> Run::JobIds() const {
  if (sweep) return sweep->ActiveJobIds();
  std::vector<std::string> ids;
  if (const Attempt* a = current())
    for (const auto& j : a->jobs)
      if (!j.job_id.empty()) ids.push_back(j.job_id);
  return ids;
}

void RunTable::Apply(const journal::Event& e) {
  ++seq;
  const json& c = e.context;
  if (e.run.empty()) {  // Repository-wide events.
    ApplyRepoWide(*this, e);
    return;
  }
  if (e.name == "created") {
    Run& r = runs[e.run];
    r.id = e.run;
    r.name = Str(c, "name");
    r.profile = Str(c, "profile");
    r.scheduler = Str(c, "scheduler");
    r.spec = c.value("spec", json::object());
    r.spec_hash = Str(c, "spec_hash");
    r.workdir = Str(c, "workdir");
    r.gpu_hours = Num(c, "gpu_hours");
    r.job_count = static_cast<int64_t>(Num(c, "jobs"));
    r.created_at = r.updated_at = e.ts;
    if (std::string token = Str(c, "confirm_token_sha256"); !token.empty())
      confirmations[token].used_by = e.run;
    if (c.contains("sweep") && c["sweep"].is_object())
      r.sweep = std::make_shared<sweep::SweepState>(sweep::SweepState::FromCreated(c["sweep"]));
    r.changed_seq = seq;
    r.state_changed_at = e.ts;
    milestones.push_back(Milestone{seq, e.ts, e.run, "created", "", r.state, "", nullptr});
    return;
  }
  auto it = runs.find(e.run);
  if (it == runs.end()) {
    problems.push_back("event " + std::to_string(seq) + " (" + e.name + ") names run " + e.run +
                       ", which was never created; skipped");
    return;
  }
  Run& r = it->second;
  r.updated_at = e.ts;
  r.changed_seq = seq;
  if (r.sweep && sweep::IsSweepEvent(e.name)) {
    // Copy on write: snapshots handed out keep the state they had. Only
    // the thread building this table can add holders, so a count of 1
    // stays 1.
    if (r.sweep.use_count() > 1) r.sweep = std::make_shared<sweep::SweepState>(*r.sweep);
    r.sweep->Apply(e, problems);
    return;
  }
  const std::string role = Str(c, "role");
  if (e.name == "submitting") {
    Attempt& a = AttemptFor(r, Int(c, "attempt", 1));
    Job* j = a.Find(role);
    if (!j) {
      a.jobs.push_back(Job{});
      j = &a.jobs.back();
    }
    j->role = role;
    j->tag = Str(c, "tag");
    j->script_path = Str(c, "script_path");
    j->stdout_path = Str(c, "stdout_path");
    j->stderr_path = Str(c, "stderr_path");
    j->exit_dir = Str(c, "exit_dir");
    j->array_tasks = c.value("array_tasks", std::vector<int64_t>{});
    j->lost = false;
    if (r.attempts.size() == 1 || !IsActiveState(r.state) || r.state == kSubmitting)
      ChangeState(*this, r, e, kSubmitting);  // A resubmission, or nothing.
    r.diagnosis = nullptr;
  } else if (e.name == "submitted") {
    Attempt& a = AttemptFor(r, Int(c, "attempt", 1));
    if (Job* j = a.Find(role)) {
      j->job_id = Str(c, "job_id");
      j->submitted_at = e.ts;
      j->lost = false;
    }
    // Every job of the attempt has an id: the run is queued.
    bool all = std::all_of(a.jobs.begin(), a.jobs.end(),
                           [](const Job& j) { return !j.job_id.empty(); });
    if (all && r.state == kSubmitting) ChangeState(*this, r, e, "pending");
  } else if (e.name == "submit_failed") {
    Attempt& a = AttemptFor(r, Int(c, "attempt", 1));
    if (c.value("lost", false)) {
      if (Job* j = a.Find(role)) j->lost = true;
    } else {
      ChangeState(*this, r, e, kSubmitFailed);
      r.state_reason = Str(c, "message");
    }
  } else if (e.name == "state_changed") {
    ChangeState(*this, r, e, Str(c, "to"));
    r.native_state = Str(c, "native_state");
    r.state_reason = Str(c, "reason");
    if (c.contains("exit_code") && c["exit_code"].is_number_integer())
      r.exit_code = c["exit_code"].get<int>();
    if (c.contains("elapsed_s") && c["elapsed_s"].is_number_integer())
      r.elapsed_s = c["elapsed_s"].get<int64_t>();
    if (c.contains("time_limit_s") && c["time_limit_s"].is_number_integer())
      r.time_limit_s = c["time_limit_s"].get<int64_t>();
    r.tasks = c.value("tasks", json::object());
  } else if (e.name == "progress") {
    r.progress = c.value("metrics", json::object());
    if (c.contains("cursor") && c["cursor"].is_number_unsigned())
      r.log_cursor = c["cursor"].get<uint64_t>();
    std::string moved = Str(c, "step_changed_at");
    if (!moved.empty()) r.step_changed_at = moved;
  } else if (e.name == "health") {
    const std::string before = r.health.is_object() ? r.health.value("status", "") : "";
    const std::string now = Str(c, "status");
    if (now == "fail" && before != "fail")
      milestones.push_back(
          Milestone{seq, e.ts, e.run, "health", before, now, "health_failed", FailedChecks(c)});
    r.health = {{"status", now}, {"checks", c.value("checks", json::array())}};
  } else if (e.name == "diagnosed") {
    r.diagnosis = c;
  } else if (e.name == "cancel_requested") {
    r.cancel_requested = true;
  } else if (e.name == "cancelled") {
    if (r.sweep) {
      if (r.sweep.use_count() > 1) r.sweep = std::make_shared<sweep::SweepState>(*r.sweep);
      r.sweep->CancelActive();
    }
    ChangeState(*this, r, e, "cancelled");  // Asked for: announces nothing.
    r.native_state = Str(c, "native_state");
  } else if (e.name == "linked") {
    r.links[Str(c, "kind")] = c.value("value", json());
  }
}

std::string MakeRunId(const std::string& name, int64_t unix_seconds, uint32_t random) {
  std::string clean;
  for (char ch : name) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (ok) clean += c;
    else if (!clean.empty() && clean.back() != '-') clean += '-';
    if (clean.size() >= 40) break;
  }
  while (!clean.empty() && clean.back() == '-') clean.pop_back();
  if (clean.empty()) clean = "run";
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d-%s-%04x", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, clean.c_str(), random & 0xffff);
  return buf;
}

bool IsRunId(const std::string& id) {
  // yyyymmdd-<name>-hhhh
  if (id.size() < 15 || id.size() > 60) return false;
  for (int i = 0; i < 8; ++i)
    if (!std::isdigit(static_cast<unsigned char>(id[i]))) return false;
  if (id[8] != '-' || id[id.size() - 5] != '-') return false;
  for (size_t i = id.size() - 4; i < id.size(); ++i)
    if (!std::isxdigit(static_cast<unsigned char>(id[i]))) return false;
  for (size_t i = 9; i < id.size() - 5; ++i) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::string SpecHash(const json& spec) {
  std::string text = Canonical(spec);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 8 && i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string AggregateState(const std::vector<cluster::JobStatus>& statuses) {
  using cluster::JobState;
  if (statuses.empty()) return "unknown";
  bool any_running = false, any_pending = false, any_unknown = false;
  for (const auto& s : statuses) {
    any_running |= s.state == JobState::kRunning;
    any_pending |= s.state == JobState::kPending;
    any_unknown |= s.state == JobState::kUnknown;
  }
  if (any_running) return "running";
  if (any_pending) return "pending";
  if (any_unknown) return "unknown";
  // All ended: the most telling failure wins.
  static const JobState kSeverity[] = {
      JobState::kOutOfMemory, JobState::kTimeout, JobState::kNodeFail, JobState::kPreempted,
      JobState::kFailed,      JobState::kCancelled};
  for (JobState bad : kSeverity)
    for (const auto& s : statuses)
      if (s.state == bad) return cluster::JobStateName(bad);
  return "completed";
}

json CountStates(const std::vector<cluster::JobStatus>& statuses) {
  json counts = json::object();
  for (const auto& s : statuses) {
    std::string k = cluster::JobStateName(s.state);
    counts[k] = counts.value(k, 0) + 1;
  }
  return counts;
}

int64_t ParseTs(const std::string& ts) {
  std::tm tm{};
  if (ts.size() < 19 || std::sscanf(ts.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
                                    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace hpc::runs
