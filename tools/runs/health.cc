#include "tools/runs/health.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <variant>

#include "mcp_server/assets.h"
#include "mcp_server/json_rpc.h"
#include "mcp_server/schema.h"
#include "mcp_server/yaml_json.h"
#include "tools/registry.h"

namespace hpc::runs {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kSchemaPath = "schemas/thresholds.json";
// Throughput is judged against a median: fewer points than this say nothing.
constexpr size_t kMinThroughputPoints = 5;

struct Key {
  const char* name;
  std::variant<double Thresholds::*, int Thresholds::*,
               std::string Thresholds::*>
      member;
};
const Key kKeys[] = {
    {"max_grad_norm", &Thresholds::max_grad_norm},
    {"stall_minutes", &Thresholds::stall_minutes},
    {"min_throughput_fraction", &Thresholds::min_throughput_fraction},
    {"loss_trend_window", &Thresholds::loss_trend_window},
    {"loss_rise_fraction", &Thresholds::loss_rise_fraction},
    {"checkpoint_max_age_minutes", &Thresholds::checkpoint_max_age_minutes},
    {"checkpoint_dir", &Thresholds::checkpoint_dir},
    {"min_free_disk_gb", &Thresholds::min_free_disk_gb},
};


std::string Percent(double fraction) { return FormatNumber(fraction * 100) + " %"; }

std::string Duration(int64_t seconds) {
  if (seconds < 120) return std::to_string(seconds) + " s";
  if (seconds < 2 * 3600) return std::to_string(seconds / 60) + " min";
  return FormatNumber(std::round(seconds / 360.0) / 10) + " h";
}

std::string DefaultText(const Key& k) {
  Thresholds d;
  return std::visit(
      [&](auto member) -> std::string {
        using T = std::remove_reference_t<decltype(d.*member)>;
        if constexpr (std::is_same_v<T, std::string>)
          return "\"" + d.*member + "\"";
        else
          return FormatNumber(static_cast<double>(d.*member));
      },
      k.member);
}

// Copies the keys of `doc` (already validated) onto `t`.
void Apply(const json& doc, Thresholds& t) {
  for (const Key& k : kKeys) {
    auto it = doc.find(k.name);
    if (it == doc.end()) continue;
    std::visit(
        [&](auto member) {
          using T = std::remove_reference_t<decltype(t.*member)>;
          if constexpr (std::is_same_v<T, std::string>) {
            if (it->is_string()) t.*member = it->template get<std::string>();
          } else {
            if (it->is_number()) t.*member = it->template get<T>();
          }
        },
        k.member);
  }
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] =
          std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

// The key named in an "unknown property 'x'" message, or "".
std::string UnknownKey(const std::string& message) {
  const std::string marker = "unknown property ";
  size_t at = message.find(marker);
  if (at == std::string::npos) return "";
  std::string rest = message.substr(at + marker.size());
  if (!rest.empty() && (rest[0] == '\'' || rest[0] == '"')) {
    size_t end = rest.find(rest[0], 1);
    return end == std::string::npos ? "" : rest.substr(1, end - 1);
  }
  return rest.substr(0, rest.find(' '));
}

std::string KeyList() {
  std::string s;
  for (const Key& k : kKeys) s += (s.empty() ? "" : ", ") + std::string(k.name);
  return s;
}

// What to do about a violation, for the reader of the error.
std::string Advice(const std::string& key, const std::string& message) {
  std::string unknown = UnknownKey(message);
  if (!unknown.empty()) {
    const Key* best = nullptr;
    size_t best_d = 4;
    for (const Key& k : kKeys) {
      size_t d = EditDistance(unknown, k.name);
      if (d < best_d) best_d = d, best = &k;
    }
    std::string s = "unknown threshold '" + unknown + "'";
    if (best) s += "; did you mean '" + std::string(best->name) + "'?";
    return s + " The keys are: " + KeyList() + " (schemas/thresholds.json).";
  }
  for (const Key& k : kKeys)
    if (key == k.name)
      return message +
             ". Fix the value or delete the key to use the default (" +
             DefaultText(k) +
             "); schemas/thresholds.json gives each key's bounds.";
  return message +
         ". See schemas/thresholds.json for the keys and their bounds.";
}

// The 1-based line of top-level key `key` in YAML `text`, or 0.
int LineOf(const std::string& text, const std::string& key) {
  if (key.empty()) return 0;
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) return 0;
    for (const auto& kv : root)
      if (kv.first.Scalar() == key) return kv.first.Mark().line + 1;
  } catch (const std::exception&) {
  }
  return 0;
}

// Validates one source of thresholds. `where` names it in errors
// ("site.yaml: health." or "<repo>/.hpc-mcp/thresholds.yaml:3: ").
Status Validate(const json& doc, const std::string& file,
                const std::string& key_prefix, const std::string& yaml_text) {
  auto violations = tools::HpcSchema(kSchemaPath).Validate(doc, 1);
  if (violations.empty()) return Status::Ok();
  const auto& v = violations.front();
  std::string key = v.path.empty() ? UnknownKey(v.message) : v.path.substr(1);
  if (size_t slash = key.find('/'); slash != std::string::npos)
    key = key.substr(0, slash);
  std::string where = file;
  if (int line = yaml_text.empty() ? 0 : LineOf(yaml_text, key))
    where += ":" + std::to_string(line);
  std::string field =
      key.empty() ? key_prefix + "(top level)" : key_prefix + key;
  return InvalidArgument(where + ": " + field + ": " + Advice(key, v.message));
}

Result<std::string> ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in)
    return Status(StatusCode::kUnavailable,
                  "cannot read " + p.string() + ": " + std::strerror(errno))
        .WithReason("io_error", false,
                    "make the file readable, or delete it to use the profile's "
                    "thresholds");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---------------------------------------------------------------------------
// The checks. Each returns nothing when it lacks its data or is turned off.

HealthCheck Check(const char* name, const char* status, std::string detail) {
  return HealthCheck{name, status, std::move(detail)};
}

std::string AtStep(const MetricPoint& p) {
  std::string s;
  if (p.step) s += " at step " + FormatNumber(*p.step);
  if (p.line > 0) s += " (log line " + std::to_string(p.line) + ")";
  return s;
}

std::optional<HealthCheck> LossFinite(const std::vector<MetricPoint>& h) {
  const MetricPoint* last_loss = nullptr;
  const MetricPoint* last_val = nullptr;
  const MetricPoint* first_bad = nullptr;
  for (const MetricPoint& p : h) {
    if (p.loss) last_loss = &p;
    if (p.val_loss) last_val = &p;
    bool bad = (p.loss && !std::isfinite(*p.loss)) ||
               (p.val_loss && !std::isfinite(*p.val_loss));
    if (bad && !first_bad) first_bad = &p;
  }
  if (!last_loss && !last_val) return std::nullopt;
  if (last_loss && !std::isfinite(*last_loss->loss))
    return Check("loss_finite", "fail",
                 "loss is " + FormatNumber(*last_loss->loss) + AtStep(*last_loss) +
                     (first_bad && first_bad != last_loss
                          ? "; first non-finite" + AtStep(*first_bad)
                          : ""));
  if (last_val && !std::isfinite(*last_val->val_loss))
    return Check("loss_finite", "fail",
                 "val_loss is " + FormatNumber(*last_val->val_loss) + AtStep(*last_val));
  if (first_bad)
    return Check("loss_finite", "warn",
                 "loss was non-finite" + AtStep(*first_bad) +
                     ", finite again since (" +
                     (last_loss ? "loss " + FormatNumber(*last_loss->loss)
                                : "val_loss " + FormatNumber(*last_val->val_loss)) +
                     AtStep(last_loss ? *last_loss : *last_val) +
                     "): mixed-precision overflow that the loss scaler "
                     "skipped, or bad batches");
  const MetricPoint& p = last_loss ? *last_loss : *last_val;
  return Check(
      "loss_finite", "ok",
      (last_loss ? "loss " + FormatNumber(*p.loss) : "val_loss " + FormatNumber(*p.val_loss)) +
          AtStep(p) + " is finite");
}

double Mean(const std::vector<double>& v, size_t begin, size_t end) {
  double sum = 0;
  for (size_t i = begin; i < end; ++i) sum += v[i];
  return sum / static_cast<double>(end - begin);
}

// Compares the means of the window's first and last quarters rather than two
// single values: per-batch loss is noisy, and a single spike must not warn.
std::optional<HealthCheck> LossTrend(const std::vector<MetricPoint>& h,
                                     const Thresholds& t) {
  if (t.loss_trend_window < 4) return std::nullopt;
  const size_t window = static_cast<size_t>(t.loss_trend_window);
  std::vector<double> losses;
  for (auto it = h.rbegin(); it != h.rend() && losses.size() < window; ++it)
    if (it->loss && std::isfinite(*it->loss)) losses.push_back(*it->loss);
  if (losses.size() < window) return std::nullopt;
  std::reverse(losses.begin(), losses.end());
  const size_t q = window / 4;
  double first = Mean(losses, 0, q), last = Mean(losses, window - q, window);
  double base = std::fabs(first);
  double rise =
      base > 0 ? (last - first) / base : (last > first ? INFINITY : 0);
  std::string what = "loss " + FormatNumber(first) + " -> " + FormatNumber(last) +
                     " (mean of the first and last " + std::to_string(q) +
                     " of the last " + std::to_string(window) + " values, " +
                     (rise >= 0 ? "+" : "") + Percent(rise) + ")";
  if (rise > t.loss_rise_fraction)
    return Check("loss_trend", "warn",
                 what + " > +" + Percent(t.loss_rise_fraction) +
                     " (loss_rise_fraction)");
  return Check(
      "loss_trend", "ok",
      what + " <= +" + Percent(t.loss_rise_fraction) + " (loss_rise_fraction)");
}

std::optional<HealthCheck> GradNorm(const std::vector<MetricPoint>& h,
                                    const Thresholds& t) {
  const MetricPoint* last = nullptr;
  for (const MetricPoint& p : h)
    if (p.grad_norm) last = &p;
  if (!last) return std::nullopt;
  double g = *last->grad_norm;
  std::string bound = FormatNumber(t.max_grad_norm) + " (max_grad_norm)";
  if (!std::isfinite(g))
    return Check("grad_norm", "fail",
                 "grad_norm " + FormatNumber(g) + AtStep(*last) + " is not finite");
  if (g > t.max_grad_norm)
    return Check("grad_norm", "warn",
                 "grad_norm " + FormatNumber(g) + " > " + bound + AtStep(*last));
  return Check("grad_norm", "ok",
               "grad_norm " + FormatNumber(g) + " <= " + bound + AtStep(*last));
}

std::optional<HealthCheck> StepAdvancing(const HealthInput& in,
                                         const Thresholds& t) {
  if (!in.seconds_since_progress || t.stall_minutes <= 0) return std::nullopt;
  int64_t since = *in.seconds_since_progress;
  int64_t limit = static_cast<int64_t>(t.stall_minutes) * 60;
  std::string step;
  for (auto it = in.history.rbegin(); it != in.history.rend(); ++it) {
    if (it->step) {
      step = "step " + FormatNumber(*it->step);
      break;
    }
  }
  std::string what = (step.empty() ? "no step seen since the job started "
                                   : step + " last advanced ") +
                     Duration(since) + " ago";
  std::string bound = std::to_string(t.stall_minutes) + " min (stall_minutes)";
  if (since > limit)
    return Check("step_advancing", "fail", what + " > " + bound);
  return Check("step_advancing", "ok", what + " <= " + bound);
}

std::optional<HealthCheck> Throughput(const std::vector<MetricPoint>& h,
                                      const Thresholds& t) {
  if (t.min_throughput_fraction <= 0) return std::nullopt;
  const MetricPoint* last = nullptr;
  for (const MetricPoint& p : h)
    if (p.throughput && std::isfinite(*p.throughput)) last = &p;
  if (!last) return std::nullopt;
  // Only values in the latest unit: an eval loop's samples/s is no baseline
  // for a training loop's it/s.
  std::vector<double> values;
  for (const MetricPoint& p : h)
    if (p.throughput && std::isfinite(*p.throughput) &&
        p.throughput_unit == last->throughput_unit)
      values.push_back(*p.throughput);
  if (values.size() < kMinThroughputPoints) return std::nullopt;
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  size_t mid = sorted.size() / 2;
  double median =
      sorted.size() % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  std::string unit =
      last->throughput_unit.empty() ? "" : " " + last->throughput_unit;
  double now = *last->throughput;
  double floor = t.min_throughput_fraction * median;
  std::string what = "throughput " + FormatNumber(now) + unit;
  std::string bound = Percent(t.min_throughput_fraction) + " of its median " +
                      FormatNumber(median) + unit + " over " +
                      std::to_string(values.size()) +
                      " values (min_throughput_fraction)";
  if (now < floor) return Check("throughput", "warn", what + " < " + bound);
  return Check("throughput", "ok", what + " >= " + bound);
}

std::optional<HealthCheck> CheckpointFresh(const HealthInput& in,
                                           const Thresholds& t) {
  if (t.checkpoint_max_age_minutes <= 0 || !in.checkpoint_age_seconds)
    return std::nullopt;
  int64_t age = *in.checkpoint_age_seconds;
  std::string what =
      "newest checkpoint" +
      (t.checkpoint_dir.empty() ? "" : " in " + t.checkpoint_dir) + " is " +
      Duration(age) + " old";
  std::string bound = std::to_string(t.checkpoint_max_age_minutes) +
                      " min (checkpoint_max_age_minutes)";
  if (age > static_cast<int64_t>(t.checkpoint_max_age_minutes) * 60)
    return Check("checkpoint_fresh", "warn", what + " > " + bound);
  return Check("checkpoint_fresh", "ok", what + " <= " + bound);
}

std::optional<HealthCheck> DiskFree(const HealthInput& in,
                                    const Thresholds& t) {
  if (!in.free_disk_gb || t.min_free_disk_gb <= 0) return std::nullopt;
  double free = *in.free_disk_gb;
  std::string what = FormatNumber(free) + " GB free in the work root";
  if (free < t.min_free_disk_gb / 10)
    return Check("disk_free", "fail",
                 what + " < " + FormatNumber(t.min_free_disk_gb / 10) +
                     " GB (a tenth of min_free_disk_gb " +
                     FormatNumber(t.min_free_disk_gb) + ")");
  if (free < t.min_free_disk_gb)
    return Check(
        "disk_free", "warn",
        what + " < " + FormatNumber(t.min_free_disk_gb) + " GB (min_free_disk_gb)");
  return Check(
      "disk_free", "ok",
      what + " >= " + FormatNumber(t.min_free_disk_gb) + " GB (min_free_disk_gb)");
}

}  // namespace

Result<Thresholds> LoadThresholds(const json& profile_health,
                                  const std::string& repo,
                                  std::string_view profile_source) {
  Thresholds t;
  if (!profile_health.is_null()) {
    if (!profile_health.is_object())
      return InvalidArgument(std::string(profile_source) +
                             ": health: must be a mapping of threshold keys (" +
                             KeyList() + "); see schemas/thresholds.json");
    HPC_RETURN_IF_ERROR(
        Validate(profile_health, std::string(profile_source), "health.", ""));
    Apply(profile_health, t);
  }
  if (repo.empty()) return t;
  const fs::path file = fs::path(repo) / ".hpc-mcp" / "thresholds.yaml";
  std::error_code ec;
  if (!fs::exists(file, ec)) return t;
  auto text = ReadFile(file);
  if (!text.ok()) return text.status();
  auto doc = mcp::YamlToJson(*text, file.string());
  if (!doc.ok()) return doc.status();
  if (doc->is_null()) return t;  // An empty file overrides nothing.
  if (!doc->is_object())
    return InvalidArgument(
        file.string() +
        ": must be a mapping of threshold keys, one per line (e.g. "
        "\"max_grad_norm: 50\"); the keys are " +
        KeyList() + " (schemas/thresholds.json)");
  HPC_RETURN_IF_ERROR(Validate(*doc, file.string(), "", *text));
  Apply(*doc, t);
  return t;
}

std::vector<HealthCheck> CheckHealth(const HealthInput& input,
                                     const Thresholds& t) {
  std::vector<HealthCheck> out;
  for (auto check : {LossFinite(input.history), LossTrend(input.history, t),
                     GradNorm(input.history, t), StepAdvancing(input, t),
                     Throughput(input.history, t), CheckpointFresh(input, t),
                     DiskFree(input, t)})
    if (check) out.push_back(std::move(*check));
  return out;
}

std::string WorstStatus(const std::vector<HealthCheck>& checks) {
  bool warn = false;
  for (const HealthCheck& c : checks) {
    if (c.status == "fail") return "fail";
    if (c.status == "warn") warn = true;
  }
  return warn ? "warn" : "ok";
}

json ToJson(const HealthCheck& c) {
  return {{"name", c.name}, {"status", c.status}, {"detail", c.detail}};
}

}  // namespace hpc::runs
