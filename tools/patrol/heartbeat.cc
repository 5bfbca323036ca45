#include "tools/patrol/heartbeat.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "tools/patrol/notices.h"
#include "tools/remote/local_remote.h"
#include "tools/runs/summary.h"

namespace hpc::patrol {
namespace {

using nlohmann::json;

std::string HumanTime(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string HumanTs(const std::string& ts) {
  const int64_t t = runs::ParseTs(ts);
  return t ? HumanTime(t) : ts;
}

// Appends `lines` as a list, at most kMaxLines of them, or `none`.
void Section(std::string& out, const std::string& title,
             const std::vector<std::string>& lines, const std::string& none) {
  out += "\n## " + title + "\n\n";
  if (lines.empty()) out += none + "\n";
  for (size_t i = 0; i < lines.size() && i < kMaxLines; ++i)
    out += lines[i] + "\n";
  if (lines.size() > kMaxLines)
    out += "- ... and " + std::to_string(lines.size() - kMaxLines) +
           " more (list_runs shows every run)\n";
}

std::string RunLabel(const runs::Run& run) {
  return run.id + (run.name.empty() ? "" : " (" + run.name + ")");
}

// Failures and failed health checks since the read mark: the newest per run.
std::vector<std::string> NeedsAttention(const HeartbeatInput& in,
                                        uint64_t since) {
  std::map<std::string, const runs::Milestone*> latest;
  std::vector<std::string> order;
  for (const auto& m : in.table->milestones) {
    if (m.seq <= since ||
        (m.notice != "run_failed" && m.notice != "health_failed"))
      continue;
    if (!latest.count(m.run)) order.push_back(m.run);
    latest[m.run] = &m;
  }
  std::vector<std::string> lines;
  for (const auto& id : order) {
    auto run = in.table->runs.find(id);
    if (run == in.table->runs.end()) continue;
    notify::Notice n =
        MakeNotice(run->second, *latest[id], "", in.repo, in.now);
    std::string line = "- " + RunLabel(run->second) + " " +
                       (n.event == "health_failed" ? "health fail" : n.state);
    if (!n.runtime.empty() && n.event != "health_failed")
      line += " after " + n.runtime;
    line += ": " + (n.diagnosis.empty()
                        ? "no diagnosis yet (tail_log shows its logs)"
                        : n.diagnosis);
    if (!n.evidence.empty()) line += "\n  evidence: " + n.evidence;
    if (!n.next.empty()) line += "\n  next: " + n.next;
    lines.push_back(std::move(line));
  }
  return lines;
}

// One line per run changed since the read mark: its states in order.
std::vector<std::string> Changed(const HeartbeatInput& in, uint64_t since) {
  std::map<std::string, std::string> chain;
  std::vector<std::string> order;
  for (const auto& m : in.table->milestones) {
    if (m.seq <= since) continue;
    std::string& c = chain[m.run];
    if (c.empty()) {
      order.push_back(m.run);
      if (m.kind == "created")
        c = "new";
      else if (m.kind == "health")
        c = m.from.empty() ? "running" : "health " + m.from;
      else
        c = m.from;
      if (m.kind == "created") continue;
    }
    c += m.kind == "health" ? " → health " + m.to : " → " + m.to;
  }
  std::vector<std::string> lines;
  for (const auto& id : order) {
    auto run = in.table->runs.find(id);
    if (run == in.table->runs.end()) continue;
    std::string line = "- " + RunLabel(run->second) + ": " + chain[id];
    const json& d = run->second.diagnosis;
    if (d.is_object() && !runs::IsActiveState(run->second.state))
      line += " (" + d.value("category", "") + ")";
    lines.push_back(std::move(line));
  }
  return lines;
}

std::vector<std::string> Active(const HeartbeatInput& in) {
  std::vector<std::string> lines;
  for (json view : in.runs) {
    if (!runs::IsActiveState(view.value("state", ""))) continue;
    auto run = in.table->runs.find(view.value("run_id", ""));
    if (run != in.table->runs.end())
      if (auto rt = Runtime(run->second, in.now);
          rt && view["state"] == "running")
        view["elapsed_s"] = *rt;
    lines.push_back("- " + runs::RunLine(view));
  }
  return lines;
}

std::vector<std::string> Notifications(const HeartbeatInput& in,
                                       uint64_t since) {
  std::vector<std::pair<uint64_t, std::string>> found;
  for (const auto& [key, n] : in.table->notices) {
    if (n.claim_seq <= since) continue;
    std::string line = "- " + n.event + " " + n.run + ":";
    std::string sep = " ";
    for (const auto& ch : n.channels) {
      auto s = n.sent.find(ch);
      if (s == n.sent.end())
        line +=
            sep + "claimed by " + n.claimed_by + ", not sent yet (" + ch + ")";
      else if (s->second.ok)
        line += sep + "sent on " + ch;
      else
        line += sep + "FAILED on " + ch + ": " + s->second.error;
      sep = "; ";
    }
    found.push_back({n.claim_seq, std::move(line)});
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> lines;
  for (auto& [seq, line] : found) lines.push_back(std::move(line));
  return lines;
}

}  // namespace

std::string RenderHeartbeat(const HeartbeatInput& in) {
  const uint64_t since = in.read ? in.read->seq : 0;
  const std::string when = in.read ? HumanTs(in.read->at) : "";
  std::string out = "# Heartbeat of " + in.repo + "\n\n";
  out += "Written " + HumanTime(in.now) + " by " + in.by + ". ";
  out += in.read ? "An agent last read the runs at " + when +
                       " (journal event " + std::to_string(since) + ")."
                 : "No agent has read the runs yet.";
  out +=
      "\nRead this first at cold start; a `poll` or `wait_for_runs` answer "
      "moves "
      "the read point.\n";
  Section(out, "Needs attention", NeedsAttention(in, since), "Nothing.");
  Section(out,
          in.read ? "Changed since " + when : "Changed since the journal began",
          Changed(in, since), "Nothing.");
  Section(out, "Active", Active(in), "No active runs.");
  Section(out, "Notifications", Notifications(in, since),
          in.notify_config.empty()
              ? "Not configured: no notify config was found."
              : "None sent since the last read.");
  std::vector<std::string> errors;
  for (const auto& e : in.errors) errors.push_back("- " + e);
  for (const auto& p : in.table->problems) errors.push_back("- journal: " + p);
  if (!errors.empty()) Section(out, "Errors", errors, "");
  return out;
}

Status WriteHeartbeat(const runs::RunStore& store, const std::string& text) {
  return remote::LocalRemote().WriteFileAtomic(
      store.state_dir() + "/heartbeat.md", text, 0644);
}

}  // namespace hpc::patrol
