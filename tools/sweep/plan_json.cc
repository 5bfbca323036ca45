// The plan as dry_run shows it: counts and arrays, never one line per task.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "tools/sweep/plan.h"

namespace hpc::sweep {
namespace {

using nlohmann::json;
using Why = ArrayDependency::Why;

// "45s", "12m", "2h 05m", "3d 4h".
std::string FormatSeconds(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  char buf[32];
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string((s + 30) / 60) + "m";
  if (s < 86400) {
    int64_t m = (s + 30) / 60;
    std::snprintf(buf, sizeof buf, "%lldh %02lldm",
                  static_cast<long long>(m / 60),
                  static_cast<long long>(m % 60));
    return buf;
  }
  int64_t h = (s + 1800) / 3600;
  std::snprintf(buf, sizeof buf, "%lldd %lldh", static_cast<long long>(h / 24),
                static_cast<long long>(h % 24));
  return buf;
}

json Limit(int value) { return value > 0 ? json(value) : json("none"); }

// The dependencies of `a`, one entry per reason rather than per array: a
// wave boundary of 100 arrays is one line.
json After(const Sweep& sweep, const Plan& plan, const PlanArray& a) {
  json out = json::array();
  size_t wave_edges = 0;
  std::map<int, size_t> phase_edges;  // Phase -> arrays waited for.
  for (const ArrayDependency& d : a.after) {
    const PlanArray& other = plan.arrays[d.array];
    switch (d.why) {
      case Why::kWave:
        ++wave_edges;
        break;
      case Why::kPhase:
        ++phase_edges[other.phase];
        break;
      case Why::kMatch:
        out.push_back(
            {{"kind", DependencyKindName(d.kind)}, {"array", other.id}});
        break;
    }
  }
  for (const auto& [phase, n] : phase_edges)
    out.push_back({{"kind", "afterok"},
                   {"phase", sweep.phases[phase].name},
                   {"arrays", n}});
  if (wave_edges > 0)
    out.push_back(
        {{"kind", "afterany"}, {"wave", a.wave - 1}, {"arrays", wave_edges}});
  return out;
}

json ArrayJson(const Sweep& sweep, const Expansion& e, const Plan& plan,
               const PlanArray& a) {
  return {{"id", a.id},
          {"phase", sweep.phases[a.phase].name},
          {"wave", a.wave},
          {"tasks", a.tasks.size()},
          {"first_task", e.tasks[a.tasks.front()].id},
          {"last_task", e.tasks[a.tasks.back()].id},
          {"after", After(sweep, plan, a)}};
}

}  // namespace

json PlanJson(const Sweep& sweep, const Expansion& expansion, const Plan& plan,
              const WallClock* wall_clock, size_t max_arrays) {
  json out;
  out["counts"] = {{"tasks", plan.tasks},
                   {"arrays", plan.arrays.size()},
                   {"waves", plan.waves},
                   {"submissions", plan.submissions()}};
  out["limits"] = {
      {"max_array_size", Limit(plan.limits.max_array_size)},
      {"max_concurrent_jobs", Limit(plan.limits.max_concurrent_jobs)}};
  json phases = json::array();
  for (int pi : sweep.order) {
    const Phase& p = sweep.phases[pi];
    const PhasePlan& pp = plan.phases[pi];
    json deps = json::array();
    for (size_t k = 0; k < p.depends_on.size(); ++k) {
      const Dependency& d = p.depends_on[k];
      const bool aligned = pp.dependency_modes[k] == "aligned";
      json dep = {{"phase", d.phase},
                  {"mode", pp.dependency_modes[k]},
                  {"kind", aligned ? "aftercorr" : "afterok"}};
      if (!d.match.empty()) dep["match"] = d.match;
      deps.push_back(std::move(dep));
    }
    json entry = {{"name", p.name},
                  {"tasks", pp.tasks},
                  {"arrays", pp.arrays},
                  {"waves", {pp.first_wave, pp.last_wave}}};
    if (!deps.empty()) entry["depends_on"] = std::move(deps);
    phases.push_back(std::move(entry));
  }
  out["phases"] = std::move(phases);
  json arrays = json::array();
  max_arrays = std::max<size_t>(max_arrays, 2);
  const size_t n = plan.arrays.size();
  const size_t tail = n > max_arrays ? max_arrays / 4 : 0;
  const size_t head = n > max_arrays ? max_arrays - tail : n;
  for (size_t i = 0; i < head; ++i)
    arrays.push_back(ArrayJson(sweep, expansion, plan, plan.arrays[i]));
  for (size_t i = n - tail; i < n; ++i)
    arrays.push_back(ArrayJson(sweep, expansion, plan, plan.arrays[i]));
  out["arrays"] = std::move(arrays);
  if (n > head + tail) {
    out["arrays_omitted"] = n - head - tail;
    out["arrays_omitted_after"] = plan.arrays[head - 1].id;
  }
  if (!plan.notes.empty()) out["notes"] = plan.notes;
  if (wall_clock) {
    json est = {{"known", wall_clock->known}};
    if (wall_clock->known) {
      est["wall_clock_s"] = std::llround(wall_clock->seconds);
      est["wall_clock"] = FormatSeconds(wall_clock->seconds);
      est["assumes"] =
          "every task runs as long as before and none waits in the queue";
    } else {
      est["unknown_phases"] = wall_clock->unknown_phases;
    }
    out["estimate"] = std::move(est);
  }
  return out;
}

}  // namespace hpc::sweep
