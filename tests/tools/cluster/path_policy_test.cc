#include "tools/cluster/path_policy.h"

#include <catch2/catch.hpp>

using namespace hpc::cluster;

TEST_CASE("paths normalize lexically and must be absolute", "[unit]") {
  CHECK(*NormalizePath("/a/./b/../c//d/") == "/a/c/d");
  CHECK(*NormalizePath("/../..") == "/");
  CHECK_FALSE(NormalizePath("rel/path").ok());
  CHECK_FALSE(NormalizePath("-rf").ok());
  CHECK_FALSE(NormalizePath("").ok());
}

TEST_CASE("only paths under the roots pass the policy", "[unit]") {
  PathPolicy policy({"~/experiments", "/scratch/alice", ""}, "/home/alice");
  CHECK(*policy.Check("~/experiments/run1/log.txt") == "/home/alice/experiments/run1/log.txt");
  CHECK(*policy.Check("/scratch/alice") == "/scratch/alice");
  CHECK(*policy.Check("/scratch/alice/x/../y") == "/scratch/alice/y");
  for (const char* bad : {"/scratch/alice2/x", "/scratch/alice/../bob/x", "/etc/passwd",
                          "~/.ssh/id_ed25519", "-x", "relative"}) {
    INFO(bad);
    auto r = policy.Check(bad);
    REQUIRE_FALSE(r.ok());
  }
  auto r = policy.Check("/etc/passwd");
  CHECK(r.status().reason() == "path_outside_roots");
  CHECK_THAT(r.status().message(), Catch::Contains("/home/alice/experiments") && Catch::Contains("/scratch/alice"));
}
