// submit on the local profile: real detached jobs under the job wrapper,
// the journal on disk, the exactly-once protocol with injected faults.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "tests/support/run_repo.h"
#include "tools/cluster/profile.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/submitter.h"

namespace hpc {
namespace {

using nlohmann::json;
using testing::RunRepo;

int CountEvents(const std::vector<json>& events, const std::string& name) {
  int n = 0;
  for (const auto& e : events) n += e["name"] == name;
  return n;
}

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

}  // namespace
}  // namespace hpc
