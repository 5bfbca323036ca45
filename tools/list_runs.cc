// list_runs: the runs of this repository's journal with a one-line summary
// each, or (view "audit") its repository-wide events. It reads only the
// journal, never the scheduler: it is cheap enough to call at every turn,
// and states are as fresh as the last poll.
#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>
#include <set>

#include "mcp_server/json_rpc.h"
#include "mcp_server/registration.h"
#include "tools/journal/journal.h"
#include "tools/registry.h"
#include "tools/runs/store.h"
#include "tools/runs/summary.h"
#include "tools/sweep/state.h"
#include "tools/workspace/repo.h"

namespace hpc::tools {
namespace {

using nlohmann::json;

// A long diagnosis must not turn the one-line summary into a paragraph.
constexpr size_t kMaxSummary = 200;

std::string Lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The first line of `s`: a summary is one line of a table.
std::string FirstLine(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// At most `max` bytes, cut on a UTF-8 character boundary (the summary's
// separator and log text are multi-byte; a split character would make the
// answer invalid JSON).
std::string Clip(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return s + "...";
}

// Seconds since the epoch of a `since`/`until` value, whose shape the
// schema has checked: YYYY-MM-DD, optionally followed by a time and a zone
// (UTC when none). A bare date stands for its first second, or its last
// (`end_of_day`), so that until=2025-03-01 includes that whole day.
Result<int64_t> ParseWhen(const std::string& s, bool end_of_day,
                          const char* field) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  auto bad = [&](const std::string& why) {
    return InvalidArgument(
        std::string(field) + " \"" + s + "\" " + why +
        "; give a date like 2025-03-01 or a time like 2025-03-01T12:00:00Z");
  };
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d", &y, &mo, &d) != 3)
    return bad("is not a date");
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return bad("is not a valid date");
  size_t pos = 10;
  int64_t offset = 0;
  if (s.size() > pos) {
    if (std::sscanf(s.c_str() + pos + 1, "%2d:%2d", &h, &mi) != 2)
      return bad("has a malformed time");
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      std::sscanf(s.c_str() + pos + 1, "%2d", &sec);
      pos += 3;
      while (
          pos < s.size() &&
          (s[pos] == '.' || std::isdigit(static_cast<unsigned char>(s[pos]))))
        ++pos;
    }
    if (h > 23 || mi > 59 || sec > 60) return bad("has an invalid time");
    if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
      int oh = 0, om = 0;
      std::sscanf(s.c_str() + pos + 1, "%2d:%2d", &oh, &om);
      offset = (s[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    }
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t t = static_cast<int64_t>(timegm(&tm)) - offset;
  if (s.size() == 10 && end_of_day) t += 86400 - 1;
  return t;
}

struct Window {
  std::optional<int64_t> since, until;
  bool Contains(const std::string& ts) const {
    const int64_t t = runs::ParseTs(ts);
    return (!since || t >= *since) && (!until || t <= *until);
  }
};

Result<Window> ParseWindow(const json& args) {
  Window w;
  if (args.contains("since")) {
    auto t = ParseWhen(args["since"], false, "since");
    if (!t.ok()) return t.status();
    w.since = *t;
  }
  if (args.contains("until")) {
    auto t = ParseWhen(args["until"], true, "until");
    if (!t.ok()) return t.status();
    w.until = *t;
  }
  if (w.since && w.until && *w.since > *w.until)
    return InvalidArgument(
        "since (" + args["since"].get<std::string>() + ") is after until (" +
        args["until"].get<std::string>() + "): no run can match; swap them");
  return w;
}

bool StateMatches(const std::set<std::string>& wanted, const runs::Run& r) {
  if (wanted.empty() || wanted.count(r.state)) return true;
  return r.active() ? wanted.count("active") > 0 : wanted.count("ended") > 0;
}

// A glob when the pattern has glob characters, else a substring; either
// case-insensitive, on the name or the id (which embeds the name).
bool NameMatches(const std::string& pattern, const runs::Run& r) {
  if (pattern.find_first_of("*?[") != std::string::npos)
    return fnmatch(pattern.c_str(), r.name.c_str(), FNM_CASEFOLD) == 0 ||
           fnmatch(pattern.c_str(), r.id.c_str(), FNM_CASEFOLD) == 0;
  const std::string p = Lower(pattern);
  return Lower(r.name).find(p) != std::string::npos ||
         r.id.find(p) != std::string::npos;
}

// "running · step 1200 · loss 2.31 · health ok", or
// "failed · gpu_oom: CUDA out of memory (tried to allocate 2.00 GiB)".
std::string Summary(const runs::Run& r) {
  std::vector<std::string> parts{r.state};
  if (r.active() && r.cancel_requested) parts.push_back("cancel requested");
  if (r.sweep) {
    parts.push_back("sweep " + sweep::SummaryLine(*r.sweep));
    std::string line;
    for (const auto& part : parts) line += (line.empty() ? "" : " · ") + part;
    return Clip(line, kMaxSummary);
  }
  const json& d = r.diagnosis;
  const std::string category = d.is_object() ? d.value("category", "") : "";
  if (!category.empty() && category != "none") {
    const std::string what = FirstLine(d.value("summary", ""));
    parts.push_back(what.empty() ? category : category + ": " + what);
  } else {
    const json& p = r.progress;
    if (p.is_object())
      for (const char* k : {"step", "epoch", "loss", "val_loss"})
        if (p.contains(k)) parts.push_back(std::string(k) + " " + runs::FormatMetric(p[k]));
    if (!r.state_reason.empty())
      parts.push_back(Clip(FirstLine(r.state_reason), 120));
  }
  // Health describes a job that is running; after the end it is stale.
  if (r.active() && r.health.is_object() &&
      !r.health.value("status", "").empty()) {
    std::string h = "health " + r.health.value("status", "");
    std::vector<std::string> bad;
    for (const auto& c : r.health.value("checks", json::array()))
      if (c.is_object() && c.value("status", "ok") != "ok")
        bad.push_back(c.value("name", "?"));
    if (!bad.empty()) {
      h += " (";
      for (size_t i = 0; i < bad.size(); ++i) h += (i ? ", " : "") + bad[i];
      h += ")";
    }
    parts.push_back(h);
  }
  std::string line;
  for (const auto& part : parts) line += (line.empty() ? "" : " · ") + part;
  return Clip(line, kMaxSummary);
}

// "2025-03-01 12:04" from "2025-03-01T12:04:05.123Z": enough to tell runs
// apart in a table.
std::string ShortTime(const std::string& ts) {
  std::string s = ts.substr(0, 16);
  if (s.size() > 10) s[10] = ' ';
  return s;
}

// Problems in first-seen order, each once: a torn last line is seen again
// at every read until the next append repairs it.
json UniqueProblems(const std::vector<std::string>& problems) {
  json out = json::array();
  std::set<std::string> seen;
  for (const auto& p : problems)
    if (seen.insert(p).second) out.push_back(p);
  return out;
}

std::string ProblemsLine(const json& problems) {
  if (problems.empty()) return "";
  return "\njournal problems (" + std::to_string(problems.size()) +
         "): " + problems[0].get<std::string>() +
         (problems.size() > 1 ? " ..." : "");
}

Result<mcp::ToolResult> ListRunsView(runs::RunStore& store, const json& args,
                                     const Window& window) {
  auto table = store.Load();
  if (!table.ok()) return table.status();
  std::set<std::string> states;
  for (const auto& s : args.value("state", json::array()))
    states.insert(s.get<std::string>());
  const std::string name = args.value("name", "");
  std::vector<const runs::Run*> matched;
  for (const auto& [id, run] : (*table)->runs)
    if (StateMatches(states, run) && (name.empty() || NameMatches(name, run)) &&
        window.Contains(run.created_at))
      matched.push_back(&run);
  std::sort(matched.begin(), matched.end(),
            [](const runs::Run* a, const runs::Run* b) {
              return a->created_at != b->created_at
                         ? a->created_at > b->created_at
                         : a->id > b->id;
            });
  const size_t limit = args["limit"].get<size_t>();
  const size_t shown = std::min(limit, matched.size());
  json list = json::array();
  std::string text;
  for (size_t i = 0; i < shown; ++i) {
    const runs::Run& r = *matched[i];
    const std::string summary = Summary(r);
    list.push_back({{"run_id", r.id},
                    {"name", r.name},
                    {"profile", r.profile},
                    {"state", r.state},
                    {"created_at", r.created_at},
                    {"updated_at", r.updated_at},
                    {"job_ids", r.JobIds()},
                    {"summary", summary},
                    {"links", r.links.is_object() ? r.links : json::object()}});
    if (r.sweep) list.back()["sweep"] = sweep::SummaryJson(*r.sweep, 5);
    text += "\n" + r.id + "  " + r.profile + "  " + ShortTime(r.created_at) +
            "  " + summary;
  }
  json problems = UniqueProblems((*table)->problems);
  std::string head;
  if ((*table)->runs.empty())
    head = "no runs in this repository's journal yet (" + store.repo() + ")";
  else if (matched.empty())
    head = "no run matches (" + std::to_string((*table)->runs.size()) +
           " in the journal)";
  else
    head = std::to_string(shown) + " of " + std::to_string(matched.size()) +
           " run(s), newest first; states as of the last poll:";
  mcp::ToolResult r =
      mcp::ToolResult::Text(head + text + ProblemsLine(problems));
  r.structured = {{"view", "runs"},
                  {"runs", std::move(list)},
                  {"total", matched.size()},
                  {"shown", shown},
                  {"problems", std::move(problems)}};
  return r;
}

// The repository-wide events (run == ""): the table does not keep them, so
// they are read from the journal itself; this view is for occasional
// review, not for every turn.
Result<mcp::ToolResult> AuditView(runs::RunStore& store, const json& args,
                                  const Window& window) {
  auto journal = journal::Journal::Open(store.state_dir());
  if (!journal.ok()) return journal.status();
  auto replay = journal->Read();
  if (!replay.ok()) return replay.status();
  std::vector<const journal::Event*> matched;
  for (const auto& e : replay->events)
    if (e.run.empty() && window.Contains(e.ts)) matched.push_back(&e);
  std::reverse(matched.begin(), matched.end());
  const size_t limit = args["limit"].get<size_t>();
  const size_t shown = std::min(limit, matched.size());
  json events = json::array();
  std::string text;
  for (size_t i = 0; i < shown; ++i) {
    const journal::Event& e = *matched[i];
    events.push_back({{"ts", e.ts}, {"name", e.name}, {"context", e.context}});
    text +=
        "\n" + e.ts + "  " + e.name + "  " + Clip(mcp::Dump(e.context), 160);
  }
  json problems = UniqueProblems(replay->problems);
  std::string head = matched.empty()
                         ? "no repository-wide events in the journal"
                         : std::to_string(shown) + " of " +
                               std::to_string(matched.size()) +
                               " repository-wide event(s), newest first:";
  mcp::ToolResult r =
      mcp::ToolResult::Text(head + text + ProblemsLine(problems));
  r.structured = {{"view", "audit"},
                  {"events", std::move(events)},
                  {"total", matched.size()},
                  {"shown", shown},
                  {"problems", std::move(problems)}};
  return r;
}

Result<mcp::ToolResult> ListRuns(mcp::RequestContext& ctx, const json& args) {
  auto window = ParseWindow(args);
  if (!window.ok()) return window.status();
  auto repo = workspace::ResolveRepo(ctx, args);
  if (!repo.ok()) return repo.status();
  auto store = runs::RunStore::ForRepo(*repo);
  if (!store.ok()) return store.status();
  if (args["view"] == "audit") return AuditView(**store, args, *window);
  return ListRunsView(**store, args, *window);
}

}  // namespace

Status RegisterListRuns(mcp::Server& server) {
  return mcp::AddToolFromAssets(server, HpcAssets(), "schemas/tools",
                                "list_runs", ListRuns);
}

}  // namespace hpc::tools
