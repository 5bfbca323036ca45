#include "mcp_server/schema.h"

#include <catch2/catch.hpp>

using hpc::mcp::JsonSchema;
using hpc::mcp::json;

namespace {

JsonSchema MustCompile(const json& s) {
  auto r = JsonSchema::Compile(s, "test schema");
  REQUIRE(r.ok());
  return *r;
}

const json kResources = json::parse(R"({
  "type": "object",
  "required": ["name"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string", "pattern": "^[a-z]+$"},
    "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"},
    "resources": {
      "type": "object",
      "properties": {
        "gpus": {"type": "integer", "minimum": 0, "default": 1},
        "time": {"type": "string", "default": "01:00:00"}
      }
    },
    "tags": {"type": "array", "items": {"type": "string"}}
  }
})");

}  // namespace

TEST_CASE("a valid instance has no violations", "[unit]") {
  auto s = MustCompile(kResources);
  CHECK(s.Validate(json{{"name", "abc"}, {"resources", {{"gpus", 2}}}}).empty());
}

TEST_CASE("violations name the JSON pointer, the expectation and the value", "[unit]") {
  auto s = MustCompile(kResources);
  auto v = s.Validate(json{{"name", "abc"}, {"resources", {{"gpus", "two"}}}});
  REQUIRE(v.size() == 1);
  CHECK(v[0].path == "/resources/gpus");
  CHECK_THAT(v[0].message, Catch::Contains("wrong type") &&
                               Catch::Contains("\"integer\"") &&
                               Catch::Contains("\"two\""));
}

TEST_CASE("array items are reported by index", "[unit]") {
  auto s = MustCompile(kResources);
  auto v = s.Validate(json{{"name", "abc"}, {"tags", {"a", 3}}});
  REQUIRE(!v.empty());
  CHECK(v[0].path == "/tags/1");
}

TEST_CASE("missing required, unknown property, enum and pattern are all explained",
          "[unit]") {
  auto s = MustCompile(kResources);
  auto text = hpc::mcp::FormatViolations(s.Validate(json{{"mode", "medium"}, {"extra", 1}}));
  CHECK_THAT(text, Catch::Contains("name"));
  CHECK_THAT(text, Catch::Contains("unknown property"));
  CHECK_THAT(text, Catch::Contains("not an allowed value"));
  auto p = s.Validate(json{{"name", "ABC"}});
  REQUIRE(p.size() == 1);
  CHECK_THAT(p[0].message, Catch::Contains("pattern"));
}

TEST_CASE("defaults from the schema fill absent properties, nested ones too", "[unit]") {
  auto s = MustCompile(kResources);
  json v{{"name", "abc"}, {"resources", json::object()}};
  s.ApplyDefaults(v);
  CHECK(v["mode"] == "fast");
  CHECK(v["resources"]["gpus"] == 1);
  CHECK(v["resources"]["time"] == "01:00:00");
  json given{{"name", "abc"}, {"mode", "slow"}};
  s.ApplyDefaults(given);
  CHECK(given["mode"] == "slow");
  CHECK_FALSE(given.contains("resources"));  // Absent objects stay absent.
}

TEST_CASE("local $refs into $defs are followed for validation and messages", "[unit]") {
  auto s = MustCompile(json::parse(R"({
    "type": "object",
    "$defs": {"addr": {"type": "object", "properties": {"city": {"type": "string"}}}},
    "properties": {"address": {"$ref": "#/$defs/addr"}}
  })"));
  auto v = s.Validate(json{{"address", {{"city", 5}}}});
  REQUIRE(v.size() == 1);
  CHECK(v[0].path == "/address/city");
  CHECK_THAT(v[0].message, Catch::Contains("\"string\""));
}

TEST_CASE("an invalid schema fails to compile with a reason", "[unit]") {
  auto r = JsonSchema::Compile(json{{"type", "strnig"}}, "inputSchema of tool x");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("inputSchema of tool x"));
  CHECK_FALSE(JsonSchema::Compile(json::array(), "x").ok());
}

TEST_CASE("numeric limits read as written in the schema", "[unit]") {
  auto s = MustCompile(json::parse(R"({"type":"object","properties":{"n":{"type":"integer","maximum":600000}}})"));
  auto v = s.Validate(json{{"n", 700000}});
  REQUIRE(v.size() == 1);
  CHECK_THAT(v[0].message, Catch::Contains("600000") && !Catch::Contains("600000.0"));
}
