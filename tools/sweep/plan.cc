#include "tools/sweep/plan.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace hpc::sweep {
namespace {

using Why = ArrayDependency::Why;

// Lays arrays out and assigns their waves (plan.h).
class Planner {
 public:
  Planner(const Sweep& sweep, const Expansion& expansion, Plan& plan)
      : sweep_(sweep),
        e_(expansion),
        plan_(plan),
        arrays_of_(sweep.phases.size()) {}

  void Run() {
    for (int pi : sweep_.order) PlanPhase(pi);
    AddWaveEdges();
    for (PlanArray& a : plan_.arrays)
      std::sort(a.after.begin(), a.after.end(),
                [](const auto& x, const auto& y) {
                  return std::tie(x.array, x.kind) < std::tie(y.array, y.kind);
                });
    plan_.waves = static_cast<int>(wave_sizes_.size());
  }

 private:
  void PlanPhase(int pi) {
    const Phase& p = sweep_.phases[pi];
    PhasePlan& pp = plan_.phases[pi];
    pp.tasks = e_.phases[pi].count;
    pp.dependency_modes.assign(p.depends_on.size(), "phase");
    // Whole-phase waits, for every array of this phase.
    std::vector<ArrayDependency> phase_deps;
    int aligned = -1;  // The depends_on entry packed element by element.
    int matched = 0;
    for (const Dependency& d : p.depends_on) matched += !d.match.empty();
    for (size_t k = 0; k < p.depends_on.size(); ++k) {
      const Dependency& d = p.depends_on[k];
      if (!d.match.empty()) {
        std::string why = matched > 1
                              ? "it has more than one depends_on with match, "
                                "and only one can be aligned"
                              : AlignmentProblem(pi, d);
        if (why.empty()) {
          aligned = static_cast<int>(k);
          pp.dependency_modes[k] = "aligned";
          continue;
        }
        plan_.notes.push_back(
            "phase '" + p.name + "' waits for all of phase '" + d.phase +
            "' (afterok), not task by task: " + why + ". One failed task of '" +
            d.phase + "' holds every task of '" + p.name +
            "' until its retry succeeds.");
      }
      for (size_t a : arrays_of_[d.phase_index])
        phase_deps.push_back({a, DependencyKind::kAfterOk, Why::kPhase});
    }
    if (aligned >= 0)
      PackAligned(pi, p.depends_on[aligned], phase_deps);
    else
      PackInOrder(pi, phase_deps);
    pp.arrays = arrays_of_[pi].size();
    pp.first_wave = plan_.arrays[arrays_of_[pi].front()].wave;
    pp.last_wave = plan_.arrays[arrays_of_[pi].back()].wave;
  }

  // Why the match dependency `d` of phase `pi` cannot be aligned (plan.h),
  // or "" when it can; fills dependents_ when it can.
  std::string AlignmentProblem(int pi, const Dependency& d) {
    const Expansion::Span& ds = e_.phases[pi];
    const Expansion::Span& us = e_.phases[d.phase_index];
    dependents_.assign(us.count, {});
    for (size_t t = ds.first; t < ds.first + ds.count; ++t) {
      const Task& task = e_.tasks[t];
      if (task.after.size() != 1)
        return "task '" + task.id + "' waits for " +
               std::to_string(task.after.size()) + " tasks of it";
      dependents_[task.after[0] - us.first].push_back(t);
    }
    for (size_t u = 0; u < us.count; ++u) {
      if (dependents_[u].size() == dependents_[0].size()) continue;
      return "its task '" + e_.tasks[us.first].id + "' has " +
             std::to_string(dependents_[0].size()) + " waiting tasks and '" +
             e_.tasks[us.first + u].id + "' has " +
             std::to_string(dependents_[u].size());
    }
    return "";
  }

  // m arrays per array of the phase waited for, element i of each waiting
  // for element i of that array.
  void PackAligned(int pi, const Dependency& d,
                   const std::vector<ArrayDependency>& phase_deps) {
    const size_t first = e_.phases[d.phase_index].first;
    const size_t m = dependents_[0].size();
    for (size_t up : arrays_of_[d.phase_index]) {
      for (size_t r = 0; r < m; ++r) {
        std::vector<size_t> tasks;
        for (size_t u : plan_.arrays[up].tasks)
          tasks.push_back(dependents_[u - first][r]);
        std::vector<ArrayDependency> after = phase_deps;
        after.push_back({up, DependencyKind::kAfterCorr, Why::kMatch});
        Add(pi, std::move(tasks), std::move(after));
      }
    }
  }

  void PackInOrder(int pi, const std::vector<ArrayDependency>& phase_deps) {
    const Expansion::Span& s = e_.phases[pi];
    const size_t size = plan_.limits.max_array_size > 0
                            ? static_cast<size_t>(plan_.limits.max_array_size)
                            : std::max<size_t>(s.count, 1);
    for (size_t start = 0; start < s.count; start += size) {
      std::vector<size_t> tasks;
      for (size_t t = start; t < std::min(s.count, start + size); ++t)
        tasks.push_back(s.first + t);
      Add(pi, std::move(tasks), phase_deps);
    }
  }

  // Appends an array in the earliest wave allowed (plan.h).
  void Add(int pi, std::vector<size_t> tasks,
           std::vector<ArrayDependency> after) {
    PlanArray a;
    a.phase = pi;
    a.id = sweep_.phases[pi].name + "." + std::to_string(arrays_of_[pi].size());
    a.tasks = std::move(tasks);
    a.after = std::move(after);
    int wave =
        wave_sizes_.empty() ? 0 : static_cast<int>(wave_sizes_.size()) - 1;
    for (const ArrayDependency& d : a.after)
      wave = std::max(wave, plan_.arrays[d.array].wave + 1);
    const int cap = plan_.limits.max_concurrent_jobs;
    if (wave < static_cast<int>(wave_sizes_.size()) && cap > 0 &&
        wave_sizes_[wave] >= static_cast<size_t>(cap))
      ++wave;
    if (wave >= static_cast<int>(wave_sizes_.size())) wave_sizes_.push_back(0);
    ++wave_sizes_[wave];
    a.wave = wave;
    arrays_of_[pi].push_back(plan_.arrays.size());
    plan_.arrays.push_back(std::move(a));
  }

  // afterany on every array of the previous wave, where the cap makes
  // waves mean something and no afterok already implies it.
  void AddWaveEdges() {
    if (plan_.limits.max_concurrent_jobs <= 0) return;
    std::vector<std::vector<size_t>> by_wave(wave_sizes_.size());
    for (size_t i = 0; i < plan_.arrays.size(); ++i)
      by_wave[plan_.arrays[i].wave].push_back(i);
    for (PlanArray& a : plan_.arrays) {
      if (a.wave == 0) continue;
      for (size_t b : by_wave[a.wave - 1]) {
        bool implied =
            std::any_of(a.after.begin(), a.after.end(), [&](const auto& d) {
              return d.array == b && d.kind == DependencyKind::kAfterOk;
            });
        if (!implied)
          a.after.push_back({b, DependencyKind::kAfterAny, Why::kWave});
      }
    }
  }

  const Sweep& sweep_;
  const Expansion& e_;
  Plan& plan_;
  std::vector<std::vector<size_t>> arrays_of_;  // By phase: plan arrays.
  std::vector<size_t> wave_sizes_;
  // For the aligned phase: by task of the phase waited for (offset in its
  // span), the tasks waiting for it, in expansion order.
  std::vector<std::vector<size_t>> dependents_;
};

}  // namespace

PlanLimits PlanLimits::FromProfile(const cluster::Limits& limits) {
  return {limits.max_array_size, limits.max_concurrent_jobs};
}

const char* DependencyKindName(DependencyKind kind) {
  switch (kind) {
    case DependencyKind::kAfterAny:
      return "afterany";
    case DependencyKind::kAfterOk:
      return "afterok";
    case DependencyKind::kAfterCorr:
      return "aftercorr";
  }
  return "afterany";
}

Plan MakePlan(const Sweep& sweep, const Expansion& expansion,
              const PlanLimits& limits) {
  Plan plan;
  plan.limits = limits;
  plan.tasks = expansion.tasks.size();
  plan.phases.resize(sweep.phases.size());
  Planner(sweep, expansion, plan).Run();
  return plan;
}

std::string TemplateKey(const Phase& phase) {
  nlohmann::json argv = nlohmann::json::array();
  for (const Template& t : phase.command) argv.push_back(t.text());
  return argv.dump();
}

WallClock EstimateWallClock(const Sweep& sweep, const Plan& plan,
                            const Durations& durations) {
  WallClock w;
  std::vector<double> per_phase(sweep.phases.size(), 0);
  for (size_t i = 0; i < sweep.phases.size(); ++i) {
    const Phase& p = sweep.phases[i];
    if (auto it = durations.by_phase.find(p.name);
        it != durations.by_phase.end())
      per_phase[i] = it->second;
    else if (auto t = durations.by_template.find(TemplateKey(p));
             t != durations.by_template.end())
      per_phase[i] = t->second;
    else
      w.unknown_phases.push_back(p.name);
  }
  if (!w.unknown_phases.empty()) return w;
  std::vector<double> longest(plan.waves, 0);
  for (const PlanArray& a : plan.arrays) {
    double rounds = 1;
    if (durations.parallel_tasks > 0)
      rounds =
          static_cast<double>((a.tasks.size() + durations.parallel_tasks - 1) /
                              durations.parallel_tasks);
    longest[a.wave] = std::max(longest[a.wave], per_phase[a.phase] * rounds);
  }
  w.known = true;
  for (double s : longest) w.seconds += s;
  return w;
}

}  // namespace hpc::sweep
