// Registering what the model sees from embedded data files.
//
// Tools are defined by schemas/tools/<name>.json (the whole MCP Tool
// object); prompts by prompts/<name>.md; the server's instructions by
// prompts/instructions.md. These helpers join the files to the handlers
// and fail loudly on any mismatch, so that a tool without its schema, a
// schema without its tool, or a schema file named differently from its
// tool stops the server at start.
#pragma once

#include <string_view>

#include "mcp_server/assets.h"
#include "mcp_server/server.h"
#include "mcp_server/status.h"

namespace hpc::mcp {

// Adds tool `name` with the definition in `<dir>/<name>.json`. A node
// {"$ref": "<path>"} naming another embedded file is replaced by that file's
// document, so shared shapes are written once.
Status AddToolFromAssets(Server& server, AssetTable assets, std::string_view dir,
                         std::string_view name, ToolHandler handler,
                         Execution execution = Execution::kPool);

// Fails if some `<dir>/*.json` names no registered tool.
Status CheckEveryToolSchemaUsed(const Server& server, AssetTable assets,
                                std::string_view dir);

// Adds every `<dir>/*.md` except instructions.md as a prompt.
Status AddPromptsFromAssets(Server& server, AssetTable assets,
                            std::string_view dir);

}  // namespace hpc::mcp
