// MCP prompts written as markdown files.
//
// A prompt file is YAML front matter between two `---` lines, then the
// message text:
//
//   ---
//   name: diagnose_run
//   title: Diagnose a run
//   description: What this prompt is for.
//   arguments:
//     - name: run_id
//       description: The run to look at.
//       required: true
//   completions:            # optional: values offered by completion/complete
//     run_id: [a, b]
//   ---
//   Look at run {{run_id}} ...
//
// `{{name}}` placeholders are replaced by argument values; the body becomes
// one user message.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::mcp {

struct PromptFile {
  nlohmann::json definition;  // {name, title?, description?, arguments?}
  std::map<std::string, std::vector<std::string>> completions;
  std::string body;
};

// Parses a prompt file; errors name `source`.
Result<PromptFile> ParsePromptMarkdown(std::string_view text,
                                       std::string_view source);

// Splits front matter from body; `front` is empty when there is none.
void SplitFrontMatter(std::string_view text, std::string_view* front,
                      std::string_view* body);

// Replaces each {{name}} by arguments[name] (a string), or by "" when absent.
std::string RenderTemplate(std::string_view body,
                           const nlohmann::json& arguments);

}  // namespace hpc::mcp
