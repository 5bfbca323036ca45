// verify_checkpoint: one observation per check for a signed checkpoint and
// for each way it can be tampered with (a changed byte, a deleted shard, an
// unlisted shard, a symlink out, a path escaping by '..', an edited
// passport or sign-off); locally and on the Slurm testbed over SSH.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "mcp_server/json_rpc.h"
#include "tests/support/checkpoint_fixture.h"
#include "tools/checkpoint/passport.h"
#include "tools/checkpoint/sha256.h"

namespace hpc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::RandomBytes;
using testing::ReadAll;
using testing::RunRepo;
using testing::WriteAll;

const std::vector<std::string> kChecks{
    "passport",        "paths_inside_root", "files_present", "file_hashes",
    "unlisted_files",  "signoff",           "passport_hash", "signoff_weights",
    "signoff_verdict", "signature"};

// check name -> observation.
std::map<std::string, json> ByCheck(const json& result) {
  std::map<std::string, json> out;
  for (const auto& c : result["structuredContent"]["checks"])
    out[c["check"]] = c;
  return out;
}

std::string Statuses(const json& result) {
  std::string s;
  for (const auto& c : result["structuredContent"]["checks"])
    s += c["check"].get<std::string>() + "=" + c["status"].get<std::string>() +
         " ";
  return s;
}

std::string Paths(const json& obs) {
  std::string s;
  for (const auto& p : obs.value("paths", json::array()))
    s += p.get<std::string>() + "\n";
  return s;
}

// A signed local checkpoint, signed with a test key unless told not to.
struct Signed {
  RunRepo repo;
  std::optional<testing::TestKey> key;
  std::string root = repo.path() + "/ckpt";

  explicit Signed(bool with_key = true) {
    testing::LocalCheckpoint c(root);
    c.Write("model-00001-of-00002.safetensors", RandomBytes(250000, 1));
    c.Write("model-00002-of-00002.safetensors", RandomBytes(99999, 2));
    c.Write("tokenizer.json", "{}");
    c.Write("sub/ema.pt", RandomBytes(4096, 3));
    c.Backdate();
    json args{
        {"path", root}, {"verdict", "pass"}, {"signer", "alice@example.org"}};
    if (with_key) {
      key.emplace();
      args["signing_key"] = key->key;
    }
    json r = repo.Call("sign_checkpoint", args);
    INFO(r.dump(2));
    REQUIRE_FALSE(r.value("isError", false));
  }
  json Verify(json args = json::object()) {
    args["path"] = root;
    if (!args.contains("allowed_signers") && key && fs::exists(key->allowed))
      args["allowed_signers"] = key->allowed;
    json r = repo.Call("verify_checkpoint", args);
    REQUIRE_FALSE(r.value("isError", false));
    return r;
  }
};

TEST_CASE("a freshly signed checkpoint passes every check",
          "[integration][local][verify_checkpoint]") {
  Signed s;
  json r = s.Verify({{"require_signoff", true}});
  INFO(r.dump(2));
  const json& out = r["structuredContent"];
  CHECK(out["verdict"] == "pass");
  CHECK(out["ok"] == true);
  std::vector<std::string> names;
  for (const auto& c : out["checks"]) {
    names.push_back(c["check"]);
    CHECK(c["status"] == "pass");
  }
  CHECK(names == kChecks);
  CHECK(out["files_listed"] == 4);
  CHECK(out["bytes_hashed"] == 250000 + 99999 + 2 + 4096);
  CHECK(out["signoff"]["signer"] == "alice@example.org");
  CHECK(out["passport_sha256"] ==
        checkpoint::Sha256Hex(ReadAll(s.root + "/MODEL_PASSPORT.json")));
  CHECK_THAT(testing::ResultText(r), Catch::StartsWith("pass: " + s.root));

  SECTION("without allowed_signers a good signature is only a soft signal") {
    fs::remove(s.key->allowed);
    json r2 = s.Verify();
    CHECK(ByCheck(r2)["signature"]["status"] == "soft_signal");
    CHECK(r2["structuredContent"]["verdict"] == "soft_signal");
    CHECK(r2["structuredContent"]["ok"] == true);
  }
  SECTION("another signer's allowed_signers fails the signature") {
    std::ofstream(s.key->allowed)
        << "mallory@example.org " << ReadAll(s.key->key + ".pub");
    CHECK(ByCheck(s.Verify())["signature"]["status"] == "fail");
  }
}

TEST_CASE("verify_checkpoint catches each kind of tampering",
          "[integration][local][verify_checkpoint]") {
  Signed s;
  const std::string shard = s.root + "/model-00002-of-00002.safetensors";
  auto expect = [&](const std::map<std::string, std::string>& want) {
    json r = s.Verify();
    INFO(Statuses(r) << "\n" << r.dump(2));
    auto by = ByCheck(r);
    for (const auto& name : kChecks) {
      auto it = want.find(name);
      CHECK(by[name]["status"] == (it == want.end() ? "pass" : it->second));
    }
    CHECK(r["structuredContent"]["ok"] ==
          (r["structuredContent"]["verdict"] != "fail"));
    return by;
  };
  SECTION("one changed byte in a shard") {
    std::string b = ReadAll(shard);
    b[b.size() / 2] ^= 1;
    WriteAll(shard, b);
    auto by = expect({{"file_hashes", "fail"}});
    CHECK_THAT(Paths(by["file_hashes"]),
               Catch::Contains("model-00002-of-00002.safetensors (sha256"));
  }
  SECTION("a truncated shard") {
    WriteAll(shard, "x");
    auto by = expect({{"file_hashes", "fail"}});
    CHECK_THAT(Paths(by["file_hashes"]),
               Catch::Contains("(size 1, listed 99999)"));
  }
  SECTION("a deleted shard") {
    fs::remove(shard);
    auto by = expect({{"files_present", "fail"}});
    CHECK(by["files_present"]["paths"] ==
          json::array({"model-00002-of-00002.safetensors"}));
  }
  SECTION("an unlisted shard") {
    WriteAll(s.root + "/model-00003-of-00002.safetensors", RandomBytes(10, 4));
    auto by = expect({{"unlisted_files", "fail"}});
    CHECK_THAT(Paths(by["unlisted_files"]),
               Catch::Contains("model-00003-of-00002.safetensors"));
  }
  SECTION("an unlisted file that is no weight is a soft signal") {
    WriteAll(s.root + "/notes.txt", "hello");
    expect({{"unlisted_files", "soft_signal"}});
  }
  SECTION("a symlink out of the root beside the shards") {
    fs::create_symlink("/etc/passwd", s.root + "/notes.txt");
    auto by = expect({{"unlisted_files", "fail"}});
    CHECK_THAT(
        Paths(by["unlisted_files"]),
        Catch::Contains("notes.txt -> /etc/passwd (points outside the root)"));
  }
  SECTION("a listed shard replaced by a symlink to a copy outside the root") {
    const std::string outside = s.repo.path() + "/elsewhere.safetensors";
    fs::copy_file(shard, outside);
    fs::remove(shard);
    fs::create_symlink(outside, shard);
    auto by = expect({{"paths_inside_root", "fail"}});
    CHECK_THAT(Paths(by["paths_inside_root"]),
               Catch::Contains("is a symlink to " + outside));
  }
  SECTION("a listed directory replaced by a symlink") {
    fs::rename(s.root + "/sub", s.repo.path() + "/sub-outside");
    fs::create_symlink(s.repo.path() + "/sub-outside", s.root + "/sub");
    auto by =
        expect({{"paths_inside_root", "fail"}, {"unlisted_files", "fail"}});
    CHECK_THAT(Paths(by["paths_inside_root"]),
               Catch::Contains("sub/ema.pt: reached through symlink sub"));
  }
  SECTION("a passport edited to list a path that escapes by '..'") {
    WriteAll(s.repo.path() + "/outside.bin", "secret");
    json p = mcp::ParseJson(ReadAll(s.root + "/MODEL_PASSPORT.json"));
    p["files"].push_back({{"path", "../outside.bin"},
                          {"size", 6},
                          {"sha256", checkpoint::Sha256Hex("secret")},
                          {"weight", false}});
    WriteAll(s.root + "/MODEL_PASSPORT.json", checkpoint::Serialize(p));
    auto by =
        expect({{"paths_inside_root", "fail"}, {"passport_hash", "fail"}});
    CHECK_THAT(Paths(by["paths_inside_root"]),
               Catch::Contains("../outside.bin: a '..' component"));
  }
  SECTION("a passport re-hashed to match a swapped shard") {
    WriteAll(shard, RandomBytes(99999, 77));
    json p = mcp::ParseJson(ReadAll(s.root + "/MODEL_PASSPORT.json"));
    for (auto& f : p["files"])
      if (f["path"] == "model-00002-of-00002.safetensors")
        f["sha256"] = checkpoint::Sha256Hex(ReadAll(shard));
    WriteAll(s.root + "/MODEL_PASSPORT.json", checkpoint::Serialize(p));
    expect({{"passport_hash", "fail"}, {"signoff_weights", "fail"}});
  }
  SECTION("a sign-off edited to another verdict") {
    std::string so = ReadAll(s.root + "/SIGNOFF.json");
    so.replace(so.find("\"verdict\": \"pass\""), 17, "\"verdict\": \"fail\"");
    WriteAll(s.root + "/SIGNOFF.json", so);
    expect({{"signoff_verdict", "fail"}, {"signature", "fail"}});
  }
  SECTION("a deleted signature") {
    fs::remove(s.root + "/SIGNOFF.json.sig");
    auto by = expect({{"signature", "fail"}});
    CHECK_THAT(by["signature"]["detail"].get<std::string>(),
               Catch::Contains("says it was signed"));
  }
  SECTION("a passport that is not JSON") {
    WriteAll(s.root + "/MODEL_PASSPORT.json", "{ not json");
    expect({{"passport", "fail"},
            {"paths_inside_root", "not_checked"},
            {"files_present", "not_checked"},
            {"file_hashes", "not_checked"},
            {"unlisted_files", "fail"},
            {"passport_hash", "fail"},
            {"signoff_weights", "not_checked"}});
  }
}

TEST_CASE(
    "require_signoff turns a missing sign-off from not_checked into a failure",
    "[integration][local][verify_checkpoint]") {
  Signed s(/*with_key=*/false);
  fs::remove(s.root + "/SIGNOFF.json");
  json r = s.Verify();
  auto by = ByCheck(r);
  CHECK(by["signoff"]["status"] == "not_checked");
  CHECK(by["passport_hash"]["status"] == "not_checked");
  CHECK(by["signature"]["status"] == "not_checked");
  CHECK(by["file_hashes"]["status"] == "pass");
  CHECK(r["structuredContent"]["verdict"] == "pass");
  json req = s.Verify({{"require_signoff", true}});
  CHECK(ByCheck(req)["signoff"]["status"] == "fail");
  CHECK(req["structuredContent"]["ok"] == false);

  SECTION("a directory without a passport fails, it is not an error") {
    fs::remove(s.root + "/MODEL_PASSPORT.json");
    json none = s.Verify();
    CHECK(ByCheck(none)["passport"]["status"] == "fail");
    CHECK(ByCheck(none)["unlisted_files"]["status"] == "fail");
  }
  SECTION("a path outside the roots is an error") {
    json out = s.repo.Call("verify_checkpoint", {{"path", "/etc"}});
    CHECK(out["isError"] == true);
  }
}

TEST_CASE(
    "verify_checkpoint hashes on the Slurm testbed and catches tampering there",
    "[integration][testbed][verify_checkpoint]") {
  testing::TestbedCheckpoint tb;
  for (int i = 1; i <= 4; ++i)
    tb.Write("shard-" + std::to_string(i) + ".bin", RandomBytes(50000 * i, i));
  tb.Write("meta/config.json", "{}");
  tb.Backdate();
  testing::TestKey key("bob");
  json signed_ = tb.repo.Call("sign_checkpoint", {{"profile", "tb"},
                                                  {"path", tb.root},
                                                  {"verdict", "pass"},
                                                  {"signer", "bob"},
                                                  {"signing_key", key.key}});
  INFO(signed_.dump(2));
  REQUIRE_FALSE(signed_.value("isError", false));
  auto verify = [&] {
    json r =
        tb.repo.Call("verify_checkpoint", {{"profile", "tb"},
                                           {"path", tb.root},
                                           {"allowed_signers", key.allowed},
                                           {"require_signoff", true}});
    INFO(r.dump(2));
    REQUIRE_FALSE(r.value("isError", false));
    CHECK_THAT(r["structuredContent"]["hashed_on"].get<std::string>(),
               Catch::Contains("sha256sum"));
    return r;
  };
  json clean = verify();
  INFO(Statuses(clean));
  CHECK(clean["structuredContent"]["verdict"] == "pass");
  CHECK(clean["structuredContent"]["bytes_hashed"] ==
        50000 * (1 + 2 + 3 + 4) + 2);

  auto run = [&](std::vector<std::string> argv, std::string stdin_data = "") {
    REQUIRE(tb.remote.Run(argv, testing::NoLoginShell(stdin_data))->ok());
  };
  SECTION("a changed byte") {
    run({"dd", "of=" + tb.root + "/shard-3.bin", "bs=1", "seek=777", "count=1",
         "conv=notrunc"},
        "Z");
    auto by = ByCheck(verify());
    CHECK(by["file_hashes"]["status"] == "fail");
    CHECK_THAT(Paths(by["file_hashes"]), Catch::Contains("shard-3.bin"));
  }
  SECTION("a deleted shard") {
    run({"rm", "--", tb.root + "/shard-2.bin"});
    CHECK(ByCheck(verify())["files_present"]["status"] == "fail");
  }
  SECTION("an unlisted shard") {
    tb.Write("shard-5.bin", "x");
    CHECK(ByCheck(verify())["unlisted_files"]["status"] == "fail");
  }
  SECTION("a symlink out, in place of a listed shard") {
    run({"rm", "--", tb.root + "/shard-1.bin"});
    run({"ln", "-s", "/etc/hostname", tb.root + "/shard-1.bin"});
    auto by = ByCheck(verify());
    CHECK(by["paths_inside_root"]["status"] == "fail");
    CHECK_THAT(Paths(by["paths_inside_root"]),
               Catch::Contains("shard-1.bin: is a symlink to /etc/hostname"));
  }
}

}  // namespace
}  // namespace hpc
