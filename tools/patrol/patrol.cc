#include "tools/patrol/patrol.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "tools/patrol/heartbeat.h"
#include "tools/patrol/notices.h"
#include "tools/runs/poller.h"
#include "tools/runs/read_mark.h"
#include "tools/runs/store.h"

namespace hpc::patrol {

std::string PatrolName() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = 0;
  return "patrol " + std::to_string(::getpid()) + "@" +
         (host[0] ? host : "localhost");
}

Result<RepoReport> PatrolRepo(const std::string& repo,
                              const PatrolOptions& options) {
  namespace fs = std::filesystem;
  RepoReport report;
  report.repo = repo;
  std::error_code ec;
  if (repo.empty() || repo[0] != '/' || !fs::is_directory(repo, ec))
    return NotFound(
        "repository " + repo +
        " is not a directory; pass an existing absolute path with --repo");
  const std::string state_dir = runs::StateDirFor(repo);
  if (!fs::exists(state_dir + "/journal.jsonl", ec)) {
    // Opening the store would create the journal: a patrol writes nothing
    // where nothing was ever submitted.
    report.skipped = true;
    return report;
  }
  auto store = runs::RunStore::ForRepo(repo);
  if (!store.ok()) return store.status();
  if (options.notify)
    if (Status s = StartNotifications(**store); !s.ok())
      report.errors.push_back("notifications: " + s.message());

  auto polled = runs::PollRuns(**store, runs::PollRequest{});
  if (!polled.ok()) return polled.status();
  report.active = static_cast<int>(polled->runs.size());
  report.changed = static_cast<int>(polled->changed.size());
  report.errors.insert(report.errors.end(), polled->errors.begin(),
                       polled->errors.end());

  if (options.notify) {
    AnnounceReport a = Announce(**store, *options.notify, options.by);
    report.sent = a.sent;
    report.failed = a.failed;
    report.errors.insert(report.errors.end(), a.errors.begin(), a.errors.end());
  }

  auto table = (*store)->Load();
  if (!table.ok()) return table.status();
  HeartbeatInput in;
  in.repo = repo;
  in.table = table->get();
  in.runs = std::move(polled->runs);
  in.errors = report.errors;
  in.read = runs::LoadReadMark(**store);
  in.notify_config = options.notify ? options.notify->source : "";
  in.by = options.by;
  in.now = std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  HPC_RETURN_IF_ERROR(WriteHeartbeat(**store, RenderHeartbeat(in)));
  report.heartbeat = state_dir + "/heartbeat.md";
  return report;
}

}  // namespace hpc::patrol
