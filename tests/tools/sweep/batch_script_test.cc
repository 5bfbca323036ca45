// A sweep batch's script (batch_script.h), run by bash on this machine the
// way a scheduler runs it (HPC_ARRAY_TASK_ID set per element): each element
// gets its own argv and environment verbatim, waits for its preconditions,
// checks its expected outputs, and records its exit code.
#include "tools/sweep/batch_script.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "tests/support/subprocess.h"
#include "tools/remote/local_remote.h"

namespace hpc::sweep {
namespace {

using Catch::Contains;

std::string Read(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

struct Ran {
  int exit_code;
  std::string out, err;
};

Ran RunElement(const std::string& script_path, const std::string& element) {
  remote::LocalRemote local;
  remote::RunOptions o;
  o.login_shell = false;
  o.timeout = std::chrono::seconds(30);
  auto r = local.Run({"env", "HPC_ARRAY_TASK_ID=" + element, "bash", script_path}, o);
  REQUIRE(r.ok());
  return {r->exit_code, r->out, r->err};
}

TEST_CASE("a batch script gives each element its own argv and environment, never via a shell",
          "[sweep][unit]") {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  Task a, b;
  a.id = "t_a";
  a.argv = {"bash", "-c", "printf '%s|' \"$@\" > \"$HPC_SWEEP_TASK.args\"; echo \"$HPC_PARAM_LR\" > lr.$HPC_SWEEP_TASK",
            "x", "two words", "$(touch pwned)", "it's; rm -rf /", "line\nbreak"};
  a.env = {{"HPC_PARAM_LR", "1e-4 $(touch pwned)"}, {"HPC_SWEEP_TASK", "t_a"}};
  b.id = "t_b";
  b.argv = {"bash", "-c", "echo b > b.txt"};
  b.env = {{"HPC_SWEEP_TASK", "t_b"}};
  b.expected_outputs = {"b.txt"};
  BatchScript s;
  s.sweep_id = "20261123-s-abcd";
  s.batch_id = "a.0";
  s.kind = "plan";
  s.tag = "hpc-mcp:x:a.0";
  s.workdir = d + "/work";
  std::filesystem::create_directories(s.workdir);
  s.dirs = {d + "/logs", d + "/exit"};
  s.exit_dir = d + "/exit";
  s.base = 1;  // As on Grid Engine.
  s.tasks = {&a, &b};
  const std::string path = dir.WriteFile("batch.sh", RenderBatchScript(s));

  Ran first = RunElement(path, "1");
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(Read(s.workdir + "/t_a.args") == "two words|$(touch pwned)|it's; rm -rf /|line\nbreak|");
  CHECK(Read(s.workdir + "/lr.t_a") == "1e-4 $(touch pwned)\n");
  CHECK_FALSE(std::filesystem::exists(s.workdir + "/pwned"));
  CHECK(Read(d + "/exit/1.exit") == "0\n");
  CHECK_THAT(first.err, Contains("task t_a (batch a.0"));

  Ran second = RunElement(path, "2");
  CHECK(second.exit_code == 0);
  CHECK(std::filesystem::exists(s.workdir + "/b.txt"));

  Ran none = RunElement(path, "3");  // No such element.
  CHECK(none.exit_code == 2);
}

TEST_CASE("a batch script fails a task whose output is missing or precondition never came",
          "[sweep][unit]") {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  Task liar, waiting, late;
  liar.id = "liar";
  liar.argv = {"true"};
  liar.expected_outputs = {"result.json"};
  waiting.id = "waiting";
  waiting.argv = {"touch", "ran"};
  waiting.preconditions = {"inputs/missing.pt"};
  late.id = "late";
  late.argv = {"touch", "late_ran"};
  late.preconditions = {"inputs/late.pt"};
  BatchScript s;
  s.sweep_id = "20261123-s-abcd";
  s.batch_id = "b";
  s.kind = "plan";
  s.workdir = d;
  s.dirs = {d + "/exit"};
  s.exit_dir = d + "/exit";
  s.tasks = {&liar, &waiting, &late};
  s.precondition_wait_seconds = 0;
  const std::string path = dir.WriteFile("batch.sh", RenderBatchScript(s));

  Ran r0 = RunElement(path, "0");
  CHECK(r0.exit_code == kOutputMissingExit);
  CHECK_THAT(r0.err, Contains(std::string(kOutputMissingLine) + "result.json"));
  CHECK(Read(d + "/exit/0.exit") == std::to_string(kOutputMissingExit) + "\n");

  Ran r1 = RunElement(path, "1");
  CHECK(r1.exit_code == kPreconditionMissingExit);
  CHECK_THAT(r1.err, Contains(std::string(kPreconditionMissingLine) + "inputs/missing.pt"));
  CHECK_FALSE(std::filesystem::exists(d + "/ran"));

  // A precondition that exists lets the task run.
  std::filesystem::create_directories(d + "/inputs");
  std::ofstream(d + "/inputs/late.pt") << "w";
  Ran r2 = RunElement(path, "2");
  CHECK(r2.exit_code == 0);
  CHECK(std::filesystem::exists(d + "/late_ran"));
}

}  // namespace
}  // namespace hpc::sweep
