#include "tools/cluster/profile.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "mcp_server/assets.h"
#include "tools/registry.h"

using namespace hpc::cluster;
namespace fs = std::filesystem;

namespace {

const char* kSlurm = R"(name: site
scheduler: slurm
access:
  kind: ssh
  host: login.example.edu
  user: alice
  identity_file: ~/.ssh/id_ed25519
shell:
  setup: [module load cuda]
paths:
  work_root: ~/work
defaults:
  time: "04:00:00"
  gpus: 2
limits:
  max_array_size: 100
)";

}  // namespace

TEST_CASE("a profile parses with defaults from the schema and ~ expanded locally", "[unit]") {
  setenv("HOME", "/home/tester", 1);
  auto p = ParseProfile(kSlurm, "site.yaml");
  REQUIRE(p.ok());
  CHECK(p->name == "site");
  CHECK(p->scheduler == "slurm");
  CHECK(p->access.port == 22);
  CHECK(p->access.keepalive_seconds == 30);
  CHECK(p->access.identity_file == "/home/tester/.ssh/id_ed25519");
  CHECK(p->work_root == "~/work");  // Remote paths keep ~: the remote home.
  CHECK(p->setup == std::vector<std::string>{"module load cuda"});
  CHECK(p->login_shell == std::vector<std::string>{"bash", "-l"});
  CHECK(p->defaults.gpus == 2);
  CHECK(p->limits.max_array_size == 100);
  CHECK(p->limits.min_query_interval_seconds == 10);
}

TEST_CASE("the example Slurm profile's limits, uncommented, load",
          "[unit][cluster]") {
  auto text = hpc::mcp::FindAsset(hpc::tools::HpcAssets(),
                                  "cluster_profiles/example_slurm.yaml");
  REQUIRE(text);
  // "  # max_gpus: 8" -> "  max_gpus: 8": every commented limit key.
  static const std::regex kCommented(
      R"(\n  # ((allowed|max|confirm)_[a-z_]+: ))");
  std::string yaml =
      std::regex_replace(std::string(*text), kCommented, "\n  $1");
  auto p = ParseProfile(yaml, "example_slurm.yaml");
  INFO(yaml);
  REQUIRE(p.ok());
  const Limits& l = p->limits;
  CHECK(l.allowed_partitions == std::vector<std::string>{"gpu", "gpu-short"});
  CHECK(l.allowed_accounts == std::vector<std::string>{"ml-lab"});
  CHECK(l.allowed_qos == std::vector<std::string>{"normal"});
  CHECK(l.max_gpus == 8);
  CHECK(l.max_nodes == 2);
  CHECK(l.max_jobs_in_flight == 200);
  CHECK(l.max_gpu_hours_in_flight == 500.0);
  CHECK(l.max_gpu_hours_per_day == 1000.0);
  CHECK(l.confirm_above_gpu_hours == 64.0);
  // As shipped, commented out: no limit.
  auto shipped = ParseProfile(*text, "example_slurm.yaml");
  REQUIRE(shipped.ok());
  CHECK_FALSE(shipped->limits.max_gpus);
  CHECK(shipped->limits.allowed_partitions.empty());
}

TEST_CASE("a bad profile names the file, the line and the field", "[unit]") {
  SECTION("wrong type") {
    std::string y = kSlurm;
    y.replace(y.find("gpus: 2"), 7, "gpus: two");
    auto p = ParseProfile(y, "site.yaml");
    REQUIRE_FALSE(p.ok());
    CHECK_THAT(p.status().message(), Catch::StartsWith("site.yaml:14: defaults.gpus:"));
  }
  SECTION("unknown key, a typo") {
    std::string y = kSlurm;
    y.replace(y.find("max_array_size"), 14, "max_aray_size");
    auto p = ParseProfile(y, "site.yaml");
    REQUIRE_FALSE(p.ok());
    CHECK_THAT(p.status().message(), Catch::StartsWith("site.yaml:16: limits:") &&
                                         Catch::Contains("max_aray_size"));
  }
  SECTION("missing required") {
    auto p = ParseProfile("scheduler: slurm\n", "x.yaml");
    REQUIRE_FALSE(p.ok());
    CHECK_THAT(p.status().message(), Catch::StartsWith("x.yaml:1:") && Catch::Contains("access"));
  }
  SECTION("invalid YAML") {
    auto p = ParseProfile("scheduler: [slurm\n", "x.yaml");
    REQUIRE_FALSE(p.ok());
    CHECK_THAT(p.status().message(), Catch::StartsWith("x.yaml:"));
  }
  SECTION("ssh without a host") {
    auto p = ParseProfile("scheduler: slurm\naccess:\n  kind: ssh\n  user: a\n", "x.yaml");
    REQUIRE_FALSE(p.ok());
    CHECK_THAT(p.status().message(), Catch::StartsWith("x.yaml:3: access:") && Catch::Contains("host"));
  }
  SECTION("name disagrees with the file") {
    auto p = ParseProfile(kSlurm, "/x/other.yaml");
    REQUIRE_FALSE(p.ok());
    CHECK_THAT(p.status().message(), Catch::Contains("other.yaml:1: name:"));
  }
  SECTION("unset variable") {
    unsetenv("HPC_MCP_NOT_SET");
    auto p = ParseProfile("scheduler: slurm\naccess:\n  kind: ssh\n  host: h\n  user: u\n"
                          "  known_hosts: ${HPC_MCP_NOT_SET}/kh\n", "x.yaml");
    REQUIRE_FALSE(p.ok());
    CHECK_THAT(p.status().message(), Catch::Contains("x.yaml:6: access.known_hosts") &&
                                         Catch::Contains("HPC_MCP_NOT_SET"));
  }
}

TEST_CASE("the shipped profiles are valid and local is the embedded default", "[unit]") {
  auto local = LoadProfile("local", "");
  REQUIRE(local.ok());
  CHECK(local->scheduler == "local");
  CHECK(local->access.kind == "local");
  std::vector<hpc::Status> errors;
  auto all = ListProfiles("", &errors);
  CHECK(errors.empty());
  std::set<std::string> names;
  for (const auto& p : all) names.insert(p.name);
  CHECK(names.count("local"));
  CHECK(names.count("example_slurm"));
  CHECK(names.count("example_sge"));
}

TEST_CASE("a repository's profile shadows a shipped one; bad names are refused", "[unit]") {
  fs::path repo = fs::temp_directory_path() / ("hpc-mcp-profile-test-" + std::to_string(getpid()));
  fs::create_directories(repo / ".hpc-mcp" / "profiles");
  std::ofstream(repo / ".hpc-mcp" / "profiles" / "local.yaml")
      << "scheduler: local\naccess:\n  kind: local\ndescription: mine\n";
  auto p = LoadProfile("local", repo.string());
  REQUIRE(p.ok());
  CHECK(p->description == "mine");
  CHECK_FALSE(LoadProfile("../etc/passwd", repo.string()).ok());
  auto missing = LoadProfile("nope", repo.string());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().reason() == "profile_not_found");
  CHECK_THAT(missing.status().message(), Catch::Contains("Known profiles:") && Catch::Contains("local"));
  fs::remove_all(repo);
}
