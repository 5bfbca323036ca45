#include "mcp_server/registration.h"

#include <string>

namespace hpc::mcp {

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
