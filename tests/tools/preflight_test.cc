#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "tests/support/tool_call.h"

using hpc::testing::CallTool;
using hpc::testing::ResultText;
using hpc::testing::TestbedEnv;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A scratch repository with profiles in .hpc-mcp/profiles/.
struct Repo {
  Repo() : path(fs::temp_directory_path() / ("hpc-mcp-preflight-" + std::to_string(getpid()) +
                                             "-" + std::to_string(counter++))) {
    fs::create_directories(path / ".hpc-mcp" / "profiles");
  }
  ~Repo() { fs::remove_all(path); }
  void Profile(const std::string& name, const std::string& yaml) {
    std::ofstream(path / ".hpc-mcp" / "profiles" / (name + ".yaml")) << yaml;
  }
  fs::path path;
  static inline int counter = 0;
};

std::map<std::string, json> ByName(const json& checks) {
  std::map<std::string, json> m;
  for (const auto& c : checks) m[c["name"]] = c;
  return m;
}

}  // namespace

TEST_CASE("preflight of the local profile passes and says what it checked", "[integration]") {
  Repo repo;
  json r = CallTool("preflight", {{"profile", "local"}, {"repo", repo.path.string()}, {"refresh", true}});
  INFO(r.dump(2));
  REQUIRE_FALSE(r.value("isError", false));
  const json& s = r["structuredContent"];
  CHECK(s["ok"] == true);
  CHECK(s["scheduler"] == "local");
  auto checks = ByName(s["checks"]);
  for (const char* name : {"profile", "reachable", "login_shell", "scheduler_commands"})
    CHECK(checks[name]["status"] == "ok");
  CHECK(checks.count("work_root"));
  CHECK(checks.count("python"));
  json again = CallTool("preflight", {{"profile", "local"}, {"repo", repo.path.string()}});
  CHECK(again["structuredContent"]["cached"] == true);
}

TEST_CASE("preflight explains a broken profile by file, line and field", "[integration]") {
  Repo repo;
  repo.Profile("broken", "scheduler: slurm\naccess:\n  kind: ssh\n  host: h\n  user: u\n  port: high\n");
  json r = CallTool("preflight", {{"profile", "broken"}, {"repo", repo.path.string()}});
  CHECK(r["isError"] == true);
  CHECK_THAT(ResultText(r), Catch::Contains("broken.yaml:6: access.port"));
  json missing = CallTool("preflight", {{"profile", "nope"}, {"repo", repo.path.string()}});
  CHECK(missing["isError"] == true);
  CHECK_THAT(ResultText(missing), Catch::Contains("Known profiles:"));
}

TEST_CASE("preflight reports a failing setup line and an unreachable host", "[integration]") {
  Repo repo;
  repo.Profile("badsetup", "scheduler: local\naccess:\n  kind: local\nshell:\n  setup: [\"module load no-such-module-xyz\"]\n");
  json r = CallTool("preflight", {{"profile", "badsetup"}, {"repo", repo.path.string()}, {"refresh", true}});
  auto checks = ByName(r["structuredContent"]["checks"]);
  CHECK(r["structuredContent"]["ok"] == false);
  CHECK(checks["login_shell"]["status"] == "fail");
  CHECK(checks["login_shell"].contains("remediation"));

  repo.Profile("nowhere", "scheduler: slurm\naccess:\n  kind: ssh\n  host: 127.0.0.1\n  port: 1\n  user: nobody\n"
                          "  connect_timeout_seconds: 2\n");
  json n = CallTool("preflight", {{"profile", "nowhere"}, {"repo", repo.path.string()}, {"refresh", true}});
  auto nchecks = ByName(n["structuredContent"]["checks"]);
  CHECK(nchecks["reachable"]["status"] == "fail");
  CHECK(nchecks["login_shell"]["status"] == "skipped");
}

// A GPU host's profile (gpus.placement: nvidia-smi): the machine has no GPU,
// so a setup line puts a stand-in nvidia-smi first on PATH that prints the
// query's real format (tests/tools/cluster/gpus_test.cc reads real output).
TEST_CASE(
    "preflight lists a GPU host's GPUs, which are free, and fails without "
    "nvidia-smi",
    "[integration][gpus]") {
  Repo repo;
  const fs::path bin = repo.path / "bin";
  fs::create_directories(bin);
  auto smi = [&](const std::string& csv, int rc = 0) {
    std::ofstream(repo.path / "smi.csv") << csv;
    std::ofstream(bin / "nvidia-smi")
        << "#!/bin/sh\ncat '" << (repo.path / "smi.csv").string() << "'\nexit "
        << rc << "\n";
    fs::permissions(bin / "nvidia-smi", fs::perms::owner_all);
  };
  const std::string gpus =
      "gpus: {placement: nvidia-smi, free_below_mib: 1000}\n";
  repo.Profile("gpuhost", "scheduler: local\naccess: {kind: local}\n" + gpus +
                              "shell:\n  setup: [\"export PATH='" +
                              bin.string() + "':$PATH\"]\n");
  auto check = [&](const std::string& profile) {
    json r = CallTool("preflight", {{"profile", profile},
                                    {"repo", repo.path.string()},
                                    {"refresh", true}});
    INFO(r.dump(2));
    REQUIRE_FALSE(r.value("isError", false));
    return ByName(r["structuredContent"]["checks"])["gpus"];
  };

  smi("0, GPU-9d3a3f5e-2c71-6b2e-8f0a-1b7c1e1a4d11, 3, 81559\n"
      "1, GPU-0b6c7e0f-61d5-3b7a-2d8e-55c2a1f0e9a2, 30211, 81559\n"
      "2, GPU-5f1d2c3b-4a59-7e86-9d7c-0e1f2a3b4c5d, 999, 81559\n");
  json ok = check("gpuhost");
  CHECK(ok["status"] == "ok");
  CHECK(ok["evidence"] ==
        "3 GPU(s), 2 free (memory in use below 1000 MiB): 0: 3/81559 MiB; "
        "1: 30211/81559 MiB (busy); 2: 999/81559 MiB");

  smi("0, GPU-9d3a3f5e-2c71-6b2e-8f0a-1b7c1e1a4d11, 30211, 81559\n");
  json busy = check("gpuhost");
  CHECK(busy["status"] == "warn");
  CHECK_THAT(busy["remediation"].get<std::string>(),
             Catch::Contains("wait until one is free"));

  // What nvidia-smi says on a machine whose driver sees no GPU.
  smi("No devices were found\n", 6);
  json none = check("gpuhost");
  CHECK(none["status"] == "fail");
  CHECK(none["evidence"] == "nvidia-smi exited 6: No devices were found");

  smi("0, GPU-9d3a3f5e-2c71-6b2e-8f0a-1b7c1e1a4d11, [N/A]\n");
  json garbled = check("gpuhost");
  CHECK(garbled["status"] == "fail");
  CHECK_THAT(garbled["evidence"].get<std::string>(),
             Catch::Contains("cannot read nvidia-smi's answer") &&
                 Catch::Contains("line 1"));

  // Without the setup line there is no nvidia-smi on this machine's PATH.
  repo.Profile("nosmi", "scheduler: local\naccess: {kind: local}\n" + gpus);
  json missing = check("nosmi");
  CHECK(missing["status"] == "fail");
  CHECK_THAT(
      missing["remediation"].get<std::string>(),
      Catch::Contains("gpus.placement: none") && Catch::Contains("nosmi.yaml"));

  // A profile without GPU placement has no gpus check.
  json r = CallTool(
      "preflight",
      {{"profile", "local"}, {"repo", repo.path.string()}, {"refresh", true}});
  CHECK(ByName(r["structuredContent"]["checks"]).count("gpus") == 0);
}

TEST_CASE("preflight checks Slurm over libssh2 and Grid Engine over OpenSSH on the testbed",
          "[integration][testbed]") {
  Repo repo;
  std::string host = TestbedEnv("TESTBED_SSH_HOST"), port = TestbedEnv("TESTBED_SSH_PORT"),
              user = TestbedEnv("TESTBED_SSH_USER"), key = TestbedEnv("TESTBED_SSH_KEY"),
              known = TestbedEnv("TESTBED_KNOWN_HOSTS"), config = TestbedEnv("TESTBED_SSH_CONFIG");
  repo.Profile("tb_slurm", "scheduler: slurm\naccess:\n  kind: ssh\n  host: " + host + "\n  port: " + port +
                               "\n  user: " + user + "\n  identity_file: " + key +
                               "\n  known_hosts: " + known +
                               "\npaths:\n  work_root: ~/hpc-mcp/work\n  log_root: ~/hpc-mcp/logs\n"
                               "defaults:\n  partition: debug\n");
  repo.Profile("tb_sge", "scheduler: sge\naccess:\n  kind: openssh\n  alias: testbed\n  ssh_config: " + config +
                             "\ndefaults:\n  partition: all.q\n");
  for (const char* name : {"tb_slurm", "tb_sge"}) {
    json r = CallTool("preflight", {{"profile", name}, {"repo", repo.path.string()}, {"refresh", true}});
    INFO(r.dump(2));
    const json& s = r["structuredContent"];
    auto checks = ByName(s["checks"]);
    for (const char* c : {"reachable", "host_key", "auth", "login_shell", "scheduler_commands",
                          "controller", "partitions"})
      CHECK(checks[c]["status"] == "ok");
    CHECK(s["ok"] == true);
  }
  repo.Profile("tb_badpart", "scheduler: slurm\naccess:\n  kind: ssh\n  host: " + host + "\n  port: " + port +
                                 "\n  user: " + user + "\n  identity_file: " + key + "\n  known_hosts: " + known +
                                 "\ndefaults:\n  partition: gpu-nope\n");
  json bad = CallTool("preflight", {{"profile", "tb_badpart"}, {"repo", repo.path.string()}, {"refresh", true}});
  auto checks = ByName(bad["structuredContent"]["checks"]);
  CHECK(checks["partitions"]["status"] == "fail");
  CHECK_THAT(checks["partitions"]["remediation"].get<std::string>(), Catch::Contains("debug"));
}
