// The shape of a training run's loss curve as its log tells it, read
// through the Remote seam with a bounded cost: the first megabyte for the
// first values, the last megabyte for the last ones (the whole file when it
// is smaller than that), whatever the log's size.
//
// Thread-safety: functions are thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "mcp_server/status.h"
#include "tools/remote/remote.h"
#include "tools/runs/metrics.h"

namespace hpc::runlog {

struct LossSummary {
  std::optional<double> first_step, final_step;
  std::optional<double> first_loss, last_loss, first_val_loss, last_val_loss;
  runs::MetricPoint latest;  // Latest value of every field (runs::Latest).
  bool any() const {
    return first_step || first_loss || first_val_loss || !latest.empty();
  }
};

// Reads `path` (and `fallback`, a second stream such as stderr, when
// `path` reports no metric and it differs). NotFound when neither exists.
Result<LossSummary> SummarizeLog(remote::Remote& remote,
                                 const std::string& path,
                                 const std::string& fallback = "");

// The metrics of the last lines of `path` (64 KiB at most): a status
// entry's evidence.
Result<runs::MetricPoint> LatestMetrics(remote::Remote& remote,
                                        const std::string& path);

// {"step": .., "loss": .., ...} of a summary, as results record it
// (start_train_loss, end_train_loss, start_val_loss, end_val_loss,
// final_step, last_metrics); non-finite values as "nan"/"inf" strings.
nlohmann::json ToResults(const LossSummary& s);

}  // namespace hpc::runlog
