#include "mcp_server/prompts.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

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

TEST_CASE("the shipped prompts parse, declare every placeholder they use, and keep the human in the loop",
          "[unit][prompts]") {
  namespace fs = std::filesystem;
  std::map<std::string, PromptFile> prompts;
  for (const auto& e : fs::directory_iterator(fs::path(HPC_MCP_SOURCE_DIR) / "prompts")) {
    if (e.path().extension() != ".md" || e.path().filename() == "instructions.md") continue;
    std::ifstream in(e.path());
    std::stringstream text;
    text << in.rdbuf();
    auto p = ParsePromptMarkdown(text.str(), e.path().filename().string());
    INFO(e.path().filename().string());
    REQUIRE(p.ok());
    CHECK(p->definition["name"] == e.path().stem().string());
    std::set<std::string> declared;
    for (const auto& a : p->definition.value("arguments", json::array())) declared.insert(a["name"]);
    const std::regex placeholder(R"(\{\{\s*(\w+)\s*\}\})");
    for (std::sregex_iterator it(p->body.begin(), p->body.end(), placeholder), end; it != end; ++it)
      CHECK(declared.count((*it)[1]));
    prompts[e.path().stem().string()] = std::move(*p);
  }
  for (const char* name : {"diagnose_run", "heartbeat", "triage_failure", "plan_next_experiment", "close_out_run"})
    CHECK(prompts.count(name));

  const std::string tick = RenderTemplate(prompts["heartbeat"].body, json::object());
  for (const char* s : {"`poll`", "`tail_log`", "`stderr`", "wait for the human", "one line"})
    CHECK_THAT(tick, Catch::Contains(s));
  const std::string triage = RenderTemplate(prompts["triage_failure"].body, json{{"run_id", "20250301-x-0a1b"}});
  CHECK(triage.find("{{") == std::string::npos);
  for (const char* s : {"20250301-x-0a1b", "`diagnosis`", "`grep`", "smoke", "dry_run"})
    CHECK_THAT(triage, Catch::Contains(s));
  const std::string plan = RenderTemplate(prompts["plan_next_experiment"].body, json{{"run_id", "r"}});
  for (const char* s : {"`list_runs`", "val_loss", "dry_run: true"}) CHECK_THAT(plan, Catch::Contains(s));
  const std::string close = RenderTemplate(prompts["close_out_run"].body, json{{"run_id", "20250301-x-0a1b"}});
  CHECK(close.find("{{") == std::string::npos);
  for (const char* s : {"20250301-x-0a1b", "`write_run_log`", "`sync_wandb`", "dry_run: true", "wait for the human to confirm",
                        "`sign_checkpoint`", "`verify_checkpoint`", "`publish`"})
    CHECK_THAT(close, Catch::Contains(s));
}
