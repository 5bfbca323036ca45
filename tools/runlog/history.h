// Replays the journal into the models of every run log of a repository
// (model.h): which runs each file covers (Run::links["run_log"]), and what
// write_run_log recorded about it.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tools/journal/journal.h"
#include "tools/runlog/model.h"
#include "tools/runs/run.h"

namespace hpc::runlog {

// Every run log of `table`, by repository-relative path. `events` is the
// whole journal (with any event about to be appended), `table` its replay.
std::map<std::string, RunLogModel> BuildModels(
    const runs::RunTable& table, const std::vector<journal::Event>& events);

// The main job's stdout of `run` with {task} resolved to the first array
// task; empty before the run has a job.
std::string MainLogPath(const runs::Run& run, bool stderr_stream = false);

// The W&B URL and offline directory a run's `wandb` link holds: a URL
// string (sync_wandb's; BuildModels takes the directory from the `path` of
// its event), or an object with url and one of local_dir, run_dir, dir.
std::pair<std::string, std::string> WandbOf(const runs::Run& run);

}  // namespace hpc::runlog
