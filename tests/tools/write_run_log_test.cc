// write_run_log: the run log library (tools/runlog/) piece by piece, then
// the tool on real runs of the local profile (every action, a person's
// edits kept, traversal refused, evidence required, publish sanitized), and
// a finished Slurm run on the testbed over SSH turned into a complete log.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/files.h"
#include "tests/support/run_repo.h"
#include "tools/runlog/human_date.h"
#include "tools/runlog/layout.h"
#include "tools/runlog/markers.h"
#include "tools/runlog/repo_files.h"
#include "tools/runlog/sanitize.h"
#include "tools/runs/store.h"

namespace hpc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::RunRepo;

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The person's text of a run log: everything outside the markers.
std::string FreeText(const std::string& text) {
  auto doc = runlog::MarkedDoc::Parse(text, "test");
  REQUIRE(doc.ok());
  return doc->Flatten(
      [](const std::string&, const std::string&) { return std::string(); });
}

// "2026-03-11" from a run id "20260311-name-ab12" (both are UTC).
std::string DayOfRun(const std::string& id) {
  return id.substr(0, 4) + "-" + id.substr(4, 2) + "-" + id.substr(6, 2);
}

// A training job that prints five steps of train and val loss.
json TrainArgs(const std::string& name) {
  return {{"name", name},
          {"command",
           {"bash", "-c",
            "printf 'step=10 loss=2.5 val_loss=2.6\\nstep=20 loss=1.8 "
            "val_loss=2.0\\n"
            "step=30 loss=1.3 val_loss=1.5\\nstep=40 loss=1.1 val_loss=1.2\\n"
            "step=50 loss=0.9 val_loss=1.1\\n'"}}};
}

std::string Submit(RunRepo& repo, json args) {
  json r = repo.Call("submit", std::move(args));
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  return r["structuredContent"]["run_id"];
}

json Write(RunRepo& repo, json args) {
  json r = repo.Call("write_run_log", std::move(args));
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  return r["structuredContent"];
}

// ---- the library ----

TEST_CASE("run logs show human dates in UTC", "[write_run_log][unit]") {
  CHECK(runlog::Ordinal(1) == "1st");
  CHECK(runlog::Ordinal(2) == "2nd");
  CHECK(runlog::Ordinal(3) == "3rd");
  CHECK(runlog::Ordinal(11) == "11th");
  CHECK(runlog::Ordinal(12) == "12th");
  CHECK(runlog::Ordinal(13) == "13th");
  CHECK(runlog::Ordinal(22) == "22nd");
  CHECK(runlog::Ordinal(31) == "31st");
  CHECK(runlog::HumanDay("2026-02-25") ==
        std::optional<std::string>("Wednesday, Feb 25th, 2026"));
  CHECK(runlog::HumanDay("2026-02-20") ==
        std::optional<std::string>("Friday, Feb 20th, 2026"));
  CHECK_FALSE(runlog::HumanDay("2026-02-30"));
  CHECK_FALSE(runlog::HumanDay("2026-2-3"));
  CHECK(runlog::HumanDate(1772028000) ==
        "Wednesday, Feb 25th, 2026");  // 14:00 UTC.
  CHECK(runlog::IsoUtc(1772028000) == "2026-02-25T14:00:00Z");
  CHECK(runlog::MinuteUtc(1772028000) == "2026-02-25 14:00 UTC");
  CHECK(runlog::Hms(97380) == "27:03:00");
}

TEST_CASE("marked documents keep the person's text byte for byte",
          "[write_run_log][unit]") {
  const std::string text =
      "My notes before.\r\n"
      "<!-- hpc-mcp:begin section=mode -->\n## Mode\n- old\n<!-- hpc-mcp:end "
      "section=mode -->\n"
      "\nIn between, no final newline";
  auto doc = runlog::MarkedDoc::Parse(text, "x.md");
  REQUIRE(doc.ok());
  CHECK(doc->Text() == text);
  doc->Put("mode", "## Mode\n- new", {});
  CHECK(doc->Body("mode") == "## Mode\n- new\n");
  doc->Put("next", "## Next\n- a\n",
           {runlog::MarkedDoc::Place::kAfter, {"title", "mode"}});
  doc->Append("status", "## Status\n", "- one\n",
              {runlog::MarkedDoc::Place::kEnd, {}});
  doc->Append("status", "## Status\n", "- two\n", {});
  const std::string out = doc->Text();
  CHECK(out.rfind("My notes before.\r\n", 0) == 0);
  CHECK(Has(out,
            "\nIn between, no final newline\n\n<!-- hpc-mcp:begin "
            "section=status append -->\n"
            "## Status\n- one\n- two\n<!-- hpc-mcp:end section=status -->\n"));
  CHECK(Has(out,
            "<!-- hpc-mcp:end section=mode -->\n\n<!-- hpc-mcp:begin "
            "section=next -->\n"));
  CHECK(FreeText(out).find("My notes before.\r\n") == 0);

  SECTION("broken markers are refused, not guessed at") {
    for (const std::string& bad :
         std::vector<std::string>{"<!-- hpc-mcp:end section=mode -->\n",
                                  "<!-- hpc-mcp:begin section=mode -->\nx\n",
                                  "<!-- hpc-mcp:begin section=a -->\n<!-- "
                                  "hpc-mcp:begin section=b -->\n",
                                  "<!-- hpc-mcp:begin section=a -->\n<!-- "
                                  "hpc-mcp:end section=b -->\n",
                                  "<!-- hpc-mcp:begin section=Mode! -->\n",
                                  "<!-- hpc-mcp:begin section=a -->\n<!-- "
                                  "hpc-mcp:end section=a -->\n"
                                  "<!-- hpc-mcp:begin section=a -->\n<!-- "
                                  "hpc-mcp:end section=a -->\n"}) {
      auto r = runlog::MarkedDoc::Parse(bad, "x.md");
      INFO(bad);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == StatusCode::kFailedPrecondition);
      CHECK(Has(r.status().message(), "x.md:"));
    }
  }
  SECTION("a value cannot forge a marker") {
    CHECK(runlog::InlineText("a\n<!-- hpc-mcp:end section=mode -->") ==
          "a &lt;!-- hpc-mcp:end section=mode -->");
  }
}

TEST_CASE("run log paths stay inside the repository", "[write_run_log][unit]") {
  auto ok = runlog::RunLogPath("arx5_multitask", "2026-03-22", "train");
  REQUIRE(ok.ok());
  CHECK(*ok == "run_logs/arx5_multitask/2026-03-22_train.md");
  CHECK(*runlog::RunLogPath("", "2026-03-22", "eval") ==
        "run_logs/2026-03-22_eval.md");
  for (const std::string& bad : std::vector<std::string>{
           "../../x", "..", ".", "a/b", "", "/etc", "-rf", "x\ny"}) {
    INFO(bad);
    if (!bad.empty())
      CHECK_FALSE(
          runlog::RunLogPath(bad, "2026-03-22", "train").ok());  // "": flat.
    CHECK_FALSE(runlog::RunLogPath("g", "2026-03-22", bad).ok());
  }
  CHECK(runlog::CheckRelative("run_logs/g/publish/x/").ok());
  CHECK_FALSE(runlog::CheckRelative("run_logs/../../etc").ok());
  CHECK_FALSE(runlog::CheckRelative("/etc/passwd").ok());

  testing::TempDir dir, outside;
  auto files = runlog::RepoFiles::Open(dir.path().string());
  REQUIRE(files.ok());
  // A directory that is a symlink out of the repository is refused, for
  // reading and for writing; so is a file that is a symlink.
  fs::create_directories(dir.path() / "run_logs");
  fs::create_directory_symlink(outside.path(),
                               dir.path() / "run_logs" / "escape");
  testing::WriteAll((outside.path() / "secret.md").string(), "secret");
  CHECK(files->Resolve("run_logs/escape/secret.md").status().code() ==
        StatusCode::kPermissionDenied);
  CHECK_FALSE(files->Read("run_logs/escape/secret.md").ok());
  CHECK_FALSE(files->Write("run_logs/escape/new.md", "x").ok());
  CHECK_FALSE(fs::exists(outside.path() / "new.md"));
  fs::create_symlink(outside.path() / "secret.md",
                     dir.path() / "run_logs" / "link.md");
  CHECK_FALSE(files->Read("run_logs/link.md").ok());
  // A plain write is atomic and leaves no temporary file behind.
  REQUIRE(files->Write("run_logs/g/a.md", "hello\n").ok());
  CHECK(testing::ReadAll((dir.path() / "run_logs/g/a.md").string()) ==
        "hello\n");
  CHECK(*files->List("run_logs/g") == std::vector<std::string>{"a.md"});
}

TEST_CASE("the sanitizer removes what identifies and keeps what teaches",
          "[write_run_log][unit]") {
  const std::string hex40 = "0123456789abcdef0123456789abcdef01234567";
  const std::string text =
      "- execution_id: `4242` and job 4242 wrote slurm-4242.out, array "
      "1234567_3\n"
      "- ran on node gpu-a017 as alice, also nid001234 and 10.1.2.3\n"
      "- data in /home/alice/datasets/train.bin and "
      "/scratch/proj/alice/run1/ckpt/step_50\n"
      "- also ~/.cache/thing and $SCRATCH/big/file.pt\n"
      "- env: wandb_api_key=" +
      hex40 +
      " WANDB_API_KEY=\"abc123secret\"\n"
      "- tokens ghp_" +
      std::string(36, 'a') + " hf_" + std::string(30, 'b') + " key " + hex40 +
      "\n"
      "- {\"hf_token\": \"xyz987\"} Authorization: Bearer abcdefghijkl\n"
      "- https://wandb.ai/alice/proj/runs/abc123 and "
      "https://user:pw@host.example/x\n"
      "- step 4242 loss 0.5, val_loss 0.7, tokens_per_second: 5000, "
      "max_tokens=512, lr 3e-4\n";
  runlog::Identifiers ids;
  ids.job_ids = {"4242", "1234567"};
  ids.users = {"root"};  // Generic: never replaced.
  runlog::LearnFromText(text, ids);
  CHECK(std::find(ids.users.begin(), ids.users.end(), "alice") !=
        ids.users.end());
  CHECK(std::find(ids.nodes.begin(), ids.nodes.end(), "gpu-a017") !=
        ids.nodes.end());
  const std::string out = runlog::Sanitize(text, ids);
  INFO(out);
  for (const std::string& gone : std::vector<std::string>{
           "`4242`", "job 4242", "slurm-4242", "1234567", "gpu-a017",
           "nid001234", "10.1.2.3", "/home/", "/scratch/", "alice/run1",
           "~/.cache", "$SCRATCH", hex40, "abc123secret", "ghp_", "hf_bbbb",
           "xyz987", "abcdefghijkl", "user:pw@"})
    CHECK_FALSE(Has(out, gone));
  CHECK_FALSE(Has(out, " alice"));
  for (const std::string& kept : std::vector<std::string>{
           "train.bin", "step_50", "file.pt",
           "https://wandb.ai/alice/proj/runs/abc123", "step 4242 loss 0.5",
           "val_loss 0.7", "tokens_per_second: 5000", "max_tokens=512",
           "lr 3e-4"})
    CHECK(Has(out, kept));
  CHECK(runlog::Leaks(out, ids).empty());
  CHECK_FALSE(runlog::Leaks(text, ids).empty());
  CHECK(runlog::Sanitize(out, ids) == out);
}

// ---- the tool on the local profile ----

TEST_CASE(
    "write_run_log keeps a run's log through create, status, complete and "
    "publish",
    "[write_run_log][local]") {
  RunRepo repo;
  const std::string id = Submit(repo, TrainArgs("train"));
  const std::string day = DayOfRun(id);
  const std::string rel =
      "run_logs/arx5_multitask/" + day + "_train_front_cam.md";
  const std::string file = repo.path() + "/" + rel;

  json created =
      Write(repo, {{"run_id", id},
                   {"action", "create"},
                   {"group", "arx5_multitask"},
                   {"task", "train_front_cam"},
                   {"run_type", "experiment"},
                   {"objective", "does the front camera alone suffice?"},
                   {"description", "front cam, default LR"},
                   {"dataset", "`arx5.zarr` from the lab share"},
                   {"key_settings", "lr 3e-4, batch 64"},
                   {"notes", "baseline"}});
  CHECK(created["path"] == rel);
  CHECK(std::find(created["files_written"].begin(),
                  created["files_written"].end(),
                  rel) != created["files_written"].end());
  std::string log = testing::ReadAll(file);
  INFO(log);
  for (const std::string& part : std::vector<std::string>{
           "# train_front_cam \xE2\x80\x94 front cam, default LR",
           "## Mode\n- run_type: experiment\n",
           "- objective: does the front camera alone suffice?",
           "## Config\n- command: `bash -c ",
           "- dataset: `arx5.zarr` from the lab share",
           "- key settings: lr 3e-4, batch 64",
           "## Job\n- run_id: `" + id + "`", "- execution_id: `", "## Status\n",
           "## Results\n- pending", "## W&B\n", "- synced: pending",
           "## Next\n", "<!-- hpc-mcp:begin section=job:" + id + " -->",
           "<!-- hpc-mcp:begin section=status append -->"})
    CHECK(Has(log, part));
  // The journal links the run to its log.
  bool linked = false;
  for (const auto& e : repo.Events())
    linked =
        linked || (e["name"] == "linked" && e["context"]["kind"] == "run_log" &&
                   e["context"]["value"] == rel && e["run"] == id);
  CHECK(linked);
  const std::string timeline =
      testing::ReadAll(repo.path() + "/run_logs/arx5_multitask/timeline.md");
  INFO(timeline);
  CHECK(Has(timeline, "# Arx5 Multitask Timeline\n"));
  CHECK(Has(timeline, "1. [`" + day + "_train_front_cam.md`](" + day +
                          "_train_front_cam.md) \xE2\x80\x94 " +
                          *runlog::HumanDay(day) +
                          " \xE2\x80\x94 front cam, default LR"));
  const std::string experiments =
      testing::ReadAll(repo.path() + "/run_logs/arx5_multitask/experiments.md");
  CHECK(
      Has(experiments, "| run | description | key metric | status | notes |"));
  CHECK(Has(experiments, "| [" + day + "_train_front_cam](" + day +
                             "_train_front_cam.md) | front cam, default LR |"));

  json done = repo.WaitEnded(id);
  REQUIRE(done["state"] == "completed");

  // A person edits the file between calls: text before, between and after
  // the sections, which no later call may change.
  log = testing::ReadAll(file);
  const size_t mode_at = log.find("<!-- hpc-mcp:begin section=mode");
  REQUIRE(mode_at != std::string::npos);
  log.insert(
      mode_at,
      "Hand-written: I chose this split because of the wrist cam glare.\n\n");
  const size_t status_at = log.find("<!-- hpc-mcp:begin section=status");
  log.insert(status_at, "> a quote someone pasted\n\n");
  log += "\n## My analysis\nThe curve flattens after step 40.\n";
  // Entries of the append-only Status section are never rewritten either.
  log.insert(log.find("<!-- hpc-mcp:end section=status"),
             "- by hand: GPU util 95% at step 30\n");
  testing::WriteAll(file, log);
  const std::string free_before = FreeText(log);

  json status = Write(repo, {{"run_id", id},
                             {"action", "status"},
                             {"entry", "loss falling steadily"}});
  CHECK(Has(status["entry"].get<std::string>(),
            "completed, step 50, loss 0.9, val_loss 1.1"));
  CHECK(Has(status["entry"].get<std::string>(),
            "\xE2\x80\x94 loss falling steadily"));
  json given = Write(repo, {{"run_id", id},
                            {"action", "status"},
                            {"entry", "checked by hand"},
                            {"evidence", {{"step", 40}, {"loss", 1.1}}}});
  CHECK(Has(given["entry"].get<std::string>(),
            "completed, step 40, loss 1.1 \xE2\x80\x94 checked by hand"));

  // The W&B link sync_wandb records.
  auto store = runs::RunStore::ForRepo(repo.path());
  REQUIRE(store.ok());
  REQUIRE((*store)
              ->Append(
                  id, "linked",
                  {{"kind", "wandb"},
                   {"value", "https://wandb.ai/team/proj/runs/abc123"},
                   {"path",
                    repo.path() + "/wandb/offline-run-20260311_150000-abc123"}})
              .ok());

  json completed = Write(
      repo, {{"run_id", id},
             {"action", "complete"},
             {"loss_one_liner", "smooth descent, no plateau yet"},
             {"checkpoint_path", repo.path() + "/ckpt/step_50"},
             {"config_snapshot_path", repo.path() + "/outputs/config.yaml"},
             {"wandb_notes", "val tracks train closely"},
             {"verdict", "keep"},
             {"next", {"resume for 50 more steps"}}});
  CHECK(std::find(completed["sections"].begin(), completed["sections"].end(),
                  "results") != completed["sections"].end());
  log = testing::ReadAll(file);
  INFO(log);
  CHECK(FreeText(log) == free_before);
  CHECK(Has(log, "## Status\n- by hand: GPU util 95% at step 30\n- "));
  for (const std::string& part : std::vector<std::string>{
           "- final step: 50\n", "- start_train_loss: `2.5`",
           "- end_train_loss: `0.9`", "- start_val_loss: `2.6`",
           "- end_val_loss: `1.1`",
           "- loss_one_liner: smooth descent, no plateau yet",
           "- checkpoint: `" + repo.path() + "/ckpt/step_50`",
           "- config_snapshot: `" + repo.path() + "/outputs/config.yaml`",
           "- runtime: `", "- synced: https://wandb.ai/team/proj/runs/abc123",
           "- local: `" + repo.path() + "/wandb/offline-run-",
           "- notes: val tracks train closely",
           "- wandb: https://wandb.ai/team/proj/runs/abc123",
           "- resume for 50 more steps", "- state: completed (exit code 0)",
           "- start_human: `", "- end_human: `",
           "completed, step 50, loss 0.9, val_loss 1.1 \xE2\x80\x94 loss "
           "falling steadily",
           "completed, step 40, loss 1.1 \xE2\x80\x94 checked by hand"})
    CHECK(Has(log, part));
  CHECK_FALSE(Has(log, "## Results\n- pending"));
  // Status entries appear once each, in order.
  CHECK(log.find("loss falling steadily") < log.find("checked by hand"));
  CHECK(log.find("loss falling steadily") ==
        log.rfind("loss falling steadily"));
  const std::string experiments2 =
      testing::ReadAll(repo.path() + "/run_logs/arx5_multitask/experiments.md");
  CHECK(Has(
      experiments2,
      "| front cam, default LR | val_loss 1.1 | completed, keep | baseline |"));

  SECTION("calling complete again changes nothing") {
    json again = Write(repo, {{"run_id", id}, {"action", "complete"}});
    CHECK(again["files_written"].empty());
    CHECK(testing::ReadAll(file) == log);
  }

  SECTION("publish writes a sanitized TRAINING_LOG.md") {
    // Plant what must not be published: in the person's text and in a
    // status entry.
    const std::string hex40 = "89abcdef0123456789abcdef0123456789abcdef";
    std::string planted = testing::ReadAll(file);
    planted +=
        "\nRan on node gpu-a017 as alice; data in /home/alice/data/arx5.zarr "
        "and "
        "/scratch/alice/runs/ckpt.\n"
        "export wandb_api_key=" +
        hex40 + "\nremote: ghp_" + std::string(36, 'x') +
        "\n"
        "key " +
        hex40 + "\n";
    testing::WriteAll(file, planted);
    json more = Write(repo, {{"run_id", id},
                             {"action", "status"},
                             {"entry", "checked on gpu-a017, HF token hf_" +
                                           std::string(30, 'q')},
                             {"evidence", {{"step", 50}, {"val_loss", 1.1}}}});
    json pub = Write(repo, {{"run_id", id}, {"action", "publish"}});
    const std::string out_rel = "run_logs/arx5_multitask/publish/" + day +
                                "_train_front_cam/TRAINING_LOG.md";
    CHECK(pub["published"] == out_rel);
    const std::string training = testing::ReadAll(repo.path() + "/" + out_rel);
    INFO(training);
    std::vector<std::string> job_ids;
    for (const auto& e : repo.Events())
      if (e["run"] == id && e["name"] == "submitted")
        job_ids.push_back(e["context"]["job_id"]);
    REQUIRE_FALSE(job_ids.empty());
    for (const auto& j : job_ids) CHECK_FALSE(Has(training, j));
    for (const std::string& gone : std::vector<std::string>{
             id, "gpu-a017", "alice", "/home/", "/scratch/", repo.path(), hex40,
             "ghp_", "hf_qqq", "wandb/offline-run", "execution_id",
             "hpc-mcp:begin", "Run log kept by"})
      CHECK_FALSE(Has(training, gone));
    for (const std::string& kept : std::vector<std::string>{
             "# train_front_cam \xE2\x80\x94 front cam, default LR",
             "- run_type: experiment", "- key settings: lr 3e-4, batch 64",
             "- end_val_loss: `1.1`", "- final step: 50",
             "- loss_one_liner: smooth descent, no plateau yet",
             "- synced: https://wandb.ai/team/proj/runs/abc123", "step_50",
             "arx5.zarr", "Hand-written: I chose this split",
             "The curve flattens after step 40.",
             "completed, step 50, val_loss 1.1"})
      CHECK(Has(training, kept));
    // The run log itself is untouched by publish.
    CHECK(Has(testing::ReadAll(file), "execution_id"));
  }
}

TEST_CASE("resume appends a resumed job block to the same file",
          "[write_run_log][local]") {
  RunRepo repo;
  const std::string first = Submit(repo, TrainArgs("walltime"));
  Write(repo, {{"run_id", first},
               {"action", "create"},
               {"run_type", "replication"},
               {"objective", "does training run end to end here?"}});
  repo.WaitEnded(first);
  const std::string rel = "run_logs/" + DayOfRun(first) + "_walltime.md";
  const std::string file = repo.path() + "/" + rel;
  std::string log = testing::ReadAll(file);
  log += "\nPerson: the first job hit the walltime.\n";
  testing::WriteAll(file, log);

  json args = TrainArgs("walltime-resume");
  const std::string second = Submit(repo, args);
  json resumed = Write(repo, {{"run_id", second},
                              {"action", "resume"},
                              {"resumes", first},
                              {"resumed_from", "ckpt/step_50"}});
  CHECK(resumed["path"] == rel);
  repo.WaitEnded(second);
  Write(
      repo,
      {{"run_id", second}, {"action", "status"}, {"evidence", {{"step", 10}}}});
  json completed = Write(repo, {{"run_id", second}, {"action", "complete"}});
  CHECK(completed["path"] == rel);

  log = testing::ReadAll(file);
  INFO(log);
  // One run log file (and the timeline), never a second one.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(repo.path() + "/run_logs"))
    names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{DayOfRun(first) + "_walltime.md",
                                          "timeline.md"});
  const size_t person = log.find("Person: the first job hit the walltime.");
  const size_t block = log.find("## Job (resumed)");
  REQUIRE(person != std::string::npos);
  REQUIRE(block != std::string::npos);
  CHECK(person < block);  // Appended after everything that was there.
  CHECK(Has(log, "<!-- hpc-mcp:begin section=job:" + second +
                     " -->\n## Job (resumed)\n- run_id: `" + second));
  CHECK(Has(log, "- resumed from: `ckpt/step_50`"));
  CHECK(log.find("## Job\n") < log.find("## Status"));
  // Results cover both jobs: the first job's first loss, the last job's last.
  CHECK(Has(log, "- start_train_loss: `2.5`"));
  CHECK(Has(log, "- end_train_loss: `0.9`"));
  // Both runs link to the same file.
  int links = 0;
  for (const auto& e : repo.Events())
    links += e["name"] == "linked" && e["context"]["value"] == rel &&
             e["context"]["action"] != "status" &&
             e["context"]["action"] != "complete";
  CHECK(links == 2);

  SECTION("a second run cannot create over the first one's file") {
    const std::string third = Submit(repo, TrainArgs("other"));
    json r = repo.Call("write_run_log", {{"run_id", third},
                                         {"action", "create"},
                                         {"task", "walltime"},
                                         {"run_type", "experiment"},
                                         {"objective", "x"}});
    if (DayOfRun(third) == DayOfRun(first)) {
      CHECK(r.value("isError", false));
      CHECK(Has(testing::ResultText(r), "resume"));
    }
  }
}

TEST_CASE(
    "write_run_log refuses traversal, evidence-free status and unknown runs",
    "[write_run_log][local]") {
  RunRepo repo;
  const std::string id =
      Submit(repo, {{"name", "quiet"}, {"command", {"echo", "hello"}}});
  for (const json& bad : {json{{"group", "../../x"}}, json{{"task", "../../x"}},
                          json{{"group", "a/b"}}, json{{"task", ".hidden"}}}) {
    json args{{"run_id", id},
              {"action", "create"},
              {"run_type", "experiment"},
              {"objective", "x"}};
    args.update(bad);
    json r = repo.Call("write_run_log", args);
    INFO(r.dump());
    CHECK(r.value("isError", false));
  }
  CHECK_FALSE(fs::exists(repo.path() + "/run_logs"));
  CHECK_FALSE(fs::exists(fs::path(repo.path()).parent_path() / "x"));

  json no_mode =
      repo.Call("write_run_log", {{"run_id", id}, {"action", "create"}});
  CHECK(no_mode.value("isError", false));
  CHECK(Has(testing::ResultText(no_mode), "run_type"));
  json early = repo.Call(
      "write_run_log", {{"run_id", id}, {"action", "status"}, {"entry", "ok"}});
  CHECK(early.value("isError", false));
  CHECK(Has(testing::ResultText(early), "create"));

  Write(repo, {{"run_id", id},
               {"action", "create"},
               {"run_type", "pipeline"},
               {"subtype", "data generation"},
               {"objective", "write the shards"}});
  CHECK(Has(
      testing::ReadAll(repo.path() + "/run_logs/" + DayOfRun(id) + "_quiet.md"),
      "- run_type: pipeline (data generation)"));
  repo.WaitEnded(id);
  const std::string before =
      testing::ReadAll(repo.path() + "/run_logs/" + DayOfRun(id) + "_quiet.md");
  json bare = repo.Call(
      "write_run_log",
      {{"run_id", id}, {"action", "status"}, {"entry", "looks fine"}});
  INFO(bare.dump());
  CHECK(bare.value("isError", false));
  CHECK(Has(testing::ResultText(bare), "evidence"));
  CHECK(testing::ReadAll(repo.path() + "/run_logs/" + DayOfRun(id) +
                         "_quiet.md") == before);

  json unknown =
      repo.Call("write_run_log",
                {{"run_id", "20260101-nothing-0000"}, {"action", "create"}});
  CHECK(unknown.value("isError", false));

  SECTION("broken markers stop the call and nothing is written") {
    const std::string file =
        repo.path() + "/run_logs/" + DayOfRun(id) + "_quiet.md";
    std::string text = testing::ReadAll(file);
    const size_t end = text.find("<!-- hpc-mcp:end section=mode -->");
    text.erase(end, std::string("<!-- hpc-mcp:end section=mode -->").size());
    testing::WriteAll(file, text);
    json r = repo.Call(
        "write_run_log",
        {{"run_id", id}, {"action", "status"}, {"evidence", {{"step", 1}}}});
    CHECK(r.value("isError", false));
    CHECK(testing::ReadAll(file) == text);
  }
}

// ---- Slurm on the testbed ----

TEST_CASE("a finished Slurm run on the testbed becomes a complete run log",
          "[write_run_log][integration][testbed][slurm]") {
  RunRepo repo;
  const std::string root = repo.AddTestbedProfile("tb-slurm", "slurm");
  json args = TrainArgs("slurm-train");
  args["profile"] = "tb-slurm";
  const std::string id = Submit(repo, args);
  Write(repo, {{"run_id", id},
               {"action", "create"},
               {"group", "testbed"},
               {"run_type", "replication"},
               {"objective", "train on Slurm over SSH"},
               {"description", "testbed replication"}});
  json done = repo.WaitEnded(id, std::chrono::seconds(240));
  INFO(done.dump());
  REQUIRE(done["state"] == "completed");
  json completed =
      Write(repo, {{"run_id", id},
                   {"action", "complete"},
                   {"loss_one_liner", "converges as on a laptop"}});
  CHECK(completed.value("warnings", json::array()).empty());
  const std::string rel =
      "run_logs/testbed/" + DayOfRun(id) + "_slurm-train.md";
  const std::string log = testing::ReadAll(repo.path() + "/" + rel);
  INFO(log);
  std::string job_id;
  for (const auto& e : repo.Events())
    if (e["run"] == id && e["name"] == "submitted")
      job_id = e["context"]["job_id"];
  REQUIRE_FALSE(job_id.empty());
  CHECK(Has(log, "- execution_id: `" + job_id + "`"));
  CHECK(Has(log, "(profile `tb-slurm`, slurm)"));
  CHECK(Has(log, "- node: "));  // From sacct.
  CHECK(Has(log, "- final step: 50"));
  CHECK(Has(log, "- start_train_loss: `2.5`"));
  CHECK(Has(log, "- end_val_loss: `1.1`"));
  CHECK(Has(log, "- log: `" + root + "/logs/"));
  CHECK(Has(log, "- state: completed (exit code 0)"));
  CHECK(Has(testing::ReadAll(repo.path() + "/run_logs/testbed/timeline.md"),
            "# Testbed Timeline"));

  json pub = Write(repo, {{"run_id", id}, {"action", "publish"}});
  const std::string training =
      testing::ReadAll(repo.path() + "/" + pub["published"].get<std::string>());
  INFO(training);
  const testing::Testbed tb = testing::RequireTestbed();
  CHECK_FALSE(Has(training, "`" + job_id + "`"));
  CHECK_FALSE(Has(training, "job " + job_id));
  CHECK_FALSE(Has(training, root));
  CHECK_FALSE(Has(training, tb.user));
  CHECK_FALSE(Has(training, tb.host));
  const size_t node_at = log.find("- node: ");
  const std::string node =
      log.substr(node_at + 8, log.find('\n', node_at) - node_at - 8);
  CHECK_FALSE(Has(training, node));
  CHECK(Has(training, "- final step: 50"));
  CHECK(Has(training, "- loss_one_liner: converges as on a laptop"));
}

}  // namespace
}  // namespace hpc
