#include "tools/runlog/history.h"

#include <algorithm>

#include "tools/remote/shell.h"
#include "tools/runlog/human_date.h"
#include "tools/runlog/layout.h"

namespace hpc::runlog {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>()
                                          : std::string();
}

std::string CommandOf(const json& spec) {
  if (spec.contains("command") && spec["command"].is_array()) {
    std::vector<std::string> argv;
    for (const auto& a : spec["command"])
      if (a.is_string()) argv.push_back(a.get<std::string>());
    return remote::ShellJoin(argv);
  }
  const std::string script = Str(spec, "script");
  if (script.empty()) return "";
  const size_t nl = script.find('\n');
  const long lines =
      std::count(script.begin(), script.end(), '\n') + (script.back() != '\n');
  return "inline script (" + std::to_string(lines) + " lines, " +
         script.substr(0, nl) + ")";
}

// What the journal observed of each run, beyond Fold's table.
struct Observed {
  std::string first_running, ended;  // Event times.
  json job = json::object();         // The last `job` facts recorded.
  json inputs = json::object();      // The run's own inputs, merged.
  std::string wandb_dir;             // Of the last `linked` wandb event.
  json signoff;                      // The last checkpoint_signoff.
};

JobBlock BlockOf(const runs::Run& r, const Observed& o, bool resumed) {
  JobBlock b;
  b.run_id = r.id;
  b.profile = r.profile;
  b.scheduler = r.scheduler;
  b.state = r.state;
  b.native_state = r.native_state;
  b.exit_code = r.exit_code;
  b.resumed = resumed;
  if (const runs::Attempt* a = r.current()) {
    for (const auto& j : a->jobs)
      if (!j.job_id.empty()) b.jobs.emplace_back(j.role, j.job_id);
    if (const runs::Job* m = a->Find("main")) b.submitted = m->submitted_at;
    if (b.submitted.empty() && !a->jobs.empty())
      b.submitted = a->jobs.front().submitted_at;
  }
  if (b.submitted.empty()) b.submitted = r.created_at;
  // The scheduler's own times when a call recorded them; else when a poll
  // first saw the run running, and saw it end.
  b.started = Str(o.job, "start");
  if (b.started.empty()) b.started = o.first_running;
  b.ended = Str(o.job, "end");
  if (b.ended.empty() && !r.active()) b.ended = o.ended;
  // Journal times carry milliseconds; the log shows seconds throughout.
  for (std::string* t : {&b.submitted, &b.started, &b.ended})
    if (const int64_t secs = runs::ParseTs(*t); secs > 0) *t = IsoUtc(secs);
  b.nodes = Str(o.job, "nodes");
  if (r.elapsed_s) {
    b.runtime_s = *r.elapsed_s;
  } else if (!b.started.empty() && !b.ended.empty()) {
    b.runtime_s = runs::ParseTs(b.ended) - runs::ParseTs(b.started);
  }
  b.stdout_path = MainLogPath(r);
  b.command = CommandOf(r.spec);
  b.resumed_from = Str(o.inputs, "resumed_from");
  std::tie(b.wandb_url, b.wandb_local) = WandbOf(r);
  if (b.wandb_local.empty()) b.wandb_local = o.wandb_dir;
  b.signoff = o.signoff;
  return b;
}

}  // namespace

std::string RunLogModel::Note(const char* key) const {
  auto it = notes.find(key);
  if (it == notes.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string MainLogPath(const runs::Run& run, bool stderr_stream) {
  const runs::Attempt* a = run.current();
  if (!a) return "";
  const runs::Job* job = a->Find("main");
  if (!job && !a->jobs.empty()) job = &a->jobs.back();
  if (!job) return "";
  std::string path = stderr_stream ? job->stderr_path : job->stdout_path;
  const size_t at = path.find("{task}");
  if (at != std::string::npos)
    path.replace(at, 6,
                 job->array_tasks.empty()
                     ? "0"
                     : std::to_string(job->array_tasks.front()));
  return path;
}

std::pair<std::string, std::string> WandbOf(const runs::Run& run) {
  if (!run.links.is_object() || !run.links.contains("wandb")) return {};
  const json& w = run.links["wandb"];
  if (w.is_string()) return {w.get<std::string>(), ""};
  if (!w.is_object()) return {};
  std::string local = Str(w, "local_dir");
  if (local.empty()) local = Str(w, "run_dir");
  if (local.empty()) local = Str(w, "dir");
  return {Str(w, "url"), local};
}

std::map<std::string, RunLogModel> BuildModels(
    const runs::RunTable& table, const std::vector<journal::Event>& events) {
  std::map<std::string, Observed> seen;
  std::map<std::string, RunLogModel> models;
  for (const auto& e : events) {
    if (e.run.empty()) continue;
    const json& c = e.context;
    if (e.name == "state_changed") {
      Observed& o = seen[e.run];
      const std::string to = Str(c, "to");
      if (to == "running" && o.first_running.empty()) o.first_running = e.ts;
      if (!to.empty() && !runs::IsActiveState(to)) o.ended = e.ts;
      continue;
    }
    if (e.name == "linked" && Str(c, "kind") == "wandb") {
      // sync_wandb records the offline directory it synced beside the URL.
      seen[e.run].wandb_dir = Str(c, "path");
      continue;
    }
    if (e.name == "linked" && Str(c, "kind") == "checkpoint_signoff") {
      seen[e.run].signoff = c;
      continue;
    }
    if (e.name != "linked" || Str(c, "kind") != kLinkKind) continue;
    const std::string path = Str(c, "value");
    if (path.empty()) continue;
    Observed& o = seen[e.run];
    const json inputs = c.value("inputs", json::object());
    if (inputs.is_object()) o.inputs.update(inputs);
    if (c.contains("job") && c["job"].is_object()) o.job = c["job"];
    RunLogModel& m = models[path];
    if (inputs.is_object()) m.notes.update(inputs);
    if (m.code.empty()) m.code = Str(c, "code");
    if (c.contains("results") && c["results"].is_object())
      m.results = c["results"];
    if (c.contains("entry") && c["entry"].is_object()) {
      const json& en = c["entry"];
      StatusEntry s;
      s.at = runs::ParseTs(e.ts);
      s.state = Str(en, "state");
      s.text = Str(en, "text");
      s.source = Str(en, "source");
      if (en.contains("evidence") && en["evidence"].is_object())
        s.evidence = en["evidence"];
      m.status.push_back(std::move(s));
    }
  }
  // The runs each file covers: those whose link names it now.
  std::map<std::string, std::vector<const runs::Run*>> chains;
  for (const auto& [id, r] : table.runs) {
    if (!r.links.is_object()) continue;
    const std::string path = Str(r.links, kLinkKind);
    if (!path.empty() && models.count(path)) chains[path].push_back(&r);
  }
  for (auto& [path, m] : models) {
    m.path = path;
    m.task = TaskOf(BaseOf(path));
    m.day = DayOf(BaseOf(path));
    auto& chain = chains[path];
    std::sort(
        chain.begin(), chain.end(), [](const runs::Run* a, const runs::Run* b) {
          return a->created_at != b->created_at ? a->created_at < b->created_at
                                                : a->id < b->id;
        });
    for (size_t i = 0; i < chain.size(); ++i)
      m.blocks.push_back(BlockOf(*chain[i], seen[chain[i]->id], i > 0));
    if (!chain.empty()) {
      m.spec = chain.front()->spec;
      m.workdir = chain.front()->workdir;
      m.progress = chain.back()->progress;
    }
  }
  return models;
}

}  // namespace hpc::runlog
