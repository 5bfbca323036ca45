// The list_runs tool over a journal written event by event (so that times,
// states, progress and diagnoses are exactly known), plus one real run made
// by the submit tool on the local profile.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "tests/support/subprocess.h"
#include "tests/support/tool_call.h"
#include "tools/journal/journal.h"

using hpc::testing::CallTool;
using hpc::testing::ResultText;
using hpc::testing::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A scratch repository; its `local` profile keeps every root inside the
// temp directory.
struct Repo {
  Repo() {
    REQUIRE_FALSE(tmp.path().empty());
    path = (tmp.path() / "repo").string();
    fs::create_directories(fs::path(path) / ".hpc-mcp" / "profiles");
    std::ifstream in(fs::path(HPC_MCP_SOURCE_DIR) / "cluster_profiles" /
                     "local.yaml");
    std::stringstream s;
    s << in.rdbuf();
    std::string yaml =
        std::regex_replace(s.str(), std::regex("work_root: .*"),
                           "work_root: " + (tmp.path() / "work").string());
    yaml = std::regex_replace(yaml, std::regex("log_root: .*"),
                              "log_root: " + (tmp.path() / "logs").string());
    std::ofstream(fs::path(path) / ".hpc-mcp" / "profiles" / "local.yaml")
        << yaml;
  }
  std::string journal() const {
    return (fs::path(path) / ".hpc-mcp" / "journal.jsonl").string();
  }
  // Appends one event with its own time.
  void Event(const std::string& ts, const std::string& run,
             const std::string& name, json context) const {
    auto j =
        hpc::journal::Journal::Open((fs::path(path) / ".hpc-mcp").string());
    REQUIRE(j.ok());
    REQUIRE(j->Append({ts, run, name, std::move(context)}).ok());
  }
  json List(json args = json::object()) const {
    args["repo"] = path;
    return CallTool("list_runs", std::move(args));
  }
  TempDir tmp;
  std::string path;
};

// Four runs a day apart, newest last: one running with progress and
// health, one failed with a diagnosis, one completed with a link, one
// still submitting. Their profile does not exist: list_runs never opens it.
void FourRuns(const Repo& r) {
  auto created = [&](const std::string& day, const std::string& id,
                     const std::string& name) {
    r.Event(day + "T10:00:00.000Z", id, "created",
            {{"name", name},
             {"profile", "nowhere"},
             {"scheduler", "slurm"},
             {"spec", json::object()},
             {"spec_hash", "0"},
             {"workdir", "/w"}});
    r.Event(day + "T10:00:01.000Z", id, "submitting",
            {{"attempt", 1},
             {"role", "main"},
             {"tag", "t"},
             {"array_tasks", json::array()}});
  };
  auto submitted = [&](const std::string& day, const std::string& id,
                       const std::string& job) {
    r.Event(
        day + "T10:00:02.000Z", id, "submitted",
        {{"attempt", 1}, {"role", "main"}, {"job_id", job}, {"how", "answer"}});
  };
  created("2025-03-01", "20250301-bert-base-0a1b", "bert-base");
  submitted("2025-03-01", "20250301-bert-base-0a1b", "101");
  r.Event(
      "2025-03-01T11:00:00.000Z", "20250301-bert-base-0a1b", "state_changed",
      {{"from", "pending"}, {"to", "running"}, {"native_state", "RUNNING"}});
  r.Event("2025-03-01T12:00:00.000Z", "20250301-bert-base-0a1b", "progress",
          {{"metrics", {{"step", 1200}, {"loss", 2.31}, {"lr", 0.0003}}},
           {"cursor", 4096}});
  r.Event(
      "2025-03-01T12:00:00.000Z", "20250301-bert-base-0a1b", "health",
      {{"status", "ok"},
       {"checks",
        {{{"name", "loss_finite"}, {"status", "ok"}, {"detail", "2.31"}}}}});

  created("2025-03-02", "20250302-bert-large-1c2d", "bert-large");
  submitted("2025-03-02", "20250302-bert-large-1c2d", "102");
  r.Event("2025-03-02T11:00:00.000Z", "20250302-bert-large-1c2d",
          "state_changed",
          {{"from", "running"},
           {"to", "failed"},
           {"native_state", "FAILED"},
           {"exit_code", 1}});
  r.Event("2025-03-02T11:00:01.000Z", "20250302-bert-large-1c2d", "diagnosed",
          {{"category", "gpu_oom"},
           {"summary", "CUDA out of memory (tried to allocate 2.00 GiB)"},
           {"evidence", {"torch.OutOfMemoryError: CUDA out of memory."}},
           {"remediation", "halve the batch"},
           {"retryable", false}});

  created("2025-03-03", "20250303-gpt-small-3e4f", "gpt-small");
  submitted("2025-03-03", "20250303-gpt-small-3e4f", "103");
  r.Event("2025-03-03T12:00:00.000Z", "20250303-gpt-small-3e4f", "progress",
          {{"metrics", {{"step", 5000}, {"loss", 1.5}, {"val_loss", "nan"}}}});
  r.Event("2025-03-03T13:00:00.000Z", "20250303-gpt-small-3e4f",
          "state_changed",
          {{"from", "running"}, {"to", "completed"}, {"exit_code", 0}});
  r.Event("2025-03-03T13:00:01.000Z", "20250303-gpt-small-3e4f", "linked",
          {{"kind", "wandb"}, {"value", "https://wandb.ai/x/y/runs/z"}});

  created("2025-03-04", "20250304-gpt-large-5a6b", "gpt-large");
}

std::vector<std::string> Ids(const json& result) {
  std::vector<std::string> ids;
  for (const auto& r : result["structuredContent"]["runs"])
    ids.push_back(r["run_id"]);
  return ids;
}

const std::string kA = "20250301-bert-base-0a1b",
                  kB = "20250302-bert-large-1c2d",
                  kC = "20250303-gpt-small-3e4f",
                  kD = "20250304-gpt-large-5a6b";

}  // namespace

TEST_CASE(
    "list_runs lists the journal's runs newest first with one-line summaries",
    "[integration][list_runs]") {
  Repo repo;
  FourRuns(repo);
  json r = repo.List();
  INFO(r.dump(2));
  REQUIRE_FALSE(r.value("isError", false));
  const json& s = r["structuredContent"];
  CHECK(s["view"] == "runs");
  CHECK(s["total"] == 4);
  CHECK(s["shown"] == 4);
  CHECK(s["problems"].empty());
  CHECK(Ids(r) == std::vector<std::string>{kD, kC, kB, kA});
  std::map<std::string, json> by;
  for (const auto& run : s["runs"]) by[run["run_id"]] = run;
  CHECK(by[kA]["summary"] == "running · step 1200 · loss 2.31 · health ok");
  CHECK(by[kB]["summary"] ==
        "failed · gpu_oom: CUDA out of memory (tried to allocate 2.00 GiB)");
  CHECK(by[kC]["summary"] == "completed · step 5000 · loss 1.5 · val_loss nan");
  CHECK(by[kD]["summary"] == "submitting");
  CHECK(by[kA]["job_ids"] == json::array({"101"}));
  CHECK(by[kD]["job_ids"].empty());
  CHECK(by[kA]["name"] == "bert-base");
  CHECK(by[kA]["profile"] == "nowhere");
  CHECK(by[kA]["created_at"] == "2025-03-01T10:00:00.000Z");
  CHECK(by[kA]["updated_at"] == "2025-03-01T12:00:00.000Z");
  CHECK(by[kC]["links"]["wandb"] == "https://wandb.ai/x/y/runs/z");

  // The text is a compact table: a head line, then one line per run.
  const std::string text = ResultText(r);
  CHECK(text.find('{') == std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 4);
  CHECK_THAT(
      text,
      Catch::Contains(kA + "  nowhere  2025-03-01 10:00  running · step 1200"));
}

TEST_CASE("list_runs filters by state, name, date and limit",
          "[integration][list_runs]") {
  Repo repo;
  FourRuns(repo);
  auto ids = [&](json args) {
    json r = repo.List(std::move(args));
    INFO(r.dump(2));
    REQUIRE_FALSE(r.value("isError", false));
    return Ids(r);
  };
  using V = std::vector<std::string>;
  CHECK(ids({{"state", {"active"}}}) == V{kD, kA});
  CHECK(ids({{"state", {"ended"}}}) == V{kC, kB});
  CHECK(ids({{"state", {"failed", "submitting"}}}) == V{kD, kB});
  CHECK(ids({{"state", {"timeout"}}}).empty());
  CHECK(ids({{"name", "bert"}}) == V{kB, kA});
  CHECK(ids({{"name", "BERT-L"}}) == V{kB});
  CHECK(ids({{"name", "gpt-*"}}) == V{kD, kC});
  CHECK(ids({{"name", "*-large"}}) == V{kD, kB});
  CHECK(ids({{"name", "3e4f"}}) == V{kC});
  CHECK(ids({{"since", "2025-03-03"}}) == V{kD, kC});
  CHECK(ids({{"until", "2025-03-02"}}) == V{kB, kA});  // The whole day.
  CHECK(ids({{"since", "2025-03-02"}, {"until", "2025-03-03"}}) == V{kC, kB});
  CHECK(ids({{"since", "2025-03-02T12:00:00+02:00"}}) ==
        V{kD, kC, kB});  // 10:00Z.
  CHECK(ids({{"since", "2025-03-02T10:00:01Z"}}) == V{kD, kC});
  CHECK(ids({{"until", "2025-03-01T09:59:59Z"}}).empty());
  CHECK(ids({{"state", {"ended"}}, {"name", "gpt"}}) == V{kC});

  json limited = repo.List({{"limit", 2}});
  CHECK(Ids(limited) == V{kD, kC});
  CHECK(limited["structuredContent"]["total"] == 4);
  CHECK(limited["structuredContent"]["shown"] == 2);
  CHECK_THAT(ResultText(limited), Catch::StartsWith("2 of 4"));

  json none = repo.List({{"name", "nomatch"}});
  CHECK(none["structuredContent"]["total"] == 0);
  CHECK_THAT(ResultText(none), Catch::Contains("no run matches"));
}

TEST_CASE("list_runs refuses bad filters with a clear error",
          "[integration][list_runs]") {
  Repo repo;
  FourRuns(repo);
  for (json bad :
       {json{{"limit", 0}}, json{{"limit", 501}}, json{{"state", {"finished"}}},
        json{{"since", "yesterday"}}, json{{"until", "2025-3-1"}},
        json{{"view", "all"}}, json{{"name", ""}}, json{{"bogus", 1}}}) {
    json r = repo.List(bad);
    INFO(bad.dump());
    CHECK(r["isError"] == true);
    CHECK_THAT(ResultText(r), Catch::Contains("Invalid arguments"));
  }
  json month = repo.List({{"since", "2025-13-01"}});
  CHECK(month["isError"] == true);
  CHECK_THAT(ResultText(month), Catch::Contains("since \"2025-13-01\""));
  json order = repo.List({{"since", "2025-03-04"}, {"until", "2025-03-01"}});
  CHECK(order["isError"] == true);
  CHECK_THAT(ResultText(order), Catch::Contains("after until"));
  json norepo = CallTool("list_runs", {{"repo", repo.path + "/missing"}});
  CHECK(norepo["isError"] == true);
}

TEST_CASE("list_runs reports a torn journal line and shows the audit view",
          "[integration][list_runs]") {
  Repo repo;
  FourRuns(repo);
  repo.Event("2025-03-01T09:00:00.000Z", "", "profile_changed",
             {{"profile", "local"}, {"by", "alice"}});
  repo.Event("2025-03-05T09:00:00.000Z", "", "guard_rail",
             {{"rule", "max_gpus"}, {"value", 8}});
  REQUIRE_FALSE(repo.List().value(
      "isError", false));  // The store has read everything so far.

  json audit = repo.List({{"view", "audit"}});
  INFO(audit.dump(2));
  REQUIRE_FALSE(audit.value("isError", false));
  const json& a = audit["structuredContent"];
  CHECK(a["view"] == "audit");
  CHECK(a["total"] == 2);
  REQUIRE(a["events"].size() == 2);
  CHECK(a["events"][0]["name"] == "guard_rail");
  CHECK(a["events"][0]["ts"] == "2025-03-05T09:00:00.000Z");
  CHECK(a["events"][0]["context"]["rule"] == "max_gpus");
  CHECK(a["events"][1]["name"] == "profile_changed");
  CHECK(repo.List({{"view", "audit"},
                   {"since", "2025-03-02"}})["structuredContent"]["total"] ==
        1);
  CHECK_THAT(ResultText(audit), Catch::Contains("guard_rail"));

  // A crash in the middle of a write: the last line has no newline.
  std::ofstream(repo.journal(), std::ios::app)
      << R"({"ts":"2025-03-06T00:00:00.000Z","run":"2025)";
  for (json args : {json::object(), json{{"view", "audit"}}}) {
    json r = repo.List(args);
    INFO(r.dump(2));
    REQUIRE_FALSE(r.value("isError", false));
    const json& problems = r["structuredContent"]["problems"];
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems[0].get<std::string>(), Catch::Contains("cut short"));
    CHECK_THAT(ResultText(r), Catch::Contains("journal problems"));
  }
  CHECK(repo.List()["structuredContent"]["total"] == 4);
}

TEST_CASE("list_runs shows a run the submit tool made, and an empty journal",
          "[integration][list_runs]") {
  Repo repo;
  json empty = repo.List();
  CHECK(empty["structuredContent"]["total"] == 0);
  CHECK_THAT(ResultText(empty), Catch::Contains("no runs"));

  json sub =
      CallTool("submit",
               {{"repo", repo.path}, {"name", "hello"}, {"command", {"true"}}});
  INFO(sub.dump(2));
  REQUIRE_FALSE(sub.value("isError", false));
  json r = repo.List({{"name", "hello"}});
  REQUIRE(r["structuredContent"]["runs"].size() == 1);
  const json& run = r["structuredContent"]["runs"][0];
  CHECK(run["run_id"] == sub["structuredContent"]["run_id"]);
  CHECK(run["job_ids"] == sub["structuredContent"]["job_ids"]);
  CHECK(run["profile"] == "local");
  CHECK(run["name"] == "hello");
}

TEST_CASE("list_runs keeps a long diagnosis to one valid line",
          "[integration][list_runs]") {
  Repo repo;
  const std::string id = "20250305-long-7a7b";
  repo.Event(
      "2025-03-05T10:00:00.000Z", id, "created",
      {{"name", "long"}, {"profile", "local"}, {"spec", json::object()}});
  repo.Event("2025-03-05T10:00:01.000Z", id, "state_changed",
             {{"from", "running"}, {"to", "failed"}});
  std::string text;
  for (int i = 0; i < 200; ++i) text += "é";  // Two bytes each.
  repo.Event("2025-03-05T10:00:02.000Z", id, "diagnosed",
             {{"category", "unknown"}, {"summary", text + "\nsecond line"}});
  json r = repo.List();
  INFO(r.dump(2));
  REQUIRE_FALSE(r.value("isError", false));
  const std::string summary = r["structuredContent"]["runs"][0]["summary"];
  CHECK(summary.size() <= 200);
  CHECK_THAT(summary, Catch::StartsWith("failed · unknown: éé") &&
                          Catch::EndsWith("é..."));
  CHECK(summary.find('\n') == std::string::npos);

  repo.Event("2025-03-05T10:00:03.000Z", id, "diagnosed",
             {{"category", "segfault"},
              {"summary", "Segmentation fault in worker 3\r\nTraceback:"}});
  CHECK(repo.List()["structuredContent"]["runs"][0]["summary"] ==
        "failed · segfault: Segmentation fault in worker 3");
}
