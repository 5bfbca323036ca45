// Health checks of a running job and the thresholds they use: every check
// ok / warn / fail and left out without its data; thresholds from the
// profile and <repo>/.hpc-mcp/thresholds.yaml, validated by
// schemas/thresholds.json.
#include "tools/runs/health.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "mcp_server/assets.h"
#include "mcp_server/json_rpc.h"
#include "mcp_server/schema.h"
#include "tools/cluster/profile.h"
#include "tools/registry.h"

namespace hpc::runs {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct Repo {
  Repo()
      : path(fs::temp_directory_path() /
             ("hpc-mcp-health-" + std::to_string(getpid()) + "-" +
              std::to_string(n++))) {
    fs::create_directories(path / ".hpc-mcp");
  }
  ~Repo() { fs::remove_all(path); }
  void Write(const std::string& text) const {
    std::ofstream(path / ".hpc-mcp" / "thresholds.yaml") << text;
  }
  std::string str() const { return path.string(); }
  fs::path path;
  static inline int n = 0;
};

json SchemaAsset(const char* path) {
  auto text = mcp::FindAsset(tools::HpcAssets(), path);
  REQUIRE(text.has_value());
  return mcp::ParseJson(*text);
}

// A copy: the checks are usually a temporary.
std::optional<HealthCheck> Find(const std::vector<HealthCheck>& checks,
                                const std::string& name) {
  for (const auto& c : checks)
    if (c.name == name) return c;
  return std::nullopt;
}

MetricPoint Point(double step, std::optional<double> loss) {
  MetricPoint p;
  p.step = step;
  p.loss = loss;
  p.line = static_cast<size_t>(step);
  return p;
}

// ---------------------------------------------------------------------------
// Thresholds.

TEST_CASE("thresholds default when neither the profile nor the repo sets them",
          "[unit][health]") {
  auto t = LoadThresholds(json(), "");
  REQUIRE(t.ok());
  CHECK(t->max_grad_norm == 100);
  CHECK(t->stall_minutes == 30);
  CHECK(t->min_throughput_fraction == 0.5);
  CHECK(t->checkpoint_max_age_minutes == 0);
  Repo repo;  // No thresholds.yaml in it.
  CHECK(LoadThresholds(json(), repo.str()).ok());
}

TEST_CASE("schemas/thresholds.json defaults equal the Thresholds defaults",
          "[unit][health]") {
  auto schema = mcp::JsonSchema::Compile(SchemaAsset("schemas/thresholds.json"),
                                         "thresholds");
  REQUIRE(schema.ok());
  json defaults = json::object();
  schema->ApplyDefaults(defaults);
  // Every default, given explicitly, is accepted and reproduces Thresholds{}.
  CHECK(schema->Validate(defaults).empty());
  auto t = LoadThresholds(defaults, "");
  REQUIRE(t.ok());
  Thresholds d;
  CHECK(t->max_grad_norm == d.max_grad_norm);
  CHECK(t->stall_minutes == d.stall_minutes);
  CHECK(t->min_throughput_fraction == d.min_throughput_fraction);
  CHECK(t->loss_trend_window == d.loss_trend_window);
  CHECK(t->loss_rise_fraction == d.loss_rise_fraction);
  CHECK(t->checkpoint_max_age_minutes == d.checkpoint_max_age_minutes);
  CHECK(t->checkpoint_dir == d.checkpoint_dir);
  CHECK(t->min_free_disk_gb == d.min_free_disk_gb);
  CHECK(defaults.size() == 8);
  for (const auto& [key, prop] : schema->source()["properties"].items()) {
    INFO(key);
    CHECK(prop.contains("description"));
  }
}

TEST_CASE("the profile schema's health section has the same keys and bounds",
          "[unit][health]") {
  json thresholds = SchemaAsset("schemas/thresholds.json")["properties"];
  json health =
      SchemaAsset("schemas/cluster_profile.json")["properties"]["health"];
  CHECK(health["additionalProperties"] == false);
  for (auto& [key, prop] : thresholds.items()) prop.erase("default");
  CHECK(health["properties"] == thresholds);
}

TEST_CASE("a profile's health section parses and feeds LoadThresholds",
          "[unit][health]") {
  auto profile = cluster::ParseProfile(
      "scheduler: slurm\naccess: {kind: openssh, alias: hpc}\n"
      "health:\n  max_grad_norm: 50\n  stall_minutes: 10\n",
      "site.yaml");
  REQUIRE(profile.ok());
  auto t = LoadThresholds(profile->raw["health"], "", profile->source);
  REQUIRE(t.ok());
  CHECK(t->max_grad_norm == 50);
  CHECK(t->stall_minutes == 10);
  CHECK(t->min_free_disk_gb == 10);  // Not given: the default.

  auto bad = cluster::ParseProfile(
      "scheduler: slurm\naccess: {kind: openssh, alias: hpc}\nhealth:\n  "
      "stal_minutes: 10\n",
      "site.yaml");
  CHECK_FALSE(bad.ok());
}

TEST_CASE("thresholds.yaml overrides the profile key by key",
          "[unit][health]") {
  Repo repo;
  repo.Write(
      "# Tighter for this experiment.\nmax_grad_norm: "
      "20\ncheckpoint_max_age_minutes: 90\n"
      "checkpoint_dir: out/checkpoints\n");
  auto t = LoadThresholds({{"max_grad_norm", 50}, {"stall_minutes", 10}},
                          repo.str());
  REQUIRE(t.ok());
  CHECK(t->max_grad_norm == 20);
  CHECK(t->stall_minutes == 10);
  CHECK(t->checkpoint_max_age_minutes == 90);
  CHECK(t->checkpoint_dir == "out/checkpoints");
  CHECK(t->loss_trend_window == 20);

  SECTION("an empty file overrides nothing") {
    repo.Write("# nothing yet\n");
    auto e = LoadThresholds({{"max_grad_norm", 50}}, repo.str());
    REQUIRE(e.ok());
    CHECK(e->max_grad_norm == 50);
  }
}

TEST_CASE("bad thresholds name the file, the key and what to do",
          "[unit][health]") {
  SECTION("a profile value out of bounds") {
    auto t =
        LoadThresholds({{"min_throughput_fraction", 1.5}}, "", "site.yaml");
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(
        t.status().message(),
        Catch::StartsWith("site.yaml: health.min_throughput_fraction: "));
    CHECK_THAT(t.status().message(), Catch::Contains("maximum 1"));
    CHECK_THAT(t.status().message(), Catch::Contains("default (0.5)"));
  }
  SECTION("a misspelt key in thresholds.yaml, with its line") {
    Repo repo;
    repo.Write("max_grad_norm: 20\nstal_minutes: 5\n");
    auto t = LoadThresholds(json(), repo.str());
    REQUIRE_FALSE(t.ok());
    const std::string& m = t.status().message();
    CHECK_THAT(
        m, Catch::StartsWith(
               (repo.path / ".hpc-mcp" / "thresholds.yaml").string() + ":2: "));
    CHECK_THAT(m, Catch::Contains("stal_minutes"));
    CHECK_THAT(m, Catch::Contains("did you mean 'stall_minutes'?"));
  }
  SECTION("a wrong type") {
    Repo repo;
    repo.Write("stall_minutes: 7.5\n");
    auto t = LoadThresholds(json(), repo.str());
    REQUIRE_FALSE(t.ok());
    CHECK_THAT(t.status().message(),
               Catch::Contains("thresholds.yaml:1: stall_minutes: "));
    CHECK_THAT(t.status().message(), Catch::Contains("integer"));
  }
  SECTION("not a mapping") {
    Repo repo;
    repo.Write("- max_grad_norm\n");
    auto t = LoadThresholds(json(), repo.str());
    REQUIRE_FALSE(t.ok());
    CHECK_THAT(t.status().message(), Catch::Contains("must be a mapping"));
  }
  SECTION("invalid YAML") {
    Repo repo;
    repo.Write("max_grad_norm: [1,\n");
    auto t = LoadThresholds(json(), repo.str());
    REQUIRE_FALSE(t.ok());
    CHECK_THAT(t.status().message(), Catch::Contains("thresholds.yaml"));
  }
  SECTION("a profile health section that is not an object") {
    auto t = LoadThresholds(json::array(), "", "site.yaml");
    REQUIRE_FALSE(t.ok());
    CHECK_THAT(t.status().message(),
               Catch::Contains("site.yaml: health: must be a mapping"));
  }
}

// ---------------------------------------------------------------------------
// Checks.

TEST_CASE("no data, no checks", "[unit][health]") {
  auto checks = CheckHealth({}, Thresholds{});
  CHECK(checks.empty());
  CHECK(WorstStatus(checks) == "ok");
}

TEST_CASE("loss_finite: ok, warn after a recovered NaN, fail on NaN or inf",
          "[unit][health]") {
  HealthInput in;
  in.history = {Point(10, 2.5), Point(20, 2.4)};
  auto ok = Find(CheckHealth(in, {}), "loss_finite");
  REQUIRE(ok);
  CHECK(ok->status == "ok");
  CHECK_THAT(ok->detail, Catch::Contains("loss 2.4 at step 20"));

  in.history.push_back(Point(30, std::nan("")));
  auto fail = Find(CheckHealth(in, {}), "loss_finite");
  REQUIRE(fail);
  CHECK(fail->status == "fail");
  CHECK_THAT(fail->detail, Catch::Contains("loss is nan at step 30"));

  in.history.back().loss = INFINITY;
  CHECK(Find(CheckHealth(in, {}), "loss_finite")->status == "fail");

  in.history.push_back(Point(40, 2.3));
  auto warn = Find(CheckHealth(in, {}), "loss_finite");
  CHECK(warn->status == "warn");
  CHECK_THAT(warn->detail, Catch::Contains("non-finite at step 30"));

  SECTION("a non-finite val_loss fails too") {
    MetricPoint v;
    v.val_loss = std::nan("");
    in.history.push_back(v);
    CHECK(Find(CheckHealth(in, {}), "loss_finite")->status == "fail");
  }
  SECTION("omitted without any loss") {
    HealthInput none;
    none.history = {Point(1, std::nullopt)};
    CHECK_FALSE(Find(CheckHealth(none, {}), "loss_finite"));
  }
}

TEST_CASE("loss_trend: warns when the loss rises over the window",
          "[unit][health]") {
  Thresholds t;
  t.loss_trend_window = 8;
  t.loss_rise_fraction = 0.10;
  HealthInput in;
  for (int i = 0; i < 7; ++i) in.history.push_back(Point(i, 2.0 - 0.05 * i));
  CHECK_FALSE(
      Find(CheckHealth(in, t), "loss_trend"));  // 7 < 8 values: too few.

  in.history.push_back(Point(7, 1.6));
  auto ok = Find(CheckHealth(in, t), "loss_trend");
  REQUIRE(ok);
  CHECK(ok->status == "ok");

  HealthInput rising;
  for (int i = 0; i < 8; ++i) rising.history.push_back(Point(i, 2.0 + 0.1 * i));
  auto warn = Find(CheckHealth(rising, t), "loss_trend");
  REQUIRE(warn);
  CHECK(warn->status == "warn");
  CHECK_THAT(warn->detail, Catch::Contains("> +10 % (loss_rise_fraction)"));

  SECTION("one spike in a flat run does not warn") {
    HealthInput spike;
    for (int i = 0; i < 8; ++i)
      spike.history.push_back(Point(i, i == 7 ? 2.3 : 2.0));
    CHECK(Find(CheckHealth(spike, t), "loss_trend")->status == "ok");
  }
  SECTION("NaN values are left to loss_finite") {
    rising.history.push_back(Point(8, std::nan("")));
    CHECK(Find(CheckHealth(rising, t), "loss_trend")->status == "warn");
  }
}

TEST_CASE("grad_norm: ok, warn above max_grad_norm, fail when not finite",
          "[unit][health]") {
  HealthInput in;
  MetricPoint p = Point(500, 2.0);
  p.grad_norm = 1.7;
  in.history = {p};
  CHECK(Find(CheckHealth(in, {}), "grad_norm")->status == "ok");

  in.history[0].grad_norm = 153.2;
  auto warn = Find(CheckHealth(in, {}), "grad_norm");
  CHECK(warn->status == "warn");
  CHECK_THAT(warn->detail,
             Catch::StartsWith("grad_norm 153.2 > 100 (max_grad_norm)"));

  in.history[0].grad_norm = std::nan("");
  CHECK(Find(CheckHealth(in, {}), "grad_norm")->status == "fail");
  in.history[0].grad_norm = INFINITY;
  CHECK(Find(CheckHealth(in, {}), "grad_norm")->status == "fail");

  in.history[0].grad_norm.reset();
  CHECK_FALSE(Find(CheckHealth(in, {}), "grad_norm"));
}

TEST_CASE("step_advancing: fails after stall_minutes without a new step",
          "[unit][health]") {
  HealthInput in;
  in.history = {Point(450, 2.0)};
  in.seconds_since_progress = 29 * 60;
  auto ok = Find(CheckHealth(in, {}), "step_advancing");
  REQUIRE(ok);
  CHECK(ok->status == "ok");
  CHECK_THAT(ok->detail, Catch::Contains("step 450 last advanced 29 min ago"));

  in.seconds_since_progress = 31 * 60;
  auto fail = Find(CheckHealth(in, {}), "step_advancing");
  CHECK(fail->status == "fail");
  CHECK_THAT(fail->detail, Catch::Contains("> 30 min (stall_minutes)"));

  SECTION("no step yet: measured from the start") {
    HealthInput fresh;
    fresh.seconds_since_progress = 3600;
    CHECK_THAT(Find(CheckHealth(fresh, {}), "step_advancing")->detail,
               Catch::StartsWith("no step seen since the job started"));
  }
  SECTION("omitted when unknown or turned off") {
    in.seconds_since_progress.reset();
    CHECK_FALSE(Find(CheckHealth(in, {}), "step_advancing"));
    in.seconds_since_progress = 99999;
    Thresholds off;
    off.stall_minutes = 0;
    CHECK_FALSE(Find(CheckHealth(in, off), "step_advancing"));
  }
}

TEST_CASE("throughput: warns below a fraction of its own median",
          "[unit][health]") {
  HealthInput in;
  auto add = [&](double v, const char* unit = "it/s") {
    MetricPoint p;
    p.throughput = v;
    p.throughput_unit = unit;
    in.history.push_back(p);
  };
  for (double v : {6.4, 6.3, 6.5, 6.4}) add(v);
  CHECK_FALSE(Find(CheckHealth(in, {}), "throughput"));  // 4 < 5 points.
  add(6.2);
  CHECK(Find(CheckHealth(in, {}), "throughput")->status == "ok");
  add(2.1);
  auto warn = Find(CheckHealth(in, {}), "throughput");
  CHECK(warn->status == "warn");
  CHECK_THAT(
      warn->detail,
      Catch::Contains("throughput 2.1 it/s < 50 % of its median 6.35 it/s"));

  SECTION("only values in the latest unit count") {
    add(300, "samples/s");
    CHECK_FALSE(
        Find(CheckHealth(in, {}), "throughput"));  // One samples/s value.
  }
}

TEST_CASE("checkpoint_fresh: warns when the newest checkpoint is too old",
          "[unit][health]") {
  HealthInput in;
  in.checkpoint_age_seconds = 95 * 60;
  CHECK_FALSE(
      Find(CheckHealth(in, {}), "checkpoint_fresh"));  // Off by default.
  Thresholds t;
  t.checkpoint_max_age_minutes = 60;
  t.checkpoint_dir = "out/checkpoints";
  auto warn = Find(CheckHealth(in, t), "checkpoint_fresh");
  REQUIRE(warn);
  CHECK(warn->status == "warn");
  CHECK_THAT(warn->detail,
             Catch::Contains("out/checkpoints is 95 min old > 60 min"));
  in.checkpoint_age_seconds = 10 * 60;
  CHECK(Find(CheckHealth(in, t), "checkpoint_fresh")->status == "ok");
  in.checkpoint_age_seconds.reset();
  CHECK_FALSE(Find(CheckHealth(in, t), "checkpoint_fresh"));
}

TEST_CASE("disk_free: warn below min_free_disk_gb, fail below a tenth",
          "[unit][health]") {
  HealthInput in;
  in.free_disk_gb = 250;
  CHECK(Find(CheckHealth(in, {}), "disk_free")->status == "ok");
  in.free_disk_gb = 4.5;
  auto warn = Find(CheckHealth(in, {}), "disk_free");
  CHECK(warn->status == "warn");
  CHECK_THAT(warn->detail,
             Catch::Contains(
                 "4.5 GB free in the work root < 10 GB (min_free_disk_gb)"));
  in.free_disk_gb = 0.5;
  CHECK(Find(CheckHealth(in, {}), "disk_free")->status == "fail");
  in.free_disk_gb.reset();
  CHECK_FALSE(Find(CheckHealth(in, {}), "disk_free"));
}

TEST_CASE("checks come in a fixed order; the worst status sums them up",
          "[unit][health]") {
  HealthInput in;
  MetricPoint p = Point(10, 2.0);
  p.grad_norm = 500;
  in.history = {p};
  in.seconds_since_progress = 60;
  in.free_disk_gb = 100;
  auto checks = CheckHealth(in, {});
  REQUIRE(checks.size() == 4);
  CHECK(checks[0].name == "loss_finite");
  CHECK(checks[1].name == "grad_norm");
  CHECK(checks[2].name == "step_advancing");
  CHECK(checks[3].name == "disk_free");
  CHECK(WorstStatus(checks) == "warn");
  in.free_disk_gb = 0.1;
  CHECK(WorstStatus(CheckHealth(in, {})) == "fail");
  CHECK(ToJson(checks[1]) == json{{"name", "grad_norm"},
                                  {"status", "warn"},
                                  {"detail", checks[1].detail}});
}

}  // namespace
}  // namespace hpc::runs
