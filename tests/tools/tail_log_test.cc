// tail_log: tail, cursor, grep, paths under the roots only.
#include <catch2/catch.hpp>
#include <fstream>

#include "tests/support/run_repo.h"

namespace hpc {
namespace {

using nlohmann::json;
using testing::RunRepo;

TEST_CASE("tail_log reads the end, then only what was written since", "[tail_log][local]") {
  RunRepo repo;
  const std::string log = repo.path() + "/cluster/logs/manual.log";
  std::filesystem::create_directories(repo.path() + "/cluster/logs");
  {
    std::ofstream out(log);
    for (int i = 1; i <= 500; ++i) out << "step=" << i << " loss=" << (5.0 - i * 0.001) << "\n";
    out << "partial line without newline";
  }
  json t = repo.Call("tail_log", {{"path", log}, {"lines", 3}});
  INFO(t.dump());
  REQUIRE_FALSE(t.value("isError", false));
  json out = t["structuredContent"];
  REQUIRE(out["lines"].size() == 3);
  CHECK(out["lines"][2] == "step=500 loss=4.5");
  CHECK(out["truncated"] == true);
  CHECK(out["metrics"]["step"] == 500);
  {
    std::ofstream more(log, std::ios::app);
    more << " now complete\nstep=501 loss=4.499\n";
  }
  json next = repo.Call("tail_log", {{"path", log}, {"cursor", out["cursor"]}})["structuredContent"];
  REQUIRE(next["lines"].size() == 2);
  CHECK(next["lines"][0] == "partial line without newline now complete");
  CHECK(next["lines"][1] == "step=501 loss=4.499");

  json grep = repo.Call("tail_log", {{"path", log}, {"grep", "step=1[0-9]{2} "}, {"lines", 5}})["structuredContent"];
  REQUIRE(grep["lines"].size() == 5);
  CHECK(grep["lines"][4] == "step=199 loss=4.801");
}

TEST_CASE("tail_log refuses what it must not read", "[tail_log][local]") {
  RunRepo repo;
  json outside = repo.Call("tail_log", {{"path", "/etc/passwd"}});
  CHECK(outside.value("isError", false));
  CHECK(testing::ResultText(outside).find("outside") != std::string::npos);
  json dotdot = repo.Call("tail_log", {{"path", repo.path() + "/../../etc/passwd"}});
  CHECK(dotdot.value("isError", false));
  json none = repo.Call("tail_log", {{"run_id", "20260101-nothing-0000"}});
  CHECK(none.value("isError", false));
  json both = repo.Call("tail_log", {{"run_id", "20260101-nothing-0000"}, {"path", repo.path()}});
  CHECK(both.value("isError", false));
  json bad_grep = repo.Call("tail_log", {{"path", repo.path() + "/x"}, {"grep", "("}});
  CHECK(bad_grep.value("isError", false));
  json missing = repo.Call("tail_log", {{"path", repo.path() + "/cluster/logs/none.log"}});
  CHECK(missing.value("isError", false));
}

}  // namespace
}  // namespace hpc
