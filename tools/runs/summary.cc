#include "tools/runs/summary.h"

#include <cstdio>
#include <map>

#include "tools/runs/metrics.h"

namespace hpc::runs {
namespace {

using nlohmann::json;

std::string Hms(int64_t s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

}  // namespace

std::string FormatMetric(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (!v.is_number()) return v.dump();
  return FormatNumber(v.get<double>());
}

std::string RunLine(const json& v) {
  std::string line = v.value("run_id", "") + " " + v.value("state", "");
  if (v.contains("elapsed_s")) {
    line += " " + Hms(v["elapsed_s"].get<int64_t>());
    if (v.contains("time_limit_s")) line += "/" + Hms(v["time_limit_s"].get<int64_t>());
  }
  if (v.contains("tasks") && v["tasks"].is_object() && !v["tasks"].empty()) {
    std::string t;
    for (const auto& [k, n] : v["tasks"].items()) t += (t.empty() ? "" : ", ") + FormatMetric(n) + " " + k;
    line += " [" + t + "]";
  }
  const json& p = v.contains("progress") ? v["progress"] : json::object();
  for (const char* k : {"step", "epoch", "loss", "val_loss"})
    if (p.contains(k)) line += std::string(" · ") + k + " " + FormatMetric(p[k]);
  if (v.contains("health") && v["health"].is_object()) {
    std::string h = v["health"].value("status", "unknown");
    if (h != "unknown") {
      line += " · health " + h;
      if (h != "ok")
        for (const auto& c : v["health"].value("checks", json::array()))
          if (c.value("status", "") != "ok") {
            line += " (" + c.value("detail", "") + ")";
            break;
          }
    }
  }
  if (v.contains("sweep") && v["sweep"].is_object()) {
    line += " · sweep " + v["sweep"].value("line", "");
    return line;
  }
  if (v.contains("diagnosis") && v["diagnosis"].is_object())
    line += " · " + v["diagnosis"].value("category", "") + ": " + v["diagnosis"].value("summary", "");
  else if (v.contains("reason") && v["reason"].is_string() && !v["reason"].get<std::string>().empty())
    line += " · " + v["reason"].get<std::string>();
  return line;
}

std::string CountLine(const std::vector<json>& views) {
  std::map<std::string, int> by;
  for (const auto& v : views) ++by[v.value("state", "")];
  std::string s;
  for (const auto& [k, n] : by) s += (s.empty() ? "" : ", ") + std::to_string(n) + " " + k;
  return s.empty() ? "no runs" : s;
}

}  // namespace hpc::runs
