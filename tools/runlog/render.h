// The markdown of a run log's sections (the seed's format), from its model.
// Each function returns a section's body: the lines between its markers,
// heading included. `pub` renders the public variant for TRAINING_LOG.md:
// no run or job ids, nodes, log or script paths, profile or partition,
// offline W&B directory (the sanitizer then scrubs what a person wrote).
//
// Sections, in the order a new file lists them:
//   title, mode, config, job:<first run id>, status (append), results,
//   wandb, next; then job:<run id> for each resumption, at the end of the
//   file, as the seed appends "## Job (resumed)" blocks.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "tools/runlog/markers.h"
#include "tools/runlog/model.h"

namespace hpc::runlog {

inline constexpr char kStatusSection[] = "status";

std::string JobSectionName(const std::string& run_id);

// Writes every section of `m` into `doc`: regenerated sections replaced in
// place, missing ones added where they belong, the Status section left as
// it is except for `new_entry` appended to it (every entry of the model
// when the file has no Status section yet). Returns the names of the
// sections written.
std::vector<std::string> ApplyModel(MarkedDoc& doc, const RunLogModel& m,
                                    const StatusEntry* new_entry);

// The public body of section `name` (one of the above); `body` as it is
// for the Status section and for names this file does not own.
std::string PublicBody(const std::string& name, const std::string& body,
                       const RunLogModel& m);

// One status line: "- 2026-03-11 15:00 UTC — running, step 2400, loss
// 0.085 — <text>".
std::string StatusLine(const StatusEntry& e);

// "`text`", with a longer fence when the text holds backticks.
std::string Code(const std::string& text);

}  // namespace hpc::runlog
