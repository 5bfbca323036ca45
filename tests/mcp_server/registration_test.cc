#include "mcp_server/registration.h"

#include <catch2/catch.hpp>

using namespace hpc::mcp;
using hpc::Result;

namespace {

const char* kGood = R"({"name":"t","title":"T","description":"d",
  "annotations":{"readOnlyHint":true,"destructiveHint":false,"idempotentHint":true,"openWorldHint":false},
  "inputSchema":{"type":"object"}})";

ToolHandler Noop() {
  return [](RequestContext&, const json&) -> Result<ToolResult> { return ToolResult::Text(""); };
}

}  // namespace

TEST_CASE("a tool is registered from its schema file", "[unit]") {
  const Asset table[] = {{"schemas/tools/t.json", kGood}};
  Server s{ServerOptions{}};
  CHECK(AddToolFromAssets(s, table, "schemas/tools", "t", Noop()).ok());
  CHECK(s.HasTool("t"));
  CHECK(CheckEveryToolSchemaUsed(s, table, "schemas/tools").ok());
}

TEST_CASE("a missing, invalid or misnamed schema file stops registration", "[unit]") {
  Server s{ServerOptions{}};
  const Asset none[] = {{"schemas/tools/other.json", kGood}};
  auto missing = AddToolFromAssets(s, none, "schemas/tools", "t", Noop());
  CHECK(missing.code() == hpc::StatusCode::kNotFound);
  CHECK_THAT(missing.message(), Catch::Contains("schemas/tools/t.json"));

  const Asset broken[] = {{"schemas/tools/t.json", "{\"name\": \"t\","}};
  CHECK_FALSE(AddToolFromAssets(s, broken, "schemas/tools", "t", Noop()).ok());

  const Asset misnamed[] = {{"schemas/tools/u.json", kGood}};
  CHECK_FALSE(AddToolFromAssets(s, misnamed, "schemas/tools", "u", Noop()).ok());

  std::string incomplete = kGood;
  incomplete.replace(incomplete.find("\"title\":\"T\","), 12, "");
  const Asset no_title[] = {{"schemas/tools/t.json", incomplete}};
  auto bad = AddToolFromAssets(s, no_title, "schemas/tools", "t", Noop());
  CHECK_FALSE(bad.ok());
  CHECK_THAT(bad.message(), Catch::Contains("title"));
}

TEST_CASE("a schema file that no code registers stops the server", "[unit]") {
  Server s{ServerOptions{}};
  const Asset table[] = {{"schemas/tools/t.json", kGood}};
  CHECK_FALSE(CheckEveryToolSchemaUsed(s, table, "schemas/tools").ok());
}
