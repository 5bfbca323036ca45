// schemas/sweep.json on its own: valid and invalid declarations, the
// dialect it is written in, its defaults against the C++ that relies on
// them; and the retry decisions those defaults feed (retry.h).

#include "mcp_server/schema.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "mcp_server/assets.h"
#include "mcp_server/json_rpc.h"
#include "tools/registry.h"
#include "tools/sweep/retry.h"
#include "tools/sweep/sweep.h"

namespace hpc::sweep {
namespace {

using nlohmann::json;

json SchemaSource() {
  auto text = mcp::FindAsset(tools::HpcAssets(), kSchemaPath);
  REQUIRE(text);
  return mcp::ParseJson(*text);
}

const mcp::JsonSchema& Schema() { return tools::HpcSchema(kSchemaPath); }

TEST_CASE("sweep.json accepts the declarations the issue describes",
          "[unit][sweep]") {
  const char* valid[] = {
      // One phase, a grid.
      R"({"name": "lr-scan", "command": ["python", "train.py", "--lr", "${lr}"],
          "parameters": {"grid": {"lr": ["1e-4", "3e-4"], "bs": [32, 64]}}})",
      // Seeds crossed with a list, per-task outputs and preconditions.
      R"({"name": "multi-seed", "command": ["python", "run.py"],
          "id": "s${seed}_${model}",
          "parameters": {"list": [{"model": "a", "wd": 0.1}, {"model": "b"}],
                         "seeds": [42, 200, 201]},
          "expected_outputs": ["results/${id}.json"],
          "preconditions": ["data/train.bin"],
          "resources": {"gpus": 1, "time": "02:00:00", "mem": "16G"},
          "env": {"WANDB_MODE": "offline", "OUT": "runs/${id}"}})",
      // Two phases, per-task and whole-phase dependencies, retry, aggregate.
      R"({"name": "distill",
          "phases": [
            {"name": "teacher", "command": ["python", "teach.py", "${N}"],
             "parameters": {"grid": {"N": [384, 512]}},
             "expected_outputs": ["ckpt/teacher_N${N}.pt"]},
            {"name": "student", "command": ["python", "distill.py", "${N}", "${seed}"],
             "parameters": {"grid": {"N": [384, 512]}, "seeds": [42, 200]},
             "depends_on": [{"phase": "teacher", "match": ["N"]}],
             "preconditions": ["ckpt/teacher_N${N}.pt"]},
            {"name": "report", "command": ["python", "report.py"],
             "depends_on": ["student"]}],
          "retry": {"gpu_oom": {"max_attempts": 4}, "preempted": {"max_attempts": 1}},
          "aggregate": {"command": ["python", "collect.py", "${sweep}"],
                        "output": "results/${sweep}.csv"}})",
  };
  for (const char* text : valid) {
    INFO(text);
    auto violations = Schema().Validate(json::parse(text));
    INFO(mcp::FormatViolations(violations));
    CHECK(violations.empty());
  }
}

TEST_CASE("sweep.json refuses malformed declarations at the right field",
          "[unit][sweep]") {
  struct Case {
    const char* text;
    const char* path;
  };
  const Case invalid[] = {
      {R"({"command": ["x"]})", ""},  // name missing
      {R"({"name": "s", "comand": ["x"]})", ""},
      {R"({"name": "a b", "command": ["x"]})", "/name"},
      {R"({"name": "s", "command": "python train.py"})", "/command"},
      {R"({"name": "s", "command": []})", "/command"},
      {R"({"name": "s", "command": ["x"], "parameters": {"grid": {"lr": []}}})",
       "/parameters/grid/lr"},
      {R"({"name": "s", "command": ["x"], "parameters": {"grid": {"lr": [null]}}})",
       "/parameters/grid/lr/0"},
      {R"({"name": "s", "command": ["x"], "parameters": {"seeds": [1.5]}})",
       "/parameters/seeds/0"},
      {R"({"name": "s", "command": ["x"], "parameters": {"sweep": [1]}})",
       "/parameters"},
      // valijson reports a bad property name at the object's parent
      // (load.cc says it better, before the schema).
      {R"({"name": "s", "command": ["x"], "parameters": {"grid": {"1x": [1]}}})",
       "/parameters"},
      {R"({"name": "s", "command": ["x"], "parameters": {"list": [{"a-b": 1}]}})",
       "/parameters/list"},
      {R"({"name": "s", "command": ["x"], "env": {"A=B": "1"}})", ""},
      {R"({"name": "s", "phases": [{"name": "a", "command": ["x"],
            "depends_on": [{"phase": "b", "match": ["N", "N"]}]}]})",
       "/phases/0/depends_on/0"},
      {R"({"name": "s", "command": ["x"], "retry": {"gpu_oom": {"max_attempts": 0}}})",
       "/retry/gpu_oom/max_attempts"},
      {R"({"name": "s", "command": ["x"], "retry": {"timeout": {}}})",
       "/retry"},
      {R"({"name": "s", "command": ["x"], "resources": {"time": "2h"}})",
       "/resources/time"},
      {R"({"name": "s", "command": ["x"], "aggregate": {"command": ["y"]}})",
       "/aggregate"},
      {R"({"name": "s", "phases": [{"name": "a", "command": ["x"],
            "depends_on": [{"phase": "b", "after": "all"}]}]})",
       "/phases/0/depends_on/0"},
      {R"({"name": "s", "phases": [{"name": "a.b", "command": ["x"]}]})",
       "/phases/0/name"},
  };
  for (const Case& c : invalid) {
    INFO(c.text);
    auto violations = Schema().Validate(json::parse(c.text));
    REQUIRE_FALSE(violations.empty());
    INFO(mcp::FormatViolations(violations));
    bool at_path = false;
    for (const auto& v : violations) at_path |= v.path == c.path;
    CHECK(at_path);
  }
}

TEST_CASE("sweep.json uses only keywords draft 7 and 2020-12 share",
          "[unit][sweep]") {
  // ajv (interop stage) reads 2020-12, valijson draft 7: type arrays and
  // if/then/else are read differently or rejected by one of them.
  const std::vector<std::string> banned = {"if",
                                           "then",
                                           "else",
                                           "prefixItems",
                                           "dependentRequired",
                                           "dependentSchemas",
                                           "unevaluatedProperties",
                                           "unevaluatedItems",
                                           "$dynamicRef",
                                           "$anchor",
                                           "dependencies"};
  std::vector<std::string> found;
  std::function<void(const json&, const std::string&)> walk =
      [&](const json& s, const std::string& at) {
        if (s.is_array()) {
          for (size_t i = 0; i < s.size(); ++i)
            walk(s[i], at + "/" + std::to_string(i));
          return;
        }
        if (!s.is_object()) return;
        for (const auto& [key, value] : s.items()) {
          bool in_properties = at.ends_with("/properties");
          if (!in_properties && key == "type" && !value.is_string())
            found.push_back(at + "/type");
          if (!in_properties &&
              std::find(banned.begin(), banned.end(), key) != banned.end())
            found.push_back(at + "/" + key);
          walk(value, at + "/" + key);
        }
      };
  walk(SchemaSource(), "");
  INFO(json(found).dump());
  CHECK(found.empty());
}

TEST_CASE("the schema's defaults are the ones the C++ and retry.h state",
          "[unit][sweep]") {
  json schema = SchemaSource();
  CHECK(schema["$defs"]["parameters"]["properties"]["seed_name"]["default"] ==
        kDefaultSeedName);

  auto sweep = LoadSweep(json{{"name", "s"}, {"command", {"x"}}});
  REQUIRE(sweep.ok());
  const auto& rules = sweep->retry.rules;
  REQUIRE(rules.size() == 4);
  CHECK(rules.at("gpu_oom").max_attempts == 3);
  CHECK(rules.at("gpu_oom").delay_seconds == 120);
  CHECK(rules.at("host_oom").max_attempts == 2);
  CHECK(rules.at("host_oom").delay_seconds == 300);
  CHECK(rules.at("node_fail").max_attempts == 3);
  CHECK(rules.at("node_fail").delay_seconds == 0);
  CHECK(rules.at("preempted").max_attempts == 5);
  CHECK(rules.at("preempted").delay_seconds == 0);

  // A category given in part keeps the other field's default.
  auto custom = LoadSweep(json::parse(
      R"({"name": "s", "command": ["x"], "retry": {"gpu_oom": {"max_attempts": 6}}})"));
  REQUIRE(custom.ok());
  CHECK(custom->retry.rules.at("gpu_oom").max_attempts == 6);
  CHECK(custom->retry.rules.at("gpu_oom").delay_seconds == 120);
}

TEST_CASE(
    "OOM is retried after a delay elsewhere, node failures and "
    "preemptions at once, anything else parks the task as stuck",
    "[unit][sweep]") {
  RetryPolicy policy;
  policy.rules = {{"gpu_oom", {3, 120}},
                  {"host_oom", {2, 300}},
                  {"node_fail", {3, 0}},
                  {"preempted", {5, 0}}};

  RetryDecision d = DecideRetry(policy, "gpu_oom", 1);
  CHECK(d.retry);
  CHECK(d.delay_seconds == 120);
  CHECK(d.elsewhere);
  CHECK(d.why == "gpu_oom: attempt 2 of 3 in 120 s");
  CHECK(DecideRetry(policy, "gpu_oom", 2).retry);
  d = DecideRetry(policy, "gpu_oom", 3);
  CHECK_FALSE(d.retry);
  CHECK(d.why == "gpu_oom after 3 of 3 attempts: parked as stuck for a person");

  CHECK(DecideRetry(policy, "host_oom", 1).delay_seconds == 300);
  CHECK_FALSE(DecideRetry(policy, "host_oom", 2).retry);

  d = DecideRetry(policy, "node_fail", 1);
  CHECK(d.retry);
  CHECK(d.delay_seconds == 0);
  CHECK(d.elsewhere);
  CHECK(d.why == "node_fail: attempt 2 of 3 at once");

  d = DecideRetry(policy, "preempted", 4);
  CHECK(d.retry);
  CHECK_FALSE(d.elsewhere);
  CHECK_FALSE(DecideRetry(policy, "preempted", 5).retry);

  for (const char* other :
       {"import_error", "nan_loss", "timeout", "unknown", ""}) {
    d = DecideRetry(policy, other, 1);
    CHECK_FALSE(d.retry);
    CHECK_THAT(d.why, Catch::Contains("parked as stuck"));
  }
}

}  // namespace
}  // namespace hpc::sweep
