// The sweep of issue 7's "done when", run through the MCP tools on any
// profile: a two-phase sweep (teachers over a grid, then students
// "student N after teacher N" with the teacher's checkpoint as a
// precondition), one teacher that hits a simulated CUDA out-of-memory the
// first time (retried by the policy), one student that fails until a
// marker file exists (stuck, then repaired with resubmit_failed), and an
// aggregate. The tasks write into the profile's workdir, which the test
// reads directly (the testbed's work root is on this machine).
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "tests/support/run_repo.h"

namespace hpc::testing {

// Teacher: fails once with the CUDA message for N=128, else writes its
// checkpoint. $1 is N. No "${" (that is a sweep placeholder).
inline constexpr char kTeacherScript[] =
    "N=$1; mkdir -p ckpt markers; "
    "if [ \"$N\" = 128 ] && [ ! -e markers/oom_once ]; then : > markers/oom_once; "
    "echo 'RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.78 GiB "
    "total capacity; 14.10 GiB already allocated)' >&2; exit 1; fi; "
    "echo \"step=1 loss=1.0\"; echo \"teacher $N\" >> markers/ran.txt; "
    "echo weights > ckpt/teacher_N$N.pt";

// Student: N=64 seed 2 fails until ./fixed exists. $1 N, $2 seed.
inline constexpr char kStudentScript[] =
    "N=$1; s=$2; mkdir -p results markers; echo \"student $N $s\" >> markers/ran.txt; "
    "if [ \"$N\" = 64 ] && [ \"$s\" = 2 ] && [ ! -e fixed ]; then "
    "echo 'ValueError: learning rate schedule has no steps' >&2; exit 3; fi; "
    "echo \"{\\\"N\\\": $N, \\\"seed\\\": $s}\" > results/student_N$N\"_s\"$s.json";

inline nlohmann::json DoneWhenSweep(const std::string& name) {
  using nlohmann::json;
  json teacher = {{"name", "teacher"},
                  {"parameters", {{"grid", {{"N", {64, 128}}}}}},
                  {"id", "teacher_N${N}"},
                  {"command", {"bash", "-c", kTeacherScript, "teacher", "${N}"}},
                  {"expected_outputs", {"ckpt/teacher_N${N}.pt"}}};
  json student = {{"name", "student"},
                  {"depends_on", {{{"phase", "teacher"}, {"match", {"N"}}}}},
                  {"parameters", {{"grid", {{"N", {64, 128}}}}, {"seeds", {1, 2}}}},
                  {"id", "student_N${N}_s${seed}"},
                  {"preconditions", {"ckpt/teacher_N${N}.pt"}},
                  {"command", {"bash", "-c", kStudentScript, "student", "${N}", "${seed}"}},
                  {"expected_outputs", {"results/student_N${N}_s${seed}.json"}}};
  return {{"name", name},
          {"phases", {teacher, student}},
          {"resources", {{"time", "00:10:00"}}},
          {"retry", {{"gpu_oom", {{"max_attempts", 3}, {"delay_seconds", 0}}}}},
          {"aggregate",
           {{"command", {"bash", "-c", "cat results/*.json > aggregate_${sweep}.txt"}},
            {"output", "aggregate_${sweep}.txt"}}}};
}

// Polls `id` until its state is not active, at most `deadline`.
inline nlohmann::json WaitSweep(RunRepo& repo, const std::string& id,
                                std::chrono::seconds deadline) {
  return repo.WaitEnded(id, deadline);
}

inline std::map<std::string, int> CountLines(const std::string& path) {
  std::map<std::string, int> n;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) ++n[line];
  return n;
}

// The whole scenario on `profile`, whose tasks run in `workdir` (as seen
// from this machine). `retry_avoids`: the nodes the OOM'd teacher's retry
// is journaled to avoid (those of its first attempt, on a batch scheduler).
inline void RunDoneWhen(RunRepo& repo, const std::string& profile,
                        const std::string& workdir,
                        std::chrono::seconds deadline,
                        const std::vector<std::string>& retry_avoids = {}) {
  using nlohmann::json;
  json r = repo.Call("submit_sweep", {{"profile", profile}, {"sweep", DoneWhenSweep("distill")}});
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  const std::string id = r["structuredContent"]["sweep_id"];
  // Teachers in one array; students aligned with it, one array per seed.
  CHECK(r["structuredContent"]["batches"].size() == 3);

  json first = WaitSweep(repo, id, deadline);
  INFO(first.dump());
  // The OOM'd teacher was retried and its students released; one student
  // is stuck with its diagnosis, so the sweep ended failed.
  REQUIRE(first["state"] == "failed");
  const json& s1 = first["sweep"];
  CHECK(s1["counts"]["done"] == 5);
  CHECK(s1["counts"]["stuck"] == 1);
  CHECK(s1["retries"].get<int>() >= 1);
  int retry_batches = 0;
  for (const json& e : repo.Events()) {
    if (e["name"] != "batch_submitting" || e["context"]["kind"] != "retry")
      continue;
    ++retry_batches;
    INFO(e.dump());
    CHECK(e["context"].value("avoid_nodes", std::vector<std::string>{}) ==
          retry_avoids);
  }
  CHECK(retry_batches >= 1);
  REQUIRE(s1["problems"].size() == 1);
  CHECK(s1["problems"][0]["task"] == "student_N64_s2");
  CHECK(s1["problems"][0]["state"] == "stuck");
  CHECK(s1["problems"][0]["exit_code"] == 3);
  CHECK(std::filesystem::exists(repo.path() + "/run_logs/distill/summary.md"));
  {
    std::ifstream in(repo.path() + "/run_logs/distill/summary.md");
    std::string md((std::istreambuf_iterator<char>(in)), {});
    CHECK(md.find("student_N64_s2") != std::string::npos);
    CHECK(md.find("gpu_oom") != std::string::npos);  // The teacher's retry.
  }

  // Repair and re-run only what failed.
  std::ofstream(workdir + "/fixed") << "ok\n";
  json again = repo.Call("resubmit_failed", {{"sweep_id", id}});
  INFO(again.dump());
  REQUIRE_FALSE(again.value("isError", false));
  CHECK(again["structuredContent"]["resubmitted"] == 1);
  CHECK(again["structuredContent"]["found_complete"] == 0);

  json done = WaitSweep(repo, id, deadline);
  INFO(done.dump());
  CHECK(done["state"] == "completed");
  CHECK(done["sweep"]["counts"]["done"] == 6);
  CHECK(done["sweep"]["aggregate"]["state"] == "completed");
  CHECK(std::filesystem::exists(workdir + "/aggregate_distill.txt"));

  // Each task ran once per attempt: the OOM'd teacher twice, the repaired
  // student twice, every other task once.
  auto ran = CountLines(workdir + "/markers/ran.txt");
  CHECK(ran["teacher 64"] == 1);
  CHECK(ran["teacher 128"] == 1);  // Its first attempt exits before the line.
  CHECK(ran["student 64 2"] == 2);
  CHECK(ran["student 64 1"] == 1);
  CHECK(ran["student 128 1"] == 1);
  CHECK(ran["student 128 2"] == 1);
}

}  // namespace hpc::testing
