#include "tools/runlog/actions.h"

#include <algorithm>
#include <map>
#include <memory>

#include "tools/checkpoint/git_state.h"
#include "tools/journal/journal.h"
#include "tools/remote/local_process.h"
#include "tools/runlog/history.h"
#include "tools/runlog/human_date.h"
#include "tools/runlog/index_pages.h"
#include "tools/runlog/layout.h"
#include "tools/runlog/log_summary.h"
#include "tools/runlog/markers.h"
#include "tools/runlog/publish.h"
#include "tools/runlog/render.h"
#include "tools/runlog/repo_files.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/query_cache.h"
#include "tools/runs/store.h"

namespace hpc::runlog {
namespace {

using nlohmann::json;

// The agent's fields that describe the run log and persist over calls.
constexpr const char* kNoteKeys[] = {"run_type",
                                     "subtype",
                                     "objective",
                                     "description",
                                     "config",
                                     "dataset",
                                     "key_settings",
                                     "loss_one_liner",
                                     "next",
                                     "checkpoint_path",
                                     "config_snapshot_path",
                                     "wandb_notes",
                                     "wandb_local",
                                     "key_metric",
                                     "verdict",
                                     "notes",
                                     "resumed_from"};

// RefreshRunLog's action: not one of the tool's (its schema lists those),
// so an agent cannot ask for it.
constexpr char kRefresh[] = "refresh";

// Metric fields that are bookkeeping, not evidence.
constexpr const char* kNotEvidence[] = {"line", "throughput_unit",
                                        "eta_seconds", "total"};

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>()
                                          : std::string();
}

// Everything one call works with.
struct Call {
  std::string repo, action, run_id;
  json args;
  std::shared_ptr<runs::RunStore> store;
  std::shared_ptr<const runs::RunTable> table;
  const runs::Run* run = nullptr;
  std::unique_ptr<RepoFiles> files;
  // By profile name.
  std::map<std::string, std::unique_ptr<runs::Cluster>> clusters;
  Outcome out;

  // The profile's cluster, opened once per call.
  Result<runs::Cluster*> ClusterOf(const std::string& profile) {
    auto it = clusters.find(profile);
    if (it != clusters.end()) return it->second.get();
    auto c = runs::OpenCluster(profile, repo);
    if (!c.ok()) return c.status();
    return (clusters[profile] = std::move(*c)).get();
  }
};

std::string LinkOf(const runs::Run& r) {
  return r.links.is_object() ? Str(r.links, kLinkKind) : std::string();
}

// The run log `c` writes to, checked lexically and on disk.
Result<std::string> TargetPath(Call& c) {
  const std::string existing = LinkOf(*c.run);
  std::string target;
  if (c.action == "create") {
    std::string task = c.args.value("task", "");
    if (task.empty()) task = c.run->name;
    auto p = RunLogPath(c.args.value("group", ""),
                        DayUtc(runs::ParseTs(c.run->created_at)), task);
    if (!p.ok()) return p.status();
    target = *p;
    if (!existing.empty() && existing != target)
      return FailedPrecondition(
          "run " + c.run_id + " already has its run log at " + existing +
          "; call create with the same group and task, or status/complete "
          "without them");
    for (const auto& [id, r] : c.table->runs)
      if (id != c.run_id && LinkOf(r) == target)
        return AlreadyExists(
            target + " is the run log of run " + id +
            ": to continue that run use action resume with resumes=" + id +
            "; for a different experiment choose another task name");
  } else if (c.action == "resume") {
    const std::string base = c.args.value("resumes", "");
    if (base.empty())
      return InvalidArgument(
          "resume needs resumes: the run id whose run log this run continues");
    if (base == c.run_id) return InvalidArgument("a run cannot resume itself");
    auto it = c.table->runs.find(base);
    if (it == c.table->runs.end())
      return NotFound("run " + base + " is not in the journal of " + c.repo);
    target = LinkOf(it->second);
    if (target.empty())
      return FailedPrecondition("run " + base +
                                " has no run log yet; create it first");
    if (!existing.empty() && existing != target)
      return FailedPrecondition("run " + c.run_id +
                                " already has its own run log at " + existing);
  } else {
    if (existing.empty())
      return FailedPrecondition(
          "run " + c.run_id +
          " has no run log yet: call write_run_log with action create "
          "(run_type, objective, optionally group and task) first");
    target = existing;
  }
  // A path read back from the journal is checked as strictly as a new one.
  if (target.rfind(std::string(kRunLogsDir) + "/", 0) != 0)
    return InvalidArgument("run log path '" + target + "' is not under " +
                           kRunLogsDir + "/");
  auto abs = c.files->Resolve(target);
  if (!abs.ok()) return abs.status();
  return target;
}

// "main @ 1a2b3c4d5e6f (uncommitted changes)": the code a run was submitted
// from, or "" outside git. The commit is abbreviated: a full 40-hex commit
// reads like a W&B key to the publish sanitizer, and 12 digits find it.
std::string CodeState(const std::string& repo) {
  checkpoint::GitState g = checkpoint::ReadGitState(repo);
  if (!g.commit) return "";
  std::string out = g.commit->substr(0, 12);
  remote::ProcessSpec spec;
  spec.argv = {"git", "-C", repo, "symbolic-ref", "--short", "-q", "HEAD"};
  spec.timeout = std::chrono::seconds(20);
  auto r = remote::RunProcess(spec);
  if (r.ok() && r->ok()) {
    std::string branch = r->out;
    while (!branch.empty() && (branch.back() == '\n' || branch.back() == '\r'))
      branch.pop_back();
    if (!branch.empty()) out = branch + " @ " + out;
  }
  if (g.dirty.value_or(false)) out += " (uncommitted changes)";
  return out;
}

// What the scheduler says of the run's jobs now: start, end, nodes.
json JobFacts(Call& c) {
  const std::vector<std::string> ids = c.run->JobIds();
  if (ids.empty()) return nullptr;
  auto cl = c.ClusterOf(c.run->profile);
  if (!cl.ok()) {
    c.out.warnings.push_back(
        "times and node are the journal's: cannot reach profile " +
        c.run->profile + ": " + cl.status().message());
    return nullptr;
  }
  auto st = runs::CachedQuery((*cl)->profile, *(*cl)->scheduler, ids);
  if (!st.ok()) {
    c.out.warnings.push_back(
        "times and node are the journal's: the scheduler query failed: " +
        st.status().message());
    return nullptr;
  }
  std::optional<int64_t> start, end;
  std::vector<std::string> nodes;
  bool all_ended = !st->empty();
  for (const auto& s : *st) {
    if (s.start_time && *s.start_time > 0)
      start = start ? std::min(*start, *s.start_time) : *s.start_time;
    if (s.end_time && *s.end_time > 0)
      end = end ? std::max(*end, *s.end_time) : *s.end_time;
    all_ended = all_ended && cluster::IsTerminal(s.state);
    if (!s.nodes.empty() && nodes.size() < 10 &&
        std::find(nodes.begin(), nodes.end(), s.nodes) == nodes.end())
      nodes.push_back(s.nodes);
  }
  json facts = json::object();
  if (start) facts["start"] = IsoUtc(*start);
  if (end && all_ended) facts["end"] = IsoUtc(*end);
  std::string joined;
  for (const auto& n : nodes) joined += (joined.empty() ? "" : ",") + n;
  if (!joined.empty()) facts["nodes"] = joined;
  return facts.empty() ? json(nullptr) : facts;
}

json EvidenceOf(json metrics) {
  if (!metrics.is_object()) return json::object();
  for (const char* k : kNotEvidence) metrics.erase(k);
  for (auto it = metrics.begin(); it != metrics.end();)
    it = it.value().is_number() || it.value().is_string() ? std::next(it)
                                                          : metrics.erase(it);
  return metrics;
}

// status: the entry, with evidence from the agent, else the log's last
// lines, else the last poll; InvalidArgument when none has a step or a
// metric.
Result<json> StatusEntryOf(Call& c) {
  json ev = EvidenceOf(c.args.value("evidence", json::object()));
  std::string source = "agent", tried;
  if (ev.empty()) {
    const std::string log = MainLogPath(*c.run);
    if (!log.empty()) {
      tried = " nor found in the last lines of " + log;
      auto cl = c.ClusterOf(c.run->profile);
      if (cl.ok()) {
        auto m = LatestMetrics(*(*cl)->remote, log);
        if (m.ok()) ev = EvidenceOf(runs::ToJson(*m));
      }
      source = "log";
    }
  }
  if (ev.empty() && c.run->progress.is_object()) {
    ev = EvidenceOf(c.run->progress);
    source = "poll";
  }
  if (ev.empty())
    return InvalidArgument(
        "a status entry needs evidence, a step count or a metric, and none was "
        "given" +
        tried +
        ": read the log (tail_log) and pass what it shows as evidence, e.g. "
        "{\"step\": 2400, "
        "\"loss\": 0.085}. A timestamp alone does not tell anyone whether the "
        "run progresses.");
  return json{{"text", c.args.value("entry", "")},
              {"state", c.run->state},
              {"evidence", ev},
              {"source", source}};
}

// complete: the loss curve's ends over the runs of the file (the first
// run's first values, the last run's last ones) and the runtime.
Result<json> ResultsOf(Call& c, const RunLogModel& m) {
  if (c.run->active())
    return FailedPrecondition(
        "run " + c.run_id + " is " + c.run->state +
        " in the journal; poll it (or wait_for_runs) until it has ended, "
        "then complete");
  std::vector<LossSummary> sums;
  for (const auto& b : m.blocks) {
    auto it = c.table->runs.find(b.run_id);
    if (it == c.table->runs.end() || b.stdout_path.empty()) continue;
    auto cl = c.ClusterOf(b.profile);
    if (!cl.ok()) {
      if (b.run_id == c.run_id) return cl.status();
      c.out.warnings.push_back("log of " + b.run_id +
                               " not read: " + cl.status().message());
      continue;
    }
    auto s = SummarizeLog(*(*cl)->remote, b.stdout_path,
                          MainLogPath(it->second, true));
    if (!s.ok()) {
      c.out.warnings.push_back("log of " + b.run_id +
                               " not read: " + s.status().message());
      continue;
    }
    sums.push_back(*s);
  }
  LossSummary all;
  for (const auto& s : sums) {
    if (!all.first_loss) all.first_loss = s.first_loss;
    if (!all.first_val_loss) all.first_val_loss = s.first_val_loss;
    if (s.final_step) all.final_step = s.final_step;
    if (s.last_loss) all.last_loss = s.last_loss;
    if (s.last_val_loss) all.last_val_loss = s.last_val_loss;
    if (!s.latest.empty()) all.latest = s.latest;
  }
  json r = ToResults(all);
  int64_t runtime = 0;
  bool any = false;
  for (const auto& b : m.blocks)
    if (b.runtime_s) runtime += *b.runtime_s, any = true;
  if (any) r["runtime_s"] = runtime;
  if (!m.blocks.empty() && !m.blocks.front().started.empty())
    r["start"] = m.blocks.front().started;
  if (!m.blocks.empty() && !m.blocks.back().ended.empty())
    r["end"] = m.blocks.back().ended;
  // What other tools linked to the run, when the agent names nothing else.
  for (const char* kind : {"checkpoint", "config_snapshot"})
    if (c.run->links.is_object() && c.run->links.contains(kind) &&
        c.run->links[kind].is_string())
      r[kind] = c.run->links[kind];
  return r;
}

Status Publish(Call& c, const RunLogModel& m, const MarkedDoc& doc, json& ctx) {
  auto text = TrainingLog(
      doc, m,
      IdentifiersOf(m, *c.table, c.repo,
                    c.args.value("redact", std::vector<std::string>{})));
  if (!text.ok()) return text.status();
  std::string dir = c.args.value("publish_dir", "");
  if (dir.empty()) dir = DefaultPublishDir(m.path);
  HPC_RETURN_IF_ERROR(CheckRelative(dir));
  if (dir.back() != '/') dir += '/';
  const std::string file = dir + "TRAINING_LOG.md";
  HPC_RETURN_IF_ERROR(c.files->Write(file, *text));
  c.out.files.push_back(file);
  c.out.published = file;
  ctx["published"] = file;
  return Status::Ok();
}

// Writes `rel` when its content changes.
Status WriteIfChanged(Call& c, const std::string& rel,
                      const std::optional<std::string>& before,
                      const std::string& after) {
  if (before && *before == after) return Status::Ok();
  HPC_RETURN_IF_ERROR(c.files->Write(rel, after));
  c.out.files.push_back(rel);
  return Status::Ok();
}

// Regenerates the single section `name` of index page `rel`.
Status UpdateIndex(Call& c, const std::string& rel, const std::string& name,
                   const std::string& body) {
  auto before = c.files->Read(rel);
  if (!before.ok()) return before.status();
  auto doc = MarkedDoc::Parse(before->value_or(""), rel);
  if (!doc.ok()) return doc.status();
  doc->Put(name, body, MarkedDoc::Place{MarkedDoc::Place::kStart, {}});
  return WriteIfChanged(c, rel, *before, doc->Text());
}

Status UpdateIndexes(Call& c,
                     const std::map<std::string, RunLogModel>& models) {
  const std::string dir = DirOf(c.out.path);
  std::string group = dir.substr(std::string(kRunLogsDir).size() + 1);
  if (!group.empty()) group.pop_back();
  auto names = c.files->List(dir);
  if (!names.ok()) return names.status();
  std::vector<TimelineItem> items;
  for (const auto& n : *names) {
    if (!IsRunLogFile(n)) continue;
    auto text = c.files->Read(dir + n);
    items.push_back({n, text.ok() && *text ? TitleOf(**text) : ""});
  }
  HPC_RETURN_IF_ERROR(UpdateIndex(c, dir + kTimelineFile, "timeline",
                                  TimelineBody(group, items)));
  std::vector<const RunLogModel*> experiments;
  for (const auto& [path, m] : models)
    if (DirOf(path) == dir && m.experiment()) experiments.push_back(&m);
  auto existing = c.files->Read(dir + kExperimentsFile);
  if (experiments.empty() && (!existing.ok() || !*existing))
    return Status::Ok();
  return UpdateIndex(c, dir + kExperimentsFile, "experiments",
                     ExperimentsBody(group, experiments));
}

}  // namespace

Result<Outcome> WriteRunLog(const std::string& repo, const json& args) {
  Call c;
  c.repo = repo;
  c.args = args;
  c.action = args.value("action", "");
  c.run_id = args.value("run_id", "");
  c.out.action = c.action;
  c.out.run_id = c.run_id;
  auto files = RepoFiles::Open(repo);
  if (!files.ok()) return files.status();
  c.files = std::make_unique<RepoFiles>(std::move(*files));
  auto store = runs::RunStore::ForRepo(repo);
  if (!store.ok()) return store.status();
  c.store = *store;
  auto lock = FileLock::Acquire(c.store->state_dir() + "/run_log.lock");
  if (!lock.ok()) return lock.status();
  auto table = c.store->Load();
  if (!table.ok()) return table.status();
  c.table = *table;
  auto it = c.table->runs.find(c.run_id);
  if (it == c.table->runs.end())
    return NotFound("run " + c.run_id + " is not in the journal of " + repo +
                    "; list_runs shows this repository's runs");
  c.run = &it->second;
  // Every action changes files, and publish opens no cluster: refused here
  // on a read-only profile rather than where a cluster is opened.
  if (auto p = cluster::LoadProfile(c.run->profile, repo); p.ok())
    HPC_RETURN_IF_ERROR(runs::CheckMayChange(*p));
  if (c.action == kRefresh && LinkOf(*c.run).empty()) return std::move(c.out);
  auto path = TargetPath(c);
  if (!path.ok()) return path.status();
  c.out.path = *path;
  if (c.action == "create" && LinkOf(*c.run).empty() &&
      (args.value("run_type", "").empty() ||
       args.value("objective", "").empty()))
    return InvalidArgument(
        "create needs run_type (replication, experiment or pipeline, with "
        "subtype for a pipeline's kind) and objective (one line: what this "
        "run verifies or tests)");

  // The call's event, as it will be journaled.
  json inputs = json::object();
  for (const char* k : kNoteKeys)
    if (args.contains(k)) inputs[k] = args[k];
  json ctx{{"kind", kLinkKind},
           {"value", *path},
           {"action", c.action},
           {"inputs", inputs}};
  if (c.action == "create") {
    const std::string code = CodeState(repo);
    if (!code.empty()) ctx["code"] = code;
  }
  // A refresh asks no scheduler: what it shows must replay from the journal,
  // and it journals nothing.
  if (c.action != "publish" && c.action != kRefresh)
    if (json facts = JobFacts(c); !facts.is_null()) ctx["job"] = facts;
  if (c.action == "status") {
    auto entry = StatusEntryOf(c);
    if (!entry.ok()) return entry.status();
    ctx["entry"] = *entry;
  }

  // The raw events too: Fold's table keeps neither event times nor what
  // earlier write_run_log calls recorded.
  auto j = journal::Journal::Open(c.store->state_dir());
  if (!j.ok()) return j.status();
  auto replay = j->Read();
  if (!replay.ok()) return replay.status();
  runs::RunTable table_now = *c.table;
  std::vector<journal::Event> events = std::move(replay->events);
  auto models_with = [&](const json& context) {
    runs::RunTable t = table_now;
    journal::Event e{journal::NowUtc(), c.run_id, "linked", context};
    t.Apply(e);
    std::vector<journal::Event> all = events;
    all.push_back(e);
    return BuildModels(t, all);
  };
  auto models = models_with(ctx);
  if (c.action == "complete") {
    auto results = ResultsOf(c, models[*path]);
    if (!results.ok()) return results.status();
    ctx["results"] = *results;
    models = models_with(ctx);
  }
  const RunLogModel& m = models[*path];
  auto before = c.files->Read(*path);
  if (!before.ok()) return before.status();
  if (c.action == "publish" && !*before)
    return NotFound(
        *path +
        " no longer exists; call create again to rewrite it, then publish");
  auto doc = MarkedDoc::Parse(before->value_or(""), *path);
  if (!doc.ok()) return doc.status();
  if (c.action == "publish") {
    HPC_RETURN_IF_ERROR(Publish(c, m, *doc, ctx));
  } else {
    StatusEntry entry;
    const bool has_entry = c.action == "status" && !m.status.empty();
    if (has_entry) {
      entry = m.status.back();
      c.out.entry = StatusLine(entry);
      c.out.entry.pop_back();
    }
    c.out.sections = ApplyModel(*doc, m, has_entry ? &entry : nullptr);
    HPC_RETURN_IF_ERROR(WriteIfChanged(c, *path, *before, doc->Text()));
    HPC_RETURN_IF_ERROR(UpdateIndexes(c, models));
  }
  if (c.action != kRefresh)
    HPC_RETURN_IF_ERROR(c.store->Append(c.run_id, "linked", ctx));
  return std::move(c.out);
}

Result<Outcome> RefreshRunLog(const std::string& repo,
                              const std::string& run_id) {
  return WriteRunLog(repo, json{{"run_id", run_id}, {"action", kRefresh}});
}

}  // namespace hpc::runlog
