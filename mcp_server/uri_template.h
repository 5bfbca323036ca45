// RFC 6570 level-1 URI templates ("test://template/{id}/data") for matching
// resources/read URIs against resource templates.
//
// Each {name} matches one non-empty run of characters other than '/', '?'
// and '#'; everything else must match literally. That covers the templates
// MCP servers publish (hpc://runs/{run_id}/log) without a general
// implementation of the RFC, which only expansion would need.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::mcp {

class UriTemplate {
 public:
  static Result<UriTemplate> Parse(std::string_view pattern);
  // The variables of `uri`, or nullopt when it does not match.
  std::optional<std::map<std::string, std::string>> Match(std::string_view uri) const;

 private:
  struct Part {
    bool variable;
    std::string text;  // Literal text, or the variable's name.
  };
  std::vector<Part> parts_;
};

}  // namespace hpc::mcp
