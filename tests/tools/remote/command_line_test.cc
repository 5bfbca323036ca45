// How a Run request becomes the string a remote shell executes: exact
// command lines, so a change in quoting shows up here first.
#include "tools/remote/command_line.h"

#include <catch2/catch.hpp>

#include "tools/remote/remote_errors.h"
#include "tools/remote/shell.h"
#include "tools/remote/temp_name.h"

namespace hpc::remote {
namespace {

TEST_CASE("WithCwdAndEnv passes values as separate words", "[remote][unit]") {
  RunOptions o;
  CHECK(WithCwdAndEnv({"ls", "-l"}, o) == std::vector<std::string>{"ls", "-l"});
  o.env = {{"B", "two words"}, {"A", "$(x)"}};
  CHECK(WithCwdAndEnv({"ls"}, o) ==
        std::vector<std::string>{"env", "A=$(x)", "B=two words", "ls"});
  o.cwd = "/d i r";
  CHECK(WithCwdAndEnv({"ls"}, o) ==
        std::vector<std::string>{
            "sh", "-c", "cd -- \"$1\" || exit; shift; exec \"$@\"", "sh",
            "/d i r", "env", "A=$(x)", "B=two words", "ls"});
}

TEST_CASE("RemoteCommandLine wraps in the login shell only when asked",
          "[remote][unit]") {
  RunOptions o;
  const std::vector<std::string> login = {"bash", "-l"};
  const std::vector<std::string> setup = {"module load x"};
  const std::string wrapped =
      RemoteCommandLine({"printf", "%s", "a'b"}, o, login, setup);
  CHECK(wrapped.rfind("bash -l -c 'module load x\n", 0) == 0);
  const std::string tail = "\nexec printf %s '\\''a'\\''\\'\\'''\\''b'\\'''";
  REQUIRE(wrapped.size() > tail.size());
  CHECK(wrapped.substr(wrapped.size() - tail.size()) == tail);
  o.login_shell = false;
  CHECK(RemoteCommandLine({"printf", "%s", "a'b"}, o, login, setup) ==
        "printf %s 'a'\\''b'");
  o.login_shell = true;
  CHECK(RemoteCommandLine({"true"}, o, {}, setup) == "true");
}

TEST_CASE("ValidateRun rejects what cannot cross exec", "[remote][unit]") {
  RunOptions o;
  CHECK(ValidateRun({"ls"}, o).ok());
  CHECK_FALSE(ValidateRun({}, o).ok());
  CHECK_FALSE(ValidateRun({""}, o).ok());
  CHECK_FALSE(ValidateRun({"A=b"}, o).ok());
  CHECK_FALSE(ValidateRun({"ls", std::string("a\0b", 3)}, o).ok());
  o.env = {{"1BAD", "x"}};
  CHECK_FALSE(ValidateRun({"ls"}, o).ok());
  o.env = {{"GOOD_1", std::string("a\0b", 3)}};
  CHECK_FALSE(ValidateRun({"ls"}, o).ok());
  o.env = {{"GOOD_1", "any 'thing' $(at) all\n"}};
  CHECK(ValidateRun({"ls"}, o).ok());
}

TEST_CASE("Signal names map to numbers", "[remote][unit]") {
  CHECK(SignalNumber("TERM") == 15);
  CHECK(SignalNumber("SIGKILL") == 9);
  CHECK(SignalNumber("WHAT") == 0);
}

TEST_CASE("Temporary names stay beside the target", "[remote][unit]") {
  auto p = SplitPath("/a/b/c.txt");
  REQUIRE(p.ok());
  CHECK(p->dir == "/a/b");
  CHECK(p->base == "c.txt");
  CHECK(TempNameBeside(*p) == "/a/b/.c.txt.hpc-tmp-");
  CHECK(SplitPath("c")->dir == ".");
  CHECK(SplitPath("/c")->dir == "/");
  CHECK(TempNameBeside(*SplitPath("/c")) == "/.c.hpc-tmp-");
  CHECK_FALSE(SplitPath("").ok());
  CHECK_FALSE(SplitPath("/a/").ok());
  CHECK_FALSE(SplitPath("/a/..").ok());
  CHECK(RandomSuffix().size() == 16);
  CHECK(RandomSuffix() != RandomSuffix());
}

TEST_CASE("Remote errors carry reason, code and remediation",
          "[remote][unit]") {
  Status st = RemoteError(Reason::kHostKeyUnknown, "m", false);
  CHECK(st.reason() == "host_key_unknown");
  CHECK(st.code() == StatusCode::kFailedPrecondition);
  CHECK_FALSE(st.remediation().empty());
  CHECK(ErrnoError(ENOENT, "x").reason() == "not_found");
  CHECK(ErrnoError(EACCES, "x").reason() == "permission_denied");
  CHECK(ErrnoError(EIO, "x").reason() == "io_error");
}

}  // namespace
}  // namespace hpc::remote
