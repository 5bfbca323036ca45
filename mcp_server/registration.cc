#include "mcp_server/registration.h"

#include <string>

namespace hpc::mcp {

namespace {

// Replaces every {"$ref": "<asset path>.json"} with that asset's document
// (recursively, at most 8 deep), so that a shape shared by several tools
// is written once and every published definition is self-contained:
// clients do not resolve references to our files.
Status InlineAssetRefs(json& node, AssetTable assets, int depth) {
  if (node.is_object()) {
    auto ref = node.find("$ref");
    if (ref != node.end() && ref->is_string() && node.size() == 1 &&
        ref->get<std::string>().rfind("#", 0) != 0) {
      const std::string target = *ref;
      auto text = FindAsset(assets, target);
      if (!text) return NotFound("$ref " + target + " names no embedded file");
      if (depth > 8) return InvalidArgument("$ref " + target + " nests too deep");
      json doc = ParseJson(*text);
      if (doc.is_discarded()) return InvalidArgument(target + " is not valid JSON");
      doc.erase("$comment");
      HPC_RETURN_IF_ERROR(InlineAssetRefs(doc, assets, depth + 1));
      node = std::move(doc);
      return Status::Ok();
    }
    for (auto& [k, v] : node.items()) HPC_RETURN_IF_ERROR(InlineAssetRefs(v, assets, depth));
  } else if (node.is_array()) {
    for (auto& v : node) HPC_RETURN_IF_ERROR(InlineAssetRefs(v, assets, depth));
  }
  return Status::Ok();
}

}  // namespace

Status AddToolFromAssets(Server& server, AssetTable assets, std::string_view dir,
                         std::string_view name, ToolHandler handler,
                         Execution execution) {
  std::string path = std::string(dir) + "/" + std::string(name) + ".json";
  auto text = FindAsset(assets, path);
  if (!text)
    return NotFound("tool '" + std::string(name) + "' has no schema file " + path);
  json definition = ParseJson(*text);
  if (definition.is_discarded())
    return InvalidArgument(path + " is not valid JSON");
  if (!definition.is_object() || StringOr(definition, "name") != name)
    return InvalidArgument(path + " must define the tool named '" +
                           std::string(name) + "'");
  Status inlined = InlineAssetRefs(definition, assets, 0);
  if (!inlined.ok()) return Status(inlined.code(), path + ": " + inlined.message());
  Status s = server.AddTool(std::move(definition), std::move(handler), execution);
  if (!s.ok()) return Status(s.code(), path + ": " + s.message());
  return Status::Ok();
}

Status CheckEveryToolSchemaUsed(const Server& server, AssetTable assets,
                                std::string_view dir) {
  for (const Asset& a : ListAssets(assets, std::string(dir) + "/", ".json")) {
    std::string_view file = a.path.substr(dir.size() + 1);
    std::string name(file.substr(0, file.size() - 5));
    if (!server.HasTool(name))
      return FailedPrecondition(std::string(a.path) +
                                " defines a tool that no code registers");
  }
  return Status::Ok();
}

Status AddPromptsFromAssets(Server& server, AssetTable assets,
                            std::string_view dir) {
  for (const Asset& a : ListAssets(assets, std::string(dir) + "/", ".md")) {
    if (a.path.ends_with("/instructions.md")) continue;
    Status s = server.AddPromptFile(a.content, a.path);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace hpc::mcp
