// summary.md: what a person reads when a sweep has ended, written to
// run_logs/<sweep name>/summary.md in the repository (the seed's run-log
// layout, the sweep's name as the group): state, duration, phases with
// their counts and retries, the tasks that needed attention with their
// diagnoses, the expected outputs and the aggregate's result.
//
// Thread-safety: pure, except WriteSummary (one atomic file write).
#pragma once

#include <string>

#include "mcp_server/status.h"
#include "tools/runs/run.h"
#include "tools/runs/store.h"
#include "tools/sweep/launcher.h"

namespace hpc::sweep {

// The repository-relative path of a sweep's summary.
Result<std::string> SummaryPath(const std::string& sweep_name);

// The document, from the journal's view of the sweep.
std::string SummaryMarkdown(const runs::Run& run, const Loaded& l);

// Writes it (atomically) and, the first time, journals sweep_summary and
// links it to the sweep (list_runs shows it).
Status WriteSummary(runs::RunStore& store, const runs::Run& run, const Loaded& l);

}  // namespace hpc::sweep
