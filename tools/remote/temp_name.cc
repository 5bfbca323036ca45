#include "tools/remote/temp_name.h"

#include <random>

namespace hpc::remote {

Result<PathParts> SplitPath(const std::string& path) {
  if (path.empty()) return InvalidArgument("empty path");
  if (path.find('\0') != std::string::npos) {
    return InvalidArgument("path contains a NUL byte");
  }
  if (path.back() == '/') {
    return InvalidArgument("path '" + path + "' names a directory, not a file");
  }
  PathParts parts;
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    parts.dir = ".";
    parts.base = path;
  } else {
    parts.dir = slash == 0 ? "/" : path.substr(0, slash);
    parts.base = path.substr(slash + 1);
  }
  if (parts.base == "." || parts.base == "..") {
    return InvalidArgument("path '" + path + "' names a directory, not a file");
  }
  return parts;
}

std::string TempNameBeside(const PathParts& parts) {
  std::string dir = parts.dir == "/" ? "" : parts.dir;
  return dir + "/." + parts.base.substr(0, 100) + ".hpc-tmp-";
}

std::string RandomSuffix() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kHex[] = "0123456789abcdef";
  uint64_t v = rng();
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[i] = kHex[v & 15];
  return s;
}

}  // namespace hpc::remote
