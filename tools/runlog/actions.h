// write_run_log's work: the five actions on one run's log file, its
// group's timeline and experiments table, and the journal event that
// records each call (model.h). The tool (tools/write_run_log.cc) only
// parses arguments and shapes the answer.
//
// Order of a call: everything is checked and gathered first (path, marker
// structure, evidence, the log); then files are written, each atomically;
// then the event is journaled. A call that fails writes nothing; a crash
// between the files and the journal leaves files a repeat of the call
// rewrites the same way (a status entry is the one thing a repeat adds
// twice).
//
// Thread-safety: calls on one repository are serialized by an flock on
// <state dir>/run_log.lock (other processes included).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::runlog {

struct Outcome {
  std::string run_id, action;
  std::string path;                   // The run log, repository-relative.
  std::vector<std::string> files;     // Written (unchanged ones are not).
  std::vector<std::string> sections;  // Of the run log, written.
  std::string published;              // publish: TRAINING_LOG.md.
  std::string entry;                  // status: the line appended.
  std::vector<std::string> warnings;  // What could not be asked or read.
};

// `repo`: absolute; `args`: write_run_log's arguments, validated against
// schemas/tools/write_run_log.json (defaults applied).
Result<Outcome> WriteRunLog(const std::string& repo,
                            const nlohmann::json& args);

// Rewrites the server's sections of `run_id`'s run log from the journal as
// it stands, and its group's timeline and experiments table, journaling
// nothing: for a tool whose own journal event changes what the log shows,
// so that the log shows it at once rather than at the agent's next
// write_run_log call (sync_wandb's W&B link: the W&B section and the job
// block). The scheduler is not asked. An Outcome with an empty path when
// the run has no run log.
Result<Outcome> RefreshRunLog(const std::string& repo,
                              const std::string& run_id);

}  // namespace hpc::runlog
