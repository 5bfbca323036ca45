// The patrol (tools/patrol/): milestones and notices replayed from the
// journal, the digest, and whole passes over real jobs on the local profile
// and the Slurm testbed, with a webhook receiver on loopback: the same
// journal events as `poll`, each notice exactly once (also with two patrols
// at once, as threads and as processes), nothing for nothing, a failing
// receiver that never breaks a pass, and the read mark that `poll` moves.
#include "tools/patrol/patrol.h"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/job_poll.h"
#include "tests/support/run_repo.h"
#include "tools/patrol/heartbeat.h"
#include "tools/patrol/notices.h"
#include "tools/runs/cluster_context.h"
#include "tools/runs/poller.h"
#include "tools/runs/read_mark.h"
#include "tools/runs/repo_registry.h"

namespace hpc {
namespace {

using Catch::Contains;
using nlohmann::json;
using testing::RunRepo;
using testing::Subprocess;
using testing::TempDir;

// The error of a Result, for INFO ("" when it holds a value).
template <class T>
std::string Why(const Result<T>& r) {
  return r.ok() ? "" : r.status().message();
}

// A webhook on 127.0.0.1: records each POST body and answers `status`.
class Receiver {
 public:
  explicit Receiver(int status = 200) : status_(status) {
    server_.Post(
        "/hook", [this](const httplib::Request& req, httplib::Response& res) {
          {
            std::lock_guard lock(mu_);
            bodies_.push_back(json::parse(req.body, nullptr, false));
          }
          res.status = status_;
          res.set_content(status_ == 200 ? "{}" : "{\"error\": \"down\"}",
                          "application/json");
        });
    port_ = server_.bind_to_any_port("127.0.0.1");
    // Bound: connections wait in the backlog until the loop accepts them.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string Url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/hook";
  }
  std::vector<json> Bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  // How many POSTs announced `event` of `run_id`.
  int Count(const std::string& run_id, const std::string& event) {
    int n = 0;
    for (const auto& b : Bodies())
      n += b.is_object() && b.value("run_id", "") == run_id &&
           b.value("event", "") == event;
    return n;
  }

 private:
  int status_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<json> bodies_;
};

// A notify config for `rx`, written to a file of `dir`.
std::string WriteConfig(TempDir& dir, const Receiver& rx,
                        const std::string& events, int retries = 1) {
  return dir.WriteFile(
      "notify.yaml",
      "events: " + events +
          "\nchannels:\n  - kind: webhook\n    url: " + rx.Url() +
          "\nretries: " + std::to_string(retries) + "\ntimeout_s: 5\n");
}

const char kAllEvents[] =
    "[run_started, run_finished, run_failed, health_failed]";

notify::Config LoadConfigOrFail(const std::string& path) {
  auto c = notify::LoadConfig(path);
  INFO(Why(c));
  REQUIRE(c.ok());
  c->backoff = std::chrono::milliseconds(10);
  return *c;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The text of section `title` of a heartbeat.md (up to the next heading).
std::string SectionOf(const std::string& md, const std::string& title) {
  size_t at = md.find("## " + title);
  if (at == std::string::npos) return "";
  size_t end = md.find("\n## ", at + 3);
  return md.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::string Heartbeat(const RunRepo& repo) {
  return ReadText(repo.path() + "/.hpc-mcp/heartbeat.md");
}

std::vector<json> Named(const RunRepo& repo, const std::string& name) {
  std::vector<json> out;
  for (const auto& e : repo.Events())
    if (e.value("name", "") == name) out.push_back(e);
  return out;
}

std::string Submit(RunRepo& repo, const std::string& name,
                   const std::string& script, const std::string& profile = "") {
  json args{{"name", name}, {"command", {"bash", "-c", script}}};
  if (!profile.empty()) args["profile"] = profile;
  json r = repo.Call("submit", args);
  INFO(r.dump());
  REQUIRE_FALSE(r.value("isError", false));
  return r["structuredContent"]["run_id"];
}

// Waits, asking the scheduler directly (nothing is journaled), until every
// job of `run_ids` has ended.
void WaitJobsEnded(RunRepo& repo, const std::vector<std::string>& run_ids,
                   const std::string& profile = "local",
                   std::chrono::seconds deadline = std::chrono::seconds(90)) {
  std::vector<std::string> jobs;
  for (const auto& e : Named(repo, "submitted"))
    for (const auto& id : run_ids)
      if (e["run"] == id) jobs.push_back(e["context"]["job_id"]);
  REQUIRE(jobs.size() >= run_ids.size());
  auto cluster =
      runs::OpenCluster(profile, repo.path(), runs::Intent::kObserve);
  REQUIRE(cluster.ok());
  auto st = testing::WaitTerminal(*(*cluster)->scheduler, jobs, deadline,
                                  std::chrono::milliseconds(250), jobs.size());
  for (const auto& id : jobs) {
    INFO("job " << id);
    REQUIRE(st.count(id));
    CHECK(cluster::IsTerminal(st[id].state));
  }
}

// Waits until the stdout log of `run_id` contains `text`; bounded.
void WaitLog(RunRepo& repo, const std::string& run_id,
             const std::string& text) {
  std::string path;
  for (const auto& e : Named(repo, "submitting"))
    if (e["run"] == run_id) path = e["context"]["stdout_path"];
  REQUIRE_FALSE(path.empty());
  for (int i = 0; i < 300 && ReadText(path).find(text) == std::string::npos;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE_THAT(ReadText(path), Contains(text));
}

patrol::RepoReport PassOrFail(const RunRepo& repo,
                              const patrol::PatrolOptions& o) {
  auto r = patrol::PatrolRepo(repo.path(), o);
  INFO(Why(r));
  REQUIRE(r.ok());
  return *r;
}

// The keys of every notice_claimed event, each exactly once.
std::set<std::string> ClaimedOnce(const RunRepo& repo) {
  std::set<std::string> keys;
  for (const auto& e : Named(repo, "notice_claimed")) {
    INFO("claimed twice: " << e.dump());
    CHECK(keys.insert(e["context"]["key"].get<std::string>()).second);
  }
  return keys;
}

const char kOomScript[] =
    "echo step=5 loss=3.1; echo 'torch.OutOfMemoryError: CUDA out of memory. "
    "Tried to "
    "allocate 2.00 GiB' >&2; exit 1";

// ---------------------------------------------------------------- replay --

journal::Event Ev(const std::string& run, const std::string& name, json context,
                  const std::string& ts = "2026-11-23T10:00:00.000Z") {
  return journal::Event{ts, run, name, std::move(context)};
}

TEST_CASE(
    "milestones are a replay: each change once, notices only for what matters",
    "[patrol][unit]") {
  runs::RunTable t;
  const std::string a = "20261123-a-0001", b = "20261123-b-0002";
  t.Apply(Ev(a, "created", {{"name", "a"}, {"profile", "local"}}));
  t.Apply(Ev(a, "submitting", {{"attempt", 1}, {"role", "main"}}));
  t.Apply(
      Ev(a, "submitted", {{"attempt", 1}, {"role", "main"}, {"job_id", "7"}}));
  t.Apply(Ev(a, "state_changed", {{"from", "pending"}, {"to", "running"}}));
  // Two pollers racing report the same change twice: one milestone.
  t.Apply(Ev(a, "state_changed", {{"from", "pending"}, {"to", "running"}}));
  t.Apply(Ev(a, "health", {{"status", "ok"}, {"checks", json::array()}}));
  t.Apply(Ev(a, "health",
             {{"status", "fail"},
              {"checks",
               {{{"name", "loss_finite"},
                 {"status", "fail"},
                 {"detail", "loss is nan at step 2"}}}}}));
  t.Apply(
      Ev(a, "health",
         {{"status", "fail"}, {"checks", json::array()}}));  // Still failing.
  t.Apply(Ev(a, "state_changed",
             {{"from", "running"}, {"to", "pending"}}));  // Requeued.
  t.Apply(Ev(a, "state_changed",
             {{"from", "pending"}, {"to", "running"}}));  // Not new.
  t.Apply(Ev(a, "state_changed", {{"from", "running"}, {"to", "failed"}}));
  t.Apply(Ev(b, "created", {{"name", "b"}}));
  t.Apply(
      Ev(b, "submitted", {{"attempt", 1}, {"role", "main"}, {"job_id", "8"}}));
  t.Apply(Ev(b, "cancel_requested", {{"jobs", {"8"}}}));
  t.Apply(Ev(b, "state_changed", {{"from", "pending"}, {"to", "cancelled"}}));

  std::vector<std::string> notices, changes;
  for (const auto& m : t.milestones) {
    if (!m.notice.empty())
      notices.push_back(m.run.substr(9, 1) + ":" + m.notice);
    changes.push_back(m.run.substr(9, 1) + ":" + m.kind + ":" + m.to);
  }
  CHECK(notices == std::vector<std::string>{"a:run_started", "a:health_failed",
                                            "a:run_failed"});
  CHECK(changes ==
        std::vector<std::string>{"a:created:submitting", "a:state:pending",
                                 "a:state:running", "a:health:fail",
                                 "a:state:pending", "a:state:running",
                                 "a:state:failed", "b:created:submitting",
                                 "b:state:pending", "b:state:cancelled"});
  CHECK(t.milestones[3].detail[0]["name"] == "loss_finite");
  CHECK(t.runs.at(a).started);
  CHECK_FALSE(t.notify_from);

  // Cancelled by someone else (no cancel_requested): a failure.
  runs::RunTable u;
  u.Apply(Ev(b, "created", {{"name", "b"}}));
  u.Apply(Ev(b, "state_changed", {{"from", "pending"}, {"to", "cancelled"}}));
  REQUIRE(u.milestones.size() == 2);
  CHECK(u.milestones[1].notice == "run_failed");
}

TEST_CASE(
    "notice events are repository-wide and replay into claims and deliveries",
    "[patrol][unit]") {
  runs::RunTable t;
  const std::string a = "20261123-a-0001";
  t.Apply(Ev(a, "created", {{"name", "a"}}));
  t.Apply(Ev("", "notify_started", {{"seq", 1}}));
  t.Apply(Ev("", "notify_started", {{"seq", 9}}));  // Only the first counts.
  t.Apply(Ev(a, "state_changed", {{"from", "pending"}, {"to", "completed"}}));
  const uint64_t run_seq = t.runs.at(a).changed_seq;
  t.Apply(Ev("", "notice_claimed",
             {{"key", "k1"},
              {"event", "run_finished"},
              {"run", a},
              {"channels", {"webhook x"}},
              {"by", "patrol 1@h"}}));
  t.Apply(Ev("", "notice_sent",
             {{"key", "k1"},
              {"channel", "webhook x"},
              {"ok", false},
              {"error", "HTTP 500"}}));
  REQUIRE(t.notify_from);
  CHECK(*t.notify_from == 1);
  CHECK(t.runs.at(a).changed_seq == run_seq);  // poll's cursor sees no change.
  const runs::NoticeRecord& n = t.notices.at("k1");
  CHECK(n.run == a);
  CHECK(n.claimed_by == "patrol 1@h");
  CHECK(n.claim_seq == 5);
  CHECK(n.channels == std::vector<std::string>{"webhook x"});
  CHECK_FALSE(n.sent.at("webhook x").ok);
  CHECK(n.sent.at("webhook x").error == "HTTP 500");
}

TEST_CASE(
    "a claim is honoured for ten minutes, then taken over; a delivery is final",
    "[patrol][unit]") {
  auto config = notify::ParseConfig(
      "events: [run_failed]\nchannels:\n  - kind: webhook\n    url: "
      "http://127.0.0.1:9/a\n"
      "  - kind: webhook\n    url: http://127.0.0.1:9/b\n",
      "test.yaml");
  REQUIRE(config.ok());
  // Describe() hides the paths: the two read alike, but are two channels.
  CHECK(config->channels[0].Describe() == config->channels[1].Describe());
  CHECK(patrol::ChannelName(config->channels[0]) !=
        patrol::ChannelName(config->channels[1]));
  const std::string a = "20261123-a-0001";
  auto table = [&](const std::string& claimed_at, bool sent_first) {
    runs::RunTable t;
    t.Apply(Ev(a, "created", {{"name", "a"}}));
    t.Apply(Ev("", "notify_started", {{"seq", 1}}));
    t.Apply(Ev(a, "state_changed", {{"from", "running"}, {"to", "failed"}}));
    t.Apply(Ev(a, "diagnosed",
               {{"category", "unknown"}, {"summary", "it failed"}}));
    json names = json::array();
    for (const auto& c : config->channels)
      names.push_back(patrol::ChannelName(c));
    t.Apply(Ev("", "notice_claimed",
               {{"key", "j:" + a + ":run_failed:3"},
                {"event", "run_failed"},
                {"run", a},
                {"channels", names},
                {"by", "patrol 1@h"}},
               claimed_at));
    if (sent_first)
      t.Apply(Ev("", "notice_sent",
                 {{"key", "j:" + a + ":run_failed:3"},
                  {"channel", patrol::ChannelName(config->channels[0])},
                  {"ok", false}}));
    return t;
  };
  const int64_t now = runs::ParseTs("2026-11-23T10:20:00Z");
  runs::RunTable fresh = table("2026-11-23T10:15:00.000Z", true);
  REQUIRE(fresh.milestones.size() == 2);
  notify::Notice n =
      patrol::MakeNotice(fresh.runs.at(a), fresh.milestones[1], "j", "/r", now);
  CHECK(n.key == "j:" + a + ":run_failed:3");
  CHECK(n.diagnosis == "unknown: it failed");
  CHECK(patrol::Claimable(fresh, n, *config, now).empty());
  CHECK(patrol::DueMilestones(fresh, "j", *config, now).empty());
  // Ten minutes on, the patrol that claimed it is presumed dead: only the
  // channel it never reported on is claimed again.
  runs::RunTable stale = table("2026-11-23T10:05:00.000Z", true);
  auto again = patrol::Claimable(stale, n, *config, now);
  REQUIRE(again.size() == 1);
  CHECK(again[0] == &config->channels[1]);
  CHECK(patrol::DueMilestones(stale, "j", *config, now).size() == 1);
}

TEST_CASE("a failure waits a little for its diagnosis before it is announced",
          "[patrol][unit]") {
  auto config = notify::ParseConfig(
      "events: [run_failed]\nchannels:\n  - kind: webhook\n    url: "
      "http://127.0.0.1:9/a\n",
      "test.yaml");
  REQUIRE(config.ok());
  runs::RunTable t;
  const std::string a = "20261123-a-0001";
  t.Apply(Ev(a, "created", {{"name", "a"}}));
  t.Apply(Ev("", "notify_started", {{"seq", 1}}));
  t.Apply(Ev(a, "state_changed", {{"from", "running"}, {"to", "failed"}},
             "2026-11-23T10:00:00.000Z"));
  CHECK(patrol::DueMilestones(t, "j", *config,
                              runs::ParseTs("2026-11-23T10:01:00Z"))
            .empty());
  CHECK(patrol::DueMilestones(t, "j", *config,
                              runs::ParseTs("2026-11-23T10:03:00Z"))
            .size() == 1);
  t.Apply(
      Ev(a, "diagnosed", {{"category", "quick_death"}, {"summary", "died"}}));
  CHECK(patrol::DueMilestones(t, "j", *config,
                              runs::ParseTs("2026-11-23T10:01:00Z"))
            .size() == 1);
}

TEST_CASE("durations read as a person says them", "[patrol][unit]") {
  CHECK(patrol::FormatDuration(0) == "0s");
  CHECK(patrol::FormatDuration(45) == "45s");
  CHECK(patrol::FormatDuration(725) == "12m05s");
  CHECK(patrol::FormatDuration(3 * 3600 + 12 * 60 + 9) == "3h12m");
  CHECK(patrol::FormatDuration(2 * 86400 + 3 * 3600) == "2d03h");
}

TEST_CASE(
    "the digest lists what needs attention, what changed since the last read, "
    "what runs and what was sent",
    "[patrol][unit]") {
  runs::RunTable t;
  const std::string a = "20261123-oom-0001", b = "20261123-train-0002",
                    c = "20261123-old-0003";
  t.Apply(Ev(c, "created", {{"name", "old"}}));
  t.Apply(Ev(c, "state_changed", {{"from", "pending"}, {"to", "completed"}}));
  const uint64_t read_at = t.seq;
  t.Apply(Ev(a, "created", {{"name", "oom"}}));
  t.Apply(Ev(a, "state_changed", {{"from", "pending"}, {"to", "running"}}));
  t.Apply(Ev(a, "state_changed",
             {{"from", "running"}, {"to", "failed"}, {"elapsed_s", 75}}));
  t.Apply(Ev(a, "diagnosed",
             {{"category", "gpu_oom"},
              {"summary", "CUDA out of memory"},
              {"evidence", {"torch.OutOfMemoryError: CUDA out of memory", "x"}},
              {"remediation", "halve the batch size"}}));
  t.Apply(Ev(b, "created", {{"name", "train"}}));
  t.Apply(Ev(b, "state_changed",
             {{"from", "pending"}, {"to", "running"}, {"elapsed_s", 0}},
             "2026-11-23T10:00:00.000Z"));
  t.Apply(Ev(b, "progress", {{"metrics", {{"step", 1200}, {"loss", 2.31}}}}));
  t.Apply(Ev("", "notice_claimed",
             {{"key", "k"},
              {"event", "run_failed"},
              {"run", a},
              {"channels", {"webhook http://127.0.0.1:9/..."}},
              {"by", "patrol 1@h"}}));
  t.Apply(Ev("", "notice_sent",
             {{"key", "k"},
              {"channel", "webhook http://127.0.0.1:9/..."},
              {"ok", true}}));

  patrol::HeartbeatInput in;
  in.repo = "/home/ada/exp";
  in.table = &t;
  in.runs = {runs::RunJson(t.runs.at(b), 0, false)};
  in.errors = {"profile tb: cannot reach the cluster"};
  in.read = runs::ReadMark{read_at, "2026-11-23T09:00:00.000Z"};
  in.notify_config = "/home/ada/.config/hpc-mcp/notify.yaml";
  in.by = "patrol 1@h";
  in.now = runs::ParseTs("2026-11-23T10:30:00Z");
  const std::string md = patrol::RenderHeartbeat(in);
  INFO(md);
  CHECK_THAT(md, Contains("# Heartbeat of /home/ada/exp"));
  CHECK_THAT(md, Contains("Written 2026-11-23 10:30:00 UTC by patrol 1@h"));
  const std::string attention = SectionOf(md, "Needs attention");
  CHECK_THAT(
      attention,
      Contains(a + " (oom) failed after 1m15s: gpu_oom: CUDA out of memory"));
  CHECK_THAT(
      attention,
      Contains("evidence: torch.OutOfMemoryError: CUDA out of memory\n"));
  CHECK_THAT(attention, Contains("next: halve the batch size"));
  const std::string changed =
      SectionOf(md, "Changed since 2026-11-23 09:00:00 UTC");
  CHECK_THAT(changed, Contains(a + " (oom): new → running → failed (gpu_oom)"));
  CHECK_THAT(changed, Contains(b + " (train): new → running"));
  CHECK(changed.find(c) == std::string::npos);  // Read before.
  const std::string active = SectionOf(md, "Active");
  CHECK_THAT(active, Contains(b + " running 00:30:00"));  // Runtime to now.
  CHECK_THAT(active, Contains("step 1200 · loss 2.31"));
  CHECK_THAT(
      SectionOf(md, "Notifications"),
      Contains("run_failed " + a + ": sent on webhook http://127.0.0.1:9/..."));
  CHECK_THAT(SectionOf(md, "Errors"),
             Contains("profile tb: cannot reach the cluster"));
  // Short: a cold-start read, not a report.
  CHECK(std::count(md.begin(), md.end(), '\n') < 30);

  // Everything read: nothing to say but what runs.
  in.read = runs::ReadMark{t.seq, "2026-11-23T10:29:00.000Z"};
  in.errors.clear();
  const std::string quiet = patrol::RenderHeartbeat(in);
  CHECK_THAT(SectionOf(quiet, "Needs attention"), Contains("Nothing."));
  CHECK_THAT(SectionOf(quiet, "Changed since"), Contains("Nothing."));
  CHECK_THAT(SectionOf(quiet, "Notifications"),
             Contains("None sent since the last read."));
  CHECK(SectionOf(quiet, "Errors").empty());
}

TEST_CASE(
    "the repository registry keeps one line per repository across threads",
    "[patrol][unit]") {
  TempDir dir;
  const std::string base = dir.path().string();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 8; ++i)
        runs::RecordRepo(base + "/repo" + std::to_string(i));
    });
  for (auto& t : threads) t.join();
  runs::RecordRepo("relative/path");  // Not absolute: not recorded.
  runs::RecordRepo(base + "/a\nb");   // A newline would split the line.
  int mine = 0;
  for (const auto& r : runs::SeenRepos()) mine += r.rfind(base, 0) == 0;
  CHECK(mine == 8);
  std::ifstream in(runs::RepoRegistryPath());
  int lines = 0;
  for (std::string line; std::getline(in, line);)
    lines += line.rfind(base + "/repo", 0) == 0;
  CHECK(lines == 8);
  // A store opened for a repository records it.
  RunRepo repo;
  REQUIRE(runs::RunStore::ForRepo(repo.path()).ok());
  auto seen = runs::SeenRepos();
  CHECK(std::find(seen.begin(), seen.end(), repo.path()) != seen.end());
}

// ------------------------------------------------------------ local runs --

TEST_CASE(
    "a patrol pass polls like poll, announces each milestone once and digests "
    "it",
    "[patrol][integration][local]") {
  RunRepo repo;
  TempDir dir;
  Receiver rx;
  patrol::PatrolOptions quiet{std::nullopt, "patrol test@here"};
  patrol::PatrolOptions loud{LoadConfigOrFail(WriteConfig(dir, rx, kAllEvents)),
                             "patrol test@here"};

  // Before notifications are configured: what ends is journaled, not announced.
  const std::string early = Submit(repo, "early", "echo step=1 loss=1.0");
  WaitJobsEnded(repo, {early});
  patrol::RepoReport r0 = PassOrFail(repo, quiet);
  CHECK(r0.sent == 0);
  CHECK_THAT(SectionOf(Heartbeat(repo), "Notifications"),
             Contains("Not configured"));

  const std::string oom = Submit(repo, "oom", kOomScript);
  const std::string ok = Submit(repo, "ok", "echo step=10 loss=1.5");
  const std::string nan = Submit(
      repo, "nan", "echo step=1 loss=2.5; echo step=2 loss=nan; sleep 60");
  WaitJobsEnded(repo, {oom, ok});
  WaitLog(repo, nan, "loss=nan");

  patrol::RepoReport r1 = PassOrFail(repo, loud);
  INFO(ReadText(repo.path() + "/.hpc-mcp/journal.jsonl"));
  CHECK(r1.errors.empty());
  CHECK(r1.sent == 4);
  CHECK(r1.failed == 0);
  // The same events poll writes, from the patrol's own poll.
  std::map<std::string, std::string> ended;
  for (const auto& e : Named(repo, "state_changed"))
    ended[e["run"]] = e["context"]["to"];
  CHECK(ended[oom] == "failed");
  CHECK(ended[ok] == "completed");
  CHECK(ended[nan] == "running");
  std::map<std::string, std::string> diagnosed;
  for (const auto& e : Named(repo, "diagnosed"))
    diagnosed[e["run"]] = e["context"]["category"];
  CHECK(diagnosed[oom] == "gpu_oom");
  bool nan_failed = false;
  for (const auto& e : Named(repo, "health"))
    nan_failed |= e["run"] == nan && e["context"]["status"] == "fail";
  CHECK(nan_failed);

  // One notice per milestone, none for the past.
  CHECK(rx.Count(oom, "run_failed") == 1);
  CHECK(rx.Count(ok, "run_finished") == 1);
  CHECK(rx.Count(nan, "run_started") == 1);
  CHECK(rx.Count(nan, "health_failed") == 1);
  CHECK(rx.Count(early, "run_finished") == 0);
  CHECK(rx.Bodies().size() == 4);
  for (const auto& b : rx.Bodies())
    if (b["run_id"] == oom) {
      CHECK_THAT(b.value("evidence", ""), Contains("CUDA out of memory"));
      CHECK_THAT(b.value("diagnosis", ""), Contains("gpu_oom"));
      CHECK_FALSE(b.value("next", "").empty());
      CHECK(b.value("state", "") == "failed");
    }
  CHECK(ClaimedOnce(repo).size() == 4);
  CHECK(Named(repo, "notice_sent").size() == 4);
  CHECK(Named(repo, "notify_started").size() == 1);

  const std::string md = Heartbeat(repo);
  INFO(md);
  const std::string attention = SectionOf(md, "Needs attention");
  CHECK_THAT(attention, Contains(oom + " (oom) failed"));
  CHECK_THAT(attention,
             Contains("evidence: torch.OutOfMemoryError: CUDA out of memory"));
  CHECK_THAT(attention, Contains(nan + " (nan) health fail"));
  CHECK_THAT(SectionOf(md, "Changed since the journal began"),
             Contains(ok + " (ok): new → pending → completed"));
  CHECK_THAT(SectionOf(md, "Active"), Contains(nan + " running"));
  CHECK_THAT(SectionOf(md, "Notifications"),
             Contains("run_failed " + oom + ": sent on webhook"));

  // No notification for nothing.
  patrol::RepoReport r2 = PassOrFail(repo, loud);
  CHECK(r2.sent == 0);
  CHECK(rx.Bodies().size() == 4);
  CHECK(Named(repo, "notice_claimed").size() == 4);

  // An agent cancels the NaN run and polls: a cancel it asked for is no
  // failure, and its poll moves the read point past everything.
  json c = repo.Call("cancel", {{"run_id", nan}, {"confirm", nan}});
  CHECK_FALSE(c.value("isError", false));
  json p = repo.Call("poll", json::object());
  CHECK_FALSE(p.value("isError", false));
  auto store = runs::RunStore::ForRepo(repo.path());
  REQUIRE(store.ok());
  auto mark = runs::LoadReadMark(**store);
  REQUIRE(mark);
  CHECK(mark->seq == (*(*store)->Load())->seq);
  patrol::RepoReport r3 = PassOrFail(repo, loud);
  CHECK(r3.sent == 0);
  CHECK(rx.Bodies().size() == 4);
  const std::string after = Heartbeat(repo);
  INFO(after);
  CHECK_THAT(SectionOf(after, "Needs attention"), Contains("Nothing."));
  CHECK_THAT(SectionOf(after, "Changed since"), Contains("Nothing."));
  CHECK_THAT(SectionOf(after, "Active"), Contains("No active runs."));
  CHECK(runs::LoadReadMark(**store)->seq ==
        mark->seq);  // The patrol never moves it.
}

TEST_CASE("two patrols at once, as threads, announce each notice exactly once",
          "[patrol][integration][local]") {
  RunRepo repo;
  TempDir dir;
  Receiver rx;
  patrol::PatrolOptions a{LoadConfigOrFail(WriteConfig(dir, rx, kAllEvents)),
                          "patrol a@here"};
  patrol::PatrolOptions b{a.notify, "patrol b@here"};
  const std::string oom = Submit(repo, "oom", kOomScript);
  const std::string ok = Submit(repo, "ok", "echo step=3 loss=0.5");
  const std::string quick = Submit(repo, "quick", "exit 3");
  WaitJobsEnded(repo, {oom, ok, quick});
  std::vector<Result<patrol::RepoReport>> reports(
      4, Status(StatusCode::kInternal, "not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      reports[i] = patrol::PatrolRepo(repo.path(), i % 2 ? a : b);
    });
  for (auto& t : threads) t.join();
  int sent = 0;
  for (const auto& r : reports) {
    INFO(Why(r));
    REQUIRE(r.ok());
    sent += r->sent;
  }
  CHECK(sent == 3);
  CHECK(rx.Count(oom, "run_failed") == 1);
  CHECK(rx.Count(ok, "run_finished") == 1);
  CHECK(rx.Count(quick, "run_failed") == 1);
  CHECK(rx.Bodies().size() == 3);
  CHECK(ClaimedOnce(repo).size() == 3);
  CHECK(Named(repo, "notify_started").size() == 1);
}

TEST_CASE(
    "two hpc-mcp patrol processes started together announce each notice once",
    "[patrol][integration][local]") {
  RunRepo repo;
  TempDir dir;
  Receiver rx;
  const std::string config = WriteConfig(dir, rx, kAllEvents);
  const std::string oom = Submit(repo, "oom", kOomScript);
  const std::string ok = Submit(repo, "ok", "echo step=3 loss=0.5");
  WaitJobsEnded(repo, {oom, ok});
  std::vector<std::unique_ptr<Subprocess>> procs;
  for (int i = 0; i < 2; ++i)
    procs.push_back(std::make_unique<Subprocess>(std::vector<std::string>{
        testing::BuiltBinary("hpc-mcp"), "patrol", "--repo", repo.path(),
        "--notify-config", config}));
  for (auto& p : procs) {
    REQUIRE(p->started());
    auto code = p->Wait(std::chrono::seconds(60));
    INFO(p->Stderr(std::chrono::seconds(5)));
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(p->ReadRemaining(std::chrono::seconds(5))
              .empty());  // Logs only on stderr.
  }
  CHECK(rx.Count(oom, "run_failed") == 1);
  CHECK(rx.Count(ok, "run_finished") == 1);
  CHECK(rx.Bodies().size() == 2);
  CHECK(ClaimedOnce(repo).size() == 2);
  CHECK_THAT(SectionOf(Heartbeat(repo), "Needs attention"),
             Contains(oom + " (oom) failed"));
}

TEST_CASE(
    "a receiver that fails is retried, logged and journaled, and never fails "
    "the pass",
    "[patrol][integration][local]") {
  RunRepo repo;
  TempDir dir;
  Receiver rx(500);
  const std::string config = WriteConfig(dir, rx, "[run_failed]", 2);
  const std::string oom = Submit(repo, "oom", kOomScript);
  WaitJobsEnded(repo, {oom});
  for (int pass = 0; pass < 2; ++pass) {
    Subprocess p({testing::BuiltBinary("hpc-mcp"), "patrol", "--repo",
                  repo.path(), "--notify-config", config});
    REQUIRE(p.started());
    auto code = p.Wait(std::chrono::seconds(60));
    const std::string err = p.Stderr(std::chrono::seconds(5));
    INFO(err);
    REQUIRE(code);
    CHECK(*code == 0);
    if (pass == 0)
      CHECK_THAT(err, Contains("could not announce run_failed of run " + oom));
  }
  // Two attempts (retries: 2) in the first pass; a failed delivery is final.
  CHECK(rx.Count(oom, "run_failed") == 2);
  auto sent = Named(repo, "notice_sent");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0]["context"]["ok"] == false);
  CHECK_THAT(sent[0]["context"].value("error", ""), Contains("500"));
  // The poll's own events are there regardless.
  bool failed = false, diagnosed = false;
  for (const auto& e : repo.Events()) {
    failed |= e["run"] == oom && e["name"] == "state_changed" &&
              e["context"]["to"] == "failed";
    diagnosed |= e["run"] == oom && e["name"] == "diagnosed";
  }
  CHECK(failed);
  CHECK(diagnosed);
  CHECK_THAT(SectionOf(Heartbeat(repo), "Notifications"),
             Contains("run_failed " + oom + ": FAILED on webhook"));
}

TEST_CASE(
    "a cluster that cannot be reached is an error line in the digest, not a "
    "failed pass",
    "[patrol][integration][local]") {
  RunRepo repo;
  repo.WriteProfile(
      "nowhere",
      "name: nowhere\nscheduler: slurm\naccess:\n  kind: ssh\n  host: "
      "127.0.0.1\n"
      "  port: 1\n  user: nobody\n  connect_timeout_seconds: 2\n");
  // A run whose job was queued there (as submit journals it).
  auto store = runs::RunStore::ForRepo(repo.path());
  REQUIRE(store.ok());
  const std::string id = "20261123-far-0001";
  REQUIRE((*store)
              ->Append(id, "created", {{"name", "far"}, {"profile", "nowhere"}})
              .ok());
  REQUIRE((*store)
              ->Append(id, "submitting", {{"attempt", 1}, {"role", "main"}})
              .ok());
  REQUIRE((*store)
              ->Append(id, "submitted",
                       {{"attempt", 1}, {"role", "main"}, {"job_id", "42"}})
              .ok());
  const std::string ok = Submit(repo, "ok", "echo step=1 loss=1.0");
  WaitJobsEnded(repo, {ok});
  patrol::RepoReport r = PassOrFail(repo, {std::nullopt, "patrol test@here"});
  REQUIRE(r.errors.size() == 1);
  CHECK_THAT(r.errors[0], Contains("profile nowhere"));
  const std::string md = Heartbeat(repo);
  INFO(md);
  CHECK_THAT(SectionOf(md, "Errors"), Contains("profile nowhere"));
  CHECK_THAT(SectionOf(md, "Active"), Contains(id + " pending"));
  // The other cluster's runs were served.
  CHECK_THAT(SectionOf(md, "Changed since"),
             Contains(ok + " (ok): new → pending → completed"));
}

TEST_CASE(
    "hpc-mcp patrol: flags, exit statuses, the default repositories and the "
    "loop",
    "[patrol][integration][local]") {
  const std::string bin = testing::BuiltBinary("hpc-mcp");
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {bin, "patrol"});
    Subprocess p(args);
    REQUIRE(p.started());
    auto code = p.Wait(std::chrono::seconds(60));
    REQUIRE(code);
    return std::make_pair(*code, p.Stderr(std::chrono::seconds(5)));
  };
  CHECK(run({"--every", "5s"}).first == 2);
  CHECK_THAT(run({"--every", "5s"}).second, Contains("at least 10s"));
  CHECK(run({"--every", "soon"}).first == 2);
  CHECK(run({"--frobnicate"}).first == 2);
  CHECK(run({"--repo"}).first == 2);
  TempDir dir;
  CHECK(run({"--notify-config", dir.path().string() + "/missing.yaml"}).first ==
        2);
  const std::string bad = dir.WriteFile("bad.yaml", "channels: []\n");
  CHECK(run({"--notify-config", bad}).first == 2);
  auto missing = run({"--repo", dir.path().string() + "/nowhere"});
  CHECK(missing.first == 1);
  CHECK_THAT(missing.second, Contains("not a directory"));
  // A directory where nothing was submitted: nothing is written there.
  auto empty = run({"--repo", dir.path().string()});
  CHECK(empty.first == 0);
  CHECK_FALSE(std::filesystem::exists(dir.path() / ".hpc-mcp"));

  // Without --repo: the repositories hpc-mcp has seen (this test run's
  // registry, see tests/test_main.cc); one deleted since is skipped.
  RunRepo repo;
  REQUIRE(runs::RunStore::ForRepo(repo.path()).ok());
  std::string gone;
  {
    RunRepo temp;
    REQUIRE(runs::RunStore::ForRepo(temp.path()).ok());
    gone = temp.path();
  }
  auto all = run({});
  INFO(all.second);
  CHECK(all.first == 0);
  CHECK_THAT(all.second, Contains("patrolled " + repo.path()));
  CHECK_THAT(all.second, Contains("skipped " + gone));
  CHECK(std::filesystem::exists(repo.path() + "/.hpc-mcp/heartbeat.md"));

  // The loop stops promptly on SIGTERM, between passes.
  std::filesystem::remove(repo.path() + "/.hpc-mcp/heartbeat.md");
  Subprocess loop({bin, "patrol", "--repo", repo.path(), "--every", "10s"});
  REQUIRE(loop.started());
  for (int i = 0; i < 200 && !std::filesystem::exists(repo.path() +
                                                      "/.hpc-mcp/heartbeat.md");
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(std::filesystem::exists(repo.path() + "/.hpc-mcp/heartbeat.md"));
  const auto stop = std::chrono::steady_clock::now();
  loop.Signal(SIGTERM);
  auto code = loop.Wait(std::chrono::seconds(5));
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(std::chrono::steady_clock::now() - stop < std::chrono::seconds(3));
  CHECK_THAT(loop.Stderr(std::chrono::seconds(5)), Contains("stops"));
}

// --------------------------------------------------------- Slurm testbed --

TEST_CASE(
    "a failing Slurm job is diagnosed and announced by the patrol alone, and "
    "the next "
    "agent session finds it in heartbeat.md and the journal",
    "[patrol][integration][testbed][slurm]") {
  RunRepo repo;
  TempDir dir;
  Receiver rx;
  repo.AddTestbedProfile("tb-slurm", "slurm");
  const std::string config =
      WriteConfig(dir, rx, "[run_failed, run_finished, health_failed]");
  auto patrol = [&] {
    Subprocess p({testing::BuiltBinary("hpc-mcp"), "patrol", "--repo",
                  repo.path(), "--notify-config", config});
    REQUIRE(p.started());
    auto code = p.Wait(std::chrono::seconds(120));
    INFO(p.Stderr(std::chrono::seconds(5)));
    REQUIRE(code);
    CHECK(*code == 0);
  };
  const std::string oom =
      Submit(repo, "oom", std::string("sleep 3; ") + kOomScript, "tb-slurm");
  patrol();  // Notifications start here, before the job can have ended.
  WaitJobsEnded(repo, {oom}, "tb-slurm", std::chrono::seconds(120));
  patrol();  // No MCP client anywhere: the patrol sees the end.

  CHECK(rx.Count(oom, "run_failed") == 1);
  std::vector<json> bodies = rx.Bodies();
  REQUIRE(bodies.size() == 1);
  CHECK_THAT(bodies[0].value("evidence", ""), Contains("CUDA out of memory"));
  CHECK_THAT(bodies[0].value("text", ""), Contains("gpu_oom"));
  const std::string md = Heartbeat(repo);
  INFO(md);
  CHECK_THAT(SectionOf(md, "Needs attention"), Contains(oom + " (oom) failed"));
  CHECK_THAT(SectionOf(md, "Needs attention"),
             Contains("evidence: torch.OutOfMemoryError"));
  CHECK_THAT(SectionOf(md, "Changed since the journal began"),
             Contains(oom + " (oom): new"));

  // The next agent session: the failure is already in the journal.
  const size_t events_before = repo.Events().size();
  testing::AgentSession agent;
  json seen = agent.Ok("poll", {{"repo", repo.path()}, {"run_ids", {oom}}});
  REQUIRE(seen["runs"].size() == 1);
  CHECK(seen["runs"][0]["state"] == "failed");
  CHECK(seen["runs"][0]["diagnosis"]["category"] == "gpu_oom");
  CHECK(repo.Events().size() == events_before);  // Nothing left to observe.
  int ends = 0;
  for (const auto& e : Named(repo, "state_changed"))
    ends += e["run"] == oom && e["context"]["to"] == "failed";
  CHECK(ends == 1);

  // Read: the next digest no longer lists it as changed, nor announces it.
  patrol();
  const std::string next = Heartbeat(repo);
  INFO(next);
  CHECK_THAT(next, Contains("## Changed since"));
  CHECK(SectionOf(next, "Changed since").find(oom) == std::string::npos);
  CHECK(SectionOf(next, "Needs attention").find(oom) == std::string::npos);
  CHECK(rx.Bodies().size() == 1);
}

}  // namespace
}  // namespace hpc
