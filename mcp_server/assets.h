// Files compiled into the binary: schemas, prompts, cluster profiles.
//
// hpc-mcp is one native binary: what the model sees (tool schemas, prompts,
// instructions) is kept as reviewable data files in the repository and
// embedded at build time (cmake/embed.cmake), so the binary needs nothing
// beside it at run time.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hpc::mcp {

struct Asset {
  std::string_view path;  // Relative to the repository root.
  std::string_view content;
};

using AssetTable = std::span<const Asset>;

std::optional<std::string_view> FindAsset(AssetTable table,
                                          std::string_view path);
// Assets whose path starts with `prefix` and ends with `suffix`, in order.
std::vector<Asset> ListAssets(AssetTable table, std::string_view prefix,
                              std::string_view suffix);

// The core's own assets (schemas/tool_definition.json).
AssetTable CoreAssets();

}  // namespace hpc::mcp
