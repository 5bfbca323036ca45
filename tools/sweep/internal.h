// What the files of tools/sweep share and nothing else needs.
#pragma once

#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/sweep/sweep.h"

namespace hpc::sweep::internal {

// InvalidArgument "<Sweep::Where(pointer)>: <message>".
inline Status Error(const Sweep& sweep, const std::string& pointer,
                    const std::string& message) {
  return InvalidArgument(sweep.Where(pointer) + ": " + message);
}

// "a, b, c".
std::string Join(const std::vector<std::string>& items,
                 const std::string& separator = ", ");

// Sets each Dependency::phase_index; an error for a depends_on naming no
// phase, its own phase or a phase twice, or matching on a parameter that
// not every task of both phases has.
Status ResolveDependencies(Sweep& sweep);

// Fills Sweep::order (sweep.h); a cycle is an error naming it.
// REQUIRES: ResolveDependencies(sweep) succeeded.
Status OrderPhases(Sweep& sweep);

}  // namespace hpc::sweep::internal
