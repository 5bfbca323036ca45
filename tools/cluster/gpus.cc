#include "tools/cluster/gpus.h"

#include <algorithm>

#include "tools/cluster/text.h"

namespace hpc::cluster {
namespace {

// "13395", "13395 MiB" -> 13395; "[N/A]", "[Not Supported]" -> unset.
Result<std::optional<int64_t>> Mib(std::string_view field, size_t line) {
  std::string_view v = text::Trim(field);
  if (!v.empty() && v.front() == '[') return std::optional<int64_t>();
  if (v.size() > 4 && v.substr(v.size() - 4) == " MiB") v = v.substr(0, v.size() - 4);
  auto n = text::ParseInt(v);
  if (!n || *n < 0)
    return InvalidArgument("nvidia-smi output, line " + std::to_string(line) +
                           ": expected MiB, got \"" + std::string(field) + "\"");
  return std::optional<int64_t>(*n);
}

}  // namespace

std::vector<std::string> GpuQueryArgv() {
  return {"nvidia-smi", "--query-gpu=index,uuid,memory.used,memory.total",
          "--format=csv,noheader,nounits"};
}

Result<std::vector<Gpu>> ParseGpuQuery(std::string_view csv) {
  std::vector<Gpu> gpus;
  size_t n = 0;
  for (std::string_view raw : text::Lines(csv)) {
    ++n;
    std::string_view line = text::Trim(raw);
    if (line.empty() || line.rfind("index", 0) == 0) continue;  // A header.
    auto fields = text::Split(line, ',');
    // Without the uuid column too (index,memory.used,memory.total).
    if (fields.size() == 3) fields.insert(fields.begin() + 1, std::string_view());
    if (fields.size() != 4)
      return InvalidArgument("nvidia-smi output, line " + std::to_string(n) +
                             ": expected index, uuid, memory.used, memory.total; got \"" +
                             std::string(line) + "\"");
    auto index = text::ParseInt(text::Trim(fields[0]));
    if (!index || *index < 0)
      return InvalidArgument("nvidia-smi output, line " + std::to_string(n) +
                             ": bad GPU index \"" + std::string(fields[0]) + "\"");
    Gpu g;
    g.index = static_cast<int>(*index);
    g.uuid = std::string(text::Trim(fields[1]));
    auto used = Mib(fields[2], n);
    if (!used.ok()) return used.status();
    auto total = Mib(fields[3], n);
    if (!total.ok()) return total.status();
    g.used_mib = *used;
    g.total_mib = *total;
    gpus.push_back(std::move(g));
  }
  return gpus;
}

std::vector<int> FreeGpus(const std::vector<Gpu>& gpus, int64_t free_below_mib) {
  std::vector<int> free;
  for (const Gpu& g : gpus)
    if (g.used_mib && *g.used_mib < free_below_mib) free.push_back(g.index);
  std::sort(free.begin(), free.end());
  return free;
}

std::vector<int> GpusOfNodes(std::string_view nodes) {
  std::vector<int> out;
  if (nodes.rfind("gpu:", 0) != 0) return out;
  for (std::string_view f : text::Split(nodes.substr(4), ','))
    if (auto i = text::ParseInt(text::Trim(f)); i && *i >= 0) out.push_back(static_cast<int>(*i));
  return out;
}

}  // namespace hpc::cluster
