// YAML to JSON, for front matter and configuration files.
//
// Plain scalars become booleans, integers, floats or null when they read as
// such (YAML 1.2 core schema); quoted scalars always stay strings, so
// `version: "1.0"` is the string "1.0".
#pragma once

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "mcp_server/status.h"

namespace hpc::mcp {

// Parses `text`; errors name `source` and the line and column.
Result<nlohmann::json> YamlToJson(std::string_view text, std::string_view source);

// The line (1-based) of the node of `root` at JSON pointer `pointer`, for
// errors about a validated document; for an unknown key named in `message`
// (a schema violation: "unknown property 'x'"), the line of that key.
int YamlLineOf(const YAML::Node& root, const std::string& pointer,
               const std::string& message);

}  // namespace hpc::mcp
