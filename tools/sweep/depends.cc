// depends_on: resolved, checked, and the phases put in an order they can
// run in.

#include <algorithm>
#include <functional>
#include <set>

#include "tools/sweep/internal.h"

namespace hpc::sweep::internal {

std::string Join(const std::vector<std::string>& items,
                 const std::string& separator) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : separator) + i;
  return s;
}

Status ResolveDependencies(Sweep& s) {
  std::vector<std::string> names;
  for (const Phase& p : s.phases) names.push_back(p.name);
  for (size_t i = 0; i < s.phases.size(); ++i) {
    Phase& p = s.phases[i];
    std::set<std::string> seen;
    for (size_t k = 0; k < p.depends_on.size(); ++k) {
      Dependency& d = p.depends_on[k];
      const std::string at =
          s.phases[i].pointer + "/depends_on/" + std::to_string(k);
      d.phase_index = s.PhaseIndex(d.phase);
      if (d.phase_index < 0)
        return Error(s, at,
                     "names phase '" + d.phase +
                         "', and there is none; the phases are " + Join(names));
      if (d.phase_index == static_cast<int>(i))
        return Error(s, at, "phase '" + p.name + "' cannot wait for itself");
      if (!seen.insert(d.phase).second)
        return Error(
            s, at,
            "names phase '" + d.phase + "' a second time; keep one entry");
      const Phase& up = s.phases[d.phase_index];
      for (size_t m = 0; m < d.match.size(); ++m) {
        const std::string& name = d.match[m];
        for (const Phase* side : {static_cast<const Phase*>(&p), &up}) {
          if (side->parameters.DefinedInEverySet(name)) continue;
          std::vector<std::string> params = side->parameters.Names();
          return Error(s, at + "/match/" + std::to_string(m),
                       "'" + name + "' is not a parameter of every task of " +
                           (side == &p ? "this phase, " : "phase ") + "'" +
                           side->name + "' (its parameters: " +
                           (params.empty() ? "none" : Join(params)) +
                           "); match on parameters both phases have");
        }
      }
    }
  }
  return Status::Ok();
}

Status OrderPhases(Sweep& s) {
  const size_t n = s.phases.size();
  std::vector<int> state(n, 0);  // 0 new, 1 on the stack, 2 done.
  std::vector<int> depth(n, 0);
  std::vector<int> stack;
  std::function<Status(int)> visit = [&](int v) -> Status {
    state[v] = 1;
    stack.push_back(v);
    for (const Dependency& d : s.phases[v].depends_on) {
      int u = d.phase_index;
      if (state[u] == 1) {
        auto from = std::find(stack.begin(), stack.end(), u);
        std::vector<std::string> cycle;
        for (auto it = from; it != stack.end(); ++it)
          cycle.push_back(s.phases[*it].name);
        cycle.push_back(s.phases[u].name);
        return Error(
            s, s.phases[v].pointer + "/depends_on",
            "phases wait for each other in a cycle: " + Join(cycle, " -> ") +
                "; remove one of these depends_on entries");
      }
      if (state[u] == 0) HPC_RETURN_IF_ERROR(visit(u));
      depth[v] = std::max(depth[v], depth[u] + 1);
    }
    stack.pop_back();
    state[v] = 2;
    return Status::Ok();
  };
  for (size_t v = 0; v < n; ++v)
    if (state[v] == 0) HPC_RETURN_IF_ERROR(visit(static_cast<int>(v)));
  for (size_t v = 0; v < n; ++v) s.order.push_back(static_cast<int>(v));
  std::stable_sort(s.order.begin(), s.order.end(),
                   [&](int a, int b) { return depth[a] < depth[b]; });
  return Status::Ok();
}

}  // namespace hpc::sweep::internal
