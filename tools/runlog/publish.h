// TRAINING_LOG.md: a run log as a reader outside the project may see it
// (the seed's "sanitized run log"). Sections hpc-mcp owns are rendered in
// their public form (render.h), marker lines dropped, and then everything,
// a person's text included, goes through the sanitizer (sanitize.h); a
// final leak check refuses the result if anything it knows of survived.
//
// Thread-safety: functions are thread-safe.
#pragma once

#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/runlog/markers.h"
#include "tools/runlog/model.h"
#include "tools/runlog/sanitize.h"
#include "tools/runs/run.h"

namespace hpc::runlog {

// What the published text must not name: the job ids of every run of the
// log (all attempts), the nodes the scheduler reported, each profile's
// user, host and alias (and this machine's user for a local profile), and
// `extra`.
Identifiers IdentifiersOf(const RunLogModel& m, const runs::RunTable& table,
                          const std::string& repo,
                          std::vector<std::string> extra);

// The public text of `doc`, ending with a line that says what was removed.
// Internal, naming what survived, when the leak check still finds
// something: nothing is to be written then.
Result<std::string> TrainingLog(const MarkedDoc& doc, const RunLogModel& m,
                                Identifiers ids);

// "run_logs/<group>/publish/<yyyy-mm-dd>_<task>/" for a run log path.
std::string DefaultPublishDir(const std::string& run_log_path);

}  // namespace hpc::runlog
