#include "tools/runlog/log_summary.h"

#include <cmath>

#include "tools/runs/log_reader.h"

namespace hpc::runlog {
namespace {

using nlohmann::json;

constexpr size_t kBudget = 1 << 20;

runs::LogQuery Query(size_t scan) {
  runs::LogQuery q;
  q.max_lines = 100000;
  q.max_bytes = scan;
  q.max_scan_bytes = scan;
  return q;
}

std::vector<runs::MetricPoint> Points(const runs::LogChunk& chunk) {
  std::string text;
  for (const auto& l : chunk.lines) text += l + "\n";
  return runs::ExtractMetrics(text);
}

template <typename F>
std::optional<double> First(const std::vector<runs::MetricPoint>& pts,
                            F field) {
  for (const auto& p : pts)
    if (auto v = field(p)) return v;
  return std::nullopt;
}

template <typename F>
std::optional<double> Last(const std::vector<runs::MetricPoint>& pts, F field) {
  for (auto it = pts.rbegin(); it != pts.rend(); ++it)
    if (auto v = field(*it)) return v;
  return std::nullopt;
}

Result<LossSummary> SummarizeOne(remote::Remote& remote,
                                 const std::string& path) {
  auto head = runs::ReadSince(remote, path, 0, Query(kBudget));
  if (!head.ok()) return head.status();
  std::vector<runs::MetricPoint> first = Points(*head), last = first;
  if (head->cursor < head->size) {
    // More than the head: the tail holds the last values.
    auto tail = runs::TailLines(remote, path, Query(kBudget));
    if (!tail.ok()) return tail.status();
    last = Points(*tail);
  }
  auto step = [](const runs::MetricPoint& p) { return p.step; };
  auto loss = [](const runs::MetricPoint& p) { return p.loss; };
  auto val = [](const runs::MetricPoint& p) { return p.val_loss; };
  LossSummary s;
  s.first_step = First(first, step);
  s.first_loss = First(first, loss);
  s.first_val_loss = First(first, val);
  if (!s.first_val_loss) s.first_val_loss = First(last, val);
  if (!s.first_loss) s.first_loss = First(last, loss);
  s.final_step = Last(last, step);
  s.last_loss = Last(last, loss);
  s.last_val_loss = Last(last, val);
  if (!s.final_step) s.final_step = Last(first, step);
  s.latest = runs::Latest(last.empty() ? first : last);
  return s;
}

json Number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

}  // namespace

Result<LossSummary> SummarizeLog(remote::Remote& remote,
                                 const std::string& path,
                                 const std::string& fallback) {
  auto s = SummarizeOne(remote, path);
  if (fallback.empty() || fallback == path) return s;
  if (s.ok() && s->any()) return s;
  auto other = SummarizeOne(remote, fallback);
  if (other.ok() && (other->any() || !s.ok())) return other;
  return s;
}

Result<runs::MetricPoint> LatestMetrics(remote::Remote& remote,
                                        const std::string& path) {
  auto tail = runs::TailLines(remote, path, Query(64 << 10));
  if (!tail.ok()) return tail.status();
  return runs::Latest(Points(*tail));
}

json ToResults(const LossSummary& s) {
  json r = json::object();
  auto put = [&](const char* key, const std::optional<double>& v) {
    if (v) r[key] = Number(*v);
  };
  put("final_step", s.final_step);
  put("start_train_loss", s.first_loss);
  put("end_train_loss", s.last_loss);
  put("start_val_loss", s.first_val_loss);
  put("end_val_loss", s.last_val_loss);
  r["last_metrics"] = runs::ToJson(s.latest);
  return r;
}

}  // namespace hpc::runlog
