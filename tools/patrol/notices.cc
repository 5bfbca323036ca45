#include "tools/patrol/notices.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "tools/runs/summary.h"

namespace hpc::patrol {
namespace {

using nlohmann::json;

std::string NoticeKey(const std::string& journal_id, const runs::Milestone& m) {
  return journal_id + ":" + m.run + ":" + m.notice + ":" +
         std::to_string(m.seq);
}

bool WantedAnywhere(const notify::Config& config, const std::string& event) {
  return std::any_of(
      config.channels.begin(), config.channels.end(),
      [&](const notify::Channel& c) { return config.Wants(c, event); });
}

// Milestone `seq` of `table` (milestones are in journal order).
const runs::Milestone* FindMilestone(const runs::RunTable& table,
                                     uint64_t seq) {
  auto it = std::lower_bound(
      table.milestones.begin(), table.milestones.end(), seq,
      [](const runs::Milestone& m, uint64_t s) { return m.seq < s; });
  return it != table.milestones.end() && it->seq == seq ? &*it : nullptr;
}

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Claim {
  notify::Notice notice;
  std::vector<const notify::Channel*> channels;
};

// Step 1 of the header's protocol: under notify.lock, re-read the journal,
// fill the notice from the latest table and claim what is still free.
Result<Claim> ClaimNotice(runs::RunStore& store, const notify::Config& config,
                          uint64_t seq, const std::string& by) {
  auto lock = store.LockFile("notify.lock");
  if (!lock.ok()) return lock.status();
  auto table = store.Load();
  if (!table.ok()) return table.status();
  Claim claim;
  const runs::Milestone* m = FindMilestone(**table, seq);
  if (!m) return claim;
  auto run = (*table)->runs.find(m->run);
  if (run == (*table)->runs.end()) return claim;
  const int64_t now = Now();
  claim.notice =
      MakeNotice(run->second, *m, store.journal_id(), store.repo(), now);
  claim.channels = Claimable(**table, claim.notice, config, now);
  if (claim.channels.empty()) return claim;
  json names = json::array();
  for (const auto* c : claim.channels) names.push_back(ChannelName(*c));
  HPC_RETURN_IF_ERROR(store.Append("", "notice_claimed",
                                   {{"key", claim.notice.key},
                                    {"event", claim.notice.event},
                                    {"run", claim.notice.run_id},
                                    {"channels", names},
                                    {"by", by}}));
  return claim;
}

}  // namespace

std::string ChannelName(const notify::Channel& c) {
  const json definition{{"kind", c.kind},
                        {"url", c.url},
                        {"chat_id", c.chat_id},
                        {"api_base", c.api_base},
                        {"argv", c.argv}};
  return c.Describe() + " #" + runs::SpecHash(definition).substr(0, 8);
}

std::string FormatDuration(int64_t s) {
  if (s < 0) s = 0;
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds",
                  static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else if (s < 86400)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm",
                  static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldd%02lldh",
                  static_cast<long long>(s / 86400),
                  static_cast<long long>(s / 3600 % 24));
  return buf;
}

std::optional<int64_t> Runtime(const runs::Run& run, int64_t now) {
  if (run.state == "running") {
    const int64_t since = runs::ParseTs(run.state_changed_at);
    if (!since) return run.elapsed_s;
    return run.elapsed_s.value_or(0) + std::max<int64_t>(0, now - since);
  }
  return run.elapsed_s;
}

notify::Notice MakeNotice(const runs::Run& run, const runs::Milestone& m,
                          const std::string& journal_id,
                          const std::string& repo, int64_t now) {
  notify::Notice n;
  n.key = NoticeKey(journal_id, m);
  n.event = m.notice;
  n.repo = repo;
  n.run_id = run.id;
  n.run_name = run.name;
  n.profile = run.profile;
  n.state = m.kind == "state" ? m.to : run.state;
  n.at = m.ts;
  if (m.notice != "run_started")
    if (auto rt = Runtime(run, now)) n.runtime = FormatDuration(*rt);
  const json& p = run.progress.is_object() ? run.progress : json::object();
  if (p.contains("step")) {
    n.last_step = runs::FormatMetric(p["step"]);
    if (p.contains("total"))
      n.last_step += "/" + runs::FormatMetric(p["total"]);
  }
  for (const char* k : {"loss", "val_loss"})
    if (p.contains(k)) {
      n.last_metric = std::string(k) + " " + runs::FormatMetric(p[k]);
      break;
    }
  if (m.notice == "health_failed") {
    const json check =
        m.detail.is_array() && !m.detail.empty() ? m.detail[0] : json::object();
    n.diagnosis = "health check " + check.value("name", "?") + " failed";
    n.evidence = check.value("detail", "");
    n.next =
        "the run goes on: read its log (tail_log) and decide whether to cancel "
        "it; the patrol changed nothing";
  } else if (m.notice != "run_started" && run.diagnosis.is_object()) {
    n.diagnosis = run.diagnosis.value("category", "") + ": " +
                  run.diagnosis.value("summary", "");
    const json ev = run.diagnosis.value("evidence", json::array());
    if (ev.is_array() && !ev.empty() && ev[0].is_string())
      n.evidence = ev[0].get<std::string>();
    n.next = run.diagnosis.value("remediation", "");
  } else if (m.notice == "run_failed" && !run.state_reason.empty()) {
    n.diagnosis = run.state_reason;
  }
  return n;
}

std::vector<const notify::Channel*> Claimable(const runs::RunTable& table,
                                              const notify::Notice& notice,
                                              const notify::Config& config,
                                              int64_t now) {
  std::vector<const notify::Channel*> out;
  auto rec = table.notices.find(notice.key);
  for (const auto& ch : config.channels) {
    if (!config.Wants(ch, notice.event)) continue;
    if (rec != table.notices.end()) {
      const runs::NoticeRecord& r = rec->second;
      const std::string name = ChannelName(ch);
      if (r.sent.count(name)) continue;
      const bool claimed = std::find(r.channels.begin(), r.channels.end(),
                                     name) != r.channels.end();
      const int64_t age = now - runs::ParseTs(r.claimed_at);
      if (claimed && age < std::chrono::seconds(kAbandonedAfter).count())
        continue;
    }
    out.push_back(&ch);
  }
  return out;
}

std::vector<const runs::Milestone*> DueMilestones(const runs::RunTable& table,
                                                  const std::string& journal_id,
                                                  const notify::Config& config,
                                                  int64_t now) {
  std::vector<const runs::Milestone*> due;
  if (!table.notify_from) return due;
  for (const auto& m : table.milestones) {
    if (m.seq <= *table.notify_from || m.notice.empty()) continue;
    if (!WantedAnywhere(config, m.notice)) continue;
    auto run = table.runs.find(m.run);
    if (run == table.runs.end()) continue;
    if (m.notice == "run_failed" && m.to != runs::kSubmitFailed &&
        run->second.diagnosis.is_null() &&
        now - runs::ParseTs(m.ts) < kDiagnosisGrace.count())
      continue;
    notify::Notice key_only;
    key_only.key = NoticeKey(journal_id, m);
    key_only.event = m.notice;
    if (!Claimable(table, key_only, config, now).empty()) due.push_back(&m);
  }
  return due;
}

Status StartNotifications(runs::RunStore& store) {
  auto table = store.Load();
  if (!table.ok()) return table.status();
  if ((*table)->notify_from) return Status::Ok();
  auto lock = store.LockFile("notify.lock");
  if (!lock.ok()) return lock.status();
  table = store.Load();  // Another patrol may have started them meanwhile.
  if (!table.ok()) return table.status();
  if ((*table)->notify_from) return Status::Ok();
  spdlog::info(
      "notifications start in {}: what happens from now on is announced",
      store.repo());
  return store.Append("", "notify_started", {{"seq", (*table)->seq}});
}

AnnounceReport Announce(runs::RunStore& store, const notify::Config& config,
                        const std::string& by) {
  AnnounceReport report;
  auto table = store.Load();
  if (!table.ok()) {
    report.errors.push_back(table.status().message());
    return report;
  }
  std::vector<uint64_t> due;
  for (const auto* m :
       DueMilestones(**table, store.journal_id(), config, Now()))
    due.push_back(m->seq);
  for (uint64_t seq : due) {
    auto claim = ClaimNotice(store, config, seq, by);
    if (!claim.ok()) {
      report.errors.push_back("cannot claim a notice: " +
                              claim.status().message());
      continue;
    }
    // Step 2: deliver outside the lock; each outcome is journaled.
    for (const notify::Channel* ch : claim->channels) {
      const notify::Notice& n = claim->notice;
      Status s = notify::Deliver(config, *ch, n);
      json ctx{{"key", n.key}, {"channel", ChannelName(*ch)}, {"ok", s.ok()}};
      if (s.ok()) {
        ++report.sent;
        // notify::Deliver logs each delivery; this line ties it to the key.
        spdlog::debug("notice {} sent on {}", n.key, ch->Describe());
      } else {
        ++report.failed;
        ctx["error"] = s.message();
        spdlog::warn(
            "could not announce {} of run {} on {} (final: shown in "
            "heartbeat.md, not tried again): {}",
            n.event, n.run_id, ch->Describe(), s.message());
      }
      if (Status j = store.Append("", "notice_sent", std::move(ctx)); !j.ok())
        report.errors.push_back("cannot journal the delivery of " + n.key +
                                ": " + j.message());
    }
  }
  return report;
}

}  // namespace hpc::patrol
