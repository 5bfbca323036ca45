// ParameterSpace, parameter names and the environment they become.

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

#include "tools/sweep/sweep.h"

namespace hpc::sweep {
namespace {

uint64_t SaturatingMul(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a)
    return std::numeric_limits<uint64_t>::max();
  return a * b;
}

}  // namespace

std::string ParamEnvName(std::string_view parameter) {
  std::string out = "HPC_PARAM_";
  for (char c : parameter)
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

uint64_t ParameterSpace::Count() const {
  uint64_t inner = 1;
  if (!grid.empty()) {
    for (const auto& [name, values] : grid)
      inner = SaturatingMul(inner, values.size());
  } else if (!list.empty()) {
    inner = list.size();
  }
  return SaturatingMul(inner, seeds.empty() ? 1 : seeds.size());
}

std::vector<std::string> ParameterSpace::Names() const {
  std::set<std::string> names;
  for (const auto& [name, values] : grid) names.insert(name);
  for (const auto& set : list)
    for (const auto& [name, value] : set) names.insert(name);
  if (!seeds.empty()) names.insert(seed_name);
  return {names.begin(), names.end()};
}

bool ParameterSpace::DefinedInEverySet(const std::string& name) const {
  if (!seeds.empty() && name == seed_name) return true;
  bool in_grid = std::any_of(grid.begin(), grid.end(),
                             [&](const auto& g) { return g.first == name; });
  if (in_grid) return true;
  if (list.empty()) return false;
  return std::all_of(list.begin(), list.end(), [&](const auto& set) {
    return std::any_of(set.begin(), set.end(),
                       [&](const auto& kv) { return kv.first == name; });
  });
}

std::string Phase::At(std::string_view field) const {
  for (const auto& [f, at] : declared_at)
    if (f == field) return at;
  return pointer;
}

int Sweep::PhaseIndex(std::string_view name) const {
  for (size_t i = 0; i < phases.size(); ++i)
    if (phases[i].name == name) return static_cast<int>(i);
  return -1;
}

}  // namespace hpc::sweep
