// sign_checkpoint: the hashing library (OpenSSL in parallel locally,
// sha256sum over the Remote), the refusals, the formats against their
// published schemas, SSH signatures that stock OpenSSH verifies, progress,
// the journal link; on the local profile and on the Slurm testbed over SSH.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>

#include "mcp_server/json_rpc.h"
#include "tests/support/checkpoint_fixture.h"
#include "tools/checkpoint/passport.h"
#include "tools/checkpoint/sha256.h"
#include "tools/checkpoint/site.h"

namespace hpc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::LocalCheckpoint;
using testing::RandomBytes;
using testing::ReadAll;
using testing::RunLocal;
using testing::RunRepo;
using testing::TestKey;

std::string SumOf(const std::string& path) {
  auto r = RunLocal({"sha256sum", "--", path});
  REQUIRE(r.ok());
  return r.out.substr(0, 64);
}

json Sign(RunRepo& repo, json args) {
  if (!args.contains("verdict")) args["verdict"] = "pass";
  if (!args.contains("signer")) args["signer"] = "alice@example.org";
  return repo.Call("sign_checkpoint", std::move(args));
}

TEST_CASE("SHA-256 of files in parallel agrees with sha256sum",
          "[unit][sign_checkpoint]") {
  CHECK(checkpoint::Sha256Hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(checkpoint::Sha256Hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  testing::TempDir dir;
  LocalCheckpoint c(dir.path().string());
  std::vector<checkpoint::HashTask> tasks;
  // Sizes around the buffer: empty, one byte, buffer +- 1, several buffers.
  for (size_t size : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096},
                      size_t{4097}, size_t{1 << 20}, size_t{(5 << 20) + 3}})
    tasks.push_back({c.Write("f" + std::to_string(size),
                             RandomBytes(size, static_cast<unsigned>(size))),
                     size});
  for (int threads : {1, 3, 16}) {
    checkpoint::HashOptions o;
    o.threads = threads;
    o.buffer_bytes = 4096;
    uint64_t last_done = 0, last_total = 0;
    o.progress = [&](uint64_t d, uint64_t t) { last_done = d, last_total = t; };
    auto r = checkpoint::HashLocalFiles(tasks, o);
    REQUIRE(r.ok());
    for (size_t i = 0; i < tasks.size(); ++i) {
      INFO(tasks[i].path << " threads " << threads);
      CHECK((*r)[i].error.empty());
      CHECK((*r)[i].sha256 == SumOf(tasks[i].path));
    }
    CHECK(last_done == last_total);
    CHECK(last_total == (5 << 20) + 3 + (1 << 20) + 4095 + 4096 + 4097 + 1);
  }
  SECTION(
      "a size other than listed, a symlink and a missing file are per-file "
      "errors") {
    fs::create_symlink(tasks[3].path, dir.path() / "link");
    std::vector<checkpoint::HashTask> odd{
        {tasks[2].path, 1},
        {(dir.path() / "link").string(), 4096},
        {(dir.path() / "nope").string(), 0},
        tasks[5]};
    auto r = checkpoint::HashLocalFiles(odd, {});
    REQUIRE(r.ok());
    CHECK_THAT((*r)[0].error, Catch::Contains("changed while it was read"));
    CHECK_THAT((*r)[1].error, Catch::Contains("symbolic link"));
    CHECK_FALSE((*r)[2].error.empty());
    CHECK((*r)[3].sha256 == SumOf(tasks[5].path));
  }
  SECTION("a stop request cancels") {
    std::stop_source stop;
    stop.request_stop();
    checkpoint::HashOptions o;
    o.stop = stop.get_token();
    CHECK(checkpoint::HashLocalFiles(tasks, o).status().code() ==
          StatusCode::kCancelled);
  }
}

TEST_CASE(
    "find -printf output is parsed with odd names, symlinks and the root's "
    "type",
    "[unit][sign_checkpoint]") {
  std::string out;
  auto rec = [&](std::string y, std::string s, std::string t, std::string p,
                 std::string l) {
    for (const auto& f : {y, s, t, p, l}) out += f + std::string(1, '\0');
  };
  rec("d", "4096", "1700000000.5", "", "");
  rec("f", "12", "1700000001.0000000000", "b/new\nline.bin", "");
  rec("l", "11", "1700000002.1", "a.safetensors", "/etc/passwd");
  rec("d", "4096", "1700000003.0", "b", "");
  auto t = checkpoint::ParseFindOutput("/ck", out);
  REQUIRE(t.ok());
  REQUIRE(t->entries.size() == 3);
  CHECK(t->entries[0].path == "a.safetensors");
  CHECK(t->entries[0].type == checkpoint::EntryType::kSymlink);
  CHECK(t->entries[0].link_target == "/etc/passwd");
  CHECK(t->Find("b/new\nline.bin")->size == 12);
  CHECK(t->Find("b/new\nline.bin")->mtime == 1700000001);
  CHECK(t->Find("b")->type == checkpoint::EntryType::kDir);
  std::string file_root;
  for (const auto& f : {"f", "1", "1", "", ""})
    file_root += std::string(f) + std::string(1, '\0');
  CHECK(checkpoint::ParseFindOutput("/x", file_root).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(checkpoint::ParseFindOutput("/x", "").status().code() ==
        StatusCode::kNotFound);
}

TEST_CASE("relative paths that leave the root are refused",
          "[unit][sign_checkpoint]") {
  for (std::string ok : {"a", "a/b.bin", ".hidden/x", "a..b", "...", "-x"})
    CHECK(checkpoint::CheckRelativePath(ok).ok());
  for (std::string bad : {"", "/etc/passwd", "../x", "a/../../x", "a/..", "./a",
                          "a//b", "a/", "a\xff"}) {
    INFO(bad);
    CHECK_FALSE(checkpoint::CheckRelativePath(bad).ok());
  }
  std::vector<std::string> exts = checkpoint::WeightExtensions(
      json{{"checkpoint", {{"weight_extensions", {".GGUF"}}}}});
  CHECK(checkpoint::IsWeightFile("m/model.Safetensors", exts));
  CHECK(checkpoint::IsWeightFile("x.gguf", exts));
  CHECK_FALSE(checkpoint::IsWeightFile("model.safetensors.index.json", exts));
  CHECK_FALSE(checkpoint::IsWeightFile(".bin", exts));
  CHECK(checkpoint::IsOwnFile("SIGNOFF.json"));
  CHECK(checkpoint::IsOwnFile(".MODEL_PASSPORT.json.hpc-tmp-0123"));
  CHECK_FALSE(checkpoint::IsOwnFile("sub/SIGNOFF.json"));
}

TEST_CASE(
    "sign_checkpoint writes a passport and a sign-off that match their "
    "published schemas",
    "[integration][local][sign_checkpoint]") {
  RunRepo repo;
  REQUIRE(RunLocal({"git", "init", "-q", repo.path()}).ok());
  REQUIRE(RunLocal({"git", "-C", repo.path(), "-c", "user.email=t@example.org",
                    "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m",
                    "init"})
              .ok());
  const std::string head =
      RunLocal({"git", "-C", repo.path(), "rev-parse", "HEAD"})
          .out.substr(0, 40);
  LocalCheckpoint c(repo.path() + "/ckpt/step-1000");
  c.Standard();
  json r = Sign(repo, {{"path", c.root + "/"},
                       {"config_snapshot", c.root + "/config.yaml"},
                       {"input_contract", {{"tokenizer", "gpt2"}}}});
  INFO(r.dump(2));
  REQUIRE_FALSE(r.value("isError", false));
  const json& s = r["structuredContent"];
  CHECK(s["path"] == c.root);
  CHECK(s["files"] == 5);
  CHECK(s["weight_files"] == 3);
  CHECK(s["total_bytes"] == 300000 + 123457 + 70000 + 18 + 9);
  CHECK(s["signed"] == false);
  CHECK(s["git_commit"] == head);
  CHECK_THAT(s["hashed_on"].get<std::string>(), Catch::Contains("OpenSSL"));

  const std::string passport_text = ReadAll(c.root + "/MODEL_PASSPORT.json");
  json passport = mcp::ParseJson(passport_text);
  json signoff = mcp::ParseJson(ReadAll(c.root + "/SIGNOFF.json"));
  CHECK(checkpoint::PassportViolations(passport).empty());
  CHECK(checkpoint::SignoffViolations(signoff).empty());
  CHECK(passport["schema_version"] == 1);
  CHECK(passport["checkpoint"]["root"] == c.root);
  CHECK(passport["provenance"]["git_commit"] == head);
  CHECK(passport["provenance"]["git_dirty"] == false);
  CHECK(passport["provenance"]["run_id"].is_null());
  CHECK(passport["provenance"]["profile"] == "local");
  CHECK(passport["provenance"]["config_snapshot"]["path"] ==
        c.root + "/config.yaml");
  CHECK(passport["provenance"]["config_snapshot"]["sha256"] ==
        SumOf(c.root + "/config.yaml"));
  CHECK(passport["input_contract"]["tokenizer"] == "gpt2");
  REQUIRE(passport["files"].size() == 5);
  std::vector<std::string> paths;
  for (const auto& f : passport["files"]) {
    paths.push_back(f["path"]);
    CHECK(f["sha256"] == SumOf(c.root + "/" + f["path"].get<std::string>()));
    CHECK(f["size"] ==
          fs::file_size(c.root + "/" + f["path"].get<std::string>()));
  }
  CHECK(paths == std::vector<std::string>{
                     "config.yaml", "model-00001-of-00002.safetensors",
                     "model-00002-of-00002.safetensors",
                     "model.safetensors.index.json", "optim/optimizer.pt"});
  CHECK(passport["files"][1]["weight"] == true);
  CHECK(passport["files"][3]["weight"] == false);
  CHECK(signoff["verdict"] == "pass");
  CHECK(signoff["signer"] == "alice@example.org");
  CHECK(signoff["passport_sha256"] == checkpoint::Sha256Hex(passport_text));
  CHECK(signoff["passport_sha256"] == s["passport_sha256"]);
  REQUIRE(signoff["weights"].size() == 3);
  CHECK(signoff["weights"][2]["path"] == "optim/optimizer.pt");
  CHECK(signoff["weights"][2]["sha256"] ==
        SumOf(c.root + "/optim/optimizer.pt"));
  CHECK_FALSE(signoff.contains("signature"));

  SECTION(
      "signing again replaces the sign-off and lists neither of its own "
      "files") {
    json again = Sign(repo, {{"path", c.root},
                             {"verdict", "soft_signal"},
                             {"verdict_reason", "val loss noisy"}});
    REQUIRE_FALSE(again.value("isError", false));
    CHECK(again["structuredContent"]["files"] == 5);
    json so = mcp::ParseJson(ReadAll(c.root + "/SIGNOFF.json"));
    CHECK(so["verdict"] == "soft_signal");
    CHECK(so["verdict_reason"] == "val loss noisy");
  }
  SECTION("a soft_signal or fail verdict needs a reason") {
    json no = Sign(repo, {{"path", c.root}, {"verdict", "fail"}});
    CHECK(no["isError"] == true);
    CHECK_THAT(testing::ResultText(no), Catch::Contains("verdict_reason"));
  }
}

TEST_CASE("sign_checkpoint refuses, saying why, a checkpoint that is not ready",
          "[integration][local][sign_checkpoint]") {
  RunRepo repo;
  LocalCheckpoint c(repo.path() + "/ckpt");
  c.Standard();
  auto refused = [&](const std::string& why) {
    json r = Sign(repo, {{"path", c.root}});
    INFO(r.dump(2));
    CHECK(r["isError"] == true);
    CHECK_THAT(testing::ResultText(r), Catch::Contains(why));
    CHECK_FALSE(fs::exists(c.root + "/SIGNOFF.json"));
    CHECK_FALSE(fs::exists(c.root + "/MODEL_PASSPORT.json"));
  };
  SECTION("a file written in the last minute") {
    c.Write("model-00002-of-00002.safetensors", RandomBytes(10, 9));
    refused("still being written");
    refused("model-00002-of-00002.safetensors");
  }
  SECTION("a zero-byte shard") {
    c.Write("model-00002-of-00002.safetensors", "");
    c.Backdate();
    refused("zero-byte shards: model-00002-of-00002.safetensors");
  }
  SECTION("no weight file") {
    LocalCheckpoint empty(repo.path() + "/nothing");
    empty.Write("README.md", "hi");
    empty.Backdate();
    json r = Sign(repo, {{"path", empty.root}});
    CHECK(r["isError"] == true);
    CHECK_THAT(testing::ResultText(r), Catch::Contains("no weight file"));
  }
  SECTION("a symlink") {
    fs::create_symlink("/etc/hostname", c.root + "/extra.bin");
    c.Backdate();
    refused("symbolic links");
  }
  SECTION("a path outside the profile's roots and the repository") {
    json r = Sign(repo, {{"path", "/etc"}});
    CHECK(r["isError"] == true);
    json up = Sign(repo, {{"path", c.root + "/../../../etc"}});
    CHECK(up["isError"] == true);
  }
  SECTION("a directory that does not exist") {
    json r = Sign(repo, {{"path", repo.path() + "/nope"}});
    CHECK(r["isError"] == true);
    CHECK_THAT(testing::ResultText(r), Catch::Contains("does not exist"));
  }
}

TEST_CASE(
    "sign_checkpoint waits for the run to end and links the sign-off to it in "
    "the journal",
    "[integration][local][sign_checkpoint]") {
  RunRepo repo;
  LocalCheckpoint c(repo.path() + "/ckpt");
  c.Standard();
  json busy = repo.Call(
      "submit",
      {{"name", "busy"}, {"command", {"sleep", "30"}}})["structuredContent"];
  json r = Sign(repo, {{"path", c.root}, {"run_id", busy["run_id"]}});
  CHECK(r["isError"] == true);
  CHECK_THAT(testing::ResultText(r), Catch::Contains("per the journal"));
  repo.Call("cancel",
            {{"run_id", busy["run_id"]}, {"confirm", busy["run_id"]}});

  json done = repo.Call("submit", {{"name", "train"},
                                   {"command", {"true"}}})["structuredContent"];
  const std::string id = done["run_id"];
  REQUIRE(repo.WaitEnded(id)["state"] == "completed");
  json ok = Sign(repo, {{"path", c.root}, {"run_id", id}});
  INFO(ok.dump(2));
  REQUIRE_FALSE(ok.value("isError", false));
  json passport = mcp::ParseJson(ReadAll(c.root + "/MODEL_PASSPORT.json"));
  CHECK(passport["provenance"]["run_id"] == id);
  CHECK(passport["provenance"]["job_id"] == done["job_ids"][0]);
  CHECK(passport["provenance"]["run_state"] == "completed");
  CHECK(passport["provenance"]["git_commit"].is_null());
  bool linked = false;
  for (const auto& e : repo.Events())
    linked |= e["run"] == id && e["name"] == "linked" &&
              e["context"]["kind"] == "checkpoint_signoff" &&
              e["context"]["value"] == c.root + "/SIGNOFF.json";
  CHECK(linked);
  // verify_checkpoint finds the checkpoint from the run alone.
  json v = repo.Call("verify_checkpoint",
                     {{"run_id", id}, {"require_signoff", true}});
  INFO(v.dump(2));
  CHECK(v["structuredContent"]["path"] == c.root);
  CHECK(v["structuredContent"]["ok"] == true);
}

TEST_CASE(
    "sign_checkpoint signs with an SSH key that stock ssh-keygen verifies",
    "[integration][local][sign_checkpoint]") {
  RunRepo repo;
  TestKey key;
  LocalCheckpoint c(repo.path() + "/ckpt");
  c.Standard();
  json r = Sign(repo, {{"path", c.root}, {"signing_key", key.key}});
  INFO(r.dump(2));
  REQUIRE_FALSE(r.value("isError", false));
  CHECK(r["structuredContent"]["signed"] == true);
  CHECK(r["structuredContent"]["signature_path"] ==
        c.root + "/SIGNOFF.json.sig");
  json signoff = mcp::ParseJson(ReadAll(c.root + "/SIGNOFF.json"));
  CHECK(signoff["signature"]["namespace"] == "hpc-mcp-checkpoint");
  // The README's one-liner, as a user would type it in the checkpoint's
  // directory.
  const std::string line = "ssh-keygen -Y verify -f '" + key.allowed +
                           "' -I alice@example.org -n hpc-mcp-checkpoint -s "
                           "SIGNOFF.json.sig < SIGNOFF.json";
  auto good = RunLocal({"sh", "-c", line}, "", c.root);
  INFO(good.out << good.err);
  CHECK(good.exit_code == 0);
  CHECK_THAT(
      good.out,
      Catch::Contains(
          "Good \"hpc-mcp-checkpoint\" signature for alice@example.org"));
  // Another principal, or a changed byte, does not verify.
  CHECK(RunLocal(
            {"ssh-keygen", "-Y", "verify", "-f", key.allowed, "-I", "mallory",
             "-n", "hpc-mcp-checkpoint", "-s", c.root + "/SIGNOFF.json.sig"},
            ReadAll(c.root + "/SIGNOFF.json"))
            .exit_code != 0);
  std::string edited = ReadAll(c.root + "/SIGNOFF.json");
  edited.replace(edited.find("\"pass\""), 6, "\"fail\"");
  CHECK(RunLocal({"ssh-keygen", "-Y", "verify", "-f", key.allowed, "-I",
                  "alice@example.org", "-n", "hpc-mcp-checkpoint", "-s",
                  c.root + "/SIGNOFF.json.sig"},
                 edited)
            .exit_code != 0);

  SECTION("signing again without a key removes the stale signature") {
    REQUIRE_FALSE(Sign(repo, {{"path", c.root}}).value("isError", false));
    CHECK_FALSE(fs::exists(c.root + "/SIGNOFF.json.sig"));
  }
  SECTION("a key that cannot sign writes nothing new") {
    const std::string before = ReadAll(c.root + "/SIGNOFF.json");
    json bad = Sign(repo, {{"path", c.root},
                           {"signing_key", key.allowed},
                           {"verdict", "fail"},
                           {"verdict_reason", "x"}});
    CHECK(bad["isError"] == true);
    CHECK_THAT(testing::ResultText(bad), Catch::Contains("ssh-keygen -Y sign"));
    CHECK(ReadAll(c.root + "/SIGNOFF.json") == before);
  }
}

TEST_CASE("sign_checkpoint reports the bytes hashed as progress",
          "[integration][local][sign_checkpoint]") {
  RunRepo repo;
  LocalCheckpoint c(repo.path() + "/ckpt");
  c.Standard();
  testing::McpClient client;
  auto out = std::make_shared<testing::Capture>();
  client.Send("tools/call",
              {{"name", "sign_checkpoint"},
               {"arguments",
                {{"repo", repo.path()},
                 {"path", c.root},
                 {"verdict", "pass"},
                 {"signer", "a"}}},
               {"_meta", {{"progressToken", "ck"}}}},
              out);
  REQUIRE(out->WaitResponses(1, std::chrono::seconds(60)));
  INFO(out->responses()[0].dump(2));
  REQUIRE_FALSE(out->responses()[0]["result"].value("isError", false));
  const double total = 300000 + 123457 + 70000 + 18 + 9;
  json last;
  for (const auto& n : out->notifications())
    if (n["method"] == "notifications/progress") last = n["params"];
  REQUIRE(last.is_object());
  CHECK(last["progressToken"] == "ck");
  CHECK(last["progress"].get<double>() == total);
  CHECK(last["total"].get<double>() == total);
  CHECK_THAT(last["message"].get<std::string>(), Catch::Contains("hashed"));
}

TEST_CASE("sign_checkpoint hashes on the Slurm testbed with sha256sum over SSH",
          "[integration][testbed][sign_checkpoint]") {
  testing::TestbedCheckpoint tb;
  std::map<std::string, std::string> content;
  content["model-00001-of-00002.safetensors"] = RandomBytes(200000, 11);
  content["model-00002-of-00002.safetensors"] = RandomBytes(65536, 12);
  content["config.json"] = "{}";
  // Names that break naive parsing of sha256sum's output or a shell.
  unsigned seed = 20;
  for (const auto& name : testing::HostileFileNames()) {
    content["odd/" + name + ".bin"] = RandomBytes(80 + seed, seed);
    ++seed;
  }
  for (const auto& [rel, bytes] : content) tb.Write(rel, bytes);
  tb.Backdate();

  json r = Sign(tb.repo, {{"profile", "tb"}, {"path", tb.root}});
  INFO(r.dump(2));
  REQUIRE_FALSE(r.value("isError", false));
  CHECK_THAT(r["structuredContent"]["hashed_on"].get<std::string>(),
             Catch::Contains("sha256sum"));
  CHECK(r["structuredContent"]["files"] == content.size());
  auto text = tb.remote.ReadFile(tb.root + "/MODEL_PASSPORT.json", 0, 1 << 20);
  REQUIRE(text.ok());
  json passport = mcp::ParseJson(*text);
  CHECK(checkpoint::PassportViolations(passport).empty());
  CHECK(passport["provenance"]["profile"] == "tb");
  REQUIRE(passport["files"].size() == content.size());
  for (const auto& f : passport["files"]) {
    INFO(f.dump());
    CHECK(f["sha256"] == checkpoint::Sha256Hex(content.at(f["path"])));
  }

  SECTION("a file still being written on the cluster is refused") {
    tb.Write("model-00002-of-00002.safetensors", RandomBytes(10, 1));
    json busy = Sign(tb.repo, {{"profile", "tb"}, {"path", tb.root}});
    CHECK(busy["isError"] == true);
    CHECK_THAT(testing::ResultText(busy),
               Catch::Contains("still being written"));
  }
}

}  // namespace
}  // namespace hpc
