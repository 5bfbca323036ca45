// JSON Schema validation for everything the model sends and receives.
//
// A thin wrapper over valijson (draft 7 engine). Tool schemas are written in
// the keywords that draft 7 and 2020-12 share, so the same files are valid in
// MCP's default dialect (2020-12) and enforceable here; `$defs` with local
// `$ref`s work too. Network `$ref`s are never fetched.
//
// Thread-safety: a compiled JsonSchema is immutable; Validate and
// ApplyDefaults may run concurrently from many threads.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"

namespace valijson {
class Schema;
}

namespace hpc::mcp {

using json = nlohmann::json;

struct SchemaViolation {
  std::string path;     // JSON pointer into the instance, "" for the root.
  std::string message;  // What was wrong and what was expected.
};

class JsonSchema {
 public:
  // Compiles `schema`. `what` names it in errors ("inputSchema of tool x").
  static Result<JsonSchema> Compile(const json& schema, std::string_view what);

  // The violations of `value` (empty when valid), most specific first, at
  // most `max` of them.
  std::vector<SchemaViolation> Validate(const json& value,
                                        size_t max = 8) const;

  // Adds the schema's `default` values for absent object properties,
  // descending into nested object properties. Defaults live only in schemas.
  void ApplyDefaults(json& value) const;

  const json& source() const { return *source_; }

 private:
  std::shared_ptr<const valijson::Schema> schema_;
  std::shared_ptr<const json> source_;
};

// "at /a/b: <message>; at /c: <message>" for error texts.
std::string FormatViolations(const std::vector<SchemaViolation>& violations);

}  // namespace hpc::mcp
