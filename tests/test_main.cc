#define CATCH_CONFIG_RUNNER
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

int main(int argc, char* argv[]) {
  // The test run gets state and config directories of its own, which the
  // processes it starts inherit: otherwise every repository a test opens
  // would be recorded in the user's list of repositories
  // (tools/runs/repo_registry.h), and an `hpc-mcp patrol` a test starts
  // would read that list and the user's notify config.
  namespace fs = std::filesystem;
  std::string home =
      (fs::temp_directory_path() / "hpc-mcp-test-home-XXXXXX").string();
  const bool isolated = ::mkdtemp(home.data()) != nullptr;
  if (isolated) {
    ::setenv("XDG_STATE_HOME", (home + "/state").c_str(), 1);
    ::setenv("XDG_CONFIG_HOME", (home + "/config").c_str(), 1);
  }
  const int failed = Catch::Session().run(argc, argv);
  std::error_code ignored;
  if (isolated) fs::remove_all(home, ignored);
  return failed;
}
