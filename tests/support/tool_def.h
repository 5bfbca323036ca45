// A minimal, valid MCP tool definition for tests of the protocol core.
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace hpc::testing {

// Tool `name` taking `input`; annotations say read-only (or, with
// `read_only` false, destructive), idempotent, closed-world.
inline nlohmann::json ToolDef(const std::string& name,
                              nlohmann::json input = {{"type", "object"}},
                              bool read_only = true) {
  return {{"name", name},
          {"title", name},
          {"description", "test tool " + name},
          {"annotations",
           {{"readOnlyHint", read_only},
            {"destructiveHint", !read_only},
            {"idempotentHint", true},
            {"openWorldHint", false}}},
          {"inputSchema", std::move(input)}};
}
inline nlohmann::json ToolDef(const std::string& name, bool read_only) {
  return ToolDef(name, {{"type", "object"}}, read_only);
}

}  // namespace hpc::testing
