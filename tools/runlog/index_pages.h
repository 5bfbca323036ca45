// The two index pages of a run log directory (run_logs/<group>/ or
// run_logs/): timeline.md, one line per run log file in chronological
// order with its human date, and experiments.md, one comparison row per
// experiment run log. Each is one regenerated section (markers.h), so a
// person's notes around it stay.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "tools/runlog/model.h"

namespace hpc::runlog {

inline constexpr char kTimelineFile[] = "timeline.md";
inline constexpr char kExperimentsFile[] = "experiments.md";

struct TimelineItem {
  std::string file;   // "2026-03-11_train.md"
  std::string title;  // The description in its "# task — description" line.
};

// "# ARX5 Multitask Timeline" for group "arx5_multitask" (each word
// capitalized; "Run Timeline" without a group), then "1. [`file`](file) —
// Wednesday, Mar 11th, 2026 — title" per file, ordered by file name (the
// date prefix makes that chronological).
std::string TimelineBody(const std::string& group,
                         std::vector<TimelineItem> items);

// "# Experiments" and a table: run (a link to its file), description, key
// metric (the file's key_metric, default val_loss, from its results or the
// latest poll), status (the agent's verdict, else the run's state), notes.
std::string ExperimentsBody(const std::string& group,
                            const std::vector<const RunLogModel*>& runs);

// The description of a run log's title line ("# task — description"), or
// the whole heading text when it has no " — ".
std::string TitleOf(const std::string& markdown);

// Whether `file` is a run log file name ("yyyy-mm-dd_task.md").
bool IsRunLogFile(const std::string& file);

}  // namespace hpc::runlog
