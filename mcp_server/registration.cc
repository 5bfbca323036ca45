#include "mcp_server/registration.h"

#include <string>

namespace hpc::mcp {

namespace {

// Renames the local references of a document inlined from file `stem`
// ("#/$defs/x" -> "#/$defs/<stem>.x"), so that its definitions can join
// the including schema's $defs without colliding with others.
void RenameLocalRefs(json& node, const std::string& stem) {
  if (node.is_object()) {
    for (auto& [k, v] : node.items()) {
      if (k == "$ref" && v.is_string() && v.get<std::string>().rfind("#/$defs/", 0) == 0)
        v = "#/$defs/" + stem + "." + v.get<std::string>().substr(8);
      else
        RenameLocalRefs(v, stem);
    }
  } else if (node.is_array()) {
    for (auto& v : node) RenameLocalRefs(v, stem);
  }
}

// Replaces every {"$ref": "<asset path>.json"} with that asset's document
// (recursively, at most 8 deep), so that a shape shared by several tools
// is written once and every published definition is self-contained:
// clients do not resolve references to our files. An inlined document's
// own $defs are renamed (RenameLocalRefs) and moved into `defs`, which the
// caller places at the root of the schema being built: that is where a
// validator resolves "#/...".
Status InlineAssetRefs(json& node, AssetTable assets, int depth, json& defs) {
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
      doc.erase("$schema");  // Only a root may say which dialect it is.
      HPC_RETURN_IF_ERROR(InlineAssetRefs(doc, assets, depth + 1, defs));
      if (doc.contains("$defs")) {
        std::string stem = target.substr(target.rfind('/') + 1);
        stem = stem.substr(0, stem.rfind('.'));
        RenameLocalRefs(doc, stem);
        for (auto& [k, v] : doc["$defs"].items()) defs[stem + "." + k] = std::move(v);
        doc.erase("$defs");
      }
      node = std::move(doc);
      return Status::Ok();
    }
    for (auto& [k, v] : node.items()) HPC_RETURN_IF_ERROR(InlineAssetRefs(v, assets, depth, defs));
  } else if (node.is_array()) {
    for (auto& v : node) HPC_RETURN_IF_ERROR(InlineAssetRefs(v, assets, depth, defs));
  }
  return Status::Ok();
}

// InlineAssetRefs over each of a tool definition's schemas, each getting
// the $defs its inlined documents brought.
Status InlineSchemas(json& definition, AssetTable assets) {
  for (const char* key : {"inputSchema", "outputSchema"}) {
    if (!definition.contains(key)) continue;
    json defs = json::object();
    HPC_RETURN_IF_ERROR(InlineAssetRefs(definition[key], assets, 0, defs));
    for (auto& [k, v] : defs.items()) definition[key]["$defs"][k] = std::move(v);
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
  Status inlined = InlineSchemas(definition, assets);
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
