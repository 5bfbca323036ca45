// YAML to JSON, for front matter and configuration files.
//
// Plain scalars become booleans, integers, floats or null when they read as
// such (YAML 1.2 core schema); quoted scalars always stay strings, so
// `version: "1.0"` is the string "1.0".
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "mcp_server/status.h"

namespace hpc::mcp {

// Parses `text`; errors name `source` and the line and column.
Result<nlohmann::json> YamlToJson(std::string_view text, std::string_view source);

}  // namespace hpc::mcp
