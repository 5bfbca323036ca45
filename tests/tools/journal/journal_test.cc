#include "tools/journal/journal.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace hpc::journal;
namespace fs = std::filesystem;

namespace {

struct Dir {
  Dir() : path(fs::temp_directory_path() / ("hpc-mcp-journal-" + std::to_string(getpid()) + "-" +
                                            std::to_string(n++))) {}
  ~Dir() { fs::remove_all(path); }
  std::string state() const { return (path / ".hpc-mcp").string(); }
  fs::path path;
  static inline int n = 0;
};

std::string ReadAll(const std::string& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("a new journal has a version header and a .gitignore; events replay in order",
          "[unit]") {
  Dir d;
  auto j = Journal::Open(d.state());
  REQUIRE(j.ok());
  CHECK(fs::exists(fs::path(d.state()) / ".gitignore"));
  REQUIRE(j->Append({"", "20261123-train-ab12", "submitted", {{"job_ids", {"123"}}}}).ok());
  REQUIRE(j->Append({"", "20261123-train-ab12", "state_changed", {{"state", "running"}}}).ok());
  auto r = j->Read();
  REQUIRE(r.ok());
  CHECK(r->problems.empty());
  REQUIRE(r->events.size() == 2);
  CHECK(r->events[0].name == "submitted");
  CHECK(r->events[1].context["state"] == "running");
  CHECK(r->events[0].ts.size() == 24);
  CHECK(ReadAll(j->path()).rfind("{\"created\":", 0) == 0);
  // Reopening keeps what is there.
  auto again = Journal::Open(d.state());
  REQUIRE(again.ok());
  CHECK(again->Read()->events.size() == 2);
}

TEST_CASE("events that break the schema are refused before they are written", "[unit]") {
  Dir d;
  auto j = Journal::Open(d.state());
  REQUIRE(j.ok());
  auto bad = j->Append({"", "r", "Bad Name", {}});
  CHECK(bad.code() == hpc::StatusCode::kInvalidArgument);
  CHECK_THAT(bad.message(), Catch::Contains("/name"));
  CHECK(j->Read()->events.empty());
}

TEST_CASE("a line torn by a crash is reported, skipped, and the next append starts afresh",
          "[unit]") {
  Dir d;
  auto j = Journal::Open(d.state());
  REQUIRE(j.ok());
  REQUIRE(j->Append({"", "r1", "submitted", {}}).ok());
  std::ofstream(j->path(), std::ios::app) << R"({"ts":"2026-11-23T00:00:00.000Z","run":"r1","na)";
  auto torn = j->Read();
  REQUIRE(torn.ok());
  CHECK(torn->events.size() == 1);
  REQUIRE(torn->problems.size() == 1);
  CHECK_THAT(torn->problems[0], Catch::Contains(":3: last line cut short"));
  REQUIRE(j->Append({"", "r1", "state_changed", {{"state", "failed"}}}).ok());
  auto after = j->Read();
  REQUIRE(after.ok());
  CHECK(after->events.size() == 2);
  CHECK(after->events[1].name == "state_changed");
  CHECK(after->problems.size() == 1);  // The torn line stays reported.
}

TEST_CASE("a journal from a newer version is refused, not misread", "[unit]") {
  Dir d;
  fs::create_directories(d.state());
  std::ofstream(fs::path(d.state()) / "journal.jsonl") << "{\"hpc_mcp_journal\":99}\n";
  auto j = Journal::Open(d.state());
  REQUIRE(j.ok());
  auto r = j->Read();
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("upgrade hpc-mcp"));
}

TEST_CASE("two processes appending at once never interleave lines", "[unit]") {
  Dir d;
  REQUIRE(Journal::Open(d.state()).ok());
  constexpr int kProcs = 4, kEach = 200;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto j = Journal::Open(d.state());
      for (int i = 0; j.ok() && i < kEach; ++i)
        if (!j->Append({"", "run-" + std::to_string(p), "metrics",
                        {{"i", i}, {"pad", std::string(300, 'x')}}})
                 .ok())
          _exit(1);
      _exit(j.ok() ? 0 : 1);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int status = 0;
    REQUIRE(waitpid(k, &status, 0) == k);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  auto r = Journal::Open(d.state())->Read();
  REQUIRE(r.ok());
  CHECK(r->problems.empty());
  CHECK(r->events.size() == kProcs * kEach);
  std::map<std::string, int> next;
  for (const auto& e : r->events) {
    CHECK(e.context["i"] == next[e.run]);  // Each writer's events in its order.
    ++next[e.run];
  }
}
