// The GPU-hours estimate, the repository's usage replayed from journal
// events, every profile limit, and confirm_token redemption, as pure
// functions. The same rules through the submit tool, on this machine and
// on the Slurm testbed, are in tests/tools/submit_test.cc.
#include "tools/runs/limits.h"

#include <catch2/catch.hpp>
#include <functional>
#include <set>

#include "tools/runs/confirm.h"

namespace hpc::runs {
namespace {

using nlohmann::json;

PreparedJob Job(std::string role, int gpus, int nodes, std::string time,
                std::string array = "") {
  PreparedJob j;
  j.role = std::move(role);
  j.request.resources.gpus = gpus;
  j.request.resources.nodes = nodes;
  j.request.resources.time = std::move(time);
  j.request.resources.partition = "gpu";
  j.request.resources.account = "ml-lab";
  j.request.resources.qos = "normal";
  j.request.array = std::move(array);
  return j;
}

cluster::ClusterProfile Site() {
  cluster::ClusterProfile p;
  p.name = "site";
  p.source = "/home/u/exp/.hpc-mcp/profiles/site.yaml";
  return p;
}

journal::Event Ev(std::string ts, std::string run, std::string name, json ctx) {
  return {std::move(ts), std::move(run), std::move(name), std::move(ctx)};
}

TEST_CASE(
    "GPU-hours are GPUs per node x nodes x tasks x walltime, summed over jobs",
    "[unit][runs]") {
  Estimate e = EstimateCost(
      {Job("smoke", 4, 2, "00:30:00"), Job("main", 4, 2, "02:00:00", "0-9%2")});
  REQUIRE(e.jobs.size() == 2);
  CHECK(e.jobs[0].gpus == 8);
  CHECK(e.jobs[0].gpu_hours == Approx(4.0));
  CHECK(e.jobs[1].tasks == 10);
  CHECK(e.jobs[1].gpu_hours == Approx(160.0));
  CHECK(e.gpu_hours == Approx(164.0));
  CHECK(e.job_count == 11);
  CHECK_FALSE(e.unbounded());
  CHECK(EstimateCost({Job("main", 0, 1, "")}).gpu_hours == 0);
  CHECK_FALSE(EstimateCost({Job("main", 0, 1, "")}).unbounded());
  CHECK(EstimateCost({Job("main", 1, 1, "")}).unbounded());
  CHECK(FormatHours(2.0) == "2");
  CHECK(FormatHours(2.5) == "2.5");
  CHECK(FormatHours(1.0 / 3) == "0.33");
}

TEST_CASE(
    "usage counts active runs in flight and the last 24 hours from the journal",
    "[unit][runs]") {
  RunTable t;
  const int64_t now = ParseTs("2026-11-24T12:00:00Z");
  // Running, 2 GPU-hours, 3 jobs.
  t.Apply(Ev("2026-11-24T10:00:00.000Z", "20261124-a-0001", "created",
             {{"gpu_hours", 2.0}, {"jobs", 3}}));
  t.Apply(Ev("2026-11-24T10:00:01.000Z", "20261124-a-0001", "state_changed",
             {{"to", "running"}}));
  // Ended an hour ago: in the day, not in flight.
  t.Apply(Ev("2026-11-24T01:00:00.000Z", "20261124-b-0002", "created",
             {{"gpu_hours", 5}, {"jobs", 1}}));
  t.Apply(Ev("2026-11-24T11:00:00.000Z", "20261124-b-0002", "state_changed",
             {{"to", "completed"}}));
  // Created 25 hours ago: in neither.
  t.Apply(Ev("2026-11-23T11:00:00.000Z", "20261123-c-0003", "created",
             {{"gpu_hours", 7}, {"jobs", 1}}));
  t.Apply(Ev("2026-11-23T11:00:01.000Z", "20261123-c-0003", "state_changed",
             {{"to", "failed"}}));
  // Refused by the scheduler: no GPU was ever held.
  t.Apply(Ev("2026-11-24T11:30:00.000Z", "20261124-d-0004", "created",
             {{"gpu_hours", 11}, {"jobs", 1}}));
  t.Apply(Ev("2026-11-24T11:30:01.000Z", "20261124-d-0004", "submit_failed",
             {{"lost", false}}));

  Usage u = RepoUsage(t, now);
  CHECK(u.gpu_hours_in_flight == Approx(2));
  CHECK(u.jobs_in_flight == 3);
  CHECK(u.gpu_hours_last_day == Approx(7));
}

TEST_CASE(
    "every limit refuses what exceeds it, naming the limit, the request, what "
    "is "
    "allowed and the profile file",
    "[unit][runs]") {
  struct Case {
    std::string limit, requested, allowed;
    std::function<void(cluster::Limits&)> set;
    PreparedJob job;
    Usage usage;
  };
  const PreparedJob ok =
      Job("main", 2, 2, "04:00:00");  // 4 GPUs, 16 GPU-hours.
  auto with = [&](auto change) {
    PreparedJob j = ok;
    change(j.request);
    return j;
  };
  std::vector<Case> cases = {
      {"max_walltime",
       "04:00:00",
       "01:00:00",
       [](auto& l) { l.max_walltime = "01:00:00"; },
       ok,
       {}},
      {"max_walltime",
       "none (the scheduler's default)",
       "01:00:00",
       [](auto& l) { l.max_walltime = "01:00:00"; },
       with([](auto& r) {
         r.resources.gpus = 0;
         r.resources.time = "";
       }),
       {}},
      {"max_array_size",
       "20 array tasks",
       "10",
       [](auto& l) { l.max_array_size = 10; },
       with([](auto& r) { r.array = "0-19"; }),
       {}},
      {"max_nodes", "2", "1", [](auto& l) { l.max_nodes = 1; }, ok, {}},
      {"max_gpus",
       "4 GPUs (2 per node x 2 nodes)",
       "3",
       [](auto& l) { l.max_gpus = 3; },
       ok,
       {}},
      {"allowed_partitions",
       "gpu",
       "a100, h100",
       [](auto& l) {
         l.allowed_partitions = {"a100", "h100"};
       },
       ok,
       {}},
      {"allowed_partitions",
       "none (the scheduler's default)",
       "a100",
       [](auto& l) { l.allowed_partitions = {"a100"}; },
       with([](auto& r) { r.resources.partition = ""; }),
       {}},
      {"allowed_accounts",
       "ml-lab",
       "other-lab",
       [](auto& l) { l.allowed_accounts = {"other-lab"}; },
       ok,
       {}},
      {"allowed_qos",
       "normal",
       "low",
       [](auto& l) { l.allowed_qos = {"low"}; },
       ok,
       {}},
      {"max_jobs_in_flight",
       "5 jobs (1 for this submission + 4 of active runs)", "4",
       [](auto& l) { l.max_jobs_in_flight = 4; }, ok, Usage{0, 0, 4}},
      {"max_gpu_hours_in_flight",
       "26 GPU-hours (16 for this submission + 10 of active runs)",
       "20 GPU-hours", [](auto& l) { l.max_gpu_hours_in_flight = 20; }, ok,
       Usage{10, 0, 0}},
      {"max_gpu_hours_per_day",
       "16.5 GPU-hours (16 for this submission + 0.5 submitted in the last 24 "
       "hours)",
       "16 GPU-hours", [](auto& l) { l.max_gpu_hours_per_day = 16; }, ok,
       Usage{0, 0.5, 0}},
      {"max_gpu_hours_in_flight",
       "unknown: a job asks for GPUs without a walltime",
       "100 GPU-hours",
       [](auto& l) { l.max_gpu_hours_in_flight = 100; },
       with([](auto& r) { r.resources.time = ""; }),
       {}},
      {"confirm_above_gpu_hours",
       "unknown: a job asks for GPUs without a walltime",
       "100 GPU-hours",
       [](auto& l) { l.confirm_above_gpu_hours = 100; },
       with([](auto& r) { r.resources.time = ""; }),
       {}},
  };
  for (const auto& c : cases) {
    cluster::ClusterProfile p = Site();
    c.set(p.limits);
    INFO(c.limit << " / " << c.requested);
    auto r = CheckLimits(p, {c.job}, EstimateCost({c.job}), c.usage);
    REQUIRE_FALSE(r.ok());
    const Status& s = r.status();
    CHECK(s.code() == StatusCode::kResourceExhausted);
    CHECK(s.reason() == "limit_exceeded");
    CHECK_THAT(s.message(), Catch::Contains("- " + c.limit));
    CHECK_THAT(s.message(), Catch::Contains("requested " + c.requested +
                                            "; allowed " + c.allowed));
    CHECK_THAT(s.message(), Catch::Contains(p.source));
    CHECK_THAT(s.remediation(), Catch::Contains(p.source));
    CHECK(s.retry_safe() == (c.limit == "max_jobs_in_flight" ||
                             c.limit.rfind("max_gpu_hours", 0) == 0));
  }
}

TEST_CASE(
    "limits within bounds pass and are all listed; several violations are all "
    "named",
    "[unit][runs]") {
  cluster::ClusterProfile p = Site();
  cluster::Limits& l = p.limits;
  l.max_walltime = "1-00:00:00";
  l.max_array_size = 100;
  l.max_nodes = 2;
  l.max_gpus = 8;
  l.allowed_partitions = {"gpu"};
  l.allowed_accounts = {"ml-lab"};
  l.allowed_qos = {"normal"};
  l.max_jobs_in_flight = 20;
  l.max_gpu_hours_in_flight = 200;
  l.max_gpu_hours_per_day = 500;
  l.confirm_above_gpu_hours = 50;
  std::vector<PreparedJob> jobs = {Job("smoke", 2, 2, "00:10:00"),
                                   Job("main", 2, 2, "04:00:00", "0-9")};
  Estimate e = EstimateCost(jobs);
  auto r = CheckLimits(p, jobs, e, {});
  REQUIRE(r.ok());
  std::set<std::string> names;
  for (const auto& k : *r) {
    CHECK(k.ok);
    names.insert(k.limit);
  }
  CHECK(names == std::set<std::string>{
                     "max_walltime", "max_array_size", "max_nodes", "max_gpus",
                     "allowed_partitions", "allowed_accounts", "allowed_qos",
                     "max_jobs_in_flight", "max_gpu_hours_in_flight",
                     "max_gpu_hours_per_day"});
  CHECK(NeedsConfirmation(p, e));  // 160.67 GPU-hours > 50.
  json j = EstimateJson(p, e, {}, *r);
  CHECK(j["needs_confirmation"] == true);
  CHECK(j["jobs"] == 11);
  CHECK(j["profile_source"] == p.source);

  l.max_nodes = 1;
  l.allowed_qos = {"low"};
  auto bad = CheckLimits(p, jobs, e, {});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(),
             Catch::Contains("- max_nodes (smoke job)"));
  CHECK_THAT(bad.status().message(), Catch::Contains("- max_nodes (main job)"));
  CHECK_THAT(bad.status().message(),
             Catch::Contains("- allowed_qos (main job)"));
}

TEST_CASE("a confirm_token is redeemed once, for its spec, before it expires",
          "[unit][runs]") {
  auto token = NewConfirmToken();
  REQUIRE(token.ok());
  CHECK(token->size() == 32);
  CHECK(*NewConfirmToken() != *token);
  const std::string digest = ConfirmTokenDigest(*token);
  CHECK(digest.size() == 64);

  RunTable t;
  t.Apply(Ev("2026-11-24T12:00:00.000Z", "", "confirm_requested",
             {{"token_sha256", digest},
              {"spec_hash", "aaaa"},
              {"run_id", "20261124-big-0001"},
              {"gpu_hours", 64},
              {"expires_at", 1000}}));
  auto k = RedeemConfirmation(t, *token, "aaaa", 999);
  REQUIRE(k.ok());
  CHECK(k->run_id == "20261124-big-0001");
  CHECK(RedeemConfirmation(t, *token, "aaaa", 1000).status().reason() ==
        "confirm_token_expired");
  CHECK(RedeemConfirmation(t, *token, "bbbb", 999).status().reason() ==
        "confirm_token_mismatch");
  CHECK(RedeemConfirmation(t, "0123", "aaaa", 999).status().reason() ==
        "confirm_token_unknown");
  // Spent by the run's own `created`.
  t.Apply(Ev("2026-11-24T12:01:00.000Z", "20261124-big-0001", "created",
             {{"confirm_token_sha256", digest}}));
  auto used = RedeemConfirmation(t, *token, "aaaa", 999);
  REQUIRE_FALSE(used.ok());
  CHECK(used.status().reason() == "confirm_token_used");
  CHECK_THAT(used.status().message(), Catch::Contains("20261124-big-0001"));
}

}  // namespace
}  // namespace hpc::runs
