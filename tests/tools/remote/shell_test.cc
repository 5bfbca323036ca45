#include "tools/remote/shell.h"

#include <catch2/catch.hpp>

#include "tools/remote/local_remote.h"

using namespace hpc::remote;

TEST_CASE(
    "ShellQuote leaves safe words alone and makes everything else literal",
    "[unit]") {
  CHECK(ShellQuote("abc-1.2/x") == "abc-1.2/x");
  CHECK(ShellQuote("") == "''");
  CHECK(ShellQuote("a b") == "'a b'");
  CHECK(ShellQuote("it's") == "'it'\\''s'");
  CHECK(ShellQuote("$(x)") == "'$(x)'");
  CHECK(ShellQuote("a=b") == "'a=b'");
  CHECK(ShellQuote("~/x") == "'~/x'");
  CHECK(ShellJoin({"echo", "a b", "c"}) == "echo 'a b' c");
}

TEST_CASE("a failing setup line stops the command with a clear message",
          "[unit]") {
  LocalRemote r({"bash"}, {"export A=1", "false", "export B=2"});
  RunOptions o;
  auto res = r.Run({"printf", "ran"}, o);
  REQUIRE(res.ok());
  CHECK(res->exit_code == kSetupFailedExitCode);
  CHECK(res->out.empty());
  CHECK(res->err.find("hpc-mcp: setup line 2 failed (exit 1): false") !=
        std::string::npos);
  LocalRemote ok({"bash"}, {"export A=1", "true"});
  auto fine = ok.Run({"printenv", "A"}, o);
  REQUIRE(fine.ok());
  CHECK(fine->out == "1\n");
}
