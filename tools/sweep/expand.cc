#include "tools/sweep/expand.h"

#include <algorithm>
#include <limits>

namespace hpc::sweep {
namespace {

// Why `id` cannot name a file, or "" when it can.
std::string IdProblem(const std::string& id) {
  if (id.empty()) return "is empty";
  if (id.size() > 128) return "is longer than 128 characters";
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
  };
  if (!alnum(id[0])) return "does not start with a letter or digit";
  for (char c : id) {
    if (alnum(c) || c == '.' || c == '_' || c == '-') continue;
    unsigned char u = static_cast<unsigned char>(c);
    std::string shown = u < 0x20 || u == 0x7f ? "a control character"
                        : u >= 0x80           ? "a non-ASCII character"
                                              : "'" + std::string(1, c) + "'";
    return "has " + shown;
  }
  return "";
}

bool HasControl(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// `s` for a one-line message: control characters as '?', at most `max`
// bytes.
std::string Printable(const std::string& s, size_t max = 80) {
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    out += u < 0x20 || u == 0x7f ? '?' : c;
  }
  return out.size() > max ? out.substr(0, max - 3) + "..." : out;
}

// "N=64, seed=1": for messages.
std::string Describe(const Task& t) {
  std::string s;
  for (const auto& [name, value] : t.params)
    s += (s.empty() ? "" : ", ") + name + "=" + Printable(value, 40);
  return s.empty() ? "no parameters" : s;
}

std::string TaskName(const Sweep& sweep, const Task& t) {
  return "task " + std::to_string(t.index) + " of phase '" +
         sweep.phases[t.phase].name + "' (" + Describe(t) + ")";
}

// Builds one phase's tasks into `out`.
class PhaseExpander {
 public:
  PhaseExpander(const Sweep& sweep, int phase_index)
      : sweep_(sweep), phase_(sweep.phases[phase_index]), pi_(phase_index) {
    const ParameterSpace& ps = phase_.parameters;
    names_ = ps.Names();
    auto slot = [&](const std::string& name) {
      return static_cast<int>(std::find(names_.begin(), names_.end(), name) -
                              names_.begin());
    };
    for (const auto& [name, values] : ps.grid)
      grid_slots_.push_back(slot(name));
    seed_slot_ = ps.seeds.empty() ? -1 : slot(ps.seed_name);
    inner_ = !ps.grid.empty()
                 ? ps.Count() / std::max<size_t>(ps.seeds.size(), 1)
             : !ps.list.empty() ? ps.list.size()
                                : 1;
    values_.resize(phase_.vars.size());
    present_.resize(names_.size());
    const size_t builtins = names_.size();
    values_[builtins + 0] = sweep.name;
    values_[builtins + 1] = phase_.name;
  }

  Status Build(uint64_t count, Expansion& out) {
    const size_t builtins = names_.size();
    for (uint64_t i = 0; i < count; ++i) {
      SetParameters(i);
      Task t;
      t.phase = pi_;
      t.index = i;
      for (size_t k = 0; k < names_.size(); ++k)
        if (present_[k]) t.params.emplace_back(names_[k], values_[k]);
      values_[builtins + 2] = std::to_string(i);
      values_[builtins + 3].clear();
      t.id = phase_.id.Render(values_);
      if (std::string why = IdProblem(t.id); !why.empty())
        return InvalidArgument(
            sweep_.Where(phase_.At("id")) + ": " + TaskName(sweep_, t) +
            " gets the id '" + Printable(t.id) + "', which " + why +
            "; ids name files, so they may hold only letters, digits, '.', "
            "'_' and '-', starting with a letter or digit: change the id "
            "template (or the values)");
      values_[builtins + 3] = t.id;
      for (const Template& a : phase_.command)
        t.argv.push_back(a.Render(values_));
      HPC_RETURN_IF_ERROR(Paths(phase_.expected_outputs, "expected_outputs", t,
                                t.expected_outputs));
      HPC_RETURN_IF_ERROR(
          Paths(phase_.preconditions, "preconditions", t, t.preconditions));
      for (const auto& [name, value] : t.params) {
        t.env.emplace_back(ParamEnvName(name), value);
        t.env.emplace_back(name, value);
      }
      t.env.emplace_back(kEnvSweep, sweep_.name);
      t.env.emplace_back(kEnvPhase, phase_.name);
      t.env.emplace_back(kEnvTask, t.id);
      for (const auto& [name, value] : phase_.env)
        t.env.emplace_back(name, value.Render(values_));
      std::sort(t.env.begin(), t.env.end());
      auto [it, fresh] = out.by_id.emplace(t.id, out.tasks.size());
      if (!fresh) {
        const Task& other = out.tasks[it->second];
        return InvalidArgument(
            sweep_.Where(phase_.At("id")) + ": " + TaskName(sweep_, other) +
            " and " + TaskName(sweep_, t) + " both get the id '" + t.id +
            "'; ids must be unique in the sweep: put the parameters that "
            "tell them apart (or ${phase}) into the id template");
      }
      out.tasks.push_back(std::move(t));
    }
    return Status::Ok();
  }

 private:
  // values_ and present_ for parameter set `i`.
  void SetParameters(uint64_t i) {
    const ParameterSpace& ps = phase_.parameters;
    std::fill(present_.begin(), present_.end(), false);
    uint64_t r = i % inner_;
    if (seed_slot_ >= 0) {
      values_[seed_slot_] = ps.seeds[i / inner_];
      present_[seed_slot_] = true;
    }
    if (!ps.grid.empty()) {
      for (size_t g = ps.grid.size(); g-- > 0;) {
        const auto& values = ps.grid[g].second;
        values_[grid_slots_[g]] = values[r % values.size()];
        present_[grid_slots_[g]] = true;
        r /= values.size();
      }
    } else if (!ps.list.empty()) {
      for (const auto& [name, value] : ps.list[r]) {
        size_t k =
            std::find(names_.begin(), names_.end(), name) - names_.begin();
        values_[k] = value;
        present_[k] = true;
      }
      for (size_t k = 0; k < names_.size(); ++k)
        if (!present_[k]) values_[k].clear();  // Used by no template (load.cc).
    }
  }

  Status Paths(const std::vector<Template>& templates, const char* field,
               const Task& t, std::vector<std::string>& out) {
    for (size_t i = 0; i < templates.size(); ++i) {
      std::string path = templates[i].Render(values_);
      if (HasControl(path))
        return InvalidArgument(
            sweep_.Where(phase_.At(field) + "/" + std::to_string(i)) + ": " +
            TaskName(sweep_, t) + " gets the path '" + Printable(path) +
            "', which has a control character (from a parameter value); "
            "paths cannot hold them: change the values or the template");
      out.push_back(std::move(path));
    }
    return Status::Ok();
  }

  const Sweep& sweep_;
  const Phase& phase_;
  const int pi_;
  std::vector<std::string> names_;  // The phase's parameters, sorted.
  std::vector<int> grid_slots_;     // Slot of each grid parameter.
  int seed_slot_ = -1;
  uint64_t inner_ = 1;               // Sets per seed.
  std::vector<std::string> values_;  // By Phase::vars.
  std::vector<bool> present_;        // By names_.
};

// Fills Task::after for every depends_on with match.
Status LinkTasks(const Sweep& sweep, const ExpandOptions& options,
                 Expansion& e) {
  uint64_t edges = 0;
  for (size_t pi = 0; pi < sweep.phases.size(); ++pi) {
    const Phase& p = sweep.phases[pi];
    for (size_t k = 0; k < p.depends_on.size(); ++k) {
      const Dependency& d = p.depends_on[k];
      if (d.match.empty()) continue;
      auto key = [&](const Task& t) {
        std::string s;
        for (const std::string& name : d.match) {
          s += *t.Param(name);  // Defined: checked when loading.
          s += '\x1f';
        }
        return s;
      };
      std::unordered_map<std::string, std::vector<size_t>> upstream;
      const Expansion::Span& us = e.phases[d.phase_index];
      for (size_t u = us.first; u < us.first + us.count; ++u)
        upstream[key(e.tasks[u])].push_back(u);
      const Expansion::Span& ds = e.phases[pi];
      const std::string at = p.pointer + "/depends_on/" + std::to_string(k);
      for (size_t t = ds.first; t < ds.first + ds.count; ++t) {
        Task& task = e.tasks[t];
        auto it = upstream.find(key(task));
        if (it == upstream.end()) {
          std::string values;
          for (const std::string& name : d.match)
            values += (values.empty() ? "" : ", ") + name + "=" +
                      Printable(*task.Param(name), 40);
          return InvalidArgument(
              sweep.Where(at) + ": task '" + task.id +
              "' waits for the tasks of phase '" + d.phase + "' with " +
              values + ", and there are none: give '" + d.phase +
              "' these values too, or drop them from '" + p.name + "'");
        }
        edges += it->second.size();
        if (edges > options.max_dependency_edges)
          return ResourceExhausted(
              sweep.Where(at) + ": matching on " +
              std::to_string(d.match.size()) +
              " parameter(s) makes tasks wait for too many tasks each (over " +
              FormatCount(options.max_dependency_edges) +
              " dependencies in all): match on more parameters, or wait for "
              "the whole phase (depends_on: [" +
              d.phase + "])");
        task.after.insert(task.after.end(), it->second.begin(),
                          it->second.end());
      }
    }
  }
  for (Task& t : e.tasks) {
    std::sort(t.after.begin(), t.after.end());
    t.after.erase(std::unique(t.after.begin(), t.after.end()), t.after.end());
  }
  return Status::Ok();
}

}  // namespace

const std::string* Task::Param(std::string_view name) const {
  auto it = std::lower_bound(
      params.begin(), params.end(), name,
      [](const auto& kv, std::string_view n) { return kv.first < n; });
  return it != params.end() && it->first == name ? &it->second : nullptr;
}

std::string FormatCount(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

TaskCount CountTasks(const Sweep& sweep) {
  TaskCount c;
  for (const Phase& p : sweep.phases) {
    uint64_t n = p.parameters.Count();
    c.per_phase.push_back(n);
    c.total = n > std::numeric_limits<uint64_t>::max() - c.total
                  ? std::numeric_limits<uint64_t>::max()
                  : c.total + n;
  }
  return c;
}

Result<Expansion> ExpandSweep(const Sweep& sweep,
                              const ExpandOptions& options) {
  const TaskCount count = CountTasks(sweep);
  if (count.total > options.max_tasks) {
    std::string per_phase;
    for (size_t i = 0; i < sweep.phases.size() && sweep.phases.size() > 1; ++i)
      per_phase += std::string(per_phase.empty() ? " (" : ", ") +
                   sweep.phases[i].name + ": " +
                   FormatCount(count.per_phase[i]);
    if (!per_phase.empty()) per_phase += ")";
    return ResourceExhausted(
               sweep.source + ": the sweep has " + FormatCount(count.total) +
               " tasks" + per_phase + ", more than the " +
               FormatCount(options.max_tasks) +
               " one sweep may have; nothing was built or submitted")
        .WithReason("sweep_too_large", false,
                    "split it into several sweeps, or use fewer values");
  }
  Expansion e;
  e.tasks.reserve(count.total);
  e.by_id.reserve(count.total);
  for (size_t pi = 0; pi < sweep.phases.size(); ++pi) {
    Expansion::Span span{e.tasks.size(), count.per_phase[pi]};
    PhaseExpander expander(sweep, static_cast<int>(pi));
    HPC_RETURN_IF_ERROR(expander.Build(count.per_phase[pi], e));
    e.phases.push_back(span);
  }
  HPC_RETURN_IF_ERROR(LinkTasks(sweep, options, e));
  return e;
}

}  // namespace hpc::sweep
