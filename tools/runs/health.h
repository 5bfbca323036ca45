// Health checks on a running training job, from the metrics its log shows,
// the time since its step counter last moved, its newest checkpoint and the
// free disk in its work root. Each check is ok, warn or fail with a line of
// evidence; a check without the data it needs is not reported at all (never
// a made-up ok).
//
// Thresholds come from the profile's `health:` section, overridden key by
// key by <repo>/.hpc-mcp/thresholds.yaml (both validated by
// schemas/thresholds.json); the defaults follow the training patrol of the
// seed documents (grad norm < 100, throughput > 50 % of its own median).
//
// Thread-safety: pure functions (LoadThresholds reads one file).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"
#include "tools/runs/metrics.h"

namespace hpc::runs {

struct Thresholds {
  // Gradient norm above this: warn (a non-finite norm always fails).
  double max_grad_norm = 100.0;
  // Stalled: no new step for this long while running (0: off).
  int stall_minutes = 30;
  // Throughput below this fraction of the run's own median (over at least
  // 5 values in the latest value's unit): warn (0: off).
  double min_throughput_fraction = 0.5;
  // Loss trend over the last `loss_trend_window` finite loss values (the
  // check waits for that many): the mean of the window's last quarter above
  // the mean of its first quarter by more than `loss_rise_fraction` of the
  // latter warns. Quarters rather than single values, because per-batch
  // loss is noisy and one spike must not warn.
  int loss_trend_window = 20;
  double loss_rise_fraction = 0.10;
  // Newest checkpoint older than this while running: warn (0: off).
  int checkpoint_max_age_minutes = 0;
  // Where checkpoints are: a directory, relative to the run's workdir or
  // absolute; files in it count (empty: check off).
  std::string checkpoint_dir;
  // Free disk in the work root below this: warn; below a tenth: fail
  // (0: off).
  double min_free_disk_gb = 10.0;
};

// `profile_health` is the profile document's `health` object (may be null);
// `repo` may be empty. InvalidArgument naming the file and key when a value
// breaks schemas/thresholds.json ("site.yaml: health.max_grad_norm: ...",
// "<repo>/.hpc-mcp/thresholds.yaml:3: stall_minutes: ..."), with the default
// or, for an unknown key, the nearest valid one. `profile_source` names the
// profile in those errors (ClusterProfile::source). An empty
// thresholds.yaml overrides nothing.
Result<Thresholds> LoadThresholds(
    const nlohmann::json& profile_health, const std::string& repo,
    std::string_view profile_source = "cluster profile");

struct HealthCheck {
  std::string name;    // loss_finite, loss_trend, grad_norm, step_advancing,
                       // throughput, checkpoint_fresh, disk_free
  std::string status;  // ok | warn | fail
  std::string detail;  // Evidence: values and the threshold.
};

struct HealthInput {
  std::vector<MetricPoint> history;  // Oldest first (the log so far, bounded).
  // Seconds since the step counter last advanced (or since the job started
  // when no step was seen yet); nullopt: unknown.
  std::optional<int64_t> seconds_since_progress;
  std::optional<int64_t> checkpoint_age_seconds;   // Newest file in checkpoint_dir.
  std::optional<double> free_disk_gb;              // In the work root.
};

std::vector<HealthCheck> CheckHealth(const HealthInput& input,
                                     const Thresholds& t);

// "fail" if any check failed, else "warn" if any warned, else "ok"
// ("ok" for no checks).
std::string WorstStatus(const std::vector<HealthCheck>& checks);

nlohmann::json ToJson(const HealthCheck& c);

}  // namespace hpc::runs
