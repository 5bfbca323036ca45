#include "tools/sweep/report.h"

#include <map>

#include "tools/runlog/layout.h"
#include "tools/runlog/repo_files.h"

namespace hpc::sweep {
namespace {

// Rows listed per table; the rest are counted.
constexpr size_t kMaxRows = 200;

std::string Duration(int64_t s) {
  if (s < 0) return "unknown";
  std::string out;
  if (s >= 86400) out += std::to_string(s / 86400) + "d ";
  if (s >= 3600) out += std::to_string(s / 3600 % 24) + "h ";
  out += std::to_string(s / 60 % 60) + "m " + std::to_string(s % 60) + "s";
  return out;
}

// Table cells: one line, no '|'.
std::string Cell(std::string s) {
  for (char& c : s)
    if (c == '|' || c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

Result<std::string> SummaryPath(const std::string& sweep_name) {
  auto dir = runlog::GroupDir(sweep_name);
  if (!dir.ok()) return dir.status();
  return *dir + "summary.md";
}

std::string SummaryMarkdown(const runs::Run& run, const Loaded& l) {
  const SweepState& s = *run.sweep;
  std::string md = "# Sweep " + s.name + "\n\n";
  if (!l.sweep.description.empty()) md += l.sweep.description + "\n\n";
  const int64_t created = runs::ParseTs(run.created_at), ended = runs::ParseTs(run.state_changed_at);
  int64_t retries = 0;
  for (const auto& t : s.tasks) retries += t.retries();
  const auto counts = s.Counts();
  std::string count_line;
  for (const auto& [k, v] : counts) count_line += (count_line.empty() ? "" : ", ") + std::to_string(v) + " " + k;
  md += "- Sweep id: `" + run.id + "`\n";
  md += "- Profile: " + run.profile + " (" + run.scheduler + ")\n";
  md += "- State: **" + run.state + "**: " + std::to_string(s.tasks.size()) + " tasks (" + count_line +
        "), " + std::to_string(retries) + " retries, " + std::to_string(s.batches.size()) +
        " scheduler submissions\n";
  md += "- Submitted " + run.created_at + ", ended " + run.state_changed_at + " (" +
        Duration(created && ended ? ended - created : -1) + ")\n\n";

  md += "## Phases\n\n| Phase | Tasks | Done | Stuck | Blocked | Retries | Mean task time |\n"
        "|---|---|---|---|---|---|---|\n";
  for (size_t p = 0; p < s.phases.size(); ++p) {
    const PhaseSpan& span = s.phases[p];
    std::map<TaskState, int64_t> n;
    int64_t r = 0, timed = 0, secs = 0;
    for (uint32_t t = span.first; t < span.first + span.count && t < s.tasks.size(); ++t) {
      ++n[s.tasks[t].state];
      r += s.tasks[t].retries();
      if (s.tasks[t].elapsed_s) secs += *s.tasks[t].elapsed_s, ++timed;
    }
    md += "| " + span.name + " | " + std::to_string(span.count) + " | " +
          std::to_string(n[TaskState::kDone]) + " | " + std::to_string(n[TaskState::kStuck]) +
          " | " + std::to_string(n[TaskState::kBlocked]) + " | " + std::to_string(r) + " | " +
          (timed ? Duration(secs / timed) : "-") + " |\n";
  }

  md += "\n## Tasks that needed attention\n\n";
  size_t rows = 0, more = 0;
  std::string table;
  for (size_t i = 0; i < s.tasks.size(); ++i) {
    const TaskRecord& t = s.tasks[i];
    if (t.state == TaskState::kDone && t.retries() == 0) continue;
    if (rows++ >= kMaxRows) {
      ++more;
      continue;
    }
    std::string history;
    for (const TaskAttempt& a : t.attempts)
      history += (history.empty() ? "" : " → ") + std::string(TaskStateName(a.outcome)) +
                 (a.category.empty() ? "" : " (" + a.category + ")");
    table += "| " + Cell(s.task_ids[i]) + " | " + TaskStateName(t.state) + " | " +
             Cell(history) + " | " + Cell(t.summary) + " |\n";
  }
  if (table.empty()) {
    md += "None: every task succeeded at its first attempt.\n";
  } else {
    md += "| Task | State | Attempts | Last diagnosis |\n|---|---|---|---|\n" + table;
    if (more) md += "\n…and " + std::to_string(more) + " more.\n";
  }

  md += "\n## Results\n\n";
  bool any = false;
  for (const Phase& p : l.sweep.phases)
    for (const Template& t : p.expected_outputs) {
      md += "- " + p.name + ": `" + t.text() + "` (relative to the workdir, `" +
            (p.workdir.empty() ? run.workdir : p.workdir) + "`)\n";
      any = true;
    }
  if (!any) md += "- No expected outputs were declared.\n";
  if (s.has_aggregate)
    md += "- Aggregate: " + (s.aggregate.state.empty() ? std::string("not run") : s.aggregate.state) +
          (s.aggregate.output.empty() ? "" : ", output `" + s.aggregate.output + "`") +
          (s.aggregate.message.empty() ? "" : ": " + s.aggregate.message) + "\n";
  md += "\n_Written by hpc-mcp from the journal when the sweep ended; rewritten if it runs again._\n";
  return md;
}

Status WriteSummary(runs::RunStore& store, const runs::Run& run, const Loaded& l) {
  auto rel = SummaryPath(run.sweep->name);
  if (!rel.ok()) return rel.status();
  auto files = runlog::RepoFiles::Open(store.repo());
  if (!files.ok()) return files.status();
  HPC_RETURN_IF_ERROR(files->Write(*rel, SummaryMarkdown(run, l)));
  if (run.sweep->summary_path == *rel) return Status::Ok();
  HPC_RETURN_IF_ERROR(store.Append(run.id, "sweep_summary", {{"path", *rel}}));
  return store.Append(run.id, "linked", {{"kind", "summary"}, {"value", *rel}});
}

}  // namespace hpc::sweep
