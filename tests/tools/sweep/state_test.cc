// The journal's view of a sweep (state.h): events folded into per-task
// state, the run state a sweep has, the job ids a poll asks about, the
// compact summary, and copy-on-write between table snapshots.
#include "tools/sweep/state.h"

#include <catch2/catch.hpp>

#include "tools/runs/run.h"

namespace hpc::sweep {
namespace {

using nlohmann::json;

journal::Event Ev(const std::string& name, json context) {
  return {"2026-11-23T10:00:00.000Z", "20261123-s-abcd", name, std::move(context)};
}

runs::RunTable Created(int tasks, bool aggregate = false) {
  json ids = json::array();
  for (int i = 0; i < tasks; ++i) ids.push_back("t" + std::to_string(i));
  runs::RunTable t;
  t.Apply(Ev("created", {{"name", "s"},
                         {"profile", "local"},
                         {"scheduler", "slurm"},
                         {"spec", json::object()},
                         {"sweep",
                          {{"name", "s"},
                           {"task_ids", ids},
                           {"aggregate", aggregate},
                           {"phases", {{{"name", "a"}, {"first", 0}, {"count", tasks}}}}}}}));
  return t;
}

json Batch(const std::string& id, json tasks) {
  return {{"batch", id}, {"phase", 0}, {"kind", "plan"}, {"tasks", std::move(tasks)}, {"base", 0},
          {"tag", "hpc-mcp:x:" + id}, {"stdout_path", "/l/" + id + ".{task}.out"},
          {"stderr_path", "/l/" + id + ".{task}.err"}, {"after", json::array()}};
}

TEST_CASE("a sweep's tasks follow its batches and tasks_changed events", "[sweep][unit]") {
  runs::RunTable t = Created(4);
  const runs::Run& run = t.runs.begin()->second;
  REQUIRE(run.sweep);
  CHECK(run.sweep->RunState() == "pending");  // Nothing submitted yet.

  t.Apply(Ev("batch_submitting", Batch("a.0", {0, 1, 2, 3})));
  CHECK(run.sweep->RunState() == "submitting");
  t.Apply(Ev("batch_submitted", {{"batch", "a.0"}, {"job_id", "77"}}));
  CHECK(run.sweep->RunState() == "pending");
  CHECK(run.sweep->ActiveJobIds() == std::vector<std::string>{"77"});
  CHECK(run.sweep->batches[0].ElementJobId(2, "slurm") == "77_2");
  CHECK(run.sweep->batches[0].Log(run.sweep->batches[0].stdout_path, 2) == "/l/a.0.2.out");

  t.Apply(Ev("tasks_changed", {{"changes",
                                {{{"t", 0}, {"s", "done"}, {"x", 0}, {"e", 30}},
                                 {{"t", 1}, {"s", "running"}},
                                 {{"t", 2}, {"s", "retry_wait"}, {"c", "gpu_oom"}, {"nb", 100}},
                                 {{"t", 3}, {"s", "stuck"}, {"c", "import_error"}, {"m", "no torch"}, {"x", 1}}}}}));
  CHECK(run.sweep->RunState() == "running");
  CHECK(run.sweep->tasks[0].elapsed_s == 30);
  CHECK(run.sweep->tasks[2].not_before == 100);

  // The retry: a new batch, a second attempt of task 2, with the nodes and
  // GPUs it prefers to avoid (kept for a server that sends it after a crash).
  json retry = Batch("retry-1", {2});
  retry["kind"] = "retry";
  retry["avoid_nodes"] = {"gpu07"};
  retry["avoid_gpus"] = {1, 3};
  t.Apply(Ev("batch_submitting", retry));
  CHECK(run.sweep->batches[1].avoid_nodes == std::vector<std::string>{"gpu07"});
  CHECK(run.sweep->batches[1].avoid_gpus == std::vector<int>{1, 3});
  CHECK(run.sweep->batches[0].avoid_nodes.empty());
  t.Apply(Ev("batch_submitted", {{"batch", "retry-1"}, {"job_id", "78"}}));
  CHECK(run.sweep->tasks[2].attempts.size() == 2);
  CHECK(run.sweep->tasks[2].retries() == 1);
  CHECK(run.sweep->tasks[2].attempts[0].category == "gpu_oom");
  CHECK(run.sweep->tasks[2].element == 0);
  CHECK(run.sweep->ActiveJobIds() == std::vector<std::string>{"77", "78"});

  t.Apply(Ev("tasks_changed", {{"changes", {{{"t", 1}, {"s", "done"}}, {{"t", 2}, {"s", "done"}}}}}));
  // One stuck task and nothing active: the sweep ended failed.
  CHECK(run.sweep->RunState() == "failed");
  CHECK(run.sweep->ActiveJobIds().empty());
  json summary = SummaryJson(*run.sweep);
  CHECK(summary["counts"]["done"] == 3);
  CHECK(summary["counts"]["stuck"] == 1);
  CHECK(summary["retries"] == 1);
  REQUIRE(summary["problems"].size() == 1);
  CHECK(summary["problems"][0]["task"] == "t3");
  CHECK(summary["problems"][0]["summary"] == "no torch");
  CHECK(summary["line"] == "4 tasks: 3 done, 1 stuck · 1 retry · stuck t3 (import_error)");
  CHECK(t.problems.empty());
}

TEST_CASE("a sweep ends completed only after its aggregate", "[sweep][unit]") {
  runs::RunTable t = Created(1, /*aggregate=*/true);
  const runs::Run& run = t.runs.begin()->second;
  t.Apply(Ev("batch_submitting", Batch("a.0", {0})));
  t.Apply(Ev("batch_submitted", {{"batch", "a.0"}, {"job_id", "1"}}));
  t.Apply(Ev("tasks_changed", {{"changes", {{{"t", 0}, {"s", "done"}}}}}));
  CHECK(run.sweep->RunState() == "pending");  // The aggregate is due.
  json agg = Batch("aggregate", json::array());
  agg["kind"] = "aggregate";
  agg["phase"] = -1;
  t.Apply(Ev("batch_submitting", agg));
  t.Apply(Ev("batch_submitted", {{"batch", "aggregate"}, {"job_id", "2"}}));
  CHECK(run.sweep->ActiveJobIds() == std::vector<std::string>{"2"});
  t.Apply(Ev("aggregate_changed", {{"state", "completed"}, {"output", "table.csv"}}));
  CHECK(run.sweep->RunState() == "completed");
  CHECK(SummaryJson(*run.sweep)["aggregate"]["output"] == "table.csv");
}

TEST_CASE("a refused batch parks its tasks; a lost one keeps them waiting", "[sweep][unit]") {
  runs::RunTable t = Created(2);
  const runs::Run& run = t.runs.begin()->second;
  t.Apply(Ev("batch_submitting", Batch("a.0", {0})));
  t.Apply(Ev("batch_submit_failed", {{"batch", "a.0"}, {"lost", true}, {"message", "timeout"}}));
  CHECK(run.sweep->tasks[0].state == TaskState::kWaiting);
  CHECK(run.sweep->RunState() == "submitting");
  t.Apply(Ev("batch_submitting", Batch("a.1", {1})));
  t.Apply(Ev("batch_submit_failed", {{"batch", "a.1"}, {"lost", false}, {"message", "bad partition"}}));
  CHECK(run.sweep->tasks[1].state == TaskState::kStuck);
  CHECK(run.sweep->tasks[1].category == "submit_failed");
  // Events naming what does not exist are problems, not crashes.
  t.Apply(Ev("batch_submitted", {{"batch", "nope"}, {"job_id", "1"}}));
  t.Apply(Ev("tasks_changed", {{"changes", {{{"t", 9}, {"s", "done"}}, {{"t", 0}, {"s", "weird"}}}}}));
  CHECK(t.problems.size() == 3);
}

TEST_CASE("a table snapshot keeps its sweep state when later events arrive", "[sweep][unit]") {
  runs::RunTable t = Created(2);
  t.Apply(Ev("batch_submitting", Batch("a.0", {0, 1})));
  const runs::RunTable snapshot = t;  // What a reader holds.
  t.Apply(Ev("batch_submitted", {{"batch", "a.0"}, {"job_id", "5"}}));
  t.Apply(Ev("tasks_changed", {{"changes", {{{"t", 0}, {"s", "done"}}}}}));
  CHECK(snapshot.runs.begin()->second.sweep->tasks[0].state == TaskState::kWaiting);
  CHECK(snapshot.runs.begin()->second.sweep->batches[0].job_id.empty());
  CHECK(t.runs.begin()->second.sweep->tasks[0].state == TaskState::kDone);
}

TEST_CASE("a sweep's end is the sweep_done notice, not run_failed", "[sweep][unit]") {
  runs::RunTable t = Created(1);
  t.Apply(Ev("state_changed", {{"from", "submitting"}, {"to", "running"}}));
  t.Apply(Ev("state_changed", {{"from", "running"}, {"to", "failed"}}));
  REQUIRE(t.milestones.size() == 3);
  CHECK(t.milestones[1].notice == "run_started");
  CHECK(t.milestones[2].notice == "sweep_done");
}

TEST_CASE("a cancelled sweep's active tasks are cancelled, its done ones stay done",
          "[sweep][unit]") {
  runs::RunTable t = Created(2);
  const runs::Run& run = t.runs.begin()->second;
  t.Apply(Ev("batch_submitting", Batch("a.0", {0, 1})));
  t.Apply(Ev("batch_submitted", {{"batch", "a.0"}, {"job_id", "5"}}));
  t.Apply(Ev("tasks_changed", {{"changes", {{{"t", 0}, {"s", "done"}}}}}));
  t.Apply(Ev("cancel_requested", {{"jobs", {"5"}}}));
  t.Apply(Ev("cancelled", {{"verified", true}}));
  CHECK(run.state == "cancelled");
  CHECK(run.sweep->tasks[0].state == TaskState::kDone);
  CHECK(run.sweep->tasks[1].state == TaskState::kCancelled);
  CHECK(run.sweep->ActiveJobIds().empty());
}

TEST_CASE("task state names round-trip", "[sweep][unit]") {
  for (TaskState s : {TaskState::kWaiting, TaskState::kQueued, TaskState::kRunning, TaskState::kDone,
                      TaskState::kRetryWait, TaskState::kBlocked, TaskState::kStuck,
                      TaskState::kCancelled})
    CHECK(ParseTaskState(TaskStateName(s)) == s);
  CHECK_FALSE(ParseTaskState("finished"));
  CHECK(IsSweepEvent("tasks_changed"));
  CHECK_FALSE(IsSweepEvent("state_changed"));
}

}  // namespace
}  // namespace hpc::sweep
