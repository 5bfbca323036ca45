#include "tools/remote/read_file.h"

#include <algorithm>

namespace hpc::remote {

Result<std::string> ReadWhole(Remote& remote, const std::string& path,
                              uint64_t max_bytes, bool* cut) {
  constexpr size_t kChunk = 4u << 20;
  std::string data;
  if (cut) *cut = false;
  // Bounded by max_bytes: each pass adds a full chunk or ends.
  while (data.size() < max_bytes) {
    const size_t want = static_cast<size_t>(
        std::min<uint64_t>(kChunk, max_bytes - data.size()));
    auto part = remote.ReadFile(path, data.size(), want);
    if (!part.ok()) return part.status();
    data += *part;
    if (part->size() < want) return data;
  }
  if (cut) {
    auto more = remote.ReadFile(path, data.size(), 1);
    *cut = more.ok() && !more->empty();
  }
  return data;
}

}  // namespace hpc::remote
