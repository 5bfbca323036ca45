// Where WriteFileAtomic puts its temporary file: beside the target, in the
// same directory (so the final rename stays on one filesystem and is
// atomic), hidden, and recognisable as ours if a crash leaves it behind.
#pragma once

#include <string>

#include "mcp_server/status.h"

namespace hpc::remote {

struct PathParts {
  std::string dir;   // "." for a bare name, "/" for a file in the root.
  std::string base;  // Never empty, never "." or "..".
};

// InvalidArgument when `path` is empty, ends in '/', names "." or "..", or
// holds a NUL byte.
Result<PathParts> SplitPath(const std::string& path);

// "<dir>/.<base, at most 100 bytes>.hpc-tmp-"; callers append a unique
// suffix (mkstemp's XXXXXX, or RandomSuffix()).
std::string TempNameBeside(const PathParts& parts);

// 16 random hex digits.
std::string RandomSuffix();

}  // namespace hpc::remote
