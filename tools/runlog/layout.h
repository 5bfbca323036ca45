// Where run logs live in an experiment repository (the seed's layout):
//
//   run_logs/<group>/<yyyy-mm-dd>_<task>.md   one per run (resumptions
//                                             append to it)
//   run_logs/<group>/timeline.md              chronological index
//   run_logs/<group>/experiments.md           comparison table
//   run_logs/...                              the same, flat, without group
//
// Paths here are relative to the repository, '/'-separated, and never
// absolute: that is how the journal records them, so a repository that
// moves keeps its links. Containment on disk (symlinks) is repo_files.h's
// job; this file is the lexical half of the check.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "mcp_server/status.h"

namespace hpc::runlog {

inline constexpr char kRunLogsDir[] = "run_logs";

// A group or task name: 1-64 of [A-Za-z0-9_.-], starting with a letter,
// digit or '_' (so never "." or ".."), no '/'. InvalidArgument naming
// `what` and the rule otherwise: the schema says the same, and this check
// stands even if the schema changes.
Status CheckName(std::string_view what, std::string_view name);

// "run_logs/<group>/" or "run_logs/" for an empty group.
Result<std::string> GroupDir(const std::string& group);

// "run_logs/<group>/<day>_<task>.md"; `day` is "yyyy-mm-dd".
Result<std::string> RunLogPath(const std::string& group, const std::string& day,
                               const std::string& task);

// A repository-relative path read back from the journal or given for
// publish: not absolute, '/'-separated (a trailing '/' names a directory),
// every component a name CheckName allows (so no empty, "." or ".."
// component). InvalidArgument otherwise.
Status CheckRelative(std::string_view path);

// The directory part of a relative path ("run_logs/g/" for
// "run_logs/g/x.md").
std::string DirOf(const std::string& path);
// The file name ("x.md").
std::string BaseOf(const std::string& path);

// The task name a run log file name carries ("train" for
// "2026-03-11_train.md"), and its day ("2026-03-11"); empty when the name
// is not of that shape.
std::string TaskOf(const std::string& file_name);
std::string DayOf(const std::string& file_name);

}  // namespace hpc::runlog
