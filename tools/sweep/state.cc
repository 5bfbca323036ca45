#include "tools/sweep/state.h"

#include <algorithm>

namespace hpc::sweep {
namespace {

using nlohmann::json;

constexpr const char* kStateNames[] = {"waiting", "queued",  "running", "done",
                                       "retry_wait", "blocked", "stuck", "cancelled"};

std::string Str(const json& c, const char* key) {
  auto it = c.find(key);
  return it != c.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string Replace(std::string s, std::string_view what, const std::string& with) {
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size()))
    s.replace(at, what.size(), with);
  return s;
}

}  // namespace

const char* TaskStateName(TaskState s) { return kStateNames[static_cast<int>(s)]; }

std::optional<TaskState> ParseTaskState(std::string_view name) {
  for (size_t i = 0; i < std::size(kStateNames); ++i)
    if (name == kStateNames[i]) return static_cast<TaskState>(i);
  return std::nullopt;
}

bool IsActive(TaskState s) {
  return s == TaskState::kWaiting || s == TaskState::kQueued || s == TaskState::kRunning ||
         s == TaskState::kRetryWait;
}

std::string BatchRecord::ElementJobId(size_t i, const std::string& scheduler) const {
  const std::string element = std::to_string(base + static_cast<int64_t>(i));
  return job_id + (scheduler == "sge" ? "." : "_") + element;
}

std::string BatchRecord::Log(const std::string& tmpl, size_t i) const {
  return Replace(tmpl, "{task}", std::to_string(base + static_cast<int64_t>(i)));
}

SweepState SweepState::FromCreated(const json& sweep) {
  SweepState s;
  s.name = Str(sweep, "name");
  s.has_aggregate = sweep.value("aggregate", false);
  if (sweep.contains("task_ids") && sweep["task_ids"].is_array())
    for (const auto& id : sweep["task_ids"])
      s.task_ids.push_back(id.is_string() ? id.get<std::string>() : "");
  if (sweep.contains("phases") && sweep["phases"].is_array())
    for (const auto& p : sweep["phases"])
      s.phases.push_back(PhaseSpan{Str(p, "name"), Str(p, "template_key"), p.value("first", 0u),
                                   p.value("count", 0u)});
  s.tasks.resize(s.task_ids.size());
  return s;
}

bool IsSweepEvent(std::string_view name) {
  return name == "batch_submitting" || name == "batch_submitted" ||
         name == "batch_submit_failed" || name == "tasks_changed" ||
         name == "aggregate_changed" || name == "sweep_summary";
}

void SweepState::Apply(const journal::Event& e, std::vector<std::string>& problems) {
  const json& c = e.context;
  auto batch_of = [&]() -> BatchRecord* {
    auto it = batch_index.find(Str(c, "batch"));
    if (it == batch_index.end()) {
      problems.push_back(e.name + " of " + e.run + " names batch " + Str(c, "batch") +
                         ", which was never submitted; skipped");
      return nullptr;
    }
    return &batches[it->second];
  };
  if (e.name == "batch_submitting") {
    const std::string id = Str(c, "batch");
    int index;
    if (auto it = batch_index.find(id); it != batch_index.end()) {
      index = it->second;  // A reconciliation re-dispatching it.
    } else {
      index = static_cast<int>(batches.size());
      batches.emplace_back();
      batch_index[id] = index;
    }
    BatchRecord& b = batches[index];
    b.id = id;
    b.phase = c.value("phase", -1);
    b.kind = Str(c, "kind");
    b.tasks = c.value("tasks", std::vector<uint32_t>{});
    b.base = c.value("base", 0);
    b.tag = Str(c, "tag");
    b.script_path = Str(c, "script_path");
    b.stdout_path = Str(c, "stdout_path");
    b.stderr_path = Str(c, "stderr_path");
    b.exit_dir = Str(c, "exit_dir");
    b.after.clear();
    if (c.contains("after") && c["after"].is_array())
      for (const auto& a : c["after"]) b.after.emplace_back(Str(a, "batch"), Str(a, "kind"));
    b.avoid_nodes = c.value("avoid_nodes", std::vector<std::string>{});
    b.avoid_gpus = c.value("avoid_gpus", std::vector<int>{});
    b.lost = b.failed = false;
    if (b.kind == kAggregateBatch) {
      aggregate.batch = index;
      aggregate.state = "submitting";
    }
    for (size_t i = 0; i < b.tasks.size(); ++i) {
      if (b.tasks[i] >= tasks.size()) {
        problems.push_back("batch " + id + " of " + e.run + " names task " +
                           std::to_string(b.tasks[i]) + ", which the sweep does not have");
        continue;
      }
      TaskRecord& t = tasks[b.tasks[i]];
      if (t.attempts.empty() || t.attempts.back().batch != index)
        t.attempts.push_back(TaskAttempt{index, TaskState::kWaiting, ""});
      t.batch = index;
      t.element = static_cast<uint32_t>(i);
      t.state = TaskState::kWaiting;
      t.exit_code.reset();
      t.not_before = 0;
      t.job_id.clear();
      t.elapsed_s.reset();
    }
    return;
  }
  if (e.name == "batch_submitted") {
    BatchRecord* b = batch_of();
    if (!b) return;
    b->job_id = Str(c, "job_id");
    b->submitted_at = e.ts;
    b->lost = false;
    const int index = batch_index[b->id];
    if (b->kind == kAggregateBatch && aggregate.batch == index) aggregate.state = "queued";
    for (uint32_t t : b->tasks)
      if (t < tasks.size() && tasks[t].batch == index && tasks[t].state == TaskState::kWaiting)
        tasks[t].state = TaskState::kQueued;
    return;
  }
  if (e.name == "batch_submit_failed") {
    BatchRecord* b = batch_of();
    if (!b) return;
    if (c.value("lost", false)) {
      b->lost = true;
      return;
    }
    b->failed = true;
    const int index = batch_index[b->id];
    if (b->kind == kAggregateBatch && aggregate.batch == index) {
      aggregate.state = "failed";
      aggregate.message = Str(c, "message");
    }
    for (uint32_t t : b->tasks) {
      if (t >= tasks.size() || tasks[t].batch != index) continue;
      TaskRecord& r = tasks[t];
      r.state = TaskState::kStuck;
      r.category = "submit_failed";
      r.summary = Str(c, "message");
      if (!r.attempts.empty()) {
        r.attempts.back().outcome = TaskState::kStuck;
        r.attempts.back().category = r.category;
      }
    }
    return;
  }
  if (e.name == "tasks_changed") {
    if (!c.contains("changes") || !c["changes"].is_array()) return;
    for (const auto& ch : c["changes"]) {
      const uint32_t t = ch.value("t", UINT32_MAX);
      auto st = ParseTaskState(Str(ch, "s"));
      if (t >= tasks.size() || !st) {
        problems.push_back("tasks_changed of " + e.run + " has an entry that names no task: " +
                           ch.dump());
        continue;
      }
      TaskRecord& r = tasks[t];
      r.state = *st;
      if (ch.contains("x") && ch["x"].is_number_integer()) r.exit_code = ch["x"].get<int>();
      if (ch.contains("c")) r.category = Str(ch, "c");
      if (ch.contains("m")) r.summary = Str(ch, "m");
      if (ch.contains("j")) r.job_id = Str(ch, "j");
      if (ch.contains("e") && ch["e"].is_number_integer()) r.elapsed_s = ch["e"].get<int64_t>();
      if (ch.contains("n")) r.nodes = Str(ch, "n");
      r.not_before = ch.value("nb", int64_t{0});
      if (*st == TaskState::kDone) r.category.clear(), r.summary.clear();
      if (!r.attempts.empty() && *st != TaskState::kBlocked) {
        r.attempts.back().outcome = *st;
        if (ch.contains("c")) r.attempts.back().category = r.category;
      }
    }
    return;
  }
  if (e.name == "aggregate_changed") {
    aggregate.state = Str(c, "state");
    if (c.contains("output")) aggregate.output = Str(c, "output");
    aggregate.message = Str(c, "message");
    return;
  }
  if (e.name == "sweep_summary") {
    summary_path = Str(c, "path");
    return;
  }
  return;
}

void SweepState::CancelActive() {
  for (TaskRecord& t : tasks)
    if (IsActive(t.state)) {
      t.state = TaskState::kCancelled;
      if (!t.attempts.empty()) t.attempts.back().outcome = TaskState::kCancelled;
    }
  const std::string& a = aggregate.state;
  if (a == "submitting" || a == "queued" || a == "running") aggregate.state = "cancelled";
}

int SweepState::PhaseOf(uint32_t task) const {
  for (size_t p = 0; p < phases.size(); ++p)
    if (task >= phases[p].first && task < phases[p].first + phases[p].count)
      return static_cast<int>(p);
  return -1;
}

std::map<std::string, int64_t> SweepState::Counts() const {
  std::map<std::string, int64_t> n;
  for (const auto& t : tasks) ++n[TaskStateName(t.state)];
  return n;
}

bool SweepState::Active() const {
  for (const auto& t : tasks)
    if (IsActive(t.state)) return true;
  const std::string& a = aggregate.state;
  return a == "submitting" || a == "queued" || a == "running";
}

std::string SweepState::RunState() const {
  bool running = aggregate.state == "running", active = false, submitting = false;
  bool all_done = true, cancelled = false;
  for (const auto& t : tasks) {
    running |= t.state == TaskState::kRunning;
    active |= IsActive(t.state);
    submitting |= t.state == TaskState::kWaiting && t.batch >= 0 &&
                  batches[t.batch].job_id.empty();
    all_done &= t.state == TaskState::kDone;
    cancelled |= t.state == TaskState::kCancelled;
  }
  const std::string& a = aggregate.state;
  if (a == "submitting" && batches[aggregate.batch].job_id.empty()) submitting = true;
  if (running) return "running";
  if (submitting) return "submitting";
  if (active || a == "submitting" || a == "queued") return "pending";
  if (cancelled) return "cancelled";
  if (!all_done) return "failed";
  if (has_aggregate && a != "completed") return a == "failed" ? "failed" : "pending";
  return "completed";
}

std::vector<std::string> SweepState::ActiveJobIds() const {
  std::vector<bool> wanted(batches.size(), false);
  for (const auto& t : tasks)
    if ((t.state == TaskState::kQueued || t.state == TaskState::kRunning) && t.batch >= 0)
      wanted[t.batch] = true;
  const std::string& a = aggregate.state;
  if (aggregate.batch >= 0 && (a == "queued" || a == "running")) wanted[aggregate.batch] = true;
  std::vector<std::string> ids;
  for (size_t i = 0; i < batches.size(); ++i)
    if (wanted[i] && !batches[i].job_id.empty()) ids.push_back(batches[i].job_id);
  return ids;
}

std::vector<std::string> SweepState::AllJobIds() const {
  std::vector<std::string> ids;
  for (const auto& b : batches)
    if (!b.job_id.empty()) ids.push_back(b.job_id);
  return ids;
}

json SummaryJson(const SweepState& s, size_t max_listed) {
  json counts = json::object();
  int64_t retries = 0;
  for (const auto& [k, v] : s.Counts()) counts[k] = v;
  for (const auto& t : s.tasks) retries += t.retries();
  json phases = json::array();
  for (size_t p = 0; p < s.phases.size(); ++p) {
    std::map<std::string, int64_t> n;
    const PhaseSpan& span = s.phases[p];
    for (uint32_t t = span.first; t < span.first + span.count && t < s.tasks.size(); ++t)
      ++n[TaskStateName(s.tasks[t].state)];
    phases.push_back({{"name", span.name}, {"tasks", span.count}, {"counts", n}});
  }
  // Problems first (stuck, then blocked, then waiting for a retry), each
  // with its diagnosis: what a person acts on.
  json listed = json::array();
  size_t more = 0;
  for (TaskState want : {TaskState::kStuck, TaskState::kBlocked, TaskState::kRetryWait}) {
    for (size_t i = 0; i < s.tasks.size(); ++i) {
      const TaskRecord& t = s.tasks[i];
      if (t.state != want) continue;
      if (listed.size() >= max_listed) {
        ++more;
        continue;
      }
      json j{{"task", s.task_ids[i]}, {"state", TaskStateName(t.state)},
             {"attempts", t.attempts.size()}, {"category", t.category}, {"summary", t.summary}};
      if (t.exit_code) j["exit_code"] = *t.exit_code;
      if (!t.job_id.empty()) j["job_id"] = t.job_id;
      if (t.not_before) j["retry_not_before"] = t.not_before;
      listed.push_back(std::move(j));
    }
  }
  json out{{"name", s.name},     {"tasks", s.tasks.size()}, {"counts", counts},
           {"retries", retries}, {"batches", s.batches.size()}, {"phases", phases},
           {"problems", listed}};
  if (more) out["problems_not_listed"] = more;
  if (s.has_aggregate) {
    json a{{"state", s.aggregate.state.empty() ? "not_started" : s.aggregate.state}};
    if (!s.aggregate.output.empty()) a["output"] = s.aggregate.output;
    if (!s.aggregate.message.empty()) a["message"] = s.aggregate.message;
    out["aggregate"] = a;
  }
  if (!s.summary_path.empty()) out["summary_path"] = s.summary_path;
  out["line"] = SummaryLine(s);
  return out;
}

std::string SummaryLine(const SweepState& s) {
  std::string line = std::to_string(s.tasks.size()) + " tasks: ";
  bool first = true;
  for (const auto& [k, v] : s.Counts()) {
    line += (first ? "" : ", ") + std::to_string(v) + " " + k;
    first = false;
  }
  int64_t retries = 0;
  for (const auto& t : s.tasks) retries += t.retries();
  if (retries) line += " · " + std::to_string(retries) + (retries == 1 ? " retry" : " retries");
  int named = 0;
  for (TaskState want : {TaskState::kStuck, TaskState::kBlocked})
    for (size_t i = 0; i < s.tasks.size() && named < 3; ++i)
      if (s.tasks[i].state == want) {
        line += (named ? ", " : std::string(" · ") + TaskStateName(want) + " ") + s.task_ids[i] +
                (s.tasks[i].category.empty() ? "" : " (" + s.tasks[i].category + ")");
        ++named;
      }
  if (s.has_aggregate && !s.aggregate.state.empty()) line += " · aggregate " + s.aggregate.state;
  return line;
}

}  // namespace hpc::sweep
