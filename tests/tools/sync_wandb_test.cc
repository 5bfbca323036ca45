// sync_wandb: offline W&B runs found, read and synced where they lie (the
// local profile, and the Slurm testbed over SSH, directly and through srun)
// against the stand-in `wandb` (tests/support/wandb_standin.sh, whose header
// holds the contract), with an API key planted in a token file and searched
// for in everything the server and the stand-in leave behind: answers,
// notifications, the server's log, the journal, every file written.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/files.h"
#include "tests/support/run_repo.h"
#include "tests/support/wandb_fixture.h"
#include "tools/remote/local_remote.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/store.h"
#include "tools/wandb/datastore.h"
#include "tools/wandb/run_dir.h"
#include "tools/wandb/sync.h"

namespace hpc {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr char kRunName[] = "offline-run-20260311_150000-abc123";
constexpr char kRunId[] = "20260311-train-ab12";

using testing::HistoryRecord;
using testing::LogCapture;
using testing::RandomKey;
using testing::RunRecord;
using testing::Sha256Hex;
using testing::TransactionLog;

// 100 steps of a decaying loss, val_loss every 10 steps, a NaN grad_norm
// at step 50, and a bulky media entry that is not a curve.
std::string FixtureLog() {
  std::vector<std::string> recs = {
      RunRecord("abc123", "old-team", "scratch-proj")};
  for (int i = 0; i < 100; ++i) {
    std::vector<std::pair<std::string, std::string>> items = {
        {"_step", std::to_string(i)},
        {"loss", std::to_string(2.0 * std::exp(-i / 30.0))},
        {"lr", "0.0003"}};
    if (i % 10 == 9)
      items.push_back({"val_loss", std::to_string(2.1 * std::exp(-i / 35.0))});
    items.push_back({"grad_norm", i == 50 ? "NaN" : "1.5"});
    if (i == 0)
      items.push_back(
          {"samples", "{\"_type\": \"table-file\", \"path\": \"media/x\"}"});
    recs.push_back(HistoryRecord(items, i));
  }
  return TransactionLog(recs);
}

// Files of a training directory holding one offline run, relative to it.
std::map<std::string, std::string> Fixture() {
  const std::string run = std::string("wandb/") + kRunName + "/";
  return {
      {run + "run-abc123.wandb", FixtureLog()},
      {run + "files/wandb-summary.json",
       R"({"loss": 0.07, "grad_norm": NaN, "_step": 99})"},
      {run + "files/config.yaml",
       "wandb_version: 1\n_wandb:\n  desc: null\n  value:\n    cli_version: "
       "0.17.0\n"
       "lr:\n  desc: null\n  value: 0.0003\nbatch_size:\n  desc: null\n  "
       "value: 32\n"},
      {run + "files/wandb-metadata.json",
       R"({"program": "train.py", "args": ["--lr", "3e-4"], "host": "node17"})"},
      {run + "files/output.log", "step 99 loss 0.07\n"},
      {run + "logs/debug.log", std::string(1000, 'd')},
      {run + "artifacts/staging/f1/blob.bin", std::string(64 * 1024, 'b')},
      {"wandb_data/artifacts/staging/f2/model.ckpt",
       std::string(256 * 1024, 'c')},
      {"wandb/settings",
       "[default]\nentity = old-team\nproject = scratch-proj\nbase_url = "
       "https://stale.example.com\n"},
      {"outside/keep.txt", "must survive pruning"},
  };
}

// One MCP session on a strict server with logging at debug, keeping every
// message the server sent, so that the key can be searched for in all.
// sync_wandb calls in one kept session.
class Client {
 public:
  json Call(json args, const std::string& progress_token = "") {
    return session_.Call("sync_wandb", std::move(args), progress_token);
  }
  std::string Everything() const { return session_.Everything(); }
  std::vector<json> Progress() const {
    return session_.Notifications("notifications/progress");
  }

 private:
  testing::AgentSession session_;
};

// Every regular file under `dir` that contains `needle` (none expected).
std::vector<std::string> LocalFilesHolding(const fs::path& dir,
                                           const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && !e.is_symlink() &&
        testing::ReadAll(e.path()).find(needle) != std::string::npos)
      hits.push_back(e.path().string());
  return hits;
}

// The local repository of these tests: the fixture under a training
// directory with a hostile name, the stand-in on PATH through the profile's
// setup lines (which also export the stale defaults a login shell might),
// and a token file outside the repository.
struct LocalSetup {
  testing::RunRepo repo;
  testing::TempDir secrets;
  std::string key = RandomKey();
  std::string train, run_dir, token_file, record;

  explicit LocalSetup(const std::string& standin_hash = "") {
    train = repo.path() + "/exp 'q' \"d\" $(touch canary) `touch canary2`";
    run_dir = train + "/wandb/" + kRunName;
    for (const auto& [rel, content] : Fixture()) {
      fs::create_directories(fs::path(train + "/" + rel).parent_path());
      std::ofstream(train + "/" + rel, std::ios::binary) << content;
    }
    fs::create_symlink(train + "/outside",
                       train + "/wandb_data/artifacts/staging/outside-link");
    fs::create_directories(repo.path() + "/bin");
    std::ofstream(repo.path() + "/bin/wandb") << testing::WandbStandIn();
    fs::permissions(repo.path() + "/bin/wandb", fs::perms(0755));
    token_file = (secrets.path() / "wandb_token").string();
    std::ofstream(token_file) << key << "\n";
    fs::permissions(token_file, fs::perms(0600));
    record = repo.path() + "/standin.record";
    repo.WriteProfile(
        "wb",
        "name: wb\nscheduler: local\naccess: {kind: local}\nshell:\n  login: "
        "[bash]\n"
        "  setup:\n    - export PATH=" +
            repo.path() +
            "/bin:$PATH\n"
            "    - export WANDB_ENTITY=stale-team WANDB_PROJECT=stale-project "
            "WANDB_BASE_URL=https://stale.example.com\n"
            "    - export WANDB_STANDIN_RECORD=" +
            record + " WANDB_STANDIN_KEY_SHA256=" +
            (standin_hash.empty() ? Sha256Hex(key) : standin_hash) +
            "\npaths:\n  work_root: " + repo.path() +
            "/cluster/jobs\n  log_root: " + repo.path() + "/cluster/logs\n");
    // A run of the journal whose workdir holds the training directory.
    auto store = runs::RunStore::ForRepo(repo.path());
    REQUIRE(store.ok());
    REQUIRE((*store)
                ->Append(kRunId, "created",
                         {{"name", "train"},
                          {"profile", "wb"},
                          {"scheduler", "local"},
                          {"spec", json::object()},
                          {"spec_hash", "0"},
                          {"workdir", repo.path()},
                          {"tag", "t"}})
                .ok());
  }
  json Args(json extra) const {
    json a{{"repo", repo.path()}, {"profile", "wb"},
           {"path", run_dir},     {"entity", "team-a"},
           {"project", "proj-b"}, {"token_file", token_file}};
    if (extra.is_object()) a.update(extra);
    return a;
  }
};

std::string Text(const json& r) { return testing::ResultText(r); }

// ---------------------------------------------------------------- unit --

TEST_CASE(
    "a transaction log yields its history, run record, and survives damage",
    "[sync_wandb][unit]") {
  std::string log = FixtureLog();
  auto parsed = wandb::ParseTransactionLog(log);
  REQUIRE(parsed.ok());
  CHECK(parsed->records == 101);
  CHECK(parsed->bad_records == 0);
  CHECK_FALSE(parsed->torn_tail);
  CHECK(parsed->run["entity"] == "old-team");
  CHECK(parsed->run["project"] == "scratch-proj");
  CHECK(parsed->run["display_name"] == "bright-sun-1");
  REQUIRE(parsed->history.size() == 100);
  CHECK(parsed->history[50]["grad_norm"] == "NaN");
  CHECK(parsed->history[99]["_step"] == 99);

  SECTION("a record larger than a block is reassembled") {
    std::string big(80000, 'x');
    auto p = wandb::ParseTransactionLog(TransactionLog(
        {HistoryRecord({{"note", "\"" + big + "\""}, {"loss", "1.5"}}, 3)}));
    REQUIRE(p.ok());
    REQUIRE(p->history.size() == 1);
    CHECK(p->history[0]["note"].get<std::string>().size() == big.size());
    CHECK(p->history[0]["_step"] == 3);
  }
  SECTION("a torn tail is reported and the rest kept") {
    auto p = wandb::ParseTransactionLog(
        std::string_view(log).substr(0, log.size() - 5));
    REQUIRE(p.ok());
    CHECK(p->torn_tail);
    CHECK(p->history.size() == 99);
  }
  SECTION("a flipped byte costs one record") {
    std::string bad = log;
    bad[200] ^= 0x40;
    auto p = wandb::ParseTransactionLog(bad);
    REQUIRE(p.ok());
    CHECK(p->bad_records == 1);
    CHECK(p->records + p->bad_records == 101);
    CHECK(p->history.size() == 99);
  }
  SECTION("other files are refused") {
    CHECK_FALSE(wandb::ParseTransactionLog("{\"loss\": 1}").ok());
  }
}

TEST_CASE("curves keep first and last, spread points, and show NaN",
          "[sync_wandb][unit]") {
  auto parsed = wandb::ParseTransactionLog(FixtureLog());
  REQUIRE(parsed.ok());
  wandb::ReadOptions o;
  o.max_points = 10;
  json c = wandb::Curves(parsed->history, o)["metrics"];
  CHECK_FALSE(c.contains("_step"));
  CHECK_FALSE(c.contains("samples"));  // Media is not a curve.
  CHECK(c["loss"]["count"] == 100);
  CHECK(c["loss"]["points"].size() == 10);
  CHECK(c["loss"]["points"].front()[0] == 0);
  CHECK(c["loss"]["points"].back()[0] == 99);
  CHECK(c["val_loss"]["count"] == 10);
  CHECK(c["grad_norm"]["non_finite"] == 1);
  CHECK(c["loss"]["min"].get<double>() < 0.1);
  o.keys = {"val_loss"};
  CHECK(wandb::Curves(parsed->history, o)["metrics"].size() == 1);
}

TEST_CASE("wandb sync output is parsed into the URL, skips and errors",
          "[sync_wandb][unit]") {
  auto ok = wandb::ParseSyncOutput(
      "Find logs at: /x/wandb/debug-cli.u.log\n"
      "Syncing: https://wandb.ai/team-a/proj-b/runs/abc123 ... done.\n",
      "");
  CHECK(ok.url == "https://wandb.ai/team-a/proj-b/runs/abc123");
  CHECK(ok.done);
  CHECK(ok.url_entity == "team-a");
  CHECK(ok.url_project == "proj-b");
  CHECK(ok.url_run_id == "abc123");
  auto late = wandb::ParseSyncOutput(
      "Syncing: https://w.example.com/e/p/runs/r1 ... \nwandb: x\ndone.\n", "");
  CHECK(late.done);
  auto cut =
      wandb::ParseSyncOutput("Syncing: https://wandb.ai/e/p/runs/r1 ... ", "");
  CHECK_FALSE(cut.done);
  auto skip = wandb::ParseSyncOutput("Skipping directory: /a/b\n",
                                     "wandb: ERROR boom\n");
  CHECK(skip.url.empty());
  CHECK(skip.skipped == std::vector<std::string>{"/a/b"});
  CHECK(skip.errors == std::vector<std::string>{"wandb: ERROR boom"});
}

TEST_CASE("keys are validated and redacted", "[sync_wandb][unit]") {
  const std::string key = RandomKey();
  CHECK(wandb::ValidKey(key));
  CHECK_FALSE(wandb::ValidKey("short"));
  CHECK_FALSE(wandb::ValidKey(key + " " + key));
  CHECK(wandb::Redact("a" + key + "b" + key, key) == "a[redacted]b[redacted]");
  CHECK(wandb::Redact("nothing", "") == "nothing");
}

TEST_CASE("the sync command is explicit, keyless and quoted",
          "[sync_wandb][unit]") {
  wandb::SyncRequest r{
      "/scratch/u/wandb/offline-run-1", "team-a", "proj-b", "", true, 600};
  wandb::Target direct;
  CHECK(wandb::WandbArgv(direct, r) ==
        std::vector<std::string>{"wandb", "sync", "--entity", "team-a",
                                 "--project", "proj-b", "--",
                                 "/scratch/u/wandb/offline-run-1"});
  auto t = wandb::TargetFromProfile(
      {{"via", "srun"},
       {"srun_args", {"--ntasks=1"}},
       {"container_exec", {"apptainer", "exec", "/img.sif"}},
       {"base_url", "https://w.example.com"}});
  r.wandb_id = "x1";
  r.mark_synced = false;
  CHECK(wandb::WandbArgv(t, r) ==
        std::vector<std::string>{
            "srun", "--ntasks=1", "apptainer", "exec", "/img.sif", "wandb",
            "sync", "--entity", "team-a", "--project", "proj-b", "--id", "x1",
            "--no-mark-synced", "--", "/scratch/u/wandb/offline-run-1"});
  auto argv = wandb::SyncArgv(t, r);
  CHECK(argv[0] == "sh");
  CHECK(argv[2].find("read -r WANDB_API_KEY") != std::string::npos);
  CHECK(argv[2].find("unset WANDB_ENTITY WANDB_PROJECT WANDB_BASE_URL") !=
        std::string::npos);
  CHECK(argv[4] == "https://w.example.com");
  CHECK(argv[5] == "600");
  CHECK(wandb::DisplayCommand(t, r, "/home/u/.wandb_token")
            .rfind(
                "WANDB_API_KEY=\"$(cat /home/u/.wandb_token)\" WANDB_BASE_URL=",
                0) == 0);
}

TEST_CASE("the token file is found where wandb users keep it",
          "[sync_wandb][unit]") {
  testing::TempDir home;
  remote::LocalRemote local;
  const std::string key = RandomKey(), other = RandomKey();
  wandb::Target t;
  auto missing = wandb::FindToken(local, home.path().string(), "", t);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().reason() == "wandb_token_missing");
  CHECK(missing.status().message().find(".wandb_token") != std::string::npos);
  CHECK(missing.status().message().find(".wandb_key") != std::string::npos);

  home.WriteFile(".wandb_key", other + "\n");
  auto k = wandb::FindToken(local, home.path().string(), "", t);
  REQUIRE(k.ok());
  CHECK(k->key == other);
  home.WriteFile(".wandb_token", "\n  " + key + "  \n\n");
  k = wandb::FindToken(local, home.path().string(), "", t);
  REQUIRE(k.ok());
  CHECK(k->key == key);
  CHECK(k->path == home.path().string() + "/.wandb_token");

  auto explicit_path =
      wandb::FindToken(local, home.path().string(), "~/.wandb_key", t);
  REQUIRE(explicit_path.ok());
  CHECK(explicit_path->key == other);

  home.WriteFile("two", key + "\n" + other + "\n");
  auto two = wandb::FindToken(local, home.path().string(), "~/two", t);
  REQUIRE_FALSE(two.ok());
  CHECK(two.status().message().find(key) == std::string::npos);
  CHECK(two.status().message().find(other) == std::string::npos);
}

// --------------------------------------------------------------- local --

TEST_CASE("find and read show an offline run without network",
          "[sync_wandb][local]") {
  LocalSetup s;
  Client c;
  json found = c.Call({{"repo", s.repo.path()},
                       {"profile", "wb"},
                       {"action", "find"},
                       {"path", s.train}});
  INFO(found.dump());
  REQUIRE_FALSE(found.value("isError", false));
  REQUIRE(found["structuredContent"]["runs"].size() == 1);
  json r = found["structuredContent"]["runs"][0];
  CHECK(r["path"] == s.run_dir);
  CHECK(r["wandb_run_id"] == "abc123");
  CHECK(r["offline"] == true);
  CHECK(r["synced"] == false);
  CHECK(r["started"] == "2026-03-11T15:00:00");

  // By run id alone: the run's workdir is searched.
  json read =
      c.Call({{"repo", s.repo.path()}, {"run_id", kRunId}, {"action", "read"}});
  INFO(read.dump());
  REQUIRE_FALSE(read.value("isError", false));
  json out = read["structuredContent"];
  CHECK(out["path"] == s.run_dir);
  CHECK(out["summary"]["loss"] == 0.07);
  CHECK(out["summary"]["grad_norm"] == "NaN");
  CHECK(out["config"] == json{{"lr", 0.0003}, {"batch_size", 32}});
  CHECK(out["metadata"]["program"] == "train.py");
  CHECK(out["recorded"]["project"] == "scratch-proj");
  CHECK(out["history"]["source"] == "run-abc123.wandb");
  CHECK(out["history"]["rows"] == 100);
  CHECK(out["history"]["metrics"]["loss"]["last"][0] == 99);
  CHECK(Text(read).find("loss:") != std::string::npos);
}

TEST_CASE(
    "a dry run measures, names the overridden defaults and changes nothing",
    "[sync_wandb][local]") {
  LocalSetup s;
  Client c;
  LogCapture log;
  json r = c.Call(s.Args({}));  // dry_run defaults to true.
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  json out = r["structuredContent"];
  CHECK(out["dry_run"] == true);
  CHECK(out["synced"] == false);
  CHECK(out["wandb_run_id"] == "abc123");
  CHECK(out["upload_files"] == 5);  // The log and four files/.
  CHECK(out["upload_bytes"].get<uint64_t>() > 1000);
  CHECK(out["not_uploaded_bytes"] == 1000);
  // The symlink in the shared staging counts as itself (its target's path).
  CHECK(out["staging_bytes"] ==
        64 * 1024 + 256 * 1024 + (s.train + "/outside").size());
  CHECK(out["staging"].size() == 2);
  CHECK(out["destination"] == json{{"entity", "team-a"},
                                   {"project", "proj-b"},
                                   {"base_url", "https://api.wandb.ai"}});
  CHECK(out["token_file"] == s.token_file);
  const std::string cmd = out["command"];
  CHECK(cmd.find("--entity team-a --project proj-b -- ") != std::string::npos);
  CHECK(cmd.find(s.token_file) != std::string::npos);
  CHECK(out["recorded_defaults"].size() == 2);
  const std::string text = Text(r);
  CHECK(text.find("scratch-proj") != std::string::npos);  // Warned about.
  CHECK(text.find("transient artifact staging") != std::string::npos);
  // Nothing changed, nothing journaled, no key anywhere.
  CHECK_FALSE(fs::exists(s.run_dir + "/run-abc123.wandb.synced"));
  CHECK(fs::exists(s.train + "/wandb_data/artifacts/staging/f2/model.ckpt"));
  CHECK_FALSE(fs::exists(s.record));
  for (const auto& e : s.repo.Events()) CHECK(e["name"] != "linked");
  CHECK(c.Everything().find(s.key) == std::string::npos);
  CHECK(log.text().find(s.key) == std::string::npos);
}

// Whether `text` holds the key, with context for the failure message.
void CheckNoKey(const std::string& what, const std::string& text,
                const std::string& key) {
  INFO(what);
  CHECK(text.find(key) == std::string::npos);
}

TEST_CASE("a real sync goes where it is told, links the URL and leaks no key",
          "[sync_wandb][local]") {
  LocalSetup s;
  Client c;
  LogCapture log;
  json dry = c.Call(s.Args({}));
  REQUIRE_FALSE(dry.value("isError", false));
  json r = c.Call(s.Args({{"dry_run", false}}), "sync-1");
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  json out = r["structuredContent"];
  // The explicit destination won over the shell's WANDB_* exports, the
  // training dir's wandb/settings and the run record.
  CHECK(out["url"] == "https://wandb.ai/team-a/proj-b/runs/abc123");
  CHECK(out["synced"] == true);
  CHECK(out["linked_run"] == kRunId);
  CHECK(out["exit_code"] == 0);
  CHECK(fs::exists(s.run_dir + "/run-abc123.wandb.synced"));
  CHECK_FALSE(c.Progress().empty());
  // What the stand-in saw: the documented words, the key by environment
  // only (it checks every ancestor's command line), the stale variables gone.
  const std::string rec = testing::ReadAll(s.record);
  CHECK(rec.find("argv=sync|--entity|team-a|--project|proj-b|--|" + s.run_dir +
                 "\n") != std::string::npos);
  CHECK(rec.find("cwd=" + s.train + "\n") != std::string::npos);
  CHECK(rec.find("key_sha256=" + Sha256Hex(s.key)) != std::string::npos);
  CHECK(rec.find("entity_env=<unset>") != std::string::npos);
  CHECK(rec.find("project_env=<unset>") != std::string::npos);
  CHECK(rec.find("base_url_env=https://api.wandb.ai") != std::string::npos);
  // Nothing the hostile directory name holds ran.
  CHECK_FALSE(fs::exists(s.train + "/canary"));
  CHECK_FALSE(fs::exists(s.train + "/canary2"));
  // The journal: one linked event on the run that holds the directory.
  int linked = 0;
  for (const auto& e : s.repo.Events())
    if (e["name"] == "linked") {
      ++linked;
      CHECK(e["run"] == kRunId);
      CHECK(e["context"]["kind"] == "wandb");
      CHECK(e["context"]["value"] == out["url"]);
      CHECK(e["context"]["project"] == "proj-b");
    }
  CHECK(linked == 1);
  json listed = testing::CallTool("list_runs", {{"repo", s.repo.path()}});
  CHECK(listed.dump().find("https://wandb.ai/team-a/proj-b/runs/abc123") !=
        std::string::npos);
  // The key: nowhere but in its token file.
  CheckNoKey("answers and notifications", c.Everything(), s.key);
  CheckNoKey("server log", log.text(), s.key);
  CHECK(LocalFilesHolding(s.repo.path(), s.key).empty());
}

TEST_CASE("prune_staging removes staging contents only and follows no symlink",
          "[sync_wandb][local]") {
  LocalSetup s;
  // A run whose artifacts/ is a symlink out: never listed, never pruned.
  const std::string other =
      s.train + "/wandb/offline-run-20260312_090000-def456";
  fs::create_directories(other + "/files");
  std::ofstream(other + "/run-def456.wandb", std::ios::binary)
      << TransactionLog({});
  fs::create_directories(s.train + "/outside/staging");
  std::ofstream(s.train + "/outside/staging/precious.bin") << "keep";
  fs::create_symlink(s.train + "/outside", other + "/artifacts");
  Client c;
  json plan = c.Call(s.Args({{"path", other}}));
  REQUIRE_FALSE(plan.value("isError", false));
  // The shared data dir is still seen from this run, its own artifacts/ not.
  for (const auto& st : plan["structuredContent"]["staging"])
    CHECK(st["scope"] == "data_dir");

  json r = c.Call(s.Args({{"dry_run", false}, {"prune_staging", true}}));
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  json out = r["structuredContent"];
  CHECK(out["pruned"].size() == 2);
  CHECK(out["synced"] == true);
  // Staging emptied, directories kept.
  CHECK(fs::is_empty(s.run_dir + "/artifacts/staging"));
  CHECK(fs::is_empty(s.train + "/wandb_data/artifacts/staging"));
  // The link was removed as a link; what it pointed to is intact.
  CHECK(testing::ReadAll(s.train + "/outside/keep.txt") ==
        "must survive pruning");
  CHECK(testing::ReadAll(s.train + "/outside/staging/precious.bin") == "keep");
  // The run's history, config, summary and logs are intact.
  for (const char* rel :
       {"/run-abc123.wandb", "/files/config.yaml", "/files/wandb-summary.json",
        "/files/output.log", "/logs/debug.log"})
    CHECK(fs::exists(s.run_dir + rel));
  json again = c.Call(s.Args({}));
  CHECK(again["structuredContent"]["staging_bytes"] == 0);
}

TEST_CASE("a staging directory reached through a symlink is refused",
          "[sync_wandb][local]") {
  LocalSetup s;
  // Swap the run's staging for a link after the listing would have seen a
  // directory: the prune script's own check refuses it.
  const std::string staging = s.run_dir + "/artifacts/staging";
  remote::LocalRemote local;
  auto real = wandb::RealPath(local, s.run_dir);
  REQUIRE(real.ok());
  fs::remove_all(staging);
  fs::create_symlink(s.train + "/outside", staging);
  Status st = wandb::PruneStaging(local, staging, *real + "/artifacts/staging");
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("symlink") != std::string::npos);
  CHECK(fs::exists(s.train + "/outside/keep.txt"));
}

TEST_CASE("a missing token fails a real sync and is a warning in a dry run",
          "[sync_wandb][local]") {
  LocalSetup s;
  Client c;
  const std::string none = (s.secrets.path() / "absent").string();
  json real = c.Call(s.Args({{"dry_run", false}, {"token_file", none}}));
  CHECK(real.value("isError", false));
  CHECK(Text(real).find("no W&B token file") != std::string::npos);
  CHECK(Text(real).find(none) != std::string::npos);
  CHECK_FALSE(fs::exists(s.record));  // wandb never ran.
  json dry = c.Call(s.Args({{"token_file", none}}));
  REQUIRE_FALSE(dry.value("isError", false));
  CHECK(dry["structuredContent"]["token_file"].is_null());
  CHECK(Text(dry).find("a real sync will fail") != std::string::npos);
}

TEST_CASE("entity and project are required and cannot pose as options",
          "[sync_wandb][local]") {
  LocalSetup s;
  Client c;
  for (const char* field : {"entity", "project"}) {
    json args = s.Args({});
    args.erase(field);
    json r = c.Call(args);
    INFO(r.dump());
    CHECK(r.value("isError", false));
    CHECK(Text(r).find(field) != std::string::npos);
  }
  json dash = c.Call(s.Args({{"project", "--sync-all"}}));
  CHECK(dash.value("isError", false));
  // read and find need no destination.
  json read = c.Call({{"repo", s.repo.path()},
                      {"profile", "wb"},
                      {"action", "read"},
                      {"path", s.run_dir},
                      {"keys", {"loss"}},
                      {"max_points", 5}});
  REQUIRE_FALSE(read.value("isError", false));
  CHECK(read["structuredContent"]["history"]["metrics"]["loss"]["points"]
            .size() == 5);
  // Paths outside the repository and roots are refused.
  json outside = c.Call(s.Args({{"path", "/etc"}}));
  CHECK(outside.value("isError", false));
}

TEST_CASE("a rejected key is reported without the key", "[sync_wandb][local]") {
  LocalSetup s(std::string(64, '0'));  // The stand-in expects another key.
  Client c;
  LogCapture log;
  json r = c.Call(s.Args({{"dry_run", false}}));
  INFO(r.dump());
  CHECK(r.value("isError", false));
  CHECK(Text(r).find("user is not logged in") != std::string::npos);
  for (const auto& e : s.repo.Events()) CHECK(e["name"] != "linked");
  CheckNoKey("answers", c.Everything(), s.key);
  CheckNoKey("server log", log.text(), s.key);
  CHECK(LocalFilesHolding(s.repo.path(), s.key).empty());
}

TEST_CASE("a sync that runs too long is stopped, with progress meanwhile",
          "[sync_wandb][local]") {
  LocalSetup s;
  // Slow the stand-in down through one more setup line.
  std::string yaml =
      testing::ReadAll(s.repo.path() + "/.hpc-mcp/profiles/wb.yaml");
  const std::string marker = "    - export WANDB_STANDIN_RECORD=";
  yaml.insert(yaml.find(marker), "    - export WANDB_STANDIN_SLEEP=60\n");
  s.repo.WriteProfile("wb", yaml);
  Client c;
  const auto start = std::chrono::steady_clock::now();
  json r = c.Call(s.Args({{"dry_run", false}, {"timeout_s", 12}}), "slow");
  const auto took = std::chrono::steady_clock::now() - start;
  INFO(r.dump());
  CHECK(r.value("isError", false));
  CHECK(Text(r).find("did not finish within 12 s") != std::string::npos);
  CHECK(took < std::chrono::seconds(40));
  bool heartbeat = false;
  for (const auto& p : c.Progress())
    heartbeat = heartbeat ||
                p["params"].value("message", "").find("wandb sync running") !=
                    std::string::npos;
  CHECK(heartbeat);
  CHECK_FALSE(fs::exists(s.run_dir + "/run-abc123.wandb.synced"));
}

// ------------------------------------------------------------- testbed --

// The fixture on the Slurm testbed, under a fresh directory of
// TESTBED_WORK, written over the profile's own Remote; the stand-in copied
// there and put on PATH by the profile's setup lines.
struct TestbedSetup {
  testing::RunRepo repo;
  std::string key = RandomKey();
  std::string root, train, run_dir, token_file, record;
  std::unique_ptr<runs::Cluster> cluster;

  TestbedSetup() {
    auto tb = testing::RequireTestbed();
    root = tb.work + "/wandb-" + std::to_string(::getpid()) + "-" +
           std::to_string(
               std::chrono::steady_clock::now().time_since_epoch().count());
    train = root + "/exp one";
    run_dir = train + "/wandb/" + kRunName;
    token_file = root + "/secret/wandb_token";
    record = root + "/standin.record";
    auto profile = [&](const std::string& name, const std::string& wandb) {
      repo.WriteProfile(
          name,
          "name: " + name +
              "\nscheduler: slurm\naccess:\n  kind: ssh\n  host: " + tb.host +
              "\n  port: " + std::to_string(tb.port) + "\n  user: " + tb.user +
              "\n  identity_file: " + tb.key +
              "\n  known_hosts: " + tb.known_hosts +
              "\nshell:\n  login: [bash, -l]\n  setup:\n    - export PATH=" +
              root +
              "/bin:$PATH\n    - export WANDB_ENTITY=stale-team "
              "WANDB_PROJECT=stale-project "
              "WANDB_BASE_URL=https://stale.example.com\n    - export "
              "WANDB_STANDIN_RECORD=" +
              record + " WANDB_STANDIN_KEY_SHA256=" + Sha256Hex(key) +
              "\npaths:\n  work_root: " + root + "/work\n  log_root: " + root +
              "/logs\n  allowed_roots: [" + root +
              "]\n"
              "limits: {min_query_interval_seconds: 0}\n" +
              wandb);
    };
    profile("tbw", "");
    profile(
        "tbw-srun",
        "wandb:\n  via: srun\n  srun_args: [--ntasks=1, --time=00:05:00]\n");
    auto c = runs::OpenCluster("tbw", repo.path());
    REQUIRE(c.ok());
    cluster = std::move(*c);
    auto& rm = *cluster->remote;
    for (const auto& [rel, content] : Fixture())
      REQUIRE(rm.WriteFileAtomic(train + "/" + rel, content).ok());
    REQUIRE(
        rm.WriteFileAtomic(root + "/bin/wandb", testing::WandbStandIn(), 0755)
            .ok());
    REQUIRE(rm.WriteFileAtomic(token_file, key + "\n", 0600).ok());
  }
  ~TestbedSetup() {
    if (!cluster) return;
    remote::RunOptions o;
    o.login_shell = false;
    (void)cluster->remote->Run({"rm", "-rf", "--", root}, o);
  }
  json Args(const std::string& profile, json extra) const {
    json a{{"repo", repo.path()}, {"profile", profile},
           {"path", run_dir},     {"entity", "team-a"},
           {"project", "proj-b"}, {"token_file", token_file}};
    if (extra.is_object()) a.update(extra);
    return a;
  }
  // Remote files (but the token file) that contain the key.
  std::vector<std::string> RemoteFilesHoldingKey() {
    std::vector<std::string> hits;
    auto l = wandb::Walk(*cluster->remote, root);
    REQUIRE(l.ok());
    for (const auto& e : l->entries) {
      const std::string p = root + "/" + e.rel;
      if (e.type != 'f' || p == token_file) continue;
      bool cut = false;
      auto text = wandb::ReadWhole(*cluster->remote, p, 16 << 20, &cut);
      if (text.ok() && text->find(key) != std::string::npos) hits.push_back(p);
    }
    return hits;
  }
};

TEST_CASE("on the Slurm testbed over SSH: dry run, read, then a real sync",
          "[sync_wandb][integration][testbed]") {
  TestbedSetup s;
  Client c;
  LogCapture log;
  json dry = c.Call(s.Args("tbw", {}));
  INFO(dry.dump());
  REQUIRE_FALSE(dry.value("isError", false));
  json d = dry["structuredContent"];
  CHECK(d["machine"].get<std::string>().rfind("ssh ", 0) == 0);
  CHECK(d["staging"].size() == 2);
  CHECK(d["token_file"] == s.token_file);

  json read = c.Call({{"repo", s.repo.path()},
                      {"profile", "tbw"},
                      {"action", "read"},
                      {"path", s.run_dir}});
  REQUIRE_FALSE(read.value("isError", false));
  CHECK(read["structuredContent"]["history"]["rows"] == 100);

  json r = c.Call(s.Args("tbw", {{"dry_run", false}, {"prune_staging", true}}),
                  "tb");
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  CHECK(r["structuredContent"]["url"] ==
        "https://wandb.ai/team-a/proj-b/runs/abc123");
  CHECK(r["structuredContent"]["pruned"].size() == 2);
  auto synced = s.cluster->remote->Stat(s.run_dir + "/run-abc123.wandb.synced");
  CHECK(synced.ok());
  bool cut = false;
  auto rec = wandb::ReadWhole(*s.cluster->remote, s.record, 1 << 20, &cut);
  REQUIRE(rec.ok());
  CHECK(rec->find("entity_env=<unset>") != std::string::npos);
  CHECK(rec->find("key_sha256=" + Sha256Hex(s.key)) != std::string::npos);
  // No run of this repository holds the directory: nothing to link.
  CHECK(r["structuredContent"]["linked_run"].is_null());
  CheckNoKey("answers and notifications", c.Everything(), s.key);
  CheckNoKey("server log", log.text(), s.key);
  CHECK(LocalFilesHolding(s.repo.path(), s.key).empty());
  CHECK(s.RemoteFilesHoldingKey().empty());
}

TEST_CASE(
    "on the Slurm testbed, through srun, with the URL journaled on its run",
    "[sync_wandb][integration][testbed]") {
  TestbedSetup s;
  auto store = runs::RunStore::ForRepo(s.repo.path());
  REQUIRE(store.ok());
  REQUIRE((*store)
              ->Append(kRunId, "created",
                       {{"name", "train"},
                        {"profile", "tbw-srun"},
                        {"scheduler", "slurm"},
                        {"spec", json::object()},
                        {"spec_hash", "0"},
                        {"workdir", s.train},
                        {"tag", "t"}})
              .ok());
  Client c;
  LogCapture log;
  json r = c.Call(s.Args("tbw-srun", {{"dry_run", false}, {"timeout_s", 300}}),
                  "srun");
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  json out = r["structuredContent"];
  CHECK(out["via"] == "srun");
  CHECK(out["command"].get<std::string>().find(
            "srun '--ntasks=1' '--time=00:05:00' wandb sync --entity team-a") !=
        std::string::npos);
  // The stand-in ran inside a Slurm job step, with the key exported to it.
  bool cut = false;
  auto rec = wandb::ReadWhole(*s.cluster->remote, s.record, 1 << 20, &cut);
  REQUIRE(rec.ok());
  CHECK(rec->find("slurm_job=<unset>") == std::string::npos);
  CHECK(rec->find("slurm_job=") != std::string::npos);
  CHECK(rec->find("key_sha256=" + Sha256Hex(s.key)) != std::string::npos);
  CHECK(out["url"] == "https://wandb.ai/team-a/proj-b/runs/abc123");
  CHECK(out["linked_run"] == kRunId);
  int linked = 0;
  for (const auto& e : s.repo.Events())
    linked += e["name"] == "linked" && e["context"]["value"] == out["url"];
  CHECK(linked == 1);
  CheckNoKey("answers and notifications", c.Everything(), s.key);
  CheckNoKey("server log", log.text(), s.key);
  CHECK(LocalFilesHolding(s.repo.path(), s.key).empty());
  CHECK(s.RemoteFilesHoldingKey().empty());
}

}  // namespace
}  // namespace hpc
