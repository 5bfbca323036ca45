// Expanding a sweep into tasks (expand.h): the order, the substitution
// (never a shell), the environment, per-task dependencies, and the size
// guard that refuses before building anything.

#include "tools/sweep/expand.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <limits>
#include <string>
#include <vector>

namespace hpc::sweep {
namespace {

using Catch::Contains;
using nlohmann::json;
using Strings = std::vector<std::string>;

Sweep MustLoad(const json& doc) {
  auto s = LoadSweep(doc);
  INFO((s.ok() ? "" : s.status().message()));
  REQUIRE(s.ok());
  return std::move(*s);
}

Expansion MustExpand(const Sweep& sweep) {
  auto e = ExpandSweep(sweep);
  INFO((e.ok() ? "" : e.status().message()));
  REQUIRE(e.ok());
  return std::move(*e);
}

Strings Ids(const Expansion& e) {
  Strings ids;
  for (const Task& t : e.tasks) ids.push_back(t.id);
  return ids;
}

std::string Env(const Task& t, const std::string& name) {
  for (const auto& [k, v] : t.env)
    if (k == name) return v;
  return "<unset>";
}

TEST_CASE(
    "a grid runs every combination, parameters by name, the last "
    "fastest",
    "[unit][sweep]") {
  Sweep s = MustLoad(json::parse(R"({"name": "scan",
      "command": ["python", "train.py", "--lr", "${lr}", "--bs=${bs}"],
      "parameters": {"grid": {"lr": ["1e-4", "3e-4"], "bs": [32, 64, 128]}},
      "expected_outputs": ["results/${id}.json", "logs/${sweep}/${phase}/${index}.log"]})"));
  CHECK(CountTasks(s).total == 6);
  Expansion e = MustExpand(s);
  CHECK(Ids(e) == Strings{"scan_bs32_lr1e-4", "scan_bs32_lr3e-4",
                          "scan_bs64_lr1e-4", "scan_bs64_lr3e-4",
                          "scan_bs128_lr1e-4", "scan_bs128_lr3e-4"});
  const Task& t = e.tasks[3];
  CHECK(t.argv == Strings{"python", "train.py", "--lr", "3e-4", "--bs=64"});
  CHECK(t.index == 3);
  CHECK(t.phase == 0);
  CHECK(t.expected_outputs ==
        Strings{"results/scan_bs64_lr3e-4.json", "logs/scan/scan/3.log"});
  CHECK(*t.Param("bs") == "64");
  CHECK(t.Param("seed") == nullptr);
  CHECK(e.by_id.at("scan_bs64_lr3e-4") == 3);
  REQUIRE(e.phases.size() == 1);
  CHECK(e.phases[0].first == 0);
  CHECK(e.phases[0].count == 6);
}

TEST_CASE("a list runs its sets in order; seeds cross it, slowest",
          "[unit][sweep]") {
  Sweep s = MustLoad(json::parse(R"({"name": "ms", "id": "s${seed}_${model}",
      "command": ["python", "run.py", "--model", "${model}", "--seed", "${seed}"],
      "parameters": {"list": [{"model": "vit"}, {"model": "cnn", "wd": 0.1}],
                     "seeds": [42, 7]}})"));
  CHECK(CountTasks(s).total == 4);
  Expansion e = MustExpand(s);
  CHECK(Ids(e) == Strings{"s42_vit", "s42_cnn", "s7_vit", "s7_cnn"});
  CHECK(e.tasks[3].argv ==
        Strings{"python", "run.py", "--model", "cnn", "--seed", "7"});
  // A set's own extra parameters reach only its tasks.
  CHECK(e.tasks[1].Param("wd") != nullptr);
  CHECK(*e.tasks[1].Param("wd") == "0.1");
  CHECK(e.tasks[0].Param("wd") == nullptr);
  CHECK(Env(e.tasks[0], "HPC_PARAM_WD") == "<unset>");
  CHECK(Env(e.tasks[1], "HPC_PARAM_WD") == "0.1");

  // Seeds crossed with a grid, and seeds alone under another name.
  s = MustLoad(json::parse(R"({"name": "g", "command": ["x"],
      "parameters": {"grid": {"N": [1, 2]}, "seeds": [5, 6]}})"));
  CHECK(Ids(MustExpand(s)) ==
        Strings{"g_N1_seed5", "g_N2_seed5", "g_N1_seed6", "g_N2_seed6"});
  s = MustLoad(json::parse(R"({"name": "r", "command": ["x", "${rep}"],
      "parameters": {"seeds": [1, 2, 3], "seed_name": "rep"}})"));
  Expansion reps = MustExpand(s);
  CHECK(Ids(reps) == Strings{"r_rep1", "r_rep2", "r_rep3"});
  CHECK(reps.tasks[2].argv == Strings{"x", "3"});

  // No parameters: one task named after its phase.
  s = MustLoad(json::parse(R"({"name": "once", "command": ["x", "${id}"]})"));
  Expansion one = MustExpand(s);
  CHECK(Ids(one) == Strings{"once"});
  CHECK(one.tasks[0].argv == Strings{"x", "once"});
}

TEST_CASE(
    "parameters reach the task as HPC_PARAM_<NAME> and <name>, with "
    "the sweep, phase and task id",
    "[unit][sweep]") {
  CHECK(ParamEnvName("batch_size") == "HPC_PARAM_BATCH_SIZE");
  CHECK(ParamEnvName("N") == "HPC_PARAM_N");
  CHECK(ParamEnvName("lr2") == "HPC_PARAM_LR2");

  Sweep s = MustLoad(json::parse(R"({"name": "env", "command": ["x"],
      "id": "t${batch_size}",
      "env": {"WANDB_MODE": "offline", "OUT_DIR": "runs/${id}"},
      "parameters": {"grid": {"batch_size": [32], "fast": [true], "lr": [0.0001]}}})"));
  Expansion e = MustExpand(s);
  const Task& t = e.tasks[0];
  using Pair = std::pair<std::string, std::string>;
  CHECK(t.env == std::vector<Pair>{{"HPC_PARAM_BATCH_SIZE", "32"},
                                   {"HPC_PARAM_FAST", "true"},
                                   {"HPC_PARAM_LR", "0.0001"},
                                   {"HPC_SWEEP", "env"},
                                   {"HPC_SWEEP_PHASE", "env"},
                                   {"HPC_SWEEP_TASK", "t32"},
                                   {"OUT_DIR", "runs/t32"},
                                   {"WANDB_MODE", "offline"},
                                   {"batch_size", "32"},
                                   {"fast", "true"},
                                   {"lr", "0.0001"}});
}

TEST_CASE(
    "values arrive verbatim in argv and env: no shell, no second "
    "expansion",
    "[unit][sweep]") {
  const std::string value =
      GENERATE(std::string("two words"), std::string("it's \"quoted\""),
               std::string("$(rm -rf ~)"), std::string("`id`"),
               std::string("a; echo pwned"), std::string("line1\nline2"),
               std::string("${HOME}"), std::string("${id}"), std::string("*"),
               std::string("-rf"), std::string("x || y && z > /tmp/f"),
               std::string("\xc3\xa9t\xc3\xa9"), std::string(""));
  json doc = json::parse(R"({"name": "h", "id": "t${index}",
      "command": ["python", "train.py", "--tag", "${v}", "pre-${v}-post", "$${v}"]})");
  doc["parameters"]["list"] = json::array({{{"v", value}}});
  Sweep s = MustLoad(doc);
  Expansion e = MustExpand(s);
  const Task& t = e.tasks[0];
  REQUIRE(t.argv.size() == 6);
  CHECK(t.argv[3] == value);
  CHECK(t.argv[4] == "pre-" + value + "-post");
  CHECK(t.argv[5] == "${v}");  // $${ is a literal ${.
  CHECK(Env(t, "v") == value);
  CHECK(Env(t, "HPC_PARAM_V") == value);
}

TEST_CASE("two phases with match: each student waits for its own teacher",
          "[unit][sweep]") {
  Sweep s = MustLoad(json::parse(R"({"name": "distill", "phases": [
      {"name": "teacher", "command": ["teach", "${N}"],
       "parameters": {"grid": {"N": [384, 512]}},
       "expected_outputs": ["ckpt/teacher_N${N}.pt"]},
      {"name": "student", "command": ["distill", "${N}", "${seed}"],
       "parameters": {"grid": {"N": [384, 512]}, "seeds": [42, 200, 201]},
       "depends_on": [{"phase": "teacher", "match": ["N"]}]},
      {"name": "report", "command": ["report"], "depends_on": ["student"]}]})"));
  CHECK(s.order == std::vector<int>{0, 1, 2});
  TaskCount c = CountTasks(s);
  CHECK(c.total == 9);
  CHECK(c.per_phase == std::vector<uint64_t>{2, 6, 1});
  Expansion e = MustExpand(s);
  REQUIRE(e.tasks.size() == 9);
  CHECK(e.phases[1].first == 2);
  for (size_t i = e.phases[1].first; i < e.phases[1].first + 6; ++i) {
    const Task& student = e.tasks[i];
    REQUIRE(student.after.size() == 1);
    const Task& teacher = e.tasks[student.after[0]];
    CHECK(teacher.phase == 0);
    CHECK(*teacher.Param("N") == *student.Param("N"));
  }
  CHECK(e.tasks[e.by_id.at("student_N512_seed200")].after ==
        std::vector<size_t>{1});
  // A whole-phase dependency lists no tasks (the plan handles it).
  CHECK(e.tasks.back().id == "report");
  CHECK(e.tasks.back().after.empty());
  CHECK(e.tasks.back().phase == 2);

  // Independent phases come first in Sweep::order, then by depth.
  s = MustLoad(json::parse(R"({"name": "o", "command": ["x"], "phases": [
      {"name": "b", "depends_on": ["a"]}, {"name": "a"}, {"name": "c"},
      {"name": "d", "depends_on": ["b", "c"]}]})"));
  CHECK(s.order == std::vector<int>{1, 2, 0, 3});
}

TEST_CASE("a million-task grid is refused before anything is built",
          "[unit][sweep]") {
  json doc = json::parse(R"({"name": "huge", "command": ["x"]})");
  for (const char* name : {"a", "b", "c", "d", "e", "f"})
    doc["parameters"]["grid"][name] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  Sweep s = MustLoad(doc);
  auto start = std::chrono::steady_clock::now();
  CHECK(CountTasks(s).total == 1000000);
  auto e = ExpandSweep(s);
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().code() == StatusCode::kResourceExhausted);
  CHECK(e.status().reason() == "sweep_too_large");
  CHECK(e.status().message() ==
        "sweep: the sweep has 1,000,000 tasks, more than the 100,000 one "
        "sweep may have; nothing was built or submitted");
  // Expanding would take seconds and gigabytes; counting takes microseconds.
  CHECK(elapsed < std::chrono::milliseconds(50));

  // At the ceiling exactly it expands; one more is refused.
  ExpandOptions small;
  small.max_tasks = 6;
  Sweep six = MustLoad(json::parse(R"({"name": "s", "command": ["x"],
      "parameters": {"grid": {"a": [1, 2, 3]}, "seeds": [1, 2]}})"));
  CHECK(ExpandSweep(six, small).ok());
  small.max_tasks = 5;
  auto refused = ExpandSweep(six, small);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(),
             Contains("has 6 tasks, more than the 5"));

  // Per phase when there are several.
  Sweep two = MustLoad(json::parse(R"({"name": "s", "command": ["x"],
      "parameters": {"grid": {"a": [1, 2, 3]}},
      "phases": [{"name": "p"}, {"name": "q"}]})"));
  auto per_phase = ExpandSweep(two, small);
  REQUIRE_FALSE(per_phase.ok());
  CHECK_THAT(per_phase.status().message(),
             Contains("has 6 tasks (p: 3, q: 3)"));

  // Counts saturate instead of overflowing.
  ParameterSpace space;
  for (int i = 0; i < 5; ++i)  // 10,000^5 = 1e20 > 2^64.
    space.grid.push_back({"p" + std::to_string(i), Strings(10000, "v")});
  CHECK(space.Count() == std::numeric_limits<uint64_t>::max());
  CHECK(FormatCount(1234567) == "1,234,567");
  CHECK(FormatCount(999) == "999");
}

TEST_CASE("per-task dependency edges are capped", "[unit][sweep]") {
  Sweep s = MustLoad(json::parse(R"({"name": "s", "command": ["x"], "phases": [
      {"name": "a", "parameters": {"grid": {"k": [1], "i": [1, 2, 3, 4]}}},
      {"name": "b", "parameters": {"grid": {"k": [1], "j": [1, 2, 3]}},
       "depends_on": [{"phase": "a", "match": ["k"]}]}]})"));
  ExpandOptions options;
  options.max_dependency_edges = 11;  // 3 tasks x 4 each = 12.
  auto e = ExpandSweep(s, options);
  REQUIRE_FALSE(e.ok());
  CHECK_THAT(e.status().message(),
             Contains("phases[1].depends_on[0]: matching on 1 parameter(s) "
                      "makes tasks wait for too many tasks each"));
  options.max_dependency_edges = 12;
  auto ok = ExpandSweep(s, options);
  REQUIRE(ok.ok());
  CHECK(ok->tasks[4].after == std::vector<size_t>{0, 1, 2, 3});
}

}  // namespace
}  // namespace hpc::sweep
