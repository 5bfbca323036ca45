#include "mcp_server/prompts.h"

#include <catch2/catch.hpp>

#include "mcp_server/uri_template.h"

using namespace hpc::mcp;
using nlohmann::json;

TEST_CASE("a prompt file yields its definition, completions and body", "[unit]") {
  auto r = ParsePromptMarkdown(
      "---\nname: p\ntitle: T\ndescription: D\narguments:\n  - name: a\n"
      "    required: true\n  - name: b\ncompletions:\n  a: [x1, x2]\n---\n"
      "Hello {{a}} and {{ b }}.\n",
      "p.md");
  REQUIRE(r.ok());
  CHECK(r->definition["name"] == "p");
  CHECK(r->definition["arguments"][0]["required"] == true);
  CHECK_FALSE(r->definition["arguments"][1].contains("required"));
  CHECK(r->completions["a"] == std::vector<std::string>{"x1", "x2"});
  CHECK(RenderTemplate(r->body, json{{"a", "A"}}) == "Hello A and .\n");
}

TEST_CASE("bad prompt files are refused naming the file", "[unit]") {
  CHECK_FALSE(ParsePromptMarkdown("no front matter", "x.md").ok());
  auto r = ParsePromptMarkdown("---\ntitle: no name\n---\nbody", "x.md");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("x.md"));
  auto y = ParsePromptMarkdown("---\nname: [unclosed\n---\nbody", "y.md");
  REQUIRE_FALSE(y.ok());
  CHECK_THAT(y.status().message(), Catch::Contains("y.md:"));
  CHECK_FALSE(ParsePromptMarkdown("---\nname: p\narguments:\n  - name: a\n    required: maybe\n---\n", "z.md").ok());
}

TEST_CASE("URI templates match one segment per variable", "[unit]") {
  auto t = UriTemplate::Parse("test://template/{id}/data");
  REQUIRE(t.ok());
  auto m = t->Match("test://template/42/data");
  REQUIRE(m);
  CHECK(m->at("id") == "42");
  CHECK_FALSE(t->Match("test://template//data"));
  CHECK_FALSE(t->Match("test://template/4/2/data"));
  CHECK_FALSE(t->Match("test://template/42/data/more"));
  CHECK_FALSE(UriTemplate::Parse("x://{a}{b}").ok());
  CHECK_FALSE(UriTemplate::Parse("x://{unclosed").ok());
}
