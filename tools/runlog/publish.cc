#include "tools/runlog/publish.h"

#include <pwd.h>
#include <unistd.h>

#include <set>

#include "tools/cluster/profile.h"
#include "tools/runlog/layout.h"
#include "tools/runlog/render.h"

namespace hpc::runlog {

Identifiers IdentifiersOf(const RunLogModel& m, const runs::RunTable& table,
                          const std::string& repo,
                          std::vector<std::string> extra) {
  Identifiers ids;
  std::set<std::string> profiles;
  for (const auto& b : m.blocks) {
    auto it = table.runs.find(b.run_id);
    if (it != table.runs.end())
      for (const auto& a : it->second.attempts)
        for (const auto& j : a.jobs)
          if (!j.job_id.empty()) ids.job_ids.push_back(j.job_id);
    for (size_t start = 0; start < b.nodes.size();) {
      size_t comma = b.nodes.find(',', start);
      if (comma == std::string::npos) comma = b.nodes.size();
      ids.nodes.push_back(b.nodes.substr(start, comma - start));
      start = comma + 1;
    }
    profiles.insert(b.profile);
  }
  for (const auto& name : profiles) {
    auto p = cluster::LoadProfile(name, repo);
    if (!p.ok()) continue;
    if (!p->access.user.empty()) ids.users.push_back(p->access.user);
    if (!p->access.host.empty()) ids.hosts.push_back(p->access.host);
    if (!p->access.alias.empty()) ids.hosts.push_back(p->access.alias);
    if (p->access.kind == "local") {
      // Jobs on this machine run as this user.
      if (const passwd* pw = ::getpwuid(::getuid()))
        ids.users.push_back(pw->pw_name);
    }
  }
  ids.extra = std::move(extra);
  return ids;
}

Result<std::string> TrainingLog(const MarkedDoc& doc, const RunLogModel& m,
                                Identifiers ids) {
  const std::string text =
      doc.Flatten([&](const std::string& name, const std::string& body) {
        return PublicBody(name, body, m);
      });
  LearnFromText(text, ids);
  std::string clean = Sanitize(text, ids);
  while (!clean.empty() && clean.back() == '\n') clean.pop_back();
  clean +=
      "\n\n---\n_Published from the run log by hpc-mcp: cluster paths, job "
      "and run ids, node, host and user names and secrets are removed; the "
      "training dynamics, config and W&B link are kept._\n";
  const std::vector<std::string> leaks = Leaks(clean, ids);
  if (leaks.empty()) return clean;
  std::string what;
  for (const auto& l : leaks) what += (what.empty() ? "" : "; ") + l;
  return FailedPrecondition(
      "TRAINING_LOG.md not written: after sanitizing it still held " + what +
      ". Pass the offending text in redact, or edit the run log, "
      "and publish again");
}

std::string DefaultPublishDir(const std::string& run_log_path) {
  const std::string base = BaseOf(run_log_path);
  return DirOf(run_log_path) + "publish/" + base.substr(0, base.size() - 3) +
         "/";
}

}  // namespace hpc::runlog
