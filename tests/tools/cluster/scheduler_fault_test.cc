// Faults of the real testbed: a stopped slurmctld gives a clear error that
// names the scheduler, and the backend works again once it is back.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "tests/tools/remote/remote_test_support.h"
#include "tools/cluster/scheduler.h"
#include "tools/remote/openssh_remote.h"

namespace hpc::cluster {
namespace {

int RunScript(const std::string& args) {
  std::string cmd = std::string("bash ") + HPC_MCP_SOURCE_DIR + "/scripts/testbed/" + args +
                    " >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

}  // namespace

TEST_CASE("testbed: a stopped slurmctld is a clear scheduler_unavailable, then recovers",
          "[integration][slurm][fault]") {
  testing::Testbed tb = testing::RequireTestbed();
  remote::OpenSshOptions o;
  o.destination = tb.alias.empty() ? "testbed" : tb.alias;
  o.ssh_config = tb.ssh_config;
  auto ssh = std::make_shared<remote::OpenSshRemote>(o);
  ClusterProfile p;
  p.name = "testbed-slurm-fault";
  p.scheduler = "slurm";
  auto sched = MakeScheduler(p, ssh);
  REQUIRE(sched.ok());

  REQUIRE(RunScript("down.sh --only slurmctld") == 0);
  auto down = (*sched)->Query({"1"});
  // Restore before any assertion can end the test.
  int restored = RunScript("up.sh --no-smoke");
  REQUIRE_FALSE(down.ok());
  CHECK(down.status().reason() == "scheduler_unavailable");
  CHECK_THAT(down.status().message() + " " + down.status().remediation(),
             Catch::Contains("slurmctld"));
  REQUIRE(restored == 0);
  auto up = (*sched)->Query({"1"});
  INFO((up.ok() ? "" : up.status().ToString()));
  REQUIRE(up.ok());
  CHECK(up->size() == 1);
}

}  // namespace hpc::cluster
