// Loading a sweep (sweep.h): every mistake the schema cannot catch is an
// error naming the field and what to do; files are read from inside the
// repository only, YAML errors carry their line.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "tests/support/files.h"
#include "tests/support/subprocess.h"
#include "tools/sweep/expand.h"
#include "tools/sweep/sweep.h"

namespace hpc::sweep {
namespace {

using Catch::Contains;
using nlohmann::json;

// The error of loading `text` (a JSON document); "" when it loads.
std::string LoadError(const char* text) {
  auto s = LoadSweep(json::parse(text));
  return s.ok() ? "" : s.status().message();
}

// The error of loading and expanding `text`; "" when both work.
std::string ExpandError(const char* text) {
  auto s = LoadSweep(json::parse(text));
  if (!s.ok()) return "load: " + s.status().message();
  auto e = ExpandSweep(*s);
  return e.ok() ? "" : e.status().message();
}

TEST_CASE("a placeholder naming no parameter is refused with the known names",
          "[unit][sweep]") {
  std::string err = LoadError(R"({"name": "scan",
      "command": ["python", "train.py", "--lr", "${lrr}"],
      "parameters": {"grid": {"lr": [0.1], "bs": [32]}}})");
  CHECK(err ==
        "sweep: command[3]: ${lrr} names no parameter; phase 'scan' knows the "
        "parameters bs, lr and the built-ins sweep, phase, index, id");

  err = LoadError(R"({"name": "s", "phases": [{"name": "a", "command": ["x"],
      "expected_outputs": ["out/${seed}.json"], "parameters": {"grid": {"N": [1]}}}]})");
  CHECK_THAT(
      err,
      Contains("phases[0].expected_outputs[0]: ${seed} names no parameter"));
  CHECK_THAT(err, Contains("the parameters N "));

  err = LoadError(
      R"({"name": "s", "command": ["x"], "preconditions": ["${nope}"]})");
  CHECK_THAT(err,
             Contains("preconditions[0]: ${nope} names no parameter; phase "
                      "'s' knows no parameters"));

  err = LoadError(R"({"name": "s", "command": ["x"], "id": "t${id}"})");
  CHECK_THAT(err, Contains("id: ${id} names no parameter"));
  CHECK_THAT(err, Contains("not ${id}: this is the id being defined"));

  err = LoadError(R"({"name": "s", "command": ["x"], "env": {"A": "${b}"}})");
  CHECK_THAT(err, Contains("env.A: ${b} names no parameter"));

  err = LoadError(R"({"name": "s", "command": ["x", "${lr"],
      "parameters": {"grid": {"lr": [1]}}})");
  CHECK_THAT(err, Contains("command[1]: has a malformed placeholder '${lr'"));
  CHECK_THAT(err, Contains("$${ for a literal ${"));

  // A list set that lacks a value some template uses.
  err = LoadError(
      R"({"name": "s", "command": ["x", "--wd", "${wd}"], "id": "t${index}",
      "parameters": {"list": [{"wd": 0.1}, {"lr": 1}]}})");
  CHECK(err ==
        "sweep: parameters.list[1]: does not set 'wd', which command[2] uses: "
        "give every set a value for it");

  err = LoadError(R"({"name": "s", "command": ["x", "${sweep}"],
      "aggregate": {"command": ["collect", "${lr}"], "output": "r.csv"},
      "parameters": {"grid": {"lr": [1]}}})");
  CHECK_THAT(err, Contains("aggregate.command[1]: ${lr} names no parameter"));
  CHECK_THAT(err, Contains("${sweep} is the only placeholder"));
}

TEST_CASE("depends_on must name other phases, once each, without a cycle",
          "[unit][sweep]") {
  std::string err = LoadError(R"({"name": "s", "command": ["x"], "phases": [
      {"name": "a", "depends_on": ["c"]},
      {"name": "b", "depends_on": ["a"]},
      {"name": "c", "depends_on": ["b"]}]})");
  CHECK(err ==
        "sweep: phases[1].depends_on: phases wait for each other in a cycle: "
        "a -> c -> b -> a; remove one of these depends_on entries");

  err = LoadError(R"({"name": "s", "command": ["x"], "phases": [
      {"name": "teacher"}, {"name": "student", "depends_on": ["teachr"]}]})");
  CHECK(err ==
        "sweep: phases[1].depends_on[0]: names phase 'teachr', and there is "
        "none; the phases are teacher, student");

  err = LoadError(R"({"name": "s", "command": ["x"], "phases": [
      {"name": "a", "depends_on": ["a"]}]})");
  CHECK_THAT(
      err,
      Contains("phases[0].depends_on[0]: phase 'a' cannot wait for itself"));

  err = LoadError(R"({"name": "s", "command": ["x"], "phases": [
      {"name": "a"}, {"name": "b", "depends_on": ["a", {"phase": "a"}]}]})");
  CHECK_THAT(
      err, Contains("phases[1].depends_on[1]: names phase 'a' a second time"));

  err = LoadError(R"({"name": "s", "command": ["x"], "phases": [
      {"name": "a"}, {"name": "a"}]})");
  CHECK_THAT(err, Contains("phases[1].name: 'a' names two phases"));
}

TEST_CASE("a match parameter must exist on both sides of a dependency",
          "[unit][sweep]") {
  std::string err = LoadError(R"({"name": "s", "command": ["x"], "phases": [
      {"name": "teacher", "parameters": {"grid": {"N": [1, 2]}}},
      {"name": "student", "parameters": {"grid": {"N": [1, 2]}, "seeds": [1]},
       "depends_on": [{"phase": "teacher", "match": ["N", "seed"]}]}]})");
  CHECK(err ==
        "sweep: phases[1].depends_on[0].match[1]: 'seed' is not a parameter "
        "of every task of phase 'teacher' (its parameters: N); match on "
        "parameters both phases have");

  err = LoadError(R"({"name": "s", "command": ["x"], "phases": [
      {"name": "teacher", "parameters": {"grid": {"N": [1], "lr": [1]}}},
      {"name": "student", "parameters": {"grid": {"N": [1]}},
       "depends_on": [{"phase": "teacher", "match": ["lr"]}]}]})");
  CHECK_THAT(err, Contains("match[0]: 'lr' is not a parameter of every task "
                           "of this phase, 'student' (its parameters: N)"));

  // A list where one set lacks the parameter does not define it for every task.
  err = LoadError(
      R"({"name": "s", "command": ["x"], "id": "${phase}${index}", "phases": [
      {"name": "teacher", "parameters": {"list": [{"N": 1}, {"M": 2}]}},
      {"name": "student", "parameters": {"grid": {"N": [1]}},
       "depends_on": [{"phase": "teacher", "match": ["N"]}]}]})");
  CHECK_THAT(
      err, Contains("'N' is not a parameter of every task of phase 'teacher'"));
}

TEST_CASE(
    "parameters may not hide built-ins, clobber the job's environment "
    "or collide once upper-cased",
    "[unit][sweep]") {
  CHECK(LoadError(R"({"name": "s", "command": ["x"],
            "parameters": {"grid": {"id": [1]}}})") ==
        "sweep: parameters: parameter 'id' would hide the built-in ${id}; "
        "rename it");
  for (const char* name : {"PATH", "LD_PRELOAD", "SLURM_JOB_ID", "HPC_JOB_ID",
                           "CUDA_VISIBLE_DEVICES", "HOME"}) {
    std::string doc = std::string(R"({"name": "s", "command": ["x"],
        "parameters": {"grid": {")") +
                      name + R"(": [1]}}})";
    CHECK_THAT(LoadError(doc.c_str()),
               Contains("parameter '" + std::string(name) +
                        "' would replace the job's own environment variable"));
  }
  CHECK_THAT(LoadError(R"({"name": "s", "command": ["x"],
                 "parameters": {"grid": {"lr": [1], "LR": [2]}}})"),
             Contains("parameters 'LR' and 'lr' would both be exported as "
                      "HPC_PARAM_LR; rename one of them"));
  CHECK_THAT(LoadError(R"({"name": "s", "command": ["x"],
                 "parameters": {"grid": {"lr": [1]}}, "env": {"HPC_PARAM_LR": "2"}})"),
             Contains("env.HPC_PARAM_LR: is set for every task from parameter "
                      "'lr'; remove it from env"));
  CHECK_THAT(LoadError(R"({"name": "s", "command": ["x"],
                 "parameters": {"grid": {"lr": [1]}}, "env": {"lr": "2"}})"),
             Contains("env.lr: is set for every task from parameter 'lr'"));
}

TEST_CASE("parameter spaces are grid or list, seeds cross either",
          "[unit][sweep]") {
  CHECK_THAT(LoadError(R"({"name": "s", "command": ["x"],
                 "parameters": {"grid": {"a": [1]}, "list": [{"b": 1}]}})"),
             Contains("sweep: parameters: has both grid and list"));
  CHECK_THAT(LoadError(R"({"name": "s", "command": ["x"],
                 "parameters": {"grid": {"seed": [1]}, "seeds": [1, 2]}})"),
             Contains("parameters.seeds: are bound to parameter 'seed', which "
                      "grid also sets"));
  CHECK(LoadError(R"({"name": "s", "command": ["x"],
            "parameters": {"grid": {"seed": [1]}, "seeds": [1, 2], "seed_name": "rep"}})") ==
        "");
  CHECK_THAT(LoadError(R"({"name": "s", "command": ["x"],
                 "parameters": {"grid": {"v": ["a\u0000b"]}}})"),
             Contains("parameters.grid.v[0]: contains a NUL byte"));
  CHECK_THAT(LoadError(R"({"name": "s", "description": "no command"})"),
             Contains("a sweep needs a command"));
  CHECK(LoadError(R"({"name": "s", "phases": [{"name": "a", "command": ["x"]},
            {"name": "b"}]})") ==
        "sweep: phases[1]: phase 'b' has no command: give phases[1].command, "
        "or a command at the top level for every phase");
}

TEST_CASE("a key that is not a name is named, before the schema",
          "[unit][sweep]") {
  CHECK(LoadError(R"({"name": "s", "command": ["x"],
            "parameters": {"grid": {"1x": [1]}}})") ==
        "sweep: parameters.grid: '1x' is not a parameter name: use letters, "
        "digits and _, not starting with a digit, at most 64 characters");
  CHECK_THAT(
      LoadError(R"({"name": "s", "command": ["x"], "phases": [{"name": "a",
                 "parameters": {"list": [{"ok": 1}, {"learning-rate": 1}]}}]})"),
      Contains("sweep: phases[0].parameters.list[1]: 'learning-rate' is "
               "not a parameter name"));
  CHECK_THAT(
      LoadError(R"({"name": "s", "command": ["x"], "env": {"A=B": "1"}})"),
      Contains("sweep: env: 'A=B' is not an environment variable name"));
}

TEST_CASE("ids are unique and safe in file names, checked on the expansion",
          "[unit][sweep]") {
  std::string err =
      ExpandError(R"({"name": "s", "command": ["x"], "id": "run_${N}",
      "parameters": {"grid": {"N": [64, 128], "seed": [1, 2]}}})");
  CHECK(err ==
        "sweep: id: task 0 of phase 's' (N=64, seed=1) and task 1 of phase "
        "'s' (N=64, seed=2) both get the id 'run_64'; ids must be unique in "
        "the sweep: put the parameters that tell them apart (or ${phase}) "
        "into the id template");

  // Two phases sharing a sweep-level id template collide across phases.
  err = ExpandError(R"({"name": "s", "command": ["x"], "id": "t${N}",
      "parameters": {"grid": {"N": [1]}}, "phases": [{"name": "a"}, {"name": "b"}]})");
  CHECK_THAT(err, Contains("task 0 of phase 'a' (N=1) and task 0 of phase 'b' "
                           "(N=1) both get the id 't1'"));

  err = ExpandError(R"({"name": "s", "command": ["x"],
      "parameters": {"grid": {"data": ["a/b", "c"]}}})");
  CHECK(err ==
        "sweep: task 0 of phase 's' (data=a/b) gets the id "
        "'s_dataa/b', which has '/'; ids name files, so they may hold only "
        "letters, digits, '.', '_' and '-', starting with a letter or digit: "
        "change the id template (or the values)");

  CHECK_THAT(
      ExpandError(R"({"name": "s", "command": ["x"], "id": "${v}",
                 "parameters": {"list": [{"v": "-rf"}]}})"),
      Contains(
          "gets the id '-rf', which does not start with a letter or digit"));
  CHECK_THAT(ExpandError(R"({"name": "s", "command": ["x"], "id": "t${v}",
                 "parameters": {"list": [{"v": "a\nb"}]}})"),
             Contains("gets the id 'ta?b', which has a control character"));
  CHECK_THAT(
      ExpandError(R"({"name": "s", "command": ["x"], "id": "t${index}",
                 "expected_outputs": ["out/${v}.json"],
                 "parameters": {"list": [{"v": "a\nb"}]}})"),
      Contains("expected_outputs[0]: task 0 of phase 's' (v=a?b) gets "
               "the path 'out/a?b.json', which has a control character"));
}

TEST_CASE("a matched task with nothing to wait for is an error naming it",
          "[unit][sweep]") {
  std::string err = ExpandError(R"({"name": "s", "command": ["x"], "phases": [
      {"name": "teacher", "parameters": {"grid": {"N": [64]}}},
      {"name": "student", "parameters": {"grid": {"N": [64, 1024]}},
       "depends_on": [{"phase": "teacher", "match": ["N"]}]}]})");
  CHECK(err ==
        "sweep: phases[1].depends_on[0]: task 'student_N1024' waits for the "
        "tasks of phase 'teacher' with N=1024, and there are none: give "
        "'teacher' these values too, or drop them from 'student'");
}

TEST_CASE("schema violations name the field; in YAML, the line too",
          "[unit][sweep]") {
  auto s = LoadSweep(json::parse(R"({"name": "s", "phases": [{"name": "a",
      "command": "python train.py"}]})"),
                     "arguments.sweep");
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.status().message(),
             Contains("arguments.sweep: phases[0].command: wrong type"));

  const char* yaml =
      "name: distill\n"                                // 1
      "phases:\n"                                      // 2
      "  - name: teacher\n"                            // 3
      "    command: [python, teach.py]\n"              // 4
      "  - name: student\n"                            // 5
      "    command: [python, distill.py, '${lrr}']\n"  // 6
      "    parameters:\n"                              // 7
      "      grid: {lr: [0.1]}\n";                     // 8
  s = LoadSweepYaml(yaml, "sweeps/distill.yaml");
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.status().message(),
             Contains("sweeps/distill.yaml:6: phases[1].command[2]: ${lrr} "
                      "names no parameter"));

  s = LoadSweepYaml(
      "name: s\ncommand: [x]\nretry:\n  gpu_oom: {max_atempts: 2}\n", "s.yaml");
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.status().message(),
             Contains("s.yaml:4: retry.gpu_oom: unknown property"));

  s = LoadSweepYaml("name: s\ncommand: [x\n", "s.yaml");
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.status().message(), Contains("s.yaml:"));
  CHECK_THAT(s.status().message(), Contains("invalid YAML"));
}

TEST_CASE("a sweep file is read from inside the repository, YAML or JSON",
          "[unit][sweep]") {
  testing::TempDir repo, elsewhere;
  testing::WriteAll(
      repo.path() / "sweeps/distill.yaml",
      "name: distill\n"
      "phases:\n"
      "  - name: teacher\n"
      "    command: [python, teach.py, --n-hidden, '${N}']\n"
      "    parameters: {grid: {N: [384, 512]}}\n"
      "    expected_outputs: ['ckpt/teacher_N${N}.pt']\n"
      "  - name: student\n"
      "    command: [python, distill.py, --n-hidden, '${N}', --seed, "
      "'${seed}']\n"
      "    parameters: {grid: {N: [384, 512]}, seeds: [42, 200, 201]}\n"
      "    preconditions: ['ckpt/teacher_N${N}.pt']\n"
      "    depends_on: [{phase: teacher, match: [N]}]\n");
  auto s = LoadSweepFile(repo.path().string(), "sweeps/distill.yaml");
  REQUIRE(s.ok());
  CHECK(s->source == "sweeps/distill.yaml");
  CHECK(s->phases.size() == 2);
  CHECK(CountTasks(*s).total == 8);
  auto e = ExpandSweep(*s);
  REQUIRE(e.ok());
  CHECK(e->tasks[2].id == "student_N384_seed42");
  CHECK(e->tasks[2].preconditions ==
        std::vector<std::string>{"ckpt/teacher_N384.pt"});

  // Absolute inside the repository, and JSON.
  testing::WriteAll(repo.path() / "s.json",
                    R"({"name": "j", "command": ["x", "${a}"],
                        "parameters": {"grid": {"a": [1, 2, 3]}}})");
  s = LoadSweepFile(repo.path().string(), (repo.path() / "s.json").string());
  REQUIRE(s.ok());
  CHECK(CountTasks(*s).total == 3);

  testing::WriteAll(repo.path() / "bad.json", "{\"name\": ");
  s = LoadSweepFile(repo.path().string(), "bad.json");
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.status().message(), Contains("bad.json: invalid JSON"));

  s = LoadSweepFile(repo.path().string(), "sweeps/missing.yaml");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == StatusCode::kNotFound);

  s = LoadSweepFile(repo.path().string(), "sweeps/distill.txt");
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.status().message(),
             Contains("must end in .yaml, .yml or .json"));

  // Out of the repository: by .., by an absolute path, through a symlink.
  testing::WriteAll(elsewhere.path() / "x.yaml", "name: x\ncommand: [x]\n");
  const std::string rel_out =
      "../" + elsewhere.path().filename().string() + "/x.yaml";
  std::filesystem::create_symlink(elsewhere.path() / "x.yaml",
                                  repo.path() / "link.yaml");
  for (const std::string& path :
       {rel_out, (elsewhere.path() / "x.yaml").string(),
        std::string("link.yaml")}) {
    INFO(path);
    s = LoadSweepFile(repo.path().string(), path);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kPermissionDenied);
    CHECK(s.status().reason() == "path_outside_repo");
  }
}

}  // namespace
}  // namespace hpc::sweep
