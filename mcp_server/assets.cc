#include "mcp_server/assets.h"

namespace hpc::mcp {

std::optional<std::string_view> FindAsset(AssetTable table,
                                          std::string_view path) {
  for (const Asset& a : table)
    if (a.path == path) return a.content;
  return std::nullopt;
}

std::vector<Asset> ListAssets(AssetTable table, std::string_view prefix,
                              std::string_view suffix) {
  std::vector<Asset> out;
  for (const Asset& a : table) {
    if (a.path.size() < prefix.size() + suffix.size()) continue;
    if (a.path.substr(0, prefix.size()) != prefix) continue;
    if (a.path.substr(a.path.size() - suffix.size()) != suffix) continue;
    out.push_back(a);
  }
  return out;
}

}  // namespace hpc::mcp
