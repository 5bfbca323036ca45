// The plan (plan.h): arrays of at most max_array_size, waves of at most
// max_concurrent_jobs, the scheduler dependencies between them, the
// wall-clock estimate and the dry_run rendering.

#include "tools/sweep/plan.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace hpc::sweep {
namespace {

using Catch::Contains;
using nlohmann::json;
using Kind = DependencyKind;
using Why = ArrayDependency::Why;

struct Planned {
  Sweep sweep;
  Expansion expansion;
  Plan plan;
};

Planned PlanOf(const json& doc, int max_array_size, int max_concurrent_jobs) {
  auto s = LoadSweep(doc);
  INFO((s.ok() ? "" : s.status().message()));
  REQUIRE(s.ok());
  auto e = ExpandSweep(*s);
  INFO((e.ok() ? "" : e.status().message()));
  REQUIRE(e.ok());
  Plan plan = MakePlan(*s, *e, {max_array_size, max_concurrent_jobs});
  return {std::move(*s), std::move(*e), std::move(plan)};
}

json Range(int n) {
  json values = json::array();
  for (int i = 0; i < n; ++i) values.push_back(i);
  return values;
}

// 2,500 teachers, then two students each ("student N after teacher N").
json Distill2500() {
  json doc = json::parse(R"({"name": "distill", "phases": [
      {"name": "teacher", "command": ["teach", "${N}"]},
      {"name": "student", "command": ["distill", "${N}", "${seed}"],
       "depends_on": [{"phase": "teacher", "match": ["N"]}]}]})");
  doc["phases"][0]["parameters"]["grid"]["N"] = Range(2500);
  doc["phases"][1]["parameters"]["grid"]["N"] = Range(2500);
  doc["phases"][1]["parameters"]["seeds"] = {1, 2};
  return doc;
}

// A one-phase sweep "big" of `n` tasks, parameter i = 0..n-1.
json Grid(int n) {
  json doc = {{"name", "big"}, {"command", {"python", "train.py", "${i}"}}};
  doc["parameters"]["grid"]["i"] = Range(n);
  return doc;
}

std::vector<int> Waves(const Plan& plan) {
  std::vector<int> waves;
  for (const PlanArray& a : plan.arrays) waves.push_back(a.wave);
  return waves;
}

// (array id, kind) of each dependency of `a`.
std::vector<std::pair<std::string, std::string>> After(const Plan& plan,
                                                       const PlanArray& a) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const ArrayDependency& d : a.after)
    out.emplace_back(plan.arrays[d.array].id, DependencyKindName(d.kind));
  return out;
}
using Deps = std::vector<std::pair<std::string, std::string>>;

TEST_CASE(
    "5,000 tasks under max_array_size 1000 and max_concurrent_jobs 2 "
    "are 5 arrays in 3 waves, 5 submissions",
    "[unit][sweep]") {
  Planned p = PlanOf(Grid(5000), 1000, 2);
  const Plan& plan = p.plan;
  CHECK(plan.tasks == 5000);
  REQUIRE(plan.arrays.size() == 5);
  CHECK(plan.waves == 3);
  CHECK(plan.submissions() == 5);
  CHECK(Waves(plan) == std::vector<int>{0, 0, 1, 1, 2});
  for (size_t k = 0; k < 5; ++k) {
    const PlanArray& a = plan.arrays[k];
    CHECK(a.id == "big." + std::to_string(k));
    REQUIRE(a.tasks.size() == 1000);
    CHECK(a.tasks.front() == 1000 * k);
    CHECK(a.tasks.back() == 1000 * k + 999);
  }
  CHECK(plan.arrays[0].after.empty());
  CHECK(plan.arrays[1].after.empty());
  // Each wave waits for the whole previous wave, whatever its outcome.
  CHECK(After(plan, plan.arrays[2]) ==
        Deps{{"big.0", "afterany"}, {"big.1", "afterany"}});
  CHECK(After(plan, plan.arrays[3]) ==
        Deps{{"big.0", "afterany"}, {"big.1", "afterany"}});
  CHECK(After(plan, plan.arrays[4]) ==
        Deps{{"big.2", "afterany"}, {"big.3", "afterany"}});
  for (const PlanArray& a : plan.arrays)
    for (const ArrayDependency& d : a.after) CHECK(d.why == Why::kWave);
  CHECK(plan.notes.empty());

  json j = PlanJson(p.sweep, p.expansion, plan);
  CHECK(j["counts"] ==
        json{{"tasks", 5000}, {"arrays", 5}, {"waves", 3}, {"submissions", 5}});
  CHECK(j["limits"] ==
        json{{"max_array_size", 1000}, {"max_concurrent_jobs", 2}});
  REQUIRE(j["arrays"].size() == 5);
  CHECK(j["arrays"][2] ==
        json::parse(R"({"id": "big.2", "phase": "big", "wave": 1,
      "tasks": 1000, "first_task": "big_i2000", "last_task": "big_i2999",
      "after": [{"kind": "afterany", "wave": 0, "arrays": 2}]})"));
  CHECK(
      j["phases"] ==
      json::parse(
          R"([{"name": "big", "tasks": 5000, "arrays": 5, "waves": [0, 2]}])"));
  CHECK_FALSE(j.contains("arrays_omitted"));
  CHECK_FALSE(j.contains("estimate"));
  CHECK(j.dump().size() < 2000);  // Never a line per task.
}

TEST_CASE(
    "without limits a phase is one array in one wave; a remainder gets "
    "its own array",
    "[unit][sweep]") {
  Planned p = PlanOf(Grid(5000), 0, 0);
  REQUIRE(p.plan.arrays.size() == 1);
  CHECK(p.plan.arrays[0].tasks.size() == 5000);
  CHECK(p.plan.waves == 1);

  p = PlanOf(Grid(5000), 1000, 0);
  CHECK(p.plan.arrays.size() == 5);
  CHECK(p.plan.waves == 1);  // No cap: no wave edges either.
  for (const PlanArray& a : p.plan.arrays) CHECK(a.after.empty());
  CHECK(PlanJson(p.sweep, p.expansion,
                 p.plan)["limits"]["max_concurrent_jobs"] == "none");

  p = PlanOf(Grid(2001), 1000, 2);
  REQUIRE(p.plan.arrays.size() == 3);
  CHECK(p.plan.arrays[2].tasks.size() == 1);
  CHECK(Waves(p.plan) == std::vector<int>{0, 0, 1});

  cluster::Limits limits;
  limits.max_array_size = 1000;
  limits.max_concurrent_jobs = 50;
  PlanLimits from = PlanLimits::FromProfile(limits);
  CHECK(from.max_array_size == 1000);
  CHECK(from.max_concurrent_jobs == 50);
}

TEST_CASE(
    "a whole-phase dependency waits afterok for every array of that "
    "phase",
    "[unit][sweep]") {
  json doc = json::parse(R"({"name": "s", "phases": [
      {"name": "prep", "command": ["prep", "${shard}"],
       "parameters": {"grid": {"shard": [0, 1, 2]}}},
      {"name": "train", "command": ["train", "${i}"], "depends_on": ["prep"]}]})");
  doc["phases"][1]["parameters"]["grid"]["i"] = Range(2500);
  Planned p = PlanOf(doc, 1000, 2);
  const Plan& plan = p.plan;
  REQUIRE(plan.arrays.size() == 4);
  CHECK(plan.arrays[0].id == "prep.0");
  CHECK(Waves(plan) == std::vector<int>{0, 1, 1, 2});
  // prep.0 ended is implied by afterok on it: no extra afterany.
  CHECK(After(plan, plan.arrays[1]) == Deps{{"prep.0", "afterok"}});
  CHECK(After(plan, plan.arrays[2]) == Deps{{"prep.0", "afterok"}});
  CHECK(After(plan, plan.arrays[3]) == Deps{{"prep.0", "afterok"},
                                            {"train.0", "afterany"},
                                            {"train.1", "afterany"}});
  CHECK(plan.phases[1].dependency_modes == std::vector<std::string>{"phase"});
  CHECK(plan.phases[1].first_wave == 1);
  CHECK(plan.phases[1].last_wave == 2);

  json j = PlanJson(p.sweep, p.expansion, plan);
  CHECK(j["phases"][1]["depends_on"] ==
        json::parse(
            R"([{"phase": "prep", "mode": "phase", "kind": "afterok"}])"));
  CHECK(j["arrays"][3]["after"] == json::parse(R"([
      {"kind": "afterok", "phase": "prep", "arrays": 1},
      {"kind": "afterany", "wave": 1, "arrays": 2}])"));
}

TEST_CASE(
    "student N after teacher N: arrays aligned element by element, "
    "aftercorr",
    "[unit][sweep]") {
  json doc = Distill2500();
  Planned p = PlanOf(doc, 1000, 2);
  const Plan& plan = p.plan;
  const auto& tasks = p.expansion.tasks;
  REQUIRE(plan.arrays.size() == 9);  // 3 teacher arrays, 2 students each.
  CHECK(plan.submissions() == 9);
  CHECK(plan.notes.empty());
  CHECK(plan.phases[1].dependency_modes == std::vector<std::string>{"aligned"});
  CHECK(Waves(plan) == std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3, 4});
  for (size_t k = 3; k < 9; ++k) {
    const PlanArray& student = plan.arrays[k];
    CHECK(student.id == "student." + std::to_string(k - 3));
    const PlanArray& teacher = plan.arrays[(k - 3) / 2];
    REQUIRE(student.tasks.size() == teacher.tasks.size());
    CHECK(student.tasks.size() <= 1000);
    int corr = 0;
    for (const ArrayDependency& d : student.after)
      if (d.kind == Kind::kAfterCorr) {
        ++corr;
        CHECK(&plan.arrays[d.array] == &teacher);
        CHECK(d.why == Why::kMatch);
      }
    CHECK(corr == 1);
    // Element i waits for element i.
    for (size_t i = 0; i < student.tasks.size(); ++i) {
      const Task& s = tasks[student.tasks[i]];
      REQUIRE(s.after.size() == 1);
      CHECK(s.after[0] == teacher.tasks[i]);
    }
  }
  // Seed 1 first, then seed 2, for each teacher array.
  CHECK(*tasks[plan.arrays[3].tasks[0]].Param("seed") == "1");
  CHECK(*tasks[plan.arrays[4].tasks[0]].Param("seed") == "2");
  CHECK(plan.arrays[7].tasks.size() == 500);

  json j = PlanJson(p.sweep, p.expansion, plan);
  CHECK(j["arrays"][3]["after"] == json::parse(R"([
      {"kind": "aftercorr", "array": "teacher.0"},
      {"kind": "afterany", "wave": 0, "arrays": 2}])"));
  CHECK(
      j["phases"][1]["depends_on"] ==
      json::parse(
          R"([{"phase": "teacher", "mode": "aligned", "kind": "aftercorr", "match": ["N"]}])"));
}

TEST_CASE(
    "a match that is not one to one falls back to the whole phase, "
    "with a note",
    "[unit][sweep]") {
  // Each student waits for two teachers.
  Planned p = PlanOf(json::parse(R"({"name": "s", "phases": [
      {"name": "teacher", "command": ["t"], "parameters": {"grid": {"N": [1, 2], "lr": [1, 2]}}},
      {"name": "student", "command": ["s"], "parameters": {"grid": {"N": [1, 2]}},
       "depends_on": [{"phase": "teacher", "match": ["N"]}]}]})"),
                     1000, 2);
  REQUIRE(p.plan.notes.size() == 1);
  CHECK(p.plan.notes[0] ==
        "phase 'student' waits for all of phase 'teacher' (afterok), not "
        "task by task: task 'student_N1' waits for 2 tasks of it. One failed "
        "task of 'teacher' holds every task of 'student' until its retry "
        "succeeds.");
  CHECK(p.plan.phases[1].dependency_modes == std::vector<std::string>{"phase"});
  REQUIRE(p.plan.arrays.size() == 2);
  CHECK(After(p.plan, p.plan.arrays[1]) == Deps{{"teacher.0", "afterok"}});

  // Uneven fan-out.
  p = PlanOf(json::parse(R"({"name": "s", "id": "${phase}${index}", "phases": [
      {"name": "teacher", "command": ["t"], "parameters": {"grid": {"N": [1, 2]}}},
      {"name": "student", "command": ["s"],
       "parameters": {"list": [{"N": 1}, {"N": 1}, {"N": 2}]},
       "depends_on": [{"phase": "teacher", "match": ["N"]}]}]})"),
             1000, 2);
  REQUIRE(p.plan.notes.size() == 1);
  CHECK_THAT(
      p.plan.notes[0],
      Contains("its task 'teacher0' has 2 waiting tasks and 'teacher1' has 1"));

  // Two matched dependencies cannot both be aligned.
  p = PlanOf(json::parse(R"({"name": "s", "command": ["x"], "phases": [
      {"name": "a", "parameters": {"grid": {"N": [1, 2]}}},
      {"name": "b", "parameters": {"grid": {"N": [1, 2]}}},
      {"name": "c", "parameters": {"grid": {"N": [1, 2]}},
       "depends_on": [{"phase": "a", "match": ["N"]}, {"phase": "b", "match": ["N"]}]}]})"),
             1000, 0);
  REQUIRE(p.plan.notes.size() == 2);
  CHECK_THAT(p.plan.notes[0], Contains("more than one depends_on with match"));
  CHECK(After(p.plan, p.plan.arrays[2]) ==
        Deps{{"a.0", "afterok"}, {"b.0", "afterok"}});
  CHECK(p.plan.waves == 2);
}

TEST_CASE("an independent phase fills the last wave when it has room",
          "[unit][sweep]") {
  Planned p = PlanOf(json::parse(R"({"name": "s", "command": ["x"], "phases": [
      {"name": "a", "parameters": {"grid": {"k": [1, 2, 3]}}},
      {"name": "b"}]})"),
                     1, 2);
  CHECK(Waves(p.plan) == std::vector<int>{0, 0, 1, 1});
  CHECK(p.plan.arrays[3].id == "b.0");
  CHECK(After(p.plan, p.plan.arrays[3]) ==
        Deps{{"a.0", "afterany"}, {"a.1", "afterany"}});
}

TEST_CASE("the wall-clock estimate is the waves' longest arrays, summed",
          "[unit][sweep]") {
  Planned p = PlanOf(Grid(5000), 1000, 2);
  Durations d;
  d.by_phase["big"] = 3600;
  WallClock w = EstimateWallClock(p.sweep, p.plan, d);
  CHECK(w.known);
  CHECK(w.seconds == Approx(3 * 3600));
  d.parallel_tasks = 500;  // Two rounds per array of 1000.
  CHECK(EstimateWallClock(p.sweep, p.plan, d).seconds == Approx(6 * 3600));

  Durations by_template;
  CHECK(TemplateKey(p.sweep.phases[0]) == R"(["python","train.py","${i}"])");
  by_template.by_template[TemplateKey(p.sweep.phases[0])] = 600;
  CHECK(EstimateWallClock(p.sweep, p.plan, by_template).seconds ==
        Approx(1800));

  WallClock unknown = EstimateWallClock(p.sweep, p.plan, Durations{});
  CHECK_FALSE(unknown.known);
  CHECK(unknown.unknown_phases == std::vector<std::string>{"big"});

  json j = PlanJson(p.sweep, p.expansion, p.plan, &w);
  CHECK(j["estimate"]["known"] == true);
  CHECK(j["estimate"]["wall_clock_s"] == 10800);
  CHECK(j["estimate"]["wall_clock"] == "3h 00m");
  CHECK(PlanJson(p.sweep, p.expansion, p.plan, &unknown)["estimate"] ==
        json::parse(R"({"known": false, "unknown_phases": ["big"]})"));

  // Two phases: teacher waves then student waves.
  json doc = Distill2500();
  Planned two = PlanOf(doc, 1000, 2);
  Durations both;
  both.by_phase = {{"teacher", 600}, {"student", 1200}};
  // Waves: {T,T} 600, {T,S} 1200, {S,S} 1200, {S,S} 1200, {S} 1200.
  CHECK(EstimateWallClock(two.sweep, two.plan, both).seconds == Approx(5400));
}

TEST_CASE("a plan of hundreds of arrays lists the first and last ones only",
          "[unit][sweep]") {
  Planned p = PlanOf(Grid(5000), 10, 2);
  CHECK(p.plan.arrays.size() == 500);
  CHECK(p.plan.waves == 250);
  json j = PlanJson(p.sweep, p.expansion, p.plan);
  CHECK(j["counts"]["submissions"] == 500);
  REQUIRE(j["arrays"].size() == 40);
  CHECK(j["arrays"][29]["id"] == "big.29");
  CHECK(j["arrays"][30]["id"] == "big.490");
  CHECK(j["arrays_omitted"] == 460);
  CHECK(j["arrays_omitted_after"] == "big.29");
  CHECK(j.dump().size() < 12000);
}

}  // namespace
}  // namespace hpc::sweep
