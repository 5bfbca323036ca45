// Reading a whole file through the Remote seam, whose ReadFile hands back
// one bounded piece at a time.
#pragma once

#include <cstdint>
#include <string>

#include "mcp_server/status.h"
#include "tools/remote/remote.h"

namespace hpc::remote {

// Up to `max_bytes` of `path`, read in chunks. `*cut`, when given, tells
// whether the file was longer (one more small read finds out).
Result<std::string> ReadWhole(Remote& remote, const std::string& path,
                              uint64_t max_bytes, bool* cut = nullptr);

}  // namespace hpc::remote
