// submit on the local profile: real detached jobs under the job wrapper,
// the journal on disk, the exactly-once protocol with injected faults; the
// profile's limits and the confirmation of costly work, here and on the
// Slurm testbed (the pure rules are in tests/tools/runs/limits_test.cc).
#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/support/run_repo.h"
#include "tools/cluster/profile.h"
#include "tools/journal/journal.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/confirm.h"
#include "tools/runs/submitter.h"

namespace hpc {
namespace {

using nlohmann::json;
using testing::CountEvents;
using testing::RunRepo;

// The scheduler's jobs carrying `tag` (what adoption searches).
std::vector<std::string> JobsWithTag(RunRepo& repo, const std::string& tag) {
  auto c = runs::OpenCluster("local", repo.path());
  REQUIRE(c.ok());
  auto found = (*c)->scheduler->FindByComment(tag);
  REQUIRE(found.ok());
  return *found;
}

std::string TagOf(RunRepo& repo, const std::string& run_id, const std::string& role) {
  for (const auto& e : repo.Events())
    if (e["run"] == run_id && e["name"] == "submitting" && e["context"]["role"] == role)
      return e["context"]["tag"];
  return "";
}

struct FaultGuard {
  explicit FaultGuard(std::function<Status(std::string_view)> f) {
    runs::SetSubmitFaultHookForTesting(std::move(f));
  }
  ~FaultGuard() { runs::SetSubmitFaultHookForTesting(nullptr); }
};

TEST_CASE("submit runs a command on the local profile and poll sees it complete", "[submit][local]") {
  RunRepo repo;
  json r = repo.Call("submit", {{"name", "hello"}, {"command", {"echo", "hello world"}}});
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  json out = r["structuredContent"];
  const std::string id = out["run_id"];
  CHECK(runs::IsRunId(id));
  CHECK(id.find("-hello-") == 8);
  CHECK(out["idempotent"] == false);
  REQUIRE(out["job_ids"].size() == 1);
  CHECK(out["script_path"].get<std::string>().rfind(repo.path() + "/cluster/jobs/runs/" + id, 0) == 0);

  json done = repo.WaitEnded(id);
  INFO(done.dump());
  CHECK(done["state"] == "completed");
  CHECK(done["diagnosis"].is_null());
  // The exit record and the log, where the plan said.
  CHECK(std::filesystem::exists(repo.path() + "/cluster/jobs/runs/" + id + "/a1/main.exit/main.exit"));
  json tail = repo.Call("tail_log", {{"run_id", id}});
  REQUIRE_FALSE(tail.value("isError", false));
  CHECK(tail["structuredContent"]["lines"][0] == "hello world");

  auto events = repo.Events();
  CHECK(CountEvents(events, "created") == 1);
  CHECK(CountEvents(events, "submitting") == 1);
  CHECK(CountEvents(events, "submitted") == 1);
  CHECK(CountEvents(events, "state_changed") >= 1);
}

TEST_CASE("submit is idempotent for an active run unless forced", "[submit][local]") {
  RunRepo repo;
  json args{{"name", "sleepy"}, {"command", {"sleep", "30"}}};
  json a = repo.Call("submit", args)["structuredContent"];
  json b = repo.Call("submit", args)["structuredContent"];
  CHECK(b["run_id"] == a["run_id"]);
  CHECK(b["idempotent"] == true);
  CHECK(b["job_ids"] == a["job_ids"]);
  args["force"] = true;
  json c = repo.Call("submit", args)["structuredContent"];
  CHECK(c["run_id"] != a["run_id"]);
  CHECK(c["idempotent"] == false);
  for (const auto& id : {a["run_id"], c["run_id"]})
    repo.Call("cancel", {{"run_id", id}, {"confirm", id}});
}

TEST_CASE("dry_run renders the script and journals nothing", "[submit][local]") {
  RunRepo repo;
  json r = repo.Call("submit", {{"name", "plan"}, {"command", {"python3", "train.py", "--lr", "3e-4"}},
                                {"smoke", true}, {"smoke_args", {"--max-steps", "5"}},
                                {"dry_run", true}});
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  json out = r["structuredContent"];
  CHECK(out["dry_run"] == true);
  CHECK(out["state"] == "planned");
  REQUIRE(out["plan"]["jobs"].size() == 2);
  CHECK(out["plan"]["jobs"][0]["role"] == "smoke");
  const std::string smoke = out["plan"]["jobs"][0]["script"];
  const std::string main = out["plan"]["jobs"][1]["script"];
  // The log directory is created before anything else runs.
  CHECK(smoke.find("mkdir -p -- ") < smoke.find("cd -- "));
  CHECK(smoke.find("train.py --lr 3e-4 --max-steps 5\n") != std::string::npos);
  CHECK(main.find("'--max-steps'") == std::string::npos);
  CHECK(out["plan"]["jobs"][0]["time"] == "00:10:00");
  CHECK(repo.Events().empty());
}

TEST_CASE("nothing the agent sends reaches a shell unquoted", "[submit][local]") {
  RunRepo repo;
  const std::string canary = repo.path() + "/canary";
  const std::string hostile = "'; touch " + canary + "; echo '$(touch " + canary + ")`touch " +
                              canary + "` a,b=c \"q\"";
  json r = repo.Call("submit", {{"name", "hostile"},
                                {"command", {"printf", "%s\\n", hostile}},
                                {"env", {{"HOSTILE", hostile}}}});
  REQUIRE_FALSE(r.value("isError", false));
  json done = repo.WaitEnded(r["structuredContent"]["run_id"]);
  CHECK(done["state"] == "completed");
  CHECK_FALSE(std::filesystem::exists(canary));
  json tail = repo.Call("tail_log", {{"run_id", done["run_id"]}});
  CHECK(tail["structuredContent"]["lines"][0] == hostile);
}

TEST_CASE("a lost submit answer is adopted on retry, never submitted twice", "[submit][local][fault]") {
  RunRepo repo;
  json args{{"name", "lost"}, {"command", {"sleep", "20"}}};
  json first;
  {
    FaultGuard g([](std::string_view point) {
      return point == "after_dispatch" ? Status(StatusCode::kUnavailable, "connection dropped")
                                       : Status::Ok();
    });
    first = repo.Call("submit", args);
  }
  // The job was found by its tag at once: the answer is not even an error.
  INFO(first.dump());
  REQUIRE_FALSE(first.value("isError", false));
  const std::string id = first["structuredContent"]["run_id"];
  auto events = repo.Events();
  REQUIRE(CountEvents(events, "submitted") == 1);
  CHECK(events.back()["context"]["how"] == "comment");
  json again = repo.Call("submit", args)["structuredContent"];
  CHECK(again["run_id"] == id);
  CHECK(again["idempotent"] == true);
  CHECK(JobsWithTag(repo, TagOf(repo, id, "main")).size() == 1);
  repo.Call("cancel", {{"run_id", id}, {"confirm", id}});
}

TEST_CASE("a submit cut short before dispatch is finished once by the retry", "[submit][local][fault]") {
  RunRepo repo;
  json args{{"name", "cut"}, {"command", {"true"}}};
  json first;
  {
    FaultGuard g([](std::string_view point) {
      return point == "before_dispatch" ? Status(StatusCode::kUnavailable, "killed") : Status::Ok();
    });
    first = repo.Call("submit", args);
  }
  INFO(first.dump());
  CHECK(first.value("isError", false));
  CHECK(testing::ResultText(first).find("call submit again with the same arguments") != std::string::npos);
  std::string id;
  for (const auto& e : repo.Events())
    if (e["name"] == "created") id = e["run"];
  REQUIRE(!id.empty());
  json poll = repo.Call("poll", {{"run_ids", {id}}})["structuredContent"];
  CHECK(poll["runs"][0]["state"] == "submitting");
  CHECK(poll["runs"][0]["reason"].get<std::string>().find("submit again") != std::string::npos);

  json retry = repo.Call("submit", args);
  INFO(retry.dump());
  REQUIRE_FALSE(retry.value("isError", false));
  CHECK(retry["structuredContent"]["run_id"] == id);
  CHECK(repo.WaitEnded(id)["state"] == "completed");
  CHECK(JobsWithTag(repo, TagOf(repo, id, "main")).size() == 1);
}

TEST_CASE("a smoke run gates the main job", "[submit][local]") {
  RunRepo repo;
  // The command fails only when given the smoke argument.
  json bad = repo.Call("submit", {{"name", "canary"},
                                  {"command", {"sh", "-c", "[ \"$1\" != --smoke ] || { echo boom >&2; exit 3; }; echo main ran", "x"}},
                                  {"smoke", true},
                                  {"smoke_args", {"--smoke"}}});
  INFO(bad.dump());
  REQUIRE_FALSE(bad.value("isError", false));
  CHECK(bad["structuredContent"]["jobs"].size() == 2);
  json ended = repo.WaitEnded(bad["structuredContent"]["run_id"]);
  INFO(ended.dump());
  CHECK(ended["state"] != "completed");
  REQUIRE(ended["diagnosis"].is_object());
  CHECK(ended["diagnosis"]["role"] == "smoke");
  // The main job never ran.
  json main_log = repo.Call("tail_log", {{"run_id", ended["run_id"]}, {"role", "main"}});
  CHECK((main_log.value("isError", false) || main_log["structuredContent"]["lines"].empty()));

  json good = repo.Call("submit", {{"name", "canary-ok"},
                                   {"command", {"sh", "-c", "echo ran \"$@\"", "x"}},
                                   {"smoke", true},
                                   {"smoke_args", {"--fast"}}});
  json done = repo.WaitEnded(good["structuredContent"]["run_id"]);
  CHECK(done["state"] == "completed");
  json log = repo.Call("tail_log", {{"run_id", done["run_id"]}})["structuredContent"];
  CHECK(log["lines"][0] == "ran");
  json smoke_log = repo.Call("tail_log", {{"run_id", done["run_id"]}, {"role", "smoke"}})["structuredContent"];
  CHECK(smoke_log["lines"][0] == "ran --fast");
}

TEST_CASE("array parameter sets reach each task as environment variables", "[submit][local]") {
  RunRepo repo;
  json r = repo.Call("submit", {{"name", "grid"},
                                {"command", {"sh", "-c", "echo lr=$LR seed=$SEED task=$HPC_ARRAY_TASK_ID"}},
                                {"array", {{{"LR", "1e-3"}, {"SEED", 1}}, {{"LR", "3e-4"}, {"SEED", 2}}}}});
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  json done = repo.WaitEnded(r["structuredContent"]["run_id"]);
  CHECK(done["state"] == "completed");
  CHECK(done["tasks"]["completed"] == 2);
  json t1 = repo.Call("tail_log", {{"run_id", done["run_id"]}, {"task", "1"}})["structuredContent"];
  CHECK(t1["lines"][0] == "lr=3e-4 seed=2 task=1");
}

TEST_CASE("depends_on chains runs with afterok", "[submit][local]") {
  RunRepo repo;
  json a = repo.Call("submit", {{"name", "first"}, {"command", {"sh", "-c", "sleep 1; echo first"}}});
  const std::string a_id = a["structuredContent"]["run_id"];
  json b = repo.Call("submit", {{"name", "second"}, {"command", {"echo", "second"}},
                                {"depends_on", {a_id}}});
  INFO(b.dump());
  REQUIRE_FALSE(b.value("isError", false));
  json done = repo.WaitEnded(b["structuredContent"]["run_id"]);
  CHECK(done["state"] == "completed");
  CHECK(repo.WaitEnded(a_id)["state"] == "completed");

  json unknown = repo.Call("submit", {{"name", "orphan"}, {"command", {"true"}},
                                      {"depends_on", {"20260101-nothing-0000"}}});
  CHECK(unknown.value("isError", false));
  CHECK(testing::ResultText(unknown).find("list_runs") != std::string::npos);
}

TEST_CASE("submit refuses bad input with a clear error and journals nothing", "[submit][local]") {
  RunRepo repo;
  json both = repo.Call("submit", {{"name", "x"}, {"command", {"true"}}, {"script", "#!/bin/sh\ntrue\n"}});
  CHECK(both.value("isError", false));
  CHECK(testing::ResultText(both).find("exactly one of") != std::string::npos);
  json outside = repo.Call("submit", {{"name", "x"}, {"command", {"true"}}, {"workdir", "/etc"}});
  CHECK(outside.value("isError", false));
  CHECK(testing::ResultText(outside).find("outside") != std::string::npos);
  json no_profile = repo.Call("submit", {{"name", "x"}, {"command", {"true"}}, {"profile", "nope"}});
  CHECK(no_profile.value("isError", false));
  json bad_name = repo.Call("submit", {{"name", "../x"}, {"command", {"true"}}});
  CHECK(bad_name.value("isError", false));
  CHECK(repo.Events().empty());
}

TEST_CASE("a script runs as a program file", "[submit][local]") {
  RunRepo repo;
  json r = repo.Call("submit", {{"name", "prog"}, {"script", "#!/bin/sh\necho from a script in $(pwd)\n"}});
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  json done = repo.WaitEnded(r["structuredContent"]["run_id"]);
  CHECK(done["state"] == "completed");
  json log = repo.Call("tail_log", {{"run_id", done["run_id"]}})["structuredContent"];
  CHECK(log["lines"][0] == "from a script in " + repo.path());
}

std::string ProfileFile(RunRepo& repo, const std::string& profile) {
  return repo.path() + "/.hpc-mcp/profiles/" + profile + ".yaml";
}

// Adds `limits` (YAML flow-map entries) to the limits: line every RunRepo
// profile has.
void AddLimits(RunRepo& repo, const std::string& profile,
               const std::string& limits) {
  const std::string file = ProfileFile(repo, profile);
  std::ifstream in(file);
  std::string yaml((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const size_t at = yaml.find("limits: {");
  REQUIRE(at != std::string::npos);
  yaml.insert(at + 9, limits + ", ");
  std::ofstream(file) << yaml;
}

// Moves submit's clock `offset_s` away from the system's, for the scope.
struct ClockGuard {
  explicit ClockGuard(int64_t offset_s) {
    runs::SetSubmitClockForTesting([offset_s] {
      return std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count() +
             offset_s;
    });
  }
  ~ClockGuard() { runs::SetSubmitClockForTesting(nullptr); }
};

// A refusal by the profile's limits: an error naming each limit (and what
// was asked and allowed) and the profile file.
void CheckRefused(const json& r, const std::string& profile_file,
                  const std::vector<std::string>& wanted) {
  INFO(r.dump());
  REQUIRE(r.value("isError", false));
  const std::string text = testing::ResultText(r);
  CHECK_THAT(text, Catch::Contains(profile_file));
  CHECK_THAT(text, Catch::Contains("nothing was submitted"));
  for (const auto& w : wanted) CHECK_THAT(text, Catch::Contains(w));
}

TEST_CASE("every profile limit refuses a submission over it and names it",
          "[submit][local]") {
  RunRepo repo;
  AddLimits(
      repo, "local",
      "max_walltime: '02:00:00', max_array_size: 4, max_nodes: 1, max_gpus: 2, "
      "allowed_partitions: [p1], allowed_accounts: [a1], allowed_qos: [q1], "
      "max_jobs_in_flight: 3, max_gpu_hours_in_flight: 10, "
      "max_gpu_hours_per_day: 12");
  const std::string file = ProfileFile(repo, "local");
  const json base{{"name", "lim"},
                  {"command", {"true"}},
                  {"resources",
                   {{"partition", "p1"},
                    {"account", "a1"},
                    {"qos", "q1"},
                    {"time", "01:00:00"},
                    {"gpus", 1},
                    {"nodes", 1}}}};
  struct Case {
    json resources;  // Merged into base's.
    std::string array;
    std::vector<std::string> wanted;
  };
  std::vector<Case> cases = {
      {{{"time", "03:00:00"}},
       "",
       {"- max_walltime (main job): requested 03:00:00; allowed 02:00:00"}},
      {{{"gpus", 0}},
       "0-9",
       {"- max_array_size (main job): requested 10 array tasks; allowed 4"}},
      {{{"nodes", 2}}, "", {"- max_nodes (main job): requested 2; allowed 1"}},
      {{{"gpus", 3}},
       "",
       {"- max_gpus (main job): requested 3 GPUs (3 per node x 1 nodes); "
        "allowed 2"}},
      {{{"partition", "p2"}},
       "",
       {"- allowed_partitions (main job): requested p2; allowed p1"}},
      {{{"account", "a2"}},
       "",
       {"- allowed_accounts (main job): requested a2; allowed a1"}},
      {{{"qos", "q2"}},
       "",
       {"- allowed_qos (main job): requested q2; allowed q1"}},
      {{{"gpus", 0}},
       "0-3",
       {"- max_jobs_in_flight: requested 4 jobs (4 for this submission + 0 of "
        "active runs); "
        "allowed 3"}},
      {{{"gpus", 2}, {"time", "02:00:00"}},
       "0-2",
       {"- max_gpu_hours_in_flight: requested 12 GPU-hours (12 for this "
        "submission + 0 of active "
        "runs); allowed 10 GPU-hours"}},
      {{{"gpus", 2}, {"time", "02:00:00"}},
       "0-3",
       {"- max_gpu_hours_per_day: requested 16 GPU-hours (16 for this "
        "submission + 0 submitted in "
        "the last 24 hours); allowed 12 GPU-hours"}},
  };
  for (const auto& c : cases) {
    json args = base;
    args["resources"].update(c.resources);
    if (!c.array.empty()) args["array"] = c.array;
    CheckRefused(repo.Call("submit", args), file, c.wanted);
    args["dry_run"] = true;  // A dry run is refused the same way.
    CheckRefused(repo.Call("submit", args), file, c.wanted);
  }
  CHECK(CountEvents(repo.Events(), "created") == 0);

  // Within every limit: submitted, and the dry run lists what it checked.
  json plan = base;
  plan["dry_run"] = true;
  json dry = repo.Call("submit", plan);
  INFO(dry.dump());
  REQUIRE_FALSE(dry.value("isError", false));
  const json& est = dry["structuredContent"]["estimate"];
  CHECK(est["gpu_hours"] == 1.0);
  CHECK(est["limits_checked"].size() == 9);  // max_array_size: arrays only.
  CHECK(est["profile_source"] == file);
  json ok = repo.Call("submit", base);
  INFO(ok.dump());
  REQUIRE_FALSE(ok.value("isError", false));
  CHECK(repo.WaitEnded(ok["structuredContent"]["run_id"])["state"] ==
        "completed");
}

TEST_CASE(
    "GPU-hours and jobs in flight are counted from the journal's active runs",
    "[submit][local]") {
  RunRepo repo;
  AddLimits(repo, "local", "max_gpu_hours_in_flight: 3, max_jobs_in_flight: 2");
  const std::string file = ProfileFile(repo, "local");
  auto gpu = [](const std::string& name) {
    return json{{"name", name},
                {"command", {"sleep", "60"}},
                {"resources", {{"gpus", 1}, {"time", "02:00:00"}}}};
  };
  auto cpu = [](const std::string& name) {
    return json{{"name", name}, {"command", {"sleep", "60"}}};
  };
  json a = repo.Call("submit", gpu("a"));
  REQUIRE_FALSE(a.value("isError", false));
  CheckRefused(repo.Call("submit", gpu("b")), file,
               {"- max_gpu_hours_in_flight: requested 4 GPU-hours (2 for this "
                "submission + 2 of "
                "active runs); allowed 3 GPU-hours"});
  json c = repo.Call("submit", cpu("c"));
  REQUIRE_FALSE(c.value("isError", false));
  CheckRefused(repo.Call("submit", cpu("d")), file,
               {"- max_jobs_in_flight: requested 3 jobs (1 for this submission "
                "+ 2 of active runs); "
                "allowed 2"});
  // Ended runs hold nothing.
  for (const json& r : {a, c}) {
    const std::string id = r["structuredContent"]["run_id"];
    REQUIRE_FALSE(repo.Call("cancel", {{"run_id", id}, {"confirm", id}})
                      .value("isError", false));
  }
  json b = repo.Call("submit", gpu("b"));
  INFO(b.dump());
  REQUIRE_FALSE(b.value("isError", false));
  CHECK(b["structuredContent"]["estimate"]["gpu_hours_in_flight"] == 0.0);
  const std::string id = b["structuredContent"]["run_id"];
  repo.Call("cancel", {{"run_id", id}, {"confirm", id}});
}

TEST_CASE("GPU-hours per day are counted over the last 24 hours, rolling",
          "[submit][local]") {
  RunRepo repo;
  AddLimits(repo, "local", "max_gpu_hours_per_day: 3");
  auto gpu = [](const std::string& name) {
    return json{{"name", name},
                {"command", {"true"}},
                {"resources", {{"gpus", 1}, {"time", "02:00:00"}}}};
  };
  json a = repo.Call("submit", gpu("a"));
  REQUIRE_FALSE(a.value("isError", false));
  REQUIRE(repo.WaitEnded(a["structuredContent"]["run_id"])["state"] ==
          "completed");
  // Ended, but submitted today.
  CheckRefused(repo.Call("submit", gpu("b")), ProfileFile(repo, "local"),
               {"- max_gpu_hours_per_day: requested 4 GPU-hours (2 for this "
                "submission + 2 "
                "submitted in the last 24 hours); allowed 3 GPU-hours"});
  ClockGuard tomorrow(25 * 3600);
  json b = repo.Call("submit", gpu("b"));
  INFO(b.dump());
  REQUIRE_FALSE(b.value("isError", false));
  CHECK(b["structuredContent"]["estimate"]["gpu_hours_last_24h"] == 0.0);
  repo.WaitEnded(b["structuredContent"]["run_id"]);
}

TEST_CASE(
    "costly work waits for a one-time confirm_token bound to its arguments",
    "[submit][local]") {
  RunRepo repo;
  AddLimits(repo, "local", "confirm_above_gpu_hours: 1");
  const json args{{"name", "big"},
                  {"command", {"true"}},
                  {"resources", {{"gpus", 1}, {"time", "02:00:00"}}}};
  auto with_token = [&](json a, const std::string& token) {
    a["confirm_token"] = token;
    return a;
  };

  json dry_args = args;
  dry_args["dry_run"] = true;
  json dry = repo.Call("submit", dry_args)["structuredContent"];
  CHECK(dry["estimate"]["needs_confirmation"] == true);
  CHECK_FALSE(dry.contains("confirm"));

  // Above the threshold: the plan and a token; nothing submitted.
  json asked = repo.Call("submit", args);
  INFO(asked.dump());
  REQUIRE_FALSE(asked.value("isError", false));
  const json out = asked["structuredContent"];
  CHECK(out["state"] == "awaiting_confirmation");
  CHECK(out["job_ids"].empty());
  CHECK(out["estimate"]["gpu_hours"] == 2.0);
  CHECK(out["confirm"]["above_gpu_hours"] == 1.0);
  REQUIRE(out["plan"]["jobs"].size() == 1);
  const std::string token = out["confirm"]["token"];
  const std::string planned = out["run_id"];
  CHECK(token.size() == 32);
  CHECK_THAT(testing::ResultText(asked), Catch::Contains(token));
  CHECK(CountEvents(repo.Events(), "created") == 0);
  CHECK(CountEvents(repo.Events(), "submitted") == 0);
  CHECK(CountEvents(repo.Events(), "confirm_requested") == 1);
  CHECK(JobsWithTag(repo, "hpc-mcp:" + planned + ":1:main").empty());
  CHECK_FALSE(std::filesystem::exists(out["script_path"].get<std::string>()));
  {
    std::ifstream in(repo.path() + "/.hpc-mcp/journal.jsonl");
    std::string journal((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
    CHECK(journal.find(token) == std::string::npos);  // Only its SHA-256.
  }

  // Wrong tokens are refused and spend nothing.
  json other = with_token(args, token);
  other["command"] = {"true", "--other"};
  json mismatch = repo.Call("submit", other);
  REQUIRE(mismatch.value("isError", false));
  CHECK_THAT(testing::ResultText(mismatch),
             Catch::Contains("issued for other arguments"));
  json unknown = repo.Call("submit", with_token(args, std::string(32, '0')));
  REQUIRE(unknown.value("isError", false));
  CHECK_THAT(testing::ResultText(unknown), Catch::Contains("was not issued"));
  CHECK(CountEvents(repo.Events(), "created") == 0);

  // The same call with the token submits, as the run the plan named.
  json done = repo.Call("submit", with_token(args, token));
  INFO(done.dump());
  REQUIRE_FALSE(done.value("isError", false));
  CHECK(done["structuredContent"]["run_id"] == planned);
  CHECK(done["structuredContent"]["job_ids"].size() == 1);
  CHECK(repo.WaitEnded(planned)["state"] == "completed");

  // Once only.
  json again = repo.Call("submit", with_token(args, token));
  REQUIRE(again.value("isError", false));
  CHECK_THAT(testing::ResultText(again),
             Catch::Contains("already used, by run " + planned));
  CHECK(CountEvents(repo.Events(), "created") == 1);

  // A token outlives the server (it is in the journal), not its 15 minutes.
  const std::string late =
      repo.Call("submit", args)["structuredContent"]["confirm"]["token"];
  {
    auto j = journal::Journal::Open(repo.path() + "/.hpc-mcp");
    REQUIRE(j.ok());
    auto replay = j->Read();
    REQUIRE(replay.ok());
    runs::RunTable fresh;  // What a restarted server replays.
    for (const auto& e : replay->events) fresh.Apply(e);
    const std::string hash = fresh.runs.at(planned).spec_hash;
    CHECK(runs::RedeemConfirmation(fresh, late, hash, std::time(nullptr)).ok());
  }
  ClockGuard later(16 * 60);
  json expired = repo.Call("submit", with_token(args, late));
  REQUIRE(expired.value("isError", false));
  CHECK_THAT(testing::ResultText(expired), Catch::Contains("expired"));
  CHECK_THAT(testing::ResultText(expired),
             Catch::Contains("without confirm_token"));
  CHECK(CountEvents(repo.Events(), "created") == 1);
}

TEST_CASE("limits and confirmation hold on the Slurm testbed",
          "[submit][slurm]") {
  RunRepo repo;
  repo.AddTestbedProfile("tb-slurm", "slurm");
  AddLimits(repo, "tb-slurm",
            "allowed_partitions: [urgent], max_walltime: '00:10:00', "
            "confirm_above_gpu_hours: 0.5");
  const std::string file = ProfileFile(repo, "tb-slurm");
  auto job = [](const std::string& name, json resources) {
    return json{{"profile", "tb-slurm"},
                {"name", name},
                {"command", {"echo", "ok"}},
                {"resources", std::move(resources)}};
  };
  CheckRefused(
      repo.Call("submit",
                job("p", {{"partition", "debug"}, {"time", "00:01:00"}})),
      file,
      {"- allowed_partitions (main job): requested debug; allowed urgent"});
  CheckRefused(repo.Call("submit", job("p", {{"time", "00:01:00"}})), file,
               {"- allowed_partitions (main job): requested none (the "
                "scheduler's default)"});
  CheckRefused(
      repo.Call("submit",
                job("t", {{"partition", "urgent"}, {"time", "00:20:00"}})),
      file,
      {"- max_walltime (main job): requested 00:20:00; allowed 00:10:00"});
  CHECK(CountEvents(repo.Events(), "created") == 0);
  json ok = repo.Call(
      "submit", job("ok", {{"partition", "urgent"}, {"time", "00:01:00"}}));
  INFO(ok.dump());
  REQUIRE_FALSE(ok.value("isError", false));
  CHECK(ok["structuredContent"]["job_ids"].size() == 1);

  // 4 GPUs for 10 minutes: 0.67 GPU-hours, above 0.5.
  const json big =
      job("big", {{"partition", "urgent"}, {"time", "00:10:00"}, {"gpus", 4}});
  json asked = repo.Call("submit", big);
  INFO(asked.dump());
  REQUIRE_FALSE(asked.value("isError", false));
  CHECK(asked["structuredContent"]["state"] == "awaiting_confirmation");
  const std::string token = asked["structuredContent"]["confirm"]["token"];
  const std::string planned = asked["structuredContent"]["run_id"];
  auto c = runs::OpenCluster("tb-slurm", repo.path());
  REQUIRE(c.ok());
  auto found = (*c)->scheduler->FindByComment("hpc-mcp:" + planned + ":1:main");
  REQUIRE(found.ok());
  CHECK(found->empty());
  CHECK(CountEvents(repo.Events(), "created") == 1);  // Only "ok".

  json other = big;
  other["resources"]["gpus"] = 5;
  other["confirm_token"] = token;
  json mismatch = repo.Call("submit", other);
  REQUIRE(mismatch.value("isError", false));
  CHECK_THAT(testing::ResultText(mismatch),
             Catch::Contains("issued for other arguments"));

  // With the token it is submitted, as the run the plan named, and Slurm
  // allocates the 4 GPUs (the testbed's stand-in GPUs, up.sh).
  json confirmed = big;
  confirmed["confirm_token"] = token;
  json sent = repo.Call("submit", confirmed);
  INFO(sent.dump());
  REQUIRE_FALSE(sent.value("isError", false));
  CHECK(sent["structuredContent"]["run_id"] == planned);
  REQUIRE(sent["structuredContent"]["job_ids"].size() == 1);
  json done = repo.WaitEnded(planned);
  CHECK(done["state"] == "completed");
  bool spent = false;
  for (const auto& e : repo.Events())
    spent = spent || (e["run"] == planned && e["name"] == "created" &&
                      e["context"].contains("confirm_token_sha256"));
  CHECK(spent);
  json reused = repo.Call("submit", confirmed);
  REQUIRE(reused.value("isError", false));
  CHECK_THAT(testing::ResultText(reused), Catch::Contains("already used"));
  auto jobs = (*c)->scheduler->FindByComment("hpc-mcp:" + planned + ":1:main");
  REQUIRE(jobs.ok());
  CHECK(jobs->size() == 1);  // The reused token submitted nothing.

  CHECK(repo.WaitEnded(ok["structuredContent"]["run_id"])["state"] ==
        "completed");
}

}  // namespace
}  // namespace hpc
