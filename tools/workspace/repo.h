// Which experiment repository a tool call is about.
//
// The call's `repo` argument when given; else the client's first MCP root
// (roots/list, when the client declared the roots capability: Claude Code
// answers with its working directory); else the server's working directory.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "mcp_server/status.h"
#include "mcp_server/tool.h"

namespace hpc::workspace {

// An absolute, existing directory; InvalidArgument naming the path when the
// given `repo` does not exist or is not absolute.
Result<std::string> ResolveRepo(mcp::RequestContext& ctx, const nlohmann::json& arguments);

}  // namespace hpc::workspace
